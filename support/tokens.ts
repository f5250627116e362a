/**
 * Real keys and real signed tokens, shaped as the two kinds of issuer the authorizer trusts: a Cognito user pool
 * (RS256 access tokens with `client_id` and `token_use`, keys published as a JWKS) and ForgeRock OpenAM (HS256
 * stateless tokens with a base64 shared secret, `aud` the client and `scope` a JSON array). Used by the
 * authorizer's tests and by `npm run bench`; tokens are signed with jsonwebtoken, an implementation we did not
 * write, or by hand where jsonwebtoken refuses the shape.
 */
import { generateKeyPairSync, type KeyObject, randomBytes, sign } from "node:crypto";
import jwt from "jsonwebtoken";

export interface RsaKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  jwk: Record<string, unknown>;
}

export function rsaKey(kid: string, bits = 2048): RsaKey {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: bits });
  return { kid, privateKey, publicKey, jwk: { ...publicKey.export({ format: "jwk" }), kid, use: "sig", alg: "RS256" } };
}

export const RS_ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example";
export const HS_ISSUER = "https://openam.example.com:8443/openam/oauth2";
export const NOW_MS = Date.UTC(2026, 10, 24, 12, 0, 0);
export const NOW = NOW_MS / 1000;

/** A 32-byte shared secret as OpenAM's console takes it (base64), and the same bytes as a key. */
export const SHARED_SECRET_BYTES = randomBytes(32);
export const SHARED_SECRET = SHARED_SECRET_BYTES.toString("base64");

/** Drops keys set to `undefined`, so a test can remove a claim by overriding it. */
function defined(claims: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(claims).filter(([, v]) => v !== undefined));
}

/** Claims of a valid Cognito access token at NOW. */
export function cognitoClaims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return defined({
    iss: RS_ISSUER,
    sub: "alice",
    client_id: "tvclient",
    token_use: "access",
    scope: "iot/device",
    iat: NOW - 10,
    exp: NOW + 3600,
    ...extra,
  });
}

export function openamClaims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return defined({ iss: HS_ISSUER, sub: "bob", aud: "iot", scope: ["openid", "iot"], iat: NOW - 10, exp: NOW + 3600, ...extra });
}

export function signRs(claims: Record<string, unknown>, key: RsaKey, header: Record<string, unknown> = {}): string {
  return jwt.sign(claims, key.privateKey, { algorithm: "RS256", keyid: key.kid, header: { alg: "RS256", ...header } as jwt.JwtHeader });
}

export function signHs(
  claims: Record<string, unknown>,
  secret: Buffer = SHARED_SECRET_BYTES,
  header: Record<string, unknown> = {},
): string {
  return jwt.sign(claims, secret, { algorithm: "HS256", header: { alg: "HS256", ...header } as jwt.JwtHeader });
}

/**
 * An RS256 token signed by hand, for claims jsonwebtoken refuses to sign (it validates exp/nbf/iat types)
 * and would also add an `iat` of its own when none is given.
 */
export function signRsRaw(claims: Record<string, unknown>, key: RsaKey): string {
  const input = `${Buffer.from(JSON.stringify({ alg: "RS256", typ: "JWT", kid: key.kid })).toString("base64url")}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
  return `${input}.${sign("sha256", Buffer.from(input), key.privateKey).toString("base64url")}`;
}

/** A compact JWS assembled by hand, for shapes jsonwebtoken refuses to produce. */
export function rawToken(header: unknown, payload: unknown, signature = "c2ln"): string {
  const part = (v: unknown): string => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");
  return `${part(header)}.${part(payload)}.${signature}`;
}
