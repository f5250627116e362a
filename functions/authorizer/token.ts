/**
 * The token as a compact JWS: its three parts, its header and payload as JSON objects, its numeric dates, and
 * its signature. Any malformation is a `Denial`, so the authorizer refuses before it trusts a single claim.
 *
 * The signature is checked with node:crypto directly: HMAC compared in constant time, RSA PKCS#1 v1.5
 * through `crypto.verify`, each with the algorithm the issuer is pinned to and a `KeyObject` (docs/jwt-verification.md#keys-as-keyobjects).
 * jsonwebtoken would add nothing here: every claim check it leaves out (a token with no `exp`, an `iat`
 * in the future, an unknown `crit`: docs/jwt-verification.md#checks-jsonwebtoken-leaves-out) is ours anyway, and it would decode
 * every token a second
 * time, which made the whole HS256 decision three times slower. The tests sign their tokens with
 * jsonwebtoken, and a property test holds this verifier to jsonwebtoken's verdicts.
 */
import { createHmac, type KeyObject, timingSafeEqual, verify } from "node:crypto";
import { Denial } from "./errors";

const COMPACT_PART = /^[A-Za-z0-9_-]+$/;

export interface ParsedToken {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  /** The third part, still base64url: `verifySignature` checks it is canonical. */
  signature: string;
}

/**
 * Splits a compact JWS and decodes its header and payload. A `crit` header is refused: we support no
 * extension, and RFC 7515 §4.1.11 says a verifier must then reject the token.
 */
export function parseToken(token: string): ParsedToken {
  const parts = token.split(".");
  if (parts.length !== 3 || !COMPACT_PART.test(parts[2])) {
    throw new Denial("token-malformed", "the token is not a signed JWT (three non-empty base64url parts)");
  }
  const header = decodePart(parts[0], "header");
  const payload = decodePart(parts[1], "payload");
  if (header.crit !== undefined) {
    throw new Denial("critical-header", "the token has critical header extensions, none of which are supported");
  }
  return { header, payload, signature: parts[2] };
}

export function decodePart(part: string, what: string): Record<string, unknown> {
  if (!COMPACT_PART.test(part)) throw new Denial("token-malformed", `the ${what} is not base64url`);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
  } catch {
    throw new Denial("token-malformed", `the ${what} is not JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Denial("token-malformed", `the ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** A NumericDate claim (`exp`, `nbf`, `iat`) in seconds, or undefined when absent; anything else is malformed. */
export function numericDate(payload: Record<string, unknown>, claim: string): number | undefined {
  const value = payload[claim];
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new Denial("token-malformed", `the ${claim} claim is not a number`);
  }
  return value;
}

const HASH_OF: Record<string, string> = {
  HS256: "sha256",
  HS384: "sha384",
  HS512: "sha512",
  RS256: "sha256",
  RS384: "sha384",
  RS512: "sha512",
};

/**
 * Verifies a JWS signature over `header.payload` with the pinned algorithm. The signature must be
 * canonical base64url (re-encoding gives it back), so one token has exactly one accepted form.
 */
export function verifySignature(alg: string, key: KeyObject, token: string, encodedSignature: string): boolean {
  const hash = HASH_OF[alg];
  if (hash === undefined) return false;
  const signature = Buffer.from(encodedSignature, "base64url");
  if (signature.toString("base64url") !== encodedSignature) return false;
  const input = Buffer.from(token.slice(0, token.length - encodedSignature.length - 1), "utf8");
  if (alg.startsWith("HS")) {
    if (key.type !== "secret") return false;
    const expected = createHmac(hash, key).update(input).digest();
    return expected.length === signature.length && timingSafeEqual(expected, signature);
  }
  if (key.type !== "public" || key.asymmetricKeyType !== "rsa") return false;
  return verify(hash, input, key, signature);
}
