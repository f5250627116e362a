/**
 * The sandbox's IoT control plane for fleet provisioning: what AWS IoT does behind `CreateProvisioningClaim`
 * and the device provisioning MQTT API (docs/fleet-provisioning.md), on the local CA and registry.
 *
 * - `claimIssuer`: `CreateProvisioningClaim` for the one template, as the claim function's `ClaimIssuer` port: a
 *   claim certificate and RSA key from the local CA, living five minutes; `ResourceNotFoundException` for
 *   another template, `ThrottlingException` beyond `claimsPerSecond` (a token bucket; IoT's own quota is in its
 *   service quotas, this figure is the sandbox's).
 * - `createKeysAndCertificate`, `createCertificateFromCsr`: a device certificate `PENDING_ACTIVATION` and its
 *   ownership token (an hour).
 * - `registerThing`: the ownership token, then the pre-provisioning hook (the real Lambda handler, given the
 *   event IoT sends it, within IoT's 5 s), then the template run against the registry in one step: thing,
 *   certificate status, policy attached; the token is spent.
 *
 * Every answer is `accepted` or a rejection in IoT's shape `{statusCode, errorCode, errorMessage}`; the guide
 * documents the shape, the codes here are the sandbox's (`InvalidCertificateOwnershipToken` is the one IoT
 * users report verbatim).
 */
import { type ClaimIssuer } from "../../functions/provisioning-claim/claim";
import { InvalidCsrError, type LocalCa } from "./local-ca";
import { type IotRegistry } from "./registry";
import { CERTIFICATE_ID_PARAMETER, runTemplate, TemplateError } from "./template-run";

/** The claim certificate lives five minutes (DG: provisioning by trusted user). */
export const CLAIM_LIFETIME_MS = 300_000;
/** IoT waits 5 s for the pre-provisioning hook (DG: Pre-provisioning hooks). */
export const HOOK_TIMEOUT_MS = 5_000;
/** Device certificates IoT issues are valid until the end of 2049; so are the sandbox's. */
const DEVICE_CERTIFICATE_NOT_AFTER = new Date("2049-12-31T23:59:59Z");

export interface ProvisioningTemplate {
  name: string;
  arn: string;
  body: Record<string, unknown>;
}

export type HookAnswer = { allowProvisioning: boolean; parameterOverrides?: Record<string, string> };

export interface Rejection {
  statusCode: number;
  errorCode: string;
  errorMessage: string;
}

export type Answer<T> = { accepted: T } | { rejected: Rejection };

export interface ControlPlaneOptions {
  ca: LocalCa;
  registry: IotRegistry;
  template: ProvisioningTemplate;
  /** The pre-provisioning hook, as IoT invokes the Lambda function. */
  hook: (event: unknown) => Promise<HookAnswer>;
  /** TEST ONLY: a shorter claim life, to see an expired claim refused without waiting five minutes. */
  claimLifetimeMs?: number;
  /** Claims per second before `ThrottlingException` (default 10). */
  claimsPerSecond?: number;
  log: (fields: Record<string, unknown>) => void;
}

const reject = (statusCode: number, errorCode: string, errorMessage: string): { rejected: Rejection } => ({
  rejected: { statusCode, errorCode, errorMessage },
});

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A request payload as JSON, or undefined. */
function parse(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString("utf8"));
  } catch {
    return undefined;
  }
}

function awsError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name });
}

/** Waits at most `ms` for the hook; a failure or no answer in time is a denial, as for IoT. */
async function askHook(hook: ControlPlaneOptions["hook"], event: unknown): Promise<HookAnswer> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<HookAnswer>((resolve) => {
    timer = setTimeout(() => resolve({ allowProvisioning: false }), HOOK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([hook(event).catch(() => ({ allowProvisioning: false })), late]);
  } finally {
    clearTimeout(timer);
  }
}

export class LocalControlPlane {
  private tokens: number;
  private refilledAt = Date.now();

  constructor(private readonly options: ControlPlaneOptions) {
    this.tokens = options.claimsPerSecond ?? 10;
  }

  get template(): ProvisioningTemplate {
    return this.options.template;
  }

  /** `CreateProvisioningClaim` as the claim function calls it. */
  claimIssuer(): ClaimIssuer {
    return {
      create: async (templateName) => {
        if (templateName !== this.options.template.name) {
          throw awsError("ResourceNotFoundException", `the provisioning template ${templateName} does not exist`);
        }
        if (!this.takeClaimToken()) throw awsError("ThrottlingException", "Rate exceeded");
        const issued = await this.options.ca.issueWithNewKey(new Date(Date.now() + (this.options.claimLifetimeMs ?? CLAIM_LIFETIME_MS)));
        this.options.registry.addClaim({ certificateId: issued.certificateId, templateName, expiresAt: issued.notAfter.getTime() });
        this.options.log({
          event: "create-provisioning-claim",
          certificateId: issued.certificateId,
          expiresAt: issued.notAfter.toISOString(),
        });
        return {
          certificateId: issued.certificateId,
          certificatePem: issued.certificatePem,
          privateKey: issued.privateKeyPem,
          expiration: issued.notAfter,
        };
      },
    };
  }

  private takeClaimToken(): boolean {
    const rate = this.options.claimsPerSecond ?? 10;
    const now = Date.now();
    this.tokens = Math.min(rate, this.tokens + ((now - this.refilledAt) / 1000) * rate);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** `CreateKeysAndCertificate`: a new key and certificate, pending activation, and its ownership token. */
  async createKeysAndCertificate(): Promise<Answer<Record<string, string>>> {
    const issued = await this.options.ca.issueWithNewKey(DEVICE_CERTIFICATE_NOT_AFTER);
    const token = this.options.registry.addPendingCertificate(issued.certificateId, issued.certificatePem);
    this.options.log({ event: "create-keys-and-certificate", certificateId: issued.certificateId });
    return {
      accepted: {
        certificateId: issued.certificateId,
        certificatePem: issued.certificatePem,
        privateKey: issued.privateKeyPem,
        certificateOwnershipToken: token,
      },
    };
  }

  /** `CreateCertificateFromCsr`: a certificate for the device's own key, pending activation, and its ownership token. */
  async createCertificateFromCsr(payload: Buffer): Promise<Answer<Record<string, string>>> {
    const request = parse(payload);
    const csr = isRecord(request) ? request.certificateSigningRequest : undefined;
    if (typeof csr !== "string" || csr.length > 16_384) {
      return reject(400, "InvalidPayload", 'the payload must be {"certificateSigningRequest": "<PEM>"}');
    }
    let issued;
    try {
      issued = await this.options.ca.issueForCsr(csr, DEVICE_CERTIFICATE_NOT_AFTER);
    } catch (err) {
      if (err instanceof InvalidCsrError) return reject(400, "InvalidCsr", err.message);
      throw err;
    }
    const token = this.options.registry.addPendingCertificate(issued.certificateId, issued.certificatePem);
    this.options.log({ event: "create-certificate-from-csr", certificateId: issued.certificateId });
    return { accepted: { certificateOwnershipToken: token, certificateId: issued.certificateId, certificatePem: issued.certificatePem } };
  }

  /** `RegisterThing` with the template named in the topic, for a connection made with `claimCertificateId`. */
  async registerThing(
    templateName: string,
    payload: Buffer,
    caller: { claimCertificateId: string; clientId: string },
  ): Promise<Answer<{ deviceConfiguration: Record<string, string>; thingName: string }>> {
    const { registry, template } = this.options;
    if (templateName !== template.name) return reject(404, "ResourceNotFound", `the provisioning template ${templateName} does not exist`);
    const request = parse(payload);
    if (!isRecord(request)) return reject(400, "InvalidPayload", "the payload must be a JSON object");
    const { certificateOwnershipToken: token, parameters = {} } = request;
    if (typeof token !== "string" || token === "") {
      return reject(400, "InvalidCertificateOwnershipToken", "Certificate ownership token cannot be empty.");
    }
    if (!isRecord(parameters) || Object.values(parameters).some((v) => typeof v !== "string")) {
      return reject(400, "InvalidParameters", "parameters must map names to strings");
    }
    const certificate = registry.certificateOwnedBy(token);
    if (certificate === undefined) return reject(400, "InvalidCertificateOwnershipToken", "the certificate ownership token is not valid");

    const hookEvent = {
      claimCertificateId: caller.claimCertificateId,
      certificateId: certificate.certificateId,
      certificatePem: certificate.certificatePem,
      templateArn: template.arn,
      clientId: caller.clientId,
      parameters,
    };
    const hook = await askHook(this.options.hook, hookEvent);
    if (hook.allowProvisioning !== true) {
      this.options.log({ event: "register-thing", outcome: "denied-by-hook", certificateId: certificate.certificateId });
      return reject(403, "AccessDenied", "the pre-provisioning hook did not allow provisioning");
    }
    return this.runTemplate(certificate.certificateId, { ...(parameters as Record<string, string>), ...hook.parameterOverrides });
  }

  private runTemplate(certificateId: string, parameters: Record<string, string>) {
    const given = Object.fromEntries(Object.entries(parameters).filter(([name]) => name !== CERTIFICATE_ID_PARAMETER));
    let run;
    try {
      run = runTemplate(this.options.template.body, given, certificateId);
    } catch (err) {
      if (err instanceof TemplateError) return reject(400, "InvalidParameters", err.message);
      throw err;
    }
    const applied = this.options.registry.provision({ certificateId, thing: run.thing, status: run.status, policies: run.policies });
    if (!applied.ok) return reject(400, "ResourceRegistrationFailure", applied.reason);
    this.options.log({ event: "register-thing", outcome: "provisioned", thingName: run.thing.thingName, certificateId });
    return { accepted: { deviceConfiguration: run.deviceConfiguration, thingName: run.thing.thingName } };
  }
}
