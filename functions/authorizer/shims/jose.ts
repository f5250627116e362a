/**
 * What jwks-rsa 4 needs of jose 6, in node:crypto: `importJWK` and `exportSPKI`, the only two functions its
 * `retrieveSigningKeys` calls. The authorizer's bundle and its jest runs load this file in place of jose
 * (`../bundle-aliases.json`, applied by infra/bundle.ts and by tests/helpers/resolver.cjs).
 *
 * Why not jose itself: jose 6 is ESM-only, which jest's CommonJS loader cannot read, and it is 60 KiB of the
 * bundle and most of its load time, for a job node:crypto does in one call (`createPublicKey({ format: "jwk" })`,
 * as aws-jwt-verify does). Why not drop jwks-rsa instead: it is the project's named JWKS client. What differs from
 * jose, on purpose: the key is a `KeyObject`, not a WebCrypto `CryptoKey` (jwks-rsa handles both, and exports a
 * `KeyObject` with `key.export` without calling `exportSPKI`). What is kept: a JWK with a private part imports as a
 * private key, which jwks-rsa then skips, and an `alg` that does not fit the key's type is refused, as jose does.
 * Outside the bundle and jest (the sandbox under ts-node), jwks-rsa loads the real jose 6; both yield the same SPKI.
 */
import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from "node:crypto";

/** The key types (and, for EC, curves) each JWS algorithm family may use (RFC 7518 §3.1, RFC 8037 §3.1). */
function fits(alg: string, key: KeyObject): boolean {
  const type = key.asymmetricKeyType;
  if (/^(RS|PS)(256|384|512)$/.test(alg)) return type === "rsa" || type === "rsa-pss";
  const curve = { ES256: "prime256v1", ES384: "secp384r1", ES512: "secp521r1" }[alg];
  if (curve !== undefined) return type === "ec" && key.asymmetricKeyDetails?.namedCurve === curve;
  return alg === "EdDSA" && (type === "ed25519" || type === "ed448");
}

export async function importJWK(jwk: JsonWebKey, alg?: string): Promise<KeyObject> {
  const key = jwk.d !== undefined ? createPrivateKey({ key: jwk, format: "jwk" }) : createPublicKey({ key: jwk, format: "jwk" });
  const algorithm = alg ?? jwk.alg;
  if (typeof algorithm !== "string" || !fits(algorithm, key))
    throw new TypeError('Invalid or unsupported JWK "alg" (Algorithm) Parameter value');
  return key;
}

export async function exportSPKI(key: KeyObject): Promise<string> {
  return key.export({ type: "spki", format: "pem" }) as string;
}
