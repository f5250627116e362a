/**
 * The device grant's settings: the AWS device-grant sample's knobs (docs/device-grant.md#settings-of-the-aws-sample) with their
 * defaults, and the registered clients. The same
 * checks run in the `DeviceGrant` component at preview (before any resource is declared), in the Lambda at
 * cold start (within the runtime configuration, `config.ts`) and in the local sandbox, and every check
 * reports every problem at once.
 */
import { integerSetting, isObject } from "../shared/checks";
import { type Namer, type Problem, problem, problemAt, problemWithText, rendered } from "../shared/problems";
import { FORMAT_CLASSES, alphabetOf, entropyBits, unknownFormatLetters } from "./codes";
import { type ClientRegistration, type DeviceGrantSettings, type TokenKind } from "./model";

export const TOKEN_KINDS: readonly TokenKind[] = ["ACCESS", "ID", "REFRESH"];

/**
 * The sample's defaults, except the user code: consonants only (RFC 8628 §6.1), 8 of them ≈ 34.6 bits
 * (docs/device-grant.md#user-codes-and-brute-force).
 */
export const DEFAULT_DEVICE_GRANT_SETTINGS: Readonly<DeviceGrantSettings> = Object.freeze({
  codeExpirySeconds: 1_800,
  deviceCodeFormat: "#aA",
  deviceCodeLength: 64,
  userCodeFormat: "B",
  userCodeLength: 8,
  userCodeMask: "####-####",
  pollingIntervalSeconds: 5,
  // Frozen too: a caller that mutated the defaults' list would change every later default.
  resultTokenSet: Object.freeze(["ACCESS", "REFRESH"]) as TokenKind[],
  maxFailedEntriesPerIp: 10,
  maxFailedAttemptsPerCode: 5,
  attemptWindowSeconds: 900,
  approvalLockSeconds: 300,
  allowWeakCodes: false,
});

/**
 * Entropy floors: RFC 8628 §5.2 wants device codes unguessable; §5.1 rates 8 of 20 consonants (34.6 bits) as enough
 * for a rate-limited user code.
 */
export const MIN_DEVICE_CODE_BITS = 128;
export const MIN_USER_CODE_BITS = 30;

/** Inclusive ranges of the integer settings, and why where it is not obvious. */
export const SETTING_RANGES = {
  /** At least a minute to walk to a laptop; at most a day (a code that lives longer is a standing invitation). */
  codeExpirySeconds: [60, 86_400],
  deviceCodeLength: [1, 512],
  /** A person types it. */
  userCodeLength: [1, 32],
  /** RFC 8628 §3.2: an integer ≥ 1; past a minute the user waits for the device after approving. */
  pollingIntervalSeconds: [1, 60],
  maxFailedEntriesPerIp: [1, 10_000],
  maxFailedAttemptsPerCode: [1, 100],
  attemptWindowSeconds: [60, 86_400],
  /** Long enough to sign in at the IdP (with MFA); short enough that an abandoned approval frees the code soon. */
  approvalLockSeconds: [30, 3_600],
} as const satisfies Partial<Record<keyof DeviceGrantSettings, readonly [number, number]>>;

type IntegerSetting = keyof typeof SETTING_RANGES;

/** RFC 6749 §3.3 `scope-token`: printable ASCII except space, `"` and `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
/** Client ids travel in forms, Basic credentials and logs: printable ASCII, no space. Cognito's are 26 alphanumerics. */
const CLIENT_ID = /^[\x21-\x7e]{1,128}$/;

/** One decimal, except where rounding would reach the minimum it falls short of (127.96 must not read "128.0"). */
function fmtBits(bits: number, minimum: number): string {
  const shown = bits.toFixed(1);
  return Number(shown) < minimum ? shown : (Math.floor(bits * 100) / 100).toFixed(2);
}

/** Parses `ACCESS+REFRESH` (the sample's `RESULT_TOKEN_SET`) or `["ACCESS", "REFRESH"]`. */
function checkTokenSet(value: unknown, problems: Problem[]): TokenKind[] {
  let parts: unknown[];
  if (typeof value === "string") parts = value.split("+").map((p) => p.trim());
  else if (Array.isArray(value)) parts = value;
  else {
    problems.push(
      problemAt(
        "resultTokenSet",
        `must be a list such as ["ACCESS", "REFRESH"] or a string such as "ACCESS+REFRESH"; got ${JSON.stringify(value)}`,
      ),
    );
    return [...DEFAULT_DEVICE_GRANT_SETTINGS.resultTokenSet];
  }
  const unknown = parts.filter((p) => !(TOKEN_KINDS as readonly unknown[]).includes(p));
  if (unknown.length > 0) {
    problems.push(
      problemAt(
        "resultTokenSet",
        `has unknown token kind(s) ${unknown.map((u) => JSON.stringify(u)).join(", ")}; allowed: ${TOKEN_KINDS.join(", ")}`,
      ),
    );
  }
  const kinds = TOKEN_KINDS.filter((k) => parts.includes(k));
  if (!kinds.includes("ACCESS")) {
    problems.push(
      problemAt("resultTokenSet", "must include ACCESS: a token response without access_token is not a token response (RFC 6749 §5.1)"),
    );
  }
  return kinds;
}

/** A mask for `length` characters in groups of four, used when the user code length is set without a mask. */
export function defaultUserCodeMask(length: number): string {
  return Array.from({ length: Math.ceil(length / 4) }, (_, i) => "#".repeat(Math.min(4, length - i * 4))).join("-");
}

/**
 * Checks the stack's device grant settings and fills in defaults. `raw` may be undefined (all defaults).
 * Returns the settings (defaults in place of bad values) and every problem found; callers decide whether to throw.
 */
export function checkDeviceGrantSettings(raw: unknown): { settings: DeviceGrantSettings; problems: string[] } {
  return rendered(inspectDeviceGrantSettings(raw));
}

/** `checkDeviceGrantSettings` with each problem's path, for callers that name settings their own way. */
export function inspectDeviceGrantSettings(raw: unknown): { settings: DeviceGrantSettings; problems: Problem[] } {
  const problems: Problem[] = [];
  const r: Record<string, unknown> = raw === undefined ? {} : isObject(raw) ? raw : {};
  if (raw !== undefined && !isObject(raw)) problems.push(problemWithText("", "the device grant settings must be an object"));
  const defaults = DEFAULT_DEVICE_GRANT_SETTINGS;

  const known = new Set(Object.keys(defaults));
  for (const key of Object.keys(r)) if (!known.has(key)) problems.push(problemWithText(key, `unknown setting "${key}"`));

  const integer = (key: IntegerSetting) => checkInteger(r, key, problems);
  const format = (key: CodeFormatSetting) => checkFormat(r, key, problems);
  const codeExpiry = integer("codeExpirySeconds");
  const deviceFormat = format("deviceCodeFormat");
  const deviceLength = integer("deviceCodeLength");
  const userFormat = format("userCodeFormat");
  const userLength = integer("userCodeLength");
  const interval = integer("pollingIntervalSeconds");
  const maxPerIp = integer("maxFailedEntriesPerIp");
  const maxPerCode = integer("maxFailedAttemptsPerCode");
  const window = integer("attemptWindowSeconds");
  const approvalLock = integer("approvalLockSeconds");
  const resultTokenSet = r.resultTokenSet === undefined ? [...defaults.resultTokenSet] : checkTokenSet(r.resultTokenSet, problems);
  const allowWeakCodes = checkAllowWeakCodes(r, problems);
  if (userFormat.ok) checkUserCodeCase(userFormat.value, problems);
  const userCodeMask = checkUserCodeMask(r, userLength, problems);
  if (!allowWeakCodes) checkEntropy({ deviceFormat, deviceLength, userFormat, userLength }, problems);

  return {
    settings: {
      codeExpirySeconds: codeExpiry.value,
      deviceCodeFormat: deviceFormat.value,
      deviceCodeLength: deviceLength.value,
      userCodeFormat: userFormat.value,
      userCodeLength: userLength.value,
      userCodeMask,
      pollingIntervalSeconds: interval.value,
      resultTokenSet,
      maxFailedEntriesPerIp: maxPerIp.value,
      maxFailedAttemptsPerCode: maxPerCode.value,
      attemptWindowSeconds: window.value,
      approvalLockSeconds: approvalLock.value,
      allowWeakCodes,
    },
    problems,
  };
}

/** A checked setting: its value (the default when the given one is bad) and whether the given one was good. */
interface Checked<T> {
  value: T;
  ok: boolean;
}

type CodeFormatSetting = "deviceCodeFormat" | "userCodeFormat";

function checkInteger(r: Record<string, unknown>, key: IntegerSetting, problems: Problem[]): Checked<number> {
  const before = problems.length;
  const value = integerSetting(
    key,
    r[key] ?? DEFAULT_DEVICE_GRANT_SETTINGS[key],
    SETTING_RANGES[key],
    DEFAULT_DEVICE_GRANT_SETTINGS[key],
    problems,
  );
  return { value, ok: problems.length === before };
}

function checkFormat(r: Record<string, unknown>, key: CodeFormatSetting, problems: Problem[]): Checked<string> {
  const value = r[key] ?? DEFAULT_DEVICE_GRANT_SETTINGS[key];
  if (typeof value !== "string" || value.length === 0) {
    problems.push(
      problemAt(
        key,
        `must be a non-empty string of format letters (${Object.keys(FORMAT_CLASSES).join(" ")}); got ${JSON.stringify(value)}`,
      ),
    );
    return { value: DEFAULT_DEVICE_GRANT_SETTINGS[key], ok: false };
  }
  const unknown = unknownFormatLetters(value);
  if (unknown.length > 0) {
    problems.push(
      problemAt(
        key,
        `${JSON.stringify(value)} has unknown letter(s) ${unknown.map((l) => JSON.stringify(l)).join(", ")}; ` +
          `allowed: # digits, a lowercase, A uppercase, b lowercase consonants, B uppercase consonants, ! special characters`,
      ),
    );
    return { value: DEFAULT_DEVICE_GRANT_SETTINGS[key], ok: false };
  }
  return { value, ok: true };
}

function checkAllowWeakCodes(r: Record<string, unknown>, problems: Problem[]): boolean {
  if (r.allowWeakCodes === undefined) return DEFAULT_DEVICE_GRANT_SETTINGS.allowWeakCodes;
  if (typeof r.allowWeakCodes !== "boolean") {
    problems.push(problemAt("allowWeakCodes", `must be true or false; got ${JSON.stringify(r.allowWeakCodes)}`));
    return DEFAULT_DEVICE_GRANT_SETTINGS.allowWeakCodes;
  }
  return r.allowWeakCodes;
}

function checkUserCodeCase(userCodeFormat: string, problems: Problem[]): void {
  // Both cases of a letter would be one character once matching folds case: the display would show
  // `b` and `B` as different while they are the same guess.
  const alphabet = alphabetOf(userCodeFormat);
  if (new Set([...alphabet].map((ch) => ch.toUpperCase())).size < alphabet.length) {
    problems.push(
      problemAt(
        "userCodeFormat",
        `${JSON.stringify(userCodeFormat)} mixes lower and upper case letters; user codes are matched case-insensitively, so use one case (e.g. "B")`,
      ),
    );
  }
}

/** The mask as given, or one in groups of four for the user code length (the default's when no length is set either). */
function checkUserCodeMask(r: Record<string, unknown>, userLength: Checked<number>, problems: Problem[]): string {
  if (r.userCodeMask === undefined) {
    return r.userCodeLength === undefined ? DEFAULT_DEVICE_GRANT_SETTINGS.userCodeMask : defaultUserCodeMask(userLength.value);
  }
  if (typeof r.userCodeMask !== "string" || !/^[# -]*#[# -]*$/.test(r.userCodeMask)) {
    problems.push(
      problemAt(
        "userCodeMask",
        `must be # slots separated by dashes or spaces (which user-code entry ignores), e.g. "####-####"; got ${JSON.stringify(r.userCodeMask)}`,
      ),
    );
    return defaultUserCodeMask(userLength.value);
  }
  const userCodeMask = r.userCodeMask;
  const slots = [...userCodeMask].filter((ch) => ch === "#").length;
  if (userLength.ok && slots !== userLength.value) {
    problems.push(
      problem(
        "userCodeMask",
        (name) =>
          `${name("userCodeMask")} ${JSON.stringify(userCodeMask)} has ${slots} # slot(s) but ${name("userCodeLength")} is ${userLength.value}`,
      ),
    );
  }
  return userCodeMask;
}

/** The entropy floors, for the codes whose format and length were both good. */
function checkEntropy(
  codes: { deviceFormat: Checked<string>; deviceLength: Checked<number>; userFormat: Checked<string>; userLength: Checked<number> },
  problems: Problem[],
): void {
  const { deviceFormat, deviceLength, userFormat, userLength } = codes;
  if (deviceFormat.ok && deviceLength.ok) {
    const bits = entropyBits(deviceFormat.value, deviceLength.value);
    if (bits < MIN_DEVICE_CODE_BITS) {
      problems.push(
        problem(
          "deviceCodeLength",
          (name) =>
            `${name("deviceCodeLength")} ${deviceLength.value} with format ${deviceFormat.value} gives ${fmtBits(bits, MIN_DEVICE_CODE_BITS)} bits; ` +
            `at least ${MIN_DEVICE_CODE_BITS} are required (or set ${name("allowWeakCodes")})`,
        ),
      );
    }
  }
  if (userFormat.ok && userLength.ok) {
    const bits = entropyBits(userFormat.value, userLength.value, { caseInsensitive: true });
    if (bits < MIN_USER_CODE_BITS) {
      problems.push(
        problem(
          "userCodeLength",
          (name) =>
            `${name("userCodeLength")} ${userLength.value} with format ${userFormat.value} gives ${fmtBits(bits, MIN_USER_CODE_BITS)} bits (matched case-insensitively); ` +
            `at least ${MIN_USER_CODE_BITS} are required (or set ${name("allowWeakCodes")})`,
        ),
      );
    }
  }
}

/** Checks a scope list: non-empty, RFC 6749 scope tokens, no repeats. */
export function checkScopeList(value: unknown, path: string, label: (name: Namer) => string, problems: Problem[]): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    problems.push(problem(path, (name) => `${label(name)} must be a non-empty list of scopes`));
    return [];
  }
  const scopes: string[] = [];
  for (const scope of value) {
    if (typeof scope !== "string" || !SCOPE_TOKEN.test(scope)) {
      problems.push(
        problem(
          path,
          (name) => `${label(name)}: ${JSON.stringify(scope)} is not a scope (printable ASCII without spaces, quotes or backslashes)`,
        ),
      );
    } else if (scopes.includes(scope)) {
      problems.push(problem(path, (name) => `${label(name)}: scope ${scope} is listed more than once`));
    } else {
      scopes.push(scope);
    }
  }
  return scopes;
}

/** Checks the registered clients: unique ids, a name to show, a type, and the scopes each may request. */
export function checkClients(raw: unknown): { clients: ClientRegistration[]; problems: string[] } {
  return rendered(inspectClients(raw));
}

/** `checkClients` with each problem's path, for callers that name settings their own way. */
export function inspectClients(raw: unknown): { clients: ClientRegistration[]; problems: Problem[] } {
  const problems: Problem[] = [];
  const clients: ClientRegistration[] = [];
  if (!Array.isArray(raw) || raw.length === 0) {
    problems.push(problemAt("clients", "must list at least one client"));
    return { clients, problems };
  }
  const seen = new Set<string>();
  raw.forEach((entry, i) => {
    const where = `clients[${i}]`;
    if (!isObject(entry)) {
      problems.push(problemAt(where, "must be an object with clientId, name, type and scopes"));
      return;
    }
    const before = problems.length;
    for (const key of Object.keys(entry)) {
      if (!["clientId", "name", "type", "scopes"].includes(key))
        problems.push(problem(`${where}.${key}`, (name) => `${name(where)}: unknown setting "${key}"`));
    }
    const { clientId, name, type } = entry;
    if (typeof clientId !== "string" || !CLIENT_ID.test(clientId)) {
      problems.push(
        problemAt(`${where}.clientId`, `must be 1-128 printable ASCII characters without spaces; got ${JSON.stringify(clientId)}`),
      );
    } else if (seen.has(clientId)) {
      problems.push(problemWithText(`${where}.clientId`, `client ${clientId} is registered more than once`));
    } else {
      seen.add(clientId);
    }
    // Named `client <id>` as the service knows it; a caller that knows the client by another name renames `where`.
    const label = (n: Namer) => n(where, typeof clientId === "string" && clientId ? `client ${clientId}` : where);
    const about = (field: string, text: string) => problems.push(problem(`${where}.${field}`, (n) => `${label(n)}: ${text}`));
    if (typeof name !== "string" || name.trim().length === 0 || name.length > 100) {
      about("name", "name must be a non-empty string of at most 100 characters (the confirmation page shows it)");
    }
    if (type !== "public" && type !== "confidential") {
      about("type", `type must be "public" or "confidential"; got ${JSON.stringify(type)}`);
    }
    const scopes = checkScopeList(entry.scopes, `${where}.scopes`, (n) => `${label(n)}: scopes`, problems);
    if (problems.length === before) {
      clients.push({ clientId: clientId as string, name: name as string, type: type as ClientRegistration["type"], scopes });
    }
  });
  return { clients, problems };
}
