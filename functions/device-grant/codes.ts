/**
 * Device and user codes: the AWS device-grant sample's format language (docs/device-grant.md#format-letters), uniform generation
 * from a CSPRNG, the entropy a
 * format gives, and the user-code normalisation RFC 8628 §6.1 asks for (case-insensitive, dashes and
 * spaces ignored). Pure functions; randomness comes in through the `RandomSource` port so tests can seed it.
 * Also the credentials that name their request (`<user code>-<secret>`: the device code, the upstream `state`)
 * and the constant-time comparison the endpoints apply to whatever secret a caller presents.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { type RandomSource } from "./model";

/**
 * Special characters for the `!` format letter. Each one is left as it is by `encodeURIComponent` and
 * means nothing in a query string, a form body, HTML or JSON (no `& = + % # ? / \ " ' < >`, no space),
 * so a code survives any layer that forgets to escape it. `-` is left out on purpose: user codes ignore
 * dashes, so a dash inside a code would be lost on entry.
 */
export const SPECIAL_CHARACTERS = "!*._~";

const DIGITS = "0123456789";
const LOWER = "abcdefghijklmnopqrstuvwxyz";
/** RFC 8628 §6.1's example alphabet: no vowels (no words), so no `0/O` or `1/I` confusion either. */
const LOWER_CONSONANTS = "bcdfghjklmnpqrstvwxz";

/** The sample's format letters and the characters each one stands for. */
export const FORMAT_CLASSES: Readonly<Record<string, string>> = {
  "#": DIGITS,
  a: LOWER,
  A: LOWER.toUpperCase(),
  b: LOWER_CONSONANTS,
  B: LOWER_CONSONANTS.toUpperCase(),
  "!": SPECIAL_CHARACTERS,
};

/** Format letters not in the sample's language, each once, in order of appearance. */
export function unknownFormatLetters(format: string): string[] {
  return [...new Set([...format].filter((letter) => !Object.hasOwn(FORMAT_CLASSES, letter)))];
}

/**
 * The characters a format draws from: the union of its classes, each character once, in the order the
 * format names the classes (so `#aA` and `aA#` differ in order only). Throws on an unknown letter.
 */
export function alphabetOf(format: string): string {
  const unknown = unknownFormatLetters(format);
  if (unknown.length > 0) throw new RangeError(`unknown format letter(s) ${unknown.map((l) => JSON.stringify(l)).join(", ")}`);
  if (format.length === 0) throw new RangeError("empty code format");
  const seen = new Set<string>();
  for (const letter of format) for (const ch of FORMAT_CLASSES[letter]) seen.add(ch);
  return [...seen].join("");
}

/**
 * A code of `length` characters drawn uniformly from the format's alphabet. Rejection sampling: a byte is
 * used only when it falls below the largest multiple of the alphabet size that fits in 256, so `byte % n`
 * is exactly uniform (plain `byte % 62` would favour the first 8 characters by 1/256 each).
 */
export function generateCode(format: string, length: number, random: RandomSource = cryptoRandom): string {
  if (!Number.isInteger(length) || length < 1) throw new RangeError(`code length must be a positive integer; got ${length}`);
  const alphabet = alphabetOf(format);
  const n = alphabet.length;
  const limit = 256 - (256 % n);
  let code = "";
  for (let draws = 0; code.length < length; draws++) {
    // A CSPRNG never gets here (each draw is nearly always enough); a broken source must not hang a Lambda.
    if (draws === 64) throw new Error("the random source keeps returning unusable bytes");
    const missing = length - code.length;
    // Enough bytes for the expected number of rejections, plus a little, so one draw nearly always does.
    const bytes = random.bytes(Math.ceil((missing * 256) / limit) + 4);
    for (const byte of bytes) {
      if (byte >= limit) continue;
      code += alphabet[byte % n];
      if (code.length === length) break;
    }
  }
  return code;
}

/**
 * Bits of entropy of a uniformly drawn code: `length × log2(alphabet size)`. With `caseInsensitive` the
 * alphabet is counted after folding case, since `a` and `A` are then the same guess: this is the number
 * that matters for user codes, which RFC 8628 §6.1 matches case-insensitively.
 */
export function entropyBits(format: string, length: number, options: { caseInsensitive?: boolean } = {}): number {
  const alphabet = alphabetOf(format);
  const size = options.caseInsensitive ? new Set([...alphabet].map((ch) => ch.toUpperCase())).size : alphabet.length;
  return length * Math.log2(size);
}

/** Dashes of every kind (`-`, `‐`, `–`, `—`, …) and whitespace of every kind: ignored in user codes. */
const IGNORED_IN_USER_CODES = /[\p{Pd}\s]/gu;

function normalizeOnce(input: string): string {
  return input.normalize("NFKC").replace(IGNORED_IN_USER_CODES, "").toUpperCase();
}

/**
 * The canonical form of a user code as typed: compatibility-normalised (NFKC turns full-width `Ｂ` into
 * `B`, as a phone keyboard in an East Asian locale types it), without dashes or whitespace, upper-cased.
 * Idempotent: upper-casing can produce characters NFKC changes again (rare letters), so the steps
 * repeat until nothing changes.
 */
export function normalizeUserCode(input: string): string {
  let current = normalizeOnce(input);
  for (let i = 0; i < 8; i++) {
    const next = normalizeOnce(current);
    if (next === current) return current;
    current = next;
  }
  return current;
}

/**
 * Lays a code out for display: each `#` of the mask takes the code's next character, everything else is
 * copied (`####-####` → `BCDF-GHJK`). The mask's other characters should be ones `normalizeUserCode`
 * drops (dashes, spaces), so the displayed form can be typed back as it is; the configuration checks that.
 */
export function formatUserCode(code: string, mask: string): string {
  const slots = [...mask].filter((ch) => ch === "#").length;
  const chars = [...code];
  if (slots !== chars.length) throw new RangeError(`mask has ${slots} # slot(s) for a ${chars.length}-character code`);
  let next = 0;
  return [...mask].map((ch) => (ch === "#" ? chars[next++] : ch)).join("");
}

/** What the store keeps instead of a secret (the device code's secret part): its SHA-256, lower-case hex. */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/**
 * Between a request's key (its normalised user code) and a secret, in the device code and the upstream
 * `state`. No format letter's characters contain it and normalised user codes never do (dashes are ignored
 * on entry, `SPECIAL_CHARACTERS` leaves it out), so the first one splits unambiguously.
 */
export const CREDENTIAL_SEPARATOR = "-";

/** The longest normalised user code a look-up considers (32 configured characters at most, with room to spare). */
export const MAX_USER_CODE_LENGTH = 64;

/**
 * A credential that names its request: `<user code>-<secret>`. The device code is one (the secret drawn in the
 * configured format and length: the entropy floor applies to it alone), and so is the upstream `state`.
 * The key lets the service find the request with one key lookup; only the secret's hash is stored.
 */
export function joinCredential(userCode: string, secret: string): string {
  return `${userCode}${CREDENTIAL_SEPARATOR}${secret}`;
}

/** The key and secret of a presented credential, or `undefined` for anything that cannot be one. */
export function splitCredential(value: string): { userCode: string; secret: string } | undefined {
  const at = value.indexOf(CREDENTIAL_SEPARATOR);
  if (at <= 0 || at > MAX_USER_CODE_LENGTH || at === value.length - 1) return undefined;
  const userCode = value.slice(0, at);
  // A key is a normalised user code exactly as issued: printable ASCII, upper case where it has letters.
  if (!/^[\x21-\x7e]+$/.test(userCode) || normalizeUserCode(userCode) !== userCode) return undefined;
  return { userCode, secret: value.slice(at + 1) };
}

/**
 * Compares a presented secret (a client secret, a CSRF token) with the expected one in constant time:
 * both are hashed first, so the comparison is of equal lengths and leaks neither length nor content.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const da = createHash("sha256").update(a, "utf8").digest();
  const db = createHash("sha256").update(b, "utf8").digest();
  return timingSafeEqual(da, db);
}

/** The production randomness: node's CSPRNG. */
export const cryptoRandom: RandomSource = { bytes: (n) => randomBytes(n) };
