/**
 * The `TokenSigner` port's shared parts and its local implementation: a private key held in memory, as the
 * sandbox and the tests use it (the deployed function signs with KMS, `kms-signer.ts`, and never holds a
 * private key). Also what both need: the public JWK with its RFC 7638 thumbprint as `kid`, and the
 * conversion of an ECDSA signature from DER (what KMS and node's default return) to the raw `r‖s` JWS
 * uses (RFC 7518 §3.4).
 */
import { createHash, createPublicKey, type KeyObject, sign } from "node:crypto";
import { type PublicJwk, type TokenSigner } from "./model";

export type SigningAlgorithm = TokenSigner["algorithm"];

/** JWS algorithms the service signs with, and what each needs. */
export const SIGNING_ALGORITHMS: Record<SigningAlgorithm, { kty: "RSA" | "EC"; crv?: string; coordinateBytes?: number }> = {
  RS256: { kty: "RSA" },
  ES256: { kty: "EC", crv: "P-256", coordinateBytes: 32 },
};

/**
 * RFC 7638 JWK thumbprint (SHA-256, base64url) of a public key: the required members in lexicographic
 * order, no whitespace. A stable `kid` that changes exactly when the key does.
 */
export function jwkThumbprint(jwk: { kty: string; n?: string; e?: string; crv?: string; x?: string; y?: string }): string {
  const members = jwk.kty === "RSA" ? { e: jwk.e, kty: jwk.kty, n: jwk.n } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y };
  return createHash("sha256").update(JSON.stringify(members), "utf8").digest("base64url");
}

/** The JWK the JWKS route publishes for a public key (PEM or `KeyObject`), checked against the algorithm. */
export function publicJwkOf(publicKey: string | KeyObject, algorithm: SigningAlgorithm): PublicJwk {
  const key = typeof publicKey === "string" ? createPublicKey(publicKey) : publicKey;
  const jwk = key.export({ format: "jwk" }) as { kty: string; n?: string; e?: string; crv?: string; x?: string; y?: string };
  const wanted = SIGNING_ALGORITHMS[algorithm];
  if (jwk.kty !== wanted.kty || (wanted.crv !== undefined && jwk.crv !== wanted.crv)) {
    throw new TypeError(`a ${jwk.kty}${jwk.crv ? ` ${jwk.crv}` : ""} key cannot sign ${algorithm}`);
  }
  if (jwk.kty === "RSA" && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048)
    throw new TypeError("RSA signing keys need 2048 bits or more");
  const kid = jwkThumbprint(jwk);
  return jwk.kty === "RSA"
    ? { kty: "RSA", kid, alg: algorithm, use: "sig", n: jwk.n as string, e: jwk.e as string }
    : { kty: "EC", kid, alg: algorithm, use: "sig", crv: jwk.crv as string, x: jwk.x as string, y: jwk.y as string };
}

/**
 * An ECDSA signature as JWS carries it: `r‖s`, each left-padded to the curve's size (RFC 7518 §3.4), from the
 * DER `SEQUENCE { INTEGER r, INTEGER s }` of ANSI X9.62 / RFC 3279 §2.2.3. Throws on anything else.
 */
export function derToJoseSignature(der: Uint8Array, coordinateBytes: number): Buffer {
  const bytes = Buffer.from(der);
  let offset = 0;
  const fail = (why: string): never => {
    throw new TypeError(`not a DER ECDSA signature: ${why}`);
  };
  const readLength = (): number => {
    const first = bytes[offset++];
    if (first === undefined) return fail("truncated");
    if (first < 0x80) return first;
    if (first !== 0x81) return fail("length form");
    const long = bytes[offset++];
    if (long === undefined || long < 0x80) return fail("length encoding");
    return long;
  };
  const readInteger = (): Buffer => {
    if (bytes[offset++] !== 0x02) fail("expected INTEGER");
    const length = readLength();
    if (length === 0 || offset + length > bytes.length) fail("INTEGER length");
    let value = bytes.subarray(offset, offset + length);
    offset += length;
    // A leading zero only keeps a positive integer positive; it is not part of the value.
    while (value.length > 1 && value[0] === 0) value = value.subarray(1);
    if (value.length > coordinateBytes) fail("INTEGER larger than the curve");
    return Buffer.concat([Buffer.alloc(coordinateBytes - value.length), value]);
  };
  if (bytes[offset++] !== 0x30) fail("expected SEQUENCE");
  if (readLength() !== bytes.length - offset) fail("SEQUENCE length");
  const r = readInteger();
  const s = readInteger();
  if (offset !== bytes.length) fail("trailing bytes");
  return Buffer.concat([r, s]);
}

/** A signer over a private key in memory: the sandbox's and the tests' stand-in for the KMS key. */
export function createLocalSigner(privateKey: KeyObject, algorithm: SigningAlgorithm = "RS256"): TokenSigner {
  const publicJwk = publicJwkOf(createPublicKey(privateKey), algorithm);
  return {
    algorithm,
    publicJwk,
    async sign(signingInput) {
      if (algorithm === "ES256") return sign("sha256", signingInput, { key: privateKey, dsaEncoding: "ieee-p1363" });
      return sign("sha256", signingInput, privateKey);
    },
  };
}

/** The KMS signing algorithm of each JWS algorithm (AWS KMS: asymmetric key specs, signing algorithms). */
export const KMS_SIGNING_ALGORITHMS: Record<SigningAlgorithm, "RSASSA_PKCS1_V1_5_SHA_256" | "ECDSA_SHA_256"> = {
  RS256: "RSASSA_PKCS1_V1_5_SHA_256",
  ES256: "ECDSA_SHA_256",
};

/** The KMS key spec each JWS algorithm needs. */
export const KMS_KEY_SPECS: Record<SigningAlgorithm, "RSA_2048" | "ECC_NIST_P256"> = { RS256: "RSA_2048", ES256: "ECC_NIST_P256" };
