/**
 * Verifies the upstream IdP's ID token before any of its claims go into the service's own ID token: the
 * signature against the IdP's JWKS, `iss` (the configured upstream issuer), `aud` (the device's client id,
 * with `azp` when there are several audiences), `exp`/`nbf`/`iat` within a small tolerance, a `sub`, and
 * Cognito's `token_use: id` when present. The same rules as the IoT authorizer's verification
 * (docs/jwt-verification.md): algorithms pinned to a list, keys as `KeyObject`s, RSA keys of 2048 bits or
 * more, any `crit` header refused. A small module of its own instead of the authorizer's (which carries
 * jwks-rsa and its budgets for untrusted tokens): the tokens verified here come straight from the IdP's
 * token endpoint over TLS, on the service's own request, so nobody outside can choose their `kid`.
 *
 * Keys: the whole JWKS is fetched (deadline, size cap) and kept for `cacheMaxAgeMs`; a `kid` missing from it
 * refetches at most once per `refetchCooldownMs`, concurrent misses sharing one fetch.
 */
import { createPublicKey, type JsonWebKey, type KeyObject, verify } from "node:crypto";
import { readCapped } from "./upstream";

export interface UpstreamIdTokenOptions {
  issuer: string;
  jwksUri: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
  maxBytes?: number;
  cacheMaxAgeMs?: number;
  refetchCooldownMs?: number;
  clockToleranceSeconds?: number;
}

export type VerifiedIdToken = { ok: true; claims: Record<string, unknown> } | { ok: false; reason: string };

export interface UpstreamIdTokenVerifier {
  verify(idToken: string, clientId: string, nowSeconds: number): Promise<VerifiedIdToken>;
}

/** The JWS algorithms accepted from the IdP, and how each is verified. */
const ALGORITHMS: Record<string, { hash: string; kty: "RSA" | "EC"; crv?: string }> = {
  RS256: { hash: "sha256", kty: "RSA" },
  RS384: { hash: "sha384", kty: "RSA" },
  RS512: { hash: "sha512", kty: "RSA" },
  ES256: { hash: "sha256", kty: "EC", crv: "P-256" },
  ES384: { hash: "sha384", kty: "EC", crv: "P-384" },
};

interface CachedKey {
  key: KeyObject;
  kty: string;
  crv?: string;
}

function parseJson(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The key set as `KeyObject`s by `kid`; keys that are not usable signing keys are left out. */
function keysOf(document: unknown): Map<string, CachedKey> {
  const keys = new Map<string, CachedKey>();
  const list = (document as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(list)) throw new Error("the JWKS has no keys array");
  for (const jwk of list as Record<string, unknown>[]) {
    if (typeof jwk?.kid !== "string" || (jwk.use !== undefined && jwk.use !== "sig")) continue;
    try {
      const key = createPublicKey({ key: jwk as JsonWebKey, format: "jwk" });
      if (jwk.kty === "RSA" && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) continue;
      keys.set(jwk.kid, { key, kty: String(jwk.kty), ...(typeof jwk.crv === "string" && { crv: jwk.crv }) });
    } catch {
      // Not a key node can use: it cannot have signed anything we accept.
    }
  }
  return keys;
}

export function createUpstreamIdTokenVerifier(options: UpstreamIdTokenOptions): UpstreamIdTokenVerifier {
  const doFetch = options.fetch ?? fetch;
  const cacheMaxAgeMs = options.cacheMaxAgeMs ?? 10 * 60_000;
  const cooldownMs = options.refetchCooldownMs ?? 30_000;
  const tolerance = options.clockToleranceSeconds ?? 30;
  let keys = new Map<string, CachedKey>();
  let fetchedAt = Number.NEGATIVE_INFINITY;
  let inFlight: Promise<void> | undefined;

  async function refresh(): Promise<void> {
    const response = await doFetch(options.jwksUri, {
      headers: { accept: "application/json" },
      redirect: "manual",
      signal: AbortSignal.timeout(options.timeoutMs ?? 3_000),
    });
    if (response.status !== 200) throw new Error(`the JWKS endpoint answered HTTP ${response.status}`);
    keys = keysOf(JSON.parse(await readCapped(response, options.maxBytes ?? 64 * 1024)));
    fetchedAt = Date.now();
  }

  async function keyFor(kid: string | undefined): Promise<CachedKey | undefined> {
    const pick = () => (kid === undefined ? (keys.size === 1 ? [...keys.values()][0] : undefined) : keys.get(kid));
    const age = Date.now() - fetchedAt;
    if (pick() && age < cacheMaxAgeMs) return pick();
    if (age >= cooldownMs || age >= cacheMaxAgeMs) {
      inFlight ??= refresh().finally(() => {
        inFlight = undefined;
      });
      await inFlight;
    }
    return pick();
  }

  return {
    async verify(idToken, clientId, nowSeconds) {
      const parts = idToken.split(".");
      const header = parts.length === 3 ? parseJson(parts[0]) : undefined;
      const claims = header ? parseJson(parts[1]) : undefined;
      if (!header || !claims) return { ok: false, reason: "malformed" };
      const algorithm = typeof header.alg === "string" ? ALGORITHMS[header.alg] : undefined;
      if (!algorithm || header.crit !== undefined) return { ok: false, reason: "alg" };
      let key: CachedKey | undefined;
      try {
        key = await keyFor(typeof header.kid === "string" ? header.kid : undefined);
      } catch {
        return { ok: false, reason: "jwks-unavailable" };
      }
      if (!key) return { ok: false, reason: "kid-unknown" };
      if (key.kty !== algorithm.kty || (algorithm.crv !== undefined && key.crv !== algorithm.crv)) return { ok: false, reason: "alg" };
      const signature = Buffer.from(parts[2], "base64url");
      const input = Buffer.from(`${parts[0]}.${parts[1]}`, "ascii");
      const signed =
        algorithm.kty === "EC"
          ? verify(algorithm.hash, input, { key: key.key, dsaEncoding: "ieee-p1363" }, signature)
          : verify(algorithm.hash, input, key.key, signature);
      if (!signed) return { ok: false, reason: "signature" };
      const reason = claimProblem(claims, { issuer: options.issuer, clientId, nowSeconds, tolerance });
      return reason ? { ok: false, reason } : { ok: true, claims };
    },
  };
}

/** The first claim that does not hold, or `undefined`. */
function claimProblem(
  claims: Record<string, unknown>,
  expected: { issuer: string; clientId: string; nowSeconds: number; tolerance: number },
): string | undefined {
  const { nowSeconds, tolerance } = expected;
  if (claims.iss !== expected.issuer) return "iss";
  const aud = claims.aud;
  const audiences = typeof aud === "string" ? [aud] : Array.isArray(aud) ? aud : [];
  if (!audiences.includes(expected.clientId)) return "aud";
  if (audiences.length > 1 && claims.azp !== expected.clientId) return "azp";
  if (typeof claims.exp !== "number" || claims.exp <= nowSeconds - tolerance) return "exp";
  if (typeof claims.iat !== "number" || claims.iat > nowSeconds + tolerance) return "iat";
  if (claims.nbf !== undefined && (typeof claims.nbf !== "number" || claims.nbf > nowSeconds + tolerance)) return "nbf";
  if (typeof claims.sub !== "string" || claims.sub === "") return "sub";
  if (claims.token_use !== undefined && claims.token_use !== "id") return "token_use";
  return undefined;
}
