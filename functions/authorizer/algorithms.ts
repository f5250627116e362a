/**
 * The JWS algorithms an issuer may be pinned to, and what an HMAC shared secret must be to serve them.
 * The configuration checks, the authorizer and the `IotTokenAuthorizer` component all decode a shared secret
 * here, so a secret is refused with the same words wherever it is met.
 */
import { createSecretKey, type KeyObject } from "node:crypto";

export const RSA_ALGORITHMS = ["RS256", "RS384", "RS512"] as const;
export const HMAC_ALGORITHMS = ["HS256", "HS384", "HS512"] as const;
export type RsaAlgorithm = (typeof RSA_ALGORITHMS)[number];
export type HmacAlgorithm = (typeof HMAC_ALGORITHMS)[number];
export type Algorithm = RsaAlgorithm | HmacAlgorithm;

/** RFC 7518 §3.2: an HMAC key must be at least as long as the hash output. */
export const MIN_HMAC_KEY_BYTES: Record<HmacAlgorithm, number> = { HS256: 32, HS384: 48, HS512: 64 };

export function isRsaAlgorithm(alg: string): alg is RsaAlgorithm {
  return (RSA_ALGORITHMS as readonly string[]).includes(alg);
}
export function isHmacAlgorithm(alg: string): alg is HmacAlgorithm {
  return (HMAC_ALGORITHMS as readonly string[]).includes(alg);
}

/** Standard base64 (RFC 4648 §4) with its padding: what OpenAM takes for a shared secret and IoT for a token signature. */
export const STANDARD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Decodes an HMAC shared secret given as standard base64, as OpenAM's console takes it, and
 * returns it as a `KeyObject` (docs/jwt-verification.md#keys-as-keyobjects), or why it cannot be used (a sentence that follows the issuer's
 * name, without the secret).
 */
export function decodeSharedSecret(
  base64: string,
  algorithms: readonly Algorithm[],
): { key: KeyObject; problem?: undefined } | { key?: undefined; problem: string } {
  const trimmed = base64.trim();
  if (!STANDARD_BASE64.test(trimmed)) {
    return { problem: "the shared secret is not standard base64 (A-Z a-z 0-9 + / with = padding)" };
  }
  const bytes = Buffer.from(trimmed, "base64");
  const needed = Math.max(0, ...algorithms.filter(isHmacAlgorithm).map((a) => MIN_HMAC_KEY_BYTES[a]));
  if (bytes.length < needed) {
    return { problem: `the shared secret decodes to ${bytes.length} bytes; ${algorithms.join("/")} needs at least ${needed}` };
  }
  return { key: createSecretKey(bytes) };
}
