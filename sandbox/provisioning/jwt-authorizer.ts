/**
 * A local stand-in for API Gateway's JWT authorizer on an HTTP API route (docs/fleet-provisioning.md#the-claim-route,
 * from "Controlling access to HTTP APIs with JWT authorizers" and "Troubleshooting issues with HTTP API JWT
 * authorizers"), so that the claim function runs behind what guards it on AWS:
 *
 * 1. the token from `Authorization`, alone or after `Bearer `;
 * 2. an RSA signature (RS256, RS384, RS512) by the key its `kid` names in the issuer's JWKS;
 * 3. `iss` the configured issuer; `aud` one of the audiences, or `client_id` when there is no `aud` (how Cognito
 *    access tokens name their client); `exp` in the future, `nbf` (when present) in the past;
 * 4. at least one of the route's scopes in `scope` (space-separated) or `scp`.
 *
 * Failing 1-3 is `401 {"message":"Unauthorized"}`, failing 4 is `403 {"message":"Forbidden"}`, each with a
 * `www-authenticate: Bearer …` header saying why, as API Gateway answers. A token that passes reaches the
 * integration with its claims as API Gateway passes them: every value a string, numbers and booleans written
 * out, arrays as `[a b]` (Go's rendering, which is what API Gateway sends for `cognito:groups`), and the
 * route's scopes the token carries. The JWKS is fetched once and again when a `kid` is unknown (at most every
 * 10 s). Never logs a token.
 */

import { createPublicKey, type JsonWebKey, type KeyObject, verify } from "node:crypto";

export interface JwtAuthorizerConfig {
  issuer: string;
  jwksUri: string;
  /** The authorizer's audiences: `aud`, or `client_id` without `aud`, must be one of them. */
  audiences: readonly string[];
  /** The route's authorization scopes; the token needs at least one. */
  scopes: readonly string[];
}

export type JwtVerdict =
  { ok: true; claims: Record<string, string>; scopes: string[] } | { ok: false; status: 401 | 403; description: string };

const ALGORITHMS: Record<string, string> = { RS256: "sha256", RS384: "sha384", RS512: "sha512" };
const JWKS_REFETCH_MS = 10_000;
/** A token longer than this is not a token. */
const MAX_TOKEN_CHARS = 16_384;

function decodePart(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A claim value as API Gateway hands it to the integration. */
export function apiGatewayValue(value: unknown): string {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return `[${value.map(apiGatewayValue).join(" ")}]`;
  if (typeof value === "object" && value !== null) {
    return `map[${Object.entries(value)
      .map(([k, v]) => `${k}:${apiGatewayValue(v)}`)
      .join(" ")}]`;
  }
  return String(value);
}

function tokenScopes(payload: Record<string, unknown>): string[] {
  const raw = payload.scope ?? payload.scp;
  if (typeof raw === "string") return raw.split(" ").filter((s) => s !== "");
  return Array.isArray(raw) ? raw.filter((s): s is string => typeof s === "string") : [];
}

export class LocalJwtAuthorizer {
  private keys = new Map<string, KeyObject>();
  private fetchedAt = -Infinity;
  /** The JWKS fetch in flight, which concurrent requests with an unknown `kid` share. */
  private fetching?: Promise<void>;

  constructor(
    private readonly config: JwtAuthorizerConfig,
    private readonly now: () => number = Date.now,
  ) {}

  /** The verdict for a request's `authorization` header (lower-case name, as in a payload 2.0 event). */
  async authorize(authorization: string | undefined): Promise<JwtVerdict> {
    const token = authorization?.replace(/^Bearer /, "").trim();
    if (!token) return { ok: false, status: 401, description: "the request has no token" };
    if (token.length > MAX_TOKEN_CHARS) return { ok: false, status: 401, description: "the token is not a valid JWT" };
    const parts = token.split(".");
    const header = parts.length === 3 ? decodePart(parts[0]) : undefined;
    const payload = parts.length === 3 ? decodePart(parts[1]) : undefined;
    if (header === undefined || payload === undefined) return { ok: false, status: 401, description: "the token is not a valid JWT" };
    const hash = typeof header.alg === "string" ? ALGORITHMS[header.alg] : undefined;
    if (hash === undefined) return { ok: false, status: 401, description: "the token is not signed with an RSA algorithm" };
    const key = typeof header.kid === "string" ? await this.key(header.kid) : undefined;
    if (key === undefined) return { ok: false, status: 401, description: "the token's kid is not in the issuer's key set" };
    const signed = Buffer.from(`${parts[0]}.${parts[1]}`, "utf8");
    if (!verify(hash, signed, key, Buffer.from(parts[2], "base64url")))
      return { ok: false, status: 401, description: "the token's signature is not valid" };
    const refusal = this.claimRefusal(payload);
    if (refusal !== undefined) return { ok: false, status: 401, description: refusal };
    const scopes = tokenScopes(payload).filter((s) => this.config.scopes.includes(s));
    if (this.config.scopes.length > 0 && scopes.length === 0) {
      return { ok: false, status: 403, description: `the token does not have one of the scopes ${this.config.scopes.join(" ")}` };
    }
    return { ok: true, claims: Object.fromEntries(Object.entries(payload).map(([k, v]) => [k, apiGatewayValue(v)])), scopes };
  }

  /** The `www-authenticate` header of a refusal. */
  challenge(verdict: Extract<JwtVerdict, { ok: false }>): string {
    const error = verdict.status === 403 ? "insufficient_scope" : "invalid_token";
    return `Bearer scope="${this.config.scopes.join(" ")}" error="${error}" error_description="${verdict.description}"`;
  }

  private claimRefusal(payload: Record<string, unknown>): string | undefined {
    const nowSeconds = this.now() / 1000;
    if (payload.iss !== this.config.issuer) return "the token does not have a valid issuer";
    const audiences = payload.aud === undefined ? [payload.client_id] : Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if (!audiences.some((a) => typeof a === "string" && this.config.audiences.includes(a)))
      return "the token does not have a valid audience";
    if (typeof payload.exp !== "number" || payload.exp <= nowSeconds) return "the token has expired";
    if (payload.nbf !== undefined && (typeof payload.nbf !== "number" || payload.nbf > nowSeconds)) return "the token is not valid yet";
    return undefined;
  }

  /** The issuer's key `kid`, fetching the JWKS when it is not known (at most every 10 s; one fetch at a time). */
  private async key(kid: string): Promise<KeyObject | undefined> {
    if (!this.keys.has(kid) && this.fetching === undefined && this.now() - this.fetchedAt >= JWKS_REFETCH_MS) {
      this.fetchedAt = this.now();
      this.fetching = this.fetchKeys().finally(() => (this.fetching = undefined));
    }
    if (!this.keys.has(kid)) await this.fetching;
    return this.keys.get(kid);
  }

  private async fetchKeys(): Promise<void> {
    try {
      const response = await fetch(this.config.jwksUri);
      const jwks = (await response.json()) as { keys?: (JsonWebKey & { kid?: string })[] };
      const keys = new Map<string, KeyObject>();
      for (const jwk of jwks.keys ?? []) {
        if (jwk.kty === "RSA" && typeof jwk.kid === "string") keys.set(jwk.kid, createPublicKey({ key: jwk, format: "jwk" }));
      }
      this.keys = keys;
    } catch {
      this.fetchedAt = -Infinity; // the issuer was unreachable: try again at the next request
    }
  }
}
