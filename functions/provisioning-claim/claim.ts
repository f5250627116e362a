/**
 * The claim route's core: an installer signed in at the user directory asks for a claim certificate for one
 * thing; the function asks IoT for it (`CreateProvisioningClaim`, a certificate and key that live five
 * minutes), binds it to the installer and the thing name in the table with a conditional write, and only then
 * hands certificate and key over. A claim whose binding could not be written is never returned: the hook would
 * refuse it anyway, and the key must not exist outside AWS for nothing.
 *
 * Pure of AWS: IoT and the table come in as ports; `index.ts` wires the real ones.
 */
import { classifyAwsFailure, awsErrorName } from "../shared/aws-errors";
import { type ClaimBinding, type WriteOutcome } from "../shared/claim-binding-store";
import { withDeadline } from "../shared/deadline";
import { type HttpApiResult, type JsonApiRequest } from "../shared/http-api-event";
import { type LogSink } from "../shared/logging";
import { anchoredPattern } from "../shared/provisioning-parameters";
import { checkCaller } from "./caller";
import { type ProvisioningClaimConfig } from "./config";
import { readClaimRequest } from "./request";
import * as answer from "./responses";

/** What IoT answers to `CreateProvisioningClaim`, as the port hands it over (checked here before use). */
export interface RawClaim {
  certificateId?: string;
  certificatePem?: string;
  privateKey?: string;
  expiration?: Date;
}

/** Asks IoT for a claim certificate for the template. */
export interface ClaimIssuer {
  create(templateName: string, signal: AbortSignal): Promise<RawClaim>;
}

/** Records a binding once; `"conflict"` when the certificate id already has one. */
export interface BindingRecorder {
  record(binding: ClaimBinding, options: { abortSignal?: AbortSignal }): Promise<WriteOutcome>;
}

export type ClaimLogger = Pick<LogSink, "info" | "warn" | "error">;

export interface ClaimServiceOptions {
  config: ProvisioningClaimConfig;
  issuer: ClaimIssuer;
  bindings: BindingRecorder;
  logger: ClaimLogger;
  /** Epoch milliseconds. */
  now?: () => number;
}

/** IoT's certificate ids: 64 hex digits (API reference of CreateProvisioningClaim). */
const CERTIFICATE_ID = /^[a-fA-F0-9]{64}$/;

type Issued = { certificateId: string; certificatePem: string; privateKey: string; expiresAt: Date };

function checkedClaim(raw: RawClaim, nowMs: number): Issued | undefined {
  const { certificateId, certificatePem, privateKey, expiration } = raw;
  if (typeof certificateId !== "string" || !CERTIFICATE_ID.test(certificateId)) return undefined;
  if (typeof certificatePem !== "string" || !certificatePem.includes("BEGIN CERTIFICATE")) return undefined;
  if (typeof privateKey !== "string" || !privateKey.includes("PRIVATE KEY")) return undefined;
  if (!(expiration instanceof Date) || Number.isNaN(expiration.getTime()) || expiration.getTime() <= nowMs) return undefined;
  return { certificateId, certificatePem, privateKey, expiresAt: expiration };
}

/** Asks IoT for the claim within the deadline; the claim, or the answer to give instead. */
async function requestClaim(options: ClaimServiceOptions, thingName: string, now: () => number): Promise<Issued | HttpApiResult> {
  const { config, issuer, logger } = options;
  let raw: RawClaim;
  try {
    raw = await withDeadline("CreateProvisioningClaim", config.iotDeadlineMs, (signal) => issuer.create(config.templateName, signal));
  } catch (err) {
    const kind = classifyAwsFailure(err);
    logger.error({ event: "provisioning-claim", outcome: "iot-failed", kind, error: awsErrorName(err), thingName });
    if (kind === "throttled") return answer.throttled();
    if (kind === "unavailable") return answer.unavailable("AWS IoT");
    return answer.serverError("the provisioning template could not issue a claim");
  }
  const claim = checkedClaim(raw, now());
  if (claim === undefined) {
    logger.error({ event: "provisioning-claim", outcome: "iot-failed", kind: "malformed-answer", thingName });
    return answer.serverError("AWS IoT answered with an unusable claim");
  }
  return claim;
}

/** Binds the claim to the installer and the thing with a conditional write; undefined when bound, else the answer to give. */
async function bindClaim(options: ClaimServiceOptions, claim: Issued, who: { sub: string; thingName: string }, now: () => number) {
  const { config, bindings, logger } = options;
  const binding: ClaimBinding = {
    certificateId: claim.certificateId,
    installerSub: who.sub,
    thingName: who.thingName,
    createdAt: Math.floor(now() / 1000),
    expiresAt: Math.floor(claim.expiresAt.getTime() / 1000),
    status: "bound",
  };
  let outcome: WriteOutcome;
  try {
    outcome = await withDeadline("PutItem(claim)", config.storeDeadlineMs, (signal) => bindings.record(binding, { abortSignal: signal }));
  } catch (err) {
    logger.error({ event: "provisioning-claim", outcome: "store-failed", error: awsErrorName(err), certificateId: claim.certificateId });
    return answer.unavailable("The claim store");
  }
  if (outcome === "conflict") {
    logger.error({ event: "provisioning-claim", outcome: "binding-conflict", certificateId: claim.certificateId });
    return answer.serverError("the claim could not be bound");
  }
  return undefined;
}

export function createClaimService(options: ClaimServiceOptions): (request: JsonApiRequest) => Promise<HttpApiResult> {
  const { config, logger } = options;
  const now = options.now ?? Date.now;
  const thingNamePattern = anchoredPattern(config.thingNamePattern) as RegExp; // checked with the configuration
  const refuse = (reason: string, result: HttpApiResult) => {
    logger.warn({ event: "provisioning-claim", outcome: "refused", reason, status: result.statusCode });
    return result;
  };

  return async (request) => {
    if (request.method !== "POST") return refuse("method", answer.methodNotAllowed());
    const caller = checkCaller(request.claims, request.scopes, config);
    if (!caller.ok) return refuse(caller.reason, caller.reason === "no-identity" ? answer.unauthorized() : answer.forbidden(caller.reason));
    const body = readClaimRequest(request, thingNamePattern, config.thingNamePattern);
    if (!body.ok) return refuse("bad-request", answer.invalidRequest(body.description));

    const claim = await requestClaim(options, body.thingName, now);
    if (!("certificateId" in claim)) return claim;
    const failed = await bindClaim(options, claim, { sub: caller.sub, thingName: body.thingName }, now);
    if (failed !== undefined) return failed;

    logger.info({ event: "provisioning-claim", outcome: "issued", certificateId: claim.certificateId, thingName: body.thingName });
    return answer.issued({
      certificateId: claim.certificateId,
      certificatePem: claim.certificatePem,
      privateKey: claim.privateKey,
      expiresAt: claim.expiresAt.toISOString(),
      expiresIn: Math.max(0, Math.floor((claim.expiresAt.getTime() - now()) / 1000)),
      thingName: body.thingName,
      templateName: config.templateName,
    });
  };
}
