/**
 * The node:crypto stand-in for jose (functions/authorizer/shims/jose.ts) against the real thing: jwks-rsa as the
 * Lambda bundle and jest load it (with the stand-in) and jwks-rsa as Node loads it (with jose 6, through Node's own
 * `require(esm)`, see sandbox/esm.ts) turn the same JWKS into the same signing keys, key for key (same kid, alg and
 * SPKI; jose's PEM lacks the final line break that node:crypto writes, which `createPublicKey` ignores).
 */
import { createPublicKey, generateKeyPairSync, type JsonWebKey } from "node:crypto";
import jwksRsa from "jwks-rsa";
import { nodeRequire } from "../../sandbox/esm";
import { exportSPKI, importJWK } from "../../functions/authorizer/shims/jose";

function jwk(
  type: "rsa" | "ec" | "ed25519",
  extra: Record<string, unknown>,
  options: Record<string, unknown> = {},
): Record<string, unknown> {
  const { publicKey } = generateKeyPairSync(type as "rsa", { modulusLength: 2048, ...options } as { modulusLength: number });
  return { ...publicKey.export({ format: "jwk" }), ...extra };
}

const rsaPrivate = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" });

/** Every kind of entry a JWKS may hold, usable or not. */
const KEYS = [
  jwk("rsa", { kid: "rs256", alg: "RS256", use: "sig" }),
  jwk("rsa", { kid: "rsa-no-alg" }),
  jwk("rsa", { kid: "ps256", alg: "PS256" }),
  jwk("rsa", { kid: "rsa-1024", alg: "RS256" }, { modulusLength: 1024 }),
  jwk("ec", { kid: "es256", alg: "ES256" }, { namedCurve: "P-256" }),
  jwk("ec", { kid: "es384-on-p256", alg: "ES384" }, { namedCurve: "P-256" }),
  jwk("ed25519", { kid: "eddsa", alg: "EdDSA" }),
  jwk("rsa", { kid: "rsa-says-es256", alg: "ES256" }),
  jwk("rsa", { kid: "encryption", use: "enc" }),
  { ...rsaPrivate, kid: "private", alg: "RS256" },
  { kty: "oct", kid: "symmetric", k: "c2VjcmV0" },
  { kty: "RSA", kid: "broken", n: "AQAB" },
];

async function signingKeys(client: jwksRsa.JwksClient): Promise<{ kid?: string; alg?: string; spki: string }[]> {
  return (await client.getSigningKeys()).map((k) => ({
    kid: k.kid,
    alg: k.alg,
    spki: createPublicKey(k.getPublicKey()).export({ type: "spki", format: "der" }).toString("base64"),
  }));
}

test("jwks-rsa with the stand-in gives the same signing keys as jwks-rsa with jose 6", async () => {
  const options = { cache: false, rateLimit: false, fetcher: async () => ({ keys: KEYS }) };
  const withStandIn = await signingKeys(new jwksRsa.JwksClient(options));
  const withJose = await signingKeys(new (nodeRequire<typeof jwksRsa>("jwks-rsa").JwksClient)(options));
  expect(withStandIn).toEqual(withJose);
  expect(withStandIn.map((k) => k.kid)).toEqual(["rs256", "rsa-no-alg", "ps256", "rsa-1024", "es256", "eddsa"]);
});

test("importJWK refuses what jose refuses; exportSPKI writes PEM", async () => {
  await expect(importJWK(KEYS[0] as JsonWebKey, "ES256")).rejects.toThrow(/alg/);
  await expect(importJWK({ kty: "RSA" })).rejects.toThrow();
  const key = await importJWK(KEYS[0] as JsonWebKey);
  expect(key.type).toBe("public");
  expect(await exportSPKI(key)).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
  expect((await importJWK(rsaPrivate as JsonWebKey, "RS256")).type).toBe("private");
});
