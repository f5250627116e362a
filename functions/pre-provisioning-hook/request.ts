/**
 * What IoT sends the pre-provisioning hook (docs/fleet-provisioning.md#the-pre-provisioning-hook): the claim
 * certificate's id, the device's new certificate id and PEM, the template's ARN, the MQTT client id, and the
 * `parameters` the device put in `RegisterThing`. Read strictly: anything missing or odd is a refusal with a
 * name, never an exception.
 */
import { isObject } from "../shared/checks";
import { anchoredPattern, type DeclaredParameter, matchesPattern } from "../shared/provisioning-parameters";

export interface HookRequest {
  claimCertificateId: string;
  /** The device's new certificate (from CreateKeysAndCertificate or CreateCertificateFromCsr). */
  certificateId: string;
  templateArn: string;
  clientId: string;
  /** The device's parameters, as sent (checked by `checkParameters`). */
  parameters: Record<string, unknown>;
}

/** IoT certificate ids: 64 hex digits. */
const CERTIFICATE_ID = /^[a-fA-F0-9]{64}$/;

/** The event's fields, or undefined when it is not a pre-provisioning hook event IoT would send. */
export function readHookRequest(event: unknown): HookRequest | undefined {
  if (!isObject(event)) return undefined;
  const { claimCertificateId, certificateId, templateArn, clientId, parameters } = event;
  if (typeof claimCertificateId !== "string" || !CERTIFICATE_ID.test(claimCertificateId)) return undefined;
  if (typeof certificateId !== "string" || !CERTIFICATE_ID.test(certificateId)) return undefined;
  if (typeof templateArn !== "string" || typeof clientId !== "string") return undefined;
  if (parameters !== undefined && !isObject(parameters)) return undefined;
  return { claimCertificateId, certificateId, templateArn, clientId, parameters: parameters ?? {} };
}

export type ParameterCheck =
  | { ok: true; values: Record<string, string> }
  | { ok: false; reason: "missing-parameter" | "extra-parameter" | "malformed-parameter"; parameter: string };

/** Compiles each declared parameter's pattern once. */
export function compileParameters(declared: readonly DeclaredParameter[]): { name: string; pattern: RegExp }[] {
  return declared.map((p) => ({ name: p.name, pattern: anchoredPattern(p.pattern) as RegExp }));
}

/**
 * The parameters are exactly the declared ones (none missing, none extra, the owner parameter included), and
 * each value is a string matching its pattern as a whole.
 */
export function checkParameters(sent: Record<string, unknown>, declared: readonly { name: string; pattern: RegExp }[]): ParameterCheck {
  const names = new Set(declared.map((p) => p.name));
  const extra = Object.keys(sent).find((name) => !names.has(name));
  if (extra !== undefined) return { ok: false, reason: "extra-parameter", parameter: extra };
  const values: Record<string, string> = {};
  for (const { name, pattern } of declared) {
    if (!Object.hasOwn(sent, name)) return { ok: false, reason: "missing-parameter", parameter: name };
    const value = sent[name];
    if (!matchesPattern(value, pattern)) return { ok: false, reason: "malformed-parameter", parameter: name };
    values[name] = value;
  }
  return { ok: true, values };
}
