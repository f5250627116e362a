/**
 * The parts behind the service's own ID tokens (issue 10 §2.5), one by one: the KMS signer against a mocked
 * KMS (the one AWS control plane with no local stand-in; exact `Sign` inputs, signatures made from the digest
 * alone as KMS makes them, DER ECDSA converted to JWS's `r‖s`), the DER conversion's edge cases, the local
 * signer's JWK and `kid` (RFC 7638), the claims of the token, and the verifier of the upstream's ID tokens
 * against a real JWKS endpoint on loopback. The local signer end to end: id-token.test.ts.
 */
import { createHash, generateKeyPairSync, type KeyObject, privateEncrypt, constants, sign, verify } from "node:crypto";
import { KMSClient, SignCommand } from "@aws-sdk/client-kms";
import { mockClient } from "aws-sdk-client-mock";
import { issueIdToken } from "../../functions/device-grant/id-token";
import { createKmsSigner } from "../../functions/device-grant/kms-signer";
import { createLocalSigner, derToJoseSignature, jwkThumbprint } from "../../functions/device-grant/signer";
import { createUpstreamIdTokenVerifier } from "../../functions/device-grant/upstream-id-token";
import { JwksServer } from "../../support/jwks-server";
import { rsaKey, signRsRaw } from "../../support/tokens";

const ARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const INPUT = Buffer.from("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9");
const digest = (data: Buffer) => createHash("sha256").update(data).digest();
const pem = (key: KeyObject) => key.export({ type: "spki", format: "pem" }).toString();

/** DER DigestInfo prefix of SHA-256 (RFC 8017 §9.2): what RSASSA-PKCS1-v1_5 signs around the digest. */
const SHA256_DIGEST_INFO = Buffer.from("3031300d060960864801650304020105000420", "hex");

describe("KMS signer", () => {
  const kms = mockClient(KMSClient);
  afterEach(() => kms.reset());
  afterAll(() => kms.restore());

  test("RS256: one Sign of the SHA-256 digest with RSASSA_PKCS1_V1_5_SHA_256 on the key's ARN; the signature is used as it comes", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    // As KMS signs a DIGEST: PKCS#1 v1.5 padding around the DigestInfo of the digest it was given.
    kms.on(SignCommand).callsFake((input: { Message: Uint8Array }) => ({
      KeyId: ARN,
      SigningAlgorithm: "RSASSA_PKCS1_V1_5_SHA_256",
      Signature: privateEncrypt(
        { key: privateKey, padding: constants.RSA_PKCS1_PADDING },
        Buffer.concat([SHA256_DIGEST_INFO, input.Message]),
      ),
    }));
    const signer = createKmsSigner({ keyArn: ARN, algorithm: "RS256", publicKeyPem: pem(publicKey), region: "eu-west-1" });
    const signature = await signer.sign(INPUT);
    expect(kms.commandCalls(SignCommand).map((c) => c.args[0].input)).toEqual([
      { KeyId: ARN, Message: digest(INPUT), MessageType: "DIGEST", SigningAlgorithm: "RSASSA_PKCS1_V1_5_SHA_256" },
    ]);
    expect(signature).toEqual(sign("sha256", INPUT, privateKey));
    expect(signer.publicJwk).toMatchObject({
      kty: "RSA",
      alg: "RS256",
      use: "sig",
      kid: jwkThumbprint(publicKey.export({ format: "jwk" }) as never),
    });
  });

  test("ES256: ECDSA_SHA_256, and the DER signature KMS returns becomes the 64-byte r‖s of JWS", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const der = sign("sha256", INPUT, { key: privateKey, dsaEncoding: "der" });
    kms.on(SignCommand).resolves({ KeyId: ARN, SigningAlgorithm: "ECDSA_SHA_256", Signature: der });
    const signer = createKmsSigner({ keyArn: ARN, algorithm: "ES256", publicKeyPem: pem(publicKey), region: "eu-west-1" });
    const signature = await signer.sign(INPUT);
    expect(kms.commandCalls(SignCommand)[0].args[0].input).toEqual({
      KeyId: ARN,
      Message: digest(INPUT),
      MessageType: "DIGEST",
      SigningAlgorithm: "ECDSA_SHA_256",
    });
    expect(signature).toHaveLength(64);
    expect(verify("sha256", INPUT, { key: publicKey, dsaEncoding: "ieee-p1363" }, signature)).toBe(true);
    expect(signer.publicJwk).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256" });
  });

  test("refuses a signature that does not verify with the configured public key, and a key that cannot sign the algorithm", async () => {
    const configured = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const other = generateKeyPairSync("rsa", { modulusLength: 2048 });
    kms.on(SignCommand).resolves({ Signature: sign("sha256", INPUT, other.privateKey) });
    const signer = createKmsSigner({ keyArn: ARN, algorithm: "RS256", publicKeyPem: pem(configured.publicKey), region: "eu-west-1" });
    await expect(signer.sign(INPUT)).rejects.toThrow(/does not verify with the configured public key/);
    expect(() =>
      createKmsSigner({ keyArn: ARN, algorithm: "ES256", publicKeyPem: pem(configured.publicKey), region: "eu-west-1" }),
    ).toThrow(/cannot sign ES256/);
  });
});

describe("derToJoseSignature", () => {
  const integer = (bytes: Buffer) => Buffer.concat([Buffer.from([0x02, bytes.length]), bytes]);
  const sequence = (...parts: Buffer[]) => {
    const body = Buffer.concat(parts);
    return Buffer.concat([Buffer.from([0x30, body.length]), body]);
  };

  test("drops the sign byte of a high r, pads a short s, and refuses anything that is not SEQUENCE { r, s }", () => {
    const r = Buffer.alloc(32, 0xff);
    const s = Buffer.alloc(31, 0x01); // a leading zero byte was dropped by DER
    const der = sequence(integer(Buffer.concat([Buffer.from([0]), r])), integer(s));
    expect(derToJoseSignature(der, 32)).toEqual(Buffer.concat([r, Buffer.from([0]), s]));
    for (const bad of [
      Buffer.alloc(0),
      sequence(integer(r)),
      Buffer.concat([der, Buffer.from([0])]),
      sequence(integer(Buffer.alloc(33, 1)), integer(s)),
    ]) {
      expect(() => derToJoseSignature(bad, 32)).toThrow(/not a DER ECDSA signature/);
    }
  });
});

describe("local signer and the key's id", () => {
  test("kid is the RFC 7638 thumbprint (the RFC's own example)", () => {
    const n =
      "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn6" +
      "4tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbO" +
      "pbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
    expect(jwkThumbprint({ kty: "RSA", n, e: "AQAB" })).toBe("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  });

  test("signs RS256 and ES256 so that the published JWK verifies, and refuses RSA keys under 2048 bits", async () => {
    for (const [algorithm, pair] of [
      ["RS256", generateKeyPairSync("rsa", { modulusLength: 2048 })],
      ["ES256", generateKeyPairSync("ec", { namedCurve: "P-256" })],
    ] as const) {
      const signer = createLocalSigner(pair.privateKey, algorithm);
      const signature = await signer.sign(INPUT);
      const options = algorithm === "ES256" ? { key: pair.publicKey, dsaEncoding: "ieee-p1363" as const } : pair.publicKey;
      expect(verify("sha256", INPUT, options, signature)).toBe(true);
      expect(signer.publicJwk.kid).toBe(jwkThumbprint(pair.publicKey.export({ format: "jwk" }) as never));
    }
    expect(() => createLocalSigner(generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey)).toThrow(/2048 bits/);
  });
});

describe("the service's ID token", () => {
  test("carries the service's iss, the device's aud, the upstream's sub and standard claims, and lives at most an hour", async () => {
    const signer = createLocalSigner(generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey);
    const upstream = {
      iss: "https://idp.example.com/pool",
      aud: "tv",
      sub: "5f3c-1",
      email: "alice@example.com",
      email_verified: true,
      auth_time: 1_700_000_000,
      "cognito:groups": ["admins"],
      "cognito:username": "alice",
      token_use: "id",
      nonce: "n",
      at_hash: "h",
      exp: 1_700_009_999,
    };
    const token = await issueIdToken(signer, {
      issuer: "https://device.example.com",
      clientId: "tv",
      upstreamClaims: upstream,
      nowSeconds: 1_700_000_100,
    });
    const [header, payload] = token
      .split(".")
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, "base64url").toString()) as unknown);
    expect(header).toEqual({ alg: "RS256", typ: "JWT", kid: signer.publicJwk.kid });
    expect(payload).toEqual({
      iss: "https://device.example.com",
      sub: "5f3c-1",
      aud: "tv",
      iat: 1_700_000_100,
      exp: 1_700_003_700,
      email: "alice@example.com",
      email_verified: true,
      auth_time: 1_700_000_000,
    });
  });
});

describe("the upstream's ID token", () => {
  const ISSUER = "https://idp.example.com/pool";
  const NOW = Math.floor(Date.now() / 1000);
  const claims = (extra: Record<string, unknown> = {}) => ({
    iss: ISSUER,
    aud: "tv",
    sub: "alice",
    token_use: "id",
    iat: NOW,
    exp: NOW + 3600,
    ...extra,
  });
  let jwks: JwksServer;
  const key = rsaKey("k1");
  beforeAll(async () => {
    jwks = await JwksServer.start();
    jwks.behaviour.keys = [key.jwk];
  });
  afterAll(async () => {
    await jwks.stop();
  });

  test("is accepted with the right signature, issuer, audience and times; each broken rule is named", async () => {
    const verifier = createUpstreamIdTokenVerifier({ issuer: ISSUER, jwksUri: jwks.uri });
    expect(await verifier.verify(signRsRaw(claims(), key), "tv", NOW)).toEqual({ ok: true, claims: claims() });
    const cases: [Record<string, unknown>, string][] = [
      [{ iss: "https://evil.example.com" }, "iss"],
      [{ aud: "printer" }, "aud"],
      [{ aud: ["tv", "printer"] }, "azp"],
      [{ exp: NOW - 60 }, "exp"],
      [{ iat: NOW + 600 }, "iat"],
      [{ nbf: NOW + 600 }, "nbf"],
      [{ sub: "" }, "sub"],
      [{ token_use: "access" }, "token_use"],
    ];
    for (const [extra, reason] of cases)
      expect(await verifier.verify(signRsRaw(claims(extra), key), "tv", NOW)).toEqual({ ok: false, reason });
    expect((await verifier.verify(signRsRaw(claims({ aud: ["tv", "x"], azp: "tv" }), key), "tv", NOW)).ok).toBe(true);
    const genuine = signRsRaw(claims(), key);
    const tampered = `${genuine.split(".")[0]}.${Buffer.from(JSON.stringify(claims({ sub: "mallory" }))).toString("base64url")}.${genuine.split(".")[2]}`;
    expect(await verifier.verify(tampered, "tv", NOW)).toEqual({ ok: false, reason: "signature" });
    const none = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${genuine.split(".")[1]}.`;
    expect(await verifier.verify(none, "tv", NOW)).toEqual({ ok: false, reason: "alg" });
    expect(await verifier.verify("not.a.jwt", "tv", NOW)).toEqual({ ok: false, reason: "malformed" });
  });

  test("an unknown kid refetches the JWKS at most once per cooldown; a key added after a rotation is then found", async () => {
    const before = jwks.requests;
    const verifier = createUpstreamIdTokenVerifier({ issuer: ISSUER, jwksUri: jwks.uri, refetchCooldownMs: 60_000 });
    const rotated = rsaKey("k2");
    expect((await verifier.verify(signRsRaw(claims(), key), "tv", NOW)).ok).toBe(true);
    const misses = await Promise.all(Array.from({ length: 20 }, () => verifier.verify(signRsRaw(claims(), rotated), "tv", NOW)));
    expect(misses.every((m) => !m.ok && m.reason === "kid-unknown")).toBe(true);
    expect(jwks.requests - before).toBe(1);
    jwks.behaviour.keys = [key.jwk, rotated.jwk];
    const eager = createUpstreamIdTokenVerifier({ issuer: ISSUER, jwksUri: jwks.uri, refetchCooldownMs: 0 });
    expect((await eager.verify(signRsRaw(claims(), key), "tv", NOW)).ok).toBe(true);
    expect((await eager.verify(signRsRaw(claims(), rotated), "tv", NOW)).ok).toBe(true);
    jwks.behaviour.status = 500;
    const broken = createUpstreamIdTokenVerifier({ issuer: ISSUER, jwksUri: jwks.uri });
    expect(await broken.verify(signRsRaw(claims(), key), "tv", NOW)).toEqual({ ok: false, reason: "jwks-unavailable" });
    jwks.behaviour.status = 200;
  });
});
