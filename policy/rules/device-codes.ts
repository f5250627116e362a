/**
 * The device grant's codes: the device code is a bearer secret that must be unguessable, the user code must resist
 * guessing within its lifetime and the rate limits, and neither may live long (RFC 8628 §5.1, §5.2, §6.1;
 * docs/device-grant.md#device-code-rules and #user-codes-and-brute-force). Read from the function's
 * `DEVICE_GRANT_CONFIG`, so the rule judges what the function will actually run with.
 *
 * The format letters and their alphabets are the service's (functions/device-grant/codes.ts); a test keeps these
 * equal to them, so the pack needs nothing outside its own folder.
 */
import { environmentVariable, isRecord, parseJson, type Props, quote, type Report } from "./values";

export const DEVICE_GRANT_CONFIG_ENV = "DEVICE_GRANT_CONFIG";

/** Each format letter and the number of characters it adds (digits, letters, consonants, specials). */
export const FORMAT_ALPHABETS: Readonly<Record<string, string>> = {
  "#": "0123456789",
  a: "abcdefghijklmnopqrstuvwxyz",
  A: "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
  b: "bcdfghjklmnpqrstvwxz",
  B: "BCDFGHJKLMNPQRSTVWXZ",
  "!": "!*._~",
};

export interface DeviceCodesConfig {
  minimumDeviceCodeBits: number;
  minimumUserCodeBits: number;
  /** Longest a device code and its user code may live, in seconds. */
  maximumCodeExpirySeconds: number;
}

export const DEVICE_CODES_DEFAULTS: DeviceCodesConfig = {
  minimumDeviceCodeBits: 128,
  minimumUserCodeBits: 30,
  maximumCodeExpirySeconds: 1800,
};

/** Bits of a code drawn uniformly: length × log2(alphabet); case folded first for user codes (matched case-insensitively). */
export function codeBits(format: string, length: number, caseInsensitive: boolean): number | undefined {
  if (format === "" || ![...format].every((letter) => Object.hasOwn(FORMAT_ALPHABETS, letter))) return undefined;
  const characters = new Set([...format].flatMap((letter) => [...FORMAT_ALPHABETS[letter]]));
  const size = caseInsensitive ? new Set([...characters].map((c) => c.toUpperCase())).size : characters.size;
  return length * Math.log2(size);
}

/** `aws:lambda/function:Function` with `DEVICE_GRANT_CONFIG`: the codes' entropy and lifetime. */
export function checkDeviceCodes(props: Props, report: Report, config: DeviceCodesConfig = DEVICE_CODES_DEFAULTS): void {
  const raw = environmentVariable(props, DEVICE_GRANT_CONFIG_ENV);
  if (raw === undefined) return;
  const parsed = parseJson(raw);
  const s = isRecord(parsed) && isRecord(parsed.settings) ? parsed.settings : undefined;
  if (s === undefined) {
    report(`${DEVICE_GRANT_CONFIG_ENV} has no settings object`);
    return;
  }
  if (s.allowWeakCodes === true) report("allowWeakCodes is on: the entropy floors are switched off");
  const codes = [
    { label: "device code", format: s.deviceCodeFormat, length: s.deviceCodeLength, min: config.minimumDeviceCodeBits, folded: false },
    { label: "user code", format: s.userCodeFormat, length: s.userCodeLength, min: config.minimumUserCodeBits, folded: true },
  ];
  for (const c of codes) {
    const bits = typeof c.format === "string" && Number.isInteger(c.length) ? codeBits(c.format, c.length as number, c.folded) : undefined;
    if (bits === undefined)
      report(`the ${c.label}'s format ${quote(c.format)} and length ${quote(c.length)} are not a code the service draws`);
    else if (bits < c.min) report(`the ${c.label} carries ${bits.toFixed(1)} bits; at least ${c.min} are required`);
  }
  const expiry = s.codeExpirySeconds;
  if (typeof expiry !== "number" || expiry < 60 || expiry > config.maximumCodeExpirySeconds) {
    report(`codes live ${quote(expiry)} seconds; from 60 to ${config.maximumCodeExpirySeconds} are allowed`);
  }
}
