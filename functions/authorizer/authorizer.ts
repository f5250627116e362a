/**
 * The IoT custom authorizer's core: from an IoT event to an IoT answer, with no AWS SDK in sight.
 *
 * Order of work, cheapest refusal first: find the token, refuse it if oversize (before any parsing),
 * parse the header and payload, refuse unknown `crit`, route by `iss` to a configured issuer (the header's
 * `alg` chooses nothing: it must be one the issuer is pinned to), get the key as a `KeyObject`, verify the
 * signature, then check every claim, derive the principal id and build the policy from the configured
 * grants. Anything unexpected denies; nothing throws.
 *
 * The signature is checked with node:crypto directly: HMAC compared in constant time, RSA PKCS#1 v1.5
 * through `crypto.verify`, each with the algorithm the issuer is pinned to and a `KeyObject` (FACTS.md §3).
 * jsonwebtoken would add nothing here: every claim check it leaves out (a token with no `exp`, an `iat`
 * in the future, an unknown `crit`, FACTS.md §3) is ours anyway, and it would decode every token a second
 * time, which made the whole HS256 decision three times slower. The tests sign their tokens with
 * jsonwebtoken, and a property test holds this verifier to jsonwebtoken's verdicts.
 */
import { createHash, createHmac, type KeyObject, timingSafeEqual, verify } from "node:crypto";
import {
  type AuthorizerConfig,
  ConfigurationError,
  decodeSharedSecret,
  type GrantRule,
  IOT_LIMITS,
  type IssuerConfig,
  isHmacAlgorithm,
} from "./config";
import { findToken, type TokenLocation } from "./custom-auth";
import { type Check, Denial } from "./errors";
import { type KeySource, JwksKeySource } from "./jwks";

export interface PolicyStatement {
  Effect: "Allow";
  Action: string[];
  Resource: string[];
}
export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: PolicyStatement[];
}

export interface AuthorizerResponse {
  isAuthenticated: boolean;
  principalId: string;
  policyDocuments: PolicyDocument[];
  refreshAfterInSeconds: number;
  disconnectAfterInSeconds: number;
}

export interface LogFields {
  [field: string]: string | number | boolean | undefined;
}
export interface Logger {
  /** A denial: one line per refused request, saying which check failed. */
  warn(fields: LogFields): void;
  /** An allowed request; off by default in the Lambda (application log level INFO). */
  debug(fields: LogFields): void;
  /** Something the operator must fix (configuration, an unexpected failure). */
  error(fields: LogFields): void;
}

export interface AuthorizerDependencies {
  /** Keys of RSA issuers; a jwks-rsa backed source by default. */
  keySource?: KeySource;
  /** Milliseconds since the epoch. */
  now?: () => number;
  logger?: Logger;
  /**
   * Shared secrets of HMAC issuers configured with `secretParameter`, by issuer, base64 as stored; the
   * Lambda handler reads them from SSM. Issuers with an inline `secret` need nothing here.
   */
  sharedSecrets?: ReadonlyMap<string, string>;
}

export type Authorizer = (event: unknown) => Promise<AuthorizerResponse>;

const DENIED: AuthorizerResponse = Object.freeze({
  isAuthenticated: false,
  principalId: "denied",
  policyDocuments: [],
  refreshAfterInSeconds: IOT_LIMITS.minTimerSeconds,
  disconnectAfterInSeconds: IOT_LIMITS.minTimerSeconds,
}) as AuthorizerResponse;

/** A denial answer; a fresh object each time so a caller cannot alter the next one. */
export function deniedResponse(): AuthorizerResponse {
  return { ...DENIED, policyDocuments: [] };
}

const COMPACT_PART = /^[A-Za-z0-9_-]+$/;
/** Characters that widen or break an IoT resource when they come from a claim (FACTS.md §1). */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const UNSAFE_IN_RESOURCE = /[/+#*?${}\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const PRINCIPAL_ID = /^[A-Za-z0-9]{1,128}$/;
/** The shape of a derived principal id's tail; a natural id of that shape is derived too, so ids never collide. */
const DERIVED_TAIL = /h[0-9a-f]{64}$/;
/** A canonical (lower-case) UUID, as Cognito and many IdPs give `sub`. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** What a UUID becomes: `u` and its 32 hex digits. A natural id of this shape is derived instead. */
const UUID_FORM = /^u[0-9a-f]{32}$/;
const MAX_CLAIM_VALUE_CHARS = 128;

/**
 * The IoT principal id for a principal claim value, always 1–128 letters and digits, and injective:
 *
 * - a canonical lower-case UUID (a Cognito `sub`) becomes `u` and its 32 hex digits, short enough to read in
 *   topic names;
 * - a value that is already 1–128 letters and digits is kept as it is, unless it has one of the two shapes
 *   below or above (then it is derived, so it can never pass for another value's id);
 * - anything else is derived: its letters and digits (for people reading logs), `h`, and the SHA-256 of the
 *   whole value in hex. Two different values derive different ids unless SHA-256 collides.
 *
 * `prefix` (alphanumeric, prefix-free across issuers) keeps issuers' namespaces apart.
 */
export function principalIdFor(value: string, prefix = ""): string {
  const room = IOT_LIMITS.maxPrincipalIdChars - prefix.length;
  if (value.length <= room && PRINCIPAL_ID.test(value)) {
    if (!UUID_FORM.test(value) && !(value.length >= 65 && DERIVED_TAIL.test(value))) return prefix + value;
  } else if (UUID.test(value)) {
    return `${prefix}u${value.replace(/-/g, "")}`;
  }
  const digest = createHash("sha256").update(value, "utf8").digest("hex");
  const readable = value.replace(/[^A-Za-z0-9]/g, "").slice(0, Math.max(0, room - 65));
  return `${prefix}${readable}h${digest}`;
}

/** A resource template, compiled once: literal text, `{principal}`, or `{claims.NAME}`. */
type Segment = string | { claim: string } | { principal: true };
interface CompiledRule {
  actions: string[];
  scopes: ReadonlySet<string> | undefined;
  resources: Segment[][];
}

function compileResource(template: string): Segment[] {
  const segments: Segment[] = [];
  let last = 0;
  for (const match of template.matchAll(/\$\{[^}]*\}|\{([^}]*)\}/g)) {
    const inner = match[1];
    if (inner === undefined) continue; // ${iot:…} is IoT's to substitute.
    segments.push(template.slice(last, match.index));
    segments.push(inner === "principal" ? { principal: true } : { claim: inner.slice("claims.".length) });
    last = match.index + match[0].length;
  }
  segments.push(template.slice(last));
  return segments.filter((s) => s !== "");
}

function compileGrants(grants: GrantRule[]): CompiledRule[] {
  return grants.map((g) => ({
    actions: [...g.actions],
    scopes: g.scopes ? new Set(g.scopes) : undefined,
    resources: g.resources.map(compileResource),
  }));
}

interface PreparedIssuer {
  config: IssuerConfig;
  algorithms: ReadonlySet<string>;
  hmacKey: KeyObject | undefined;
  principalClaim: string;
  principalPrefix: string;
  audiences: ReadonlySet<string> | undefined;
  clientIds: ReadonlySet<string> | undefined;
}

function prepareIssuers(config: AuthorizerConfig, sharedSecrets: ReadonlyMap<string, string> | undefined): Map<string, PreparedIssuer> {
  const problems: string[] = [];
  const prepared = new Map<string, PreparedIssuer>();
  for (const issuer of config.issuers) {
    let hmacKey: KeyObject | undefined;
    if (issuer.algorithms.some(isHmacAlgorithm)) {
      const base64 = issuer.secret ?? sharedSecrets?.get(issuer.issuer);
      if (base64 === undefined) {
        problems.push(`issuer ${issuer.issuer}: its shared secret (${issuer.secretParameter ?? "secret"}) was not provided`);
      } else {
        const decoded = decodeSharedSecret(base64, issuer.algorithms, `issuer ${issuer.issuer}`);
        if (decoded.problem !== undefined) problems.push(decoded.problem);
        hmacKey = decoded.key;
      }
    }
    prepared.set(issuer.issuer, {
      config: issuer,
      algorithms: new Set(issuer.algorithms),
      hmacKey,
      principalClaim: issuer.principalClaim ?? "sub",
      principalPrefix: issuer.principalPrefix ?? "",
      audiences: issuer.audiences ? new Set(issuer.audiences) : undefined,
      clientIds: issuer.clientIds ? new Set(issuer.clientIds) : undefined,
    });
  }
  if (problems.length > 0) throw new ConfigurationError(problems);
  return prepared;
}

const HASH_OF: Record<string, string> = {
  HS256: "sha256", HS384: "sha384", HS512: "sha512",
  RS256: "sha256", RS384: "sha384", RS512: "sha512",
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

function decodePart(part: string, what: string): Record<string, unknown> {
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

function numericDate(payload: Record<string, unknown>, claim: string): number | undefined {
  const value = payload[claim];
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new Denial("token-malformed", `the ${claim} claim is not a number`);
  }
  return value;
}

/** Scopes from `scope`: a space-separated string (RFC 8693 / Cognito) or a JSON array (OpenAM). */
function scopesOf(payload: Record<string, unknown>): string[] {
  const scope = payload.scope;
  if (typeof scope === "string") return scope.split(" ").filter((s) => s.length > 0);
  if (Array.isArray(scope)) return scope.filter((s): s is string => typeof s === "string");
  return [];
}

function clampTimer(seconds: number): number {
  return Math.min(IOT_LIMITS.maxTimerSeconds, Math.max(IOT_LIMITS.minTimerSeconds, Math.floor(seconds)));
}

const DOCUMENT_OVERHEAD = JSON.stringify({ Version: "2012-10-17", Statement: [] }).length;
const STATEMENT_OVERHEAD = JSON.stringify({ Effect: "Allow", Action: [], Resource: [] }).length;
/** Characters JSON.stringify may escape; strings without them serialise as themselves plus two quotes. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what JSON escapes
const MAY_NEED_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

function jsonStringLength(value: string): number {
  return MAY_NEED_ESCAPE.test(value) ? JSON.stringify(value).length : value.length + 2;
}

/** `JSON.stringify(statement).length`, without building the string: this runs on every decision. */
export function statementLength(statement: PolicyStatement): number {
  let length = STATEMENT_OVERHEAD + Math.max(0, statement.Action.length - 1) + Math.max(0, statement.Resource.length - 1);
  for (const action of statement.Action) length += jsonStringLength(action);
  for (const resource of statement.Resource) length += jsonStringLength(resource);
  return length;
}

/**
 * Packs statements into as few documents as fit IoT's limits (10 documents of 2,048 characters). A
 * statement too large for one document is split by resource first. Refuses rather than exceed.
 */
export function packPolicy(statements: PolicyStatement[]): PolicyDocument[] {
  const max = IOT_LIMITS.maxPolicyDocumentChars;
  const sizes = statements.map(statementLength);
  // The common case: everything fits in one document.
  if (DOCUMENT_OVERHEAD + sizes.reduce((a, b) => a + b, 0) + Math.max(0, statements.length - 1) <= max) {
    return [{ Version: "2012-10-17", Statement: statements }];
  }
  const pieces: { statement: PolicyStatement; size: number }[] = [];
  for (const [index, statement] of statements.entries()) {
    const size = sizes[index];
    if (DOCUMENT_OVERHEAD + size <= max) {
      pieces.push({ statement, size });
      continue;
    }
    for (const resource of statement.Resource) {
      const single: PolicyStatement = { Effect: "Allow", Action: statement.Action, Resource: [resource] };
      const singleSize = statementLength(single);
      if (DOCUMENT_OVERHEAD + singleSize > max) {
        throw new Denial("policy-too-large", `one resource makes a statement longer than ${max} characters`);
      }
      const open = pieces.at(-1);
      const merged: PolicyStatement | undefined =
        open && open.statement.Action === statement.Action ? { ...open.statement, Resource: [...open.statement.Resource, resource] } : undefined;
      const mergedSize = merged ? statementLength(merged) : Infinity;
      if (open && merged && DOCUMENT_OVERHEAD + mergedSize <= max) {
        open.statement = merged;
        open.size = mergedSize;
      } else {
        pieces.push({ statement: single, size: singleSize });
      }
    }
  }
  const documents: PolicyDocument[] = [];
  let current: PolicyStatement[] = [];
  let currentSize = DOCUMENT_OVERHEAD;
  for (const { statement, size } of pieces) {
    const added = size + (current.length > 0 ? 1 : 0); // the comma between statements
    if (current.length > 0 && currentSize + added > max) {
      documents.push({ Version: "2012-10-17", Statement: current });
      current = [];
      currentSize = DOCUMENT_OVERHEAD;
    }
    currentSize += size + (current.length > 0 ? 1 : 0);
    current.push(statement);
  }
  if (current.length > 0) documents.push({ Version: "2012-10-17", Statement: current });
  if (documents.length > IOT_LIMITS.maxPolicyDocuments) {
    throw new Denial("policy-too-large", `the grants need ${documents.length} policy documents; IoT accepts ${IOT_LIMITS.maxPolicyDocuments}`);
  }
  return documents;
}

/* eslint-disable no-console -- the Lambda's JSON log format turns these objects into structured lines. */
export const consoleLogger: Logger = {
  warn: (fields) => console.warn(fields),
  debug: (fields) => console.debug(fields),
  error: (fields) => console.error(fields),
};
/* eslint-enable no-console */

/** Truncates attacker-supplied text before it reaches a log line. */
function forLog(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  return value.length > 200 ? `${value.slice(0, 200)}…` : value;
}

/**
 * Builds the authorizer for a loaded configuration. Throws `ConfigurationError` (synchronously) when an
 * HMAC issuer's secret is missing or unusable; after that, the returned function never throws.
 */
export function createAuthorizer(config: AuthorizerConfig, deps: AuthorizerDependencies = {}): Authorizer {
  const issuers = prepareIssuers(config, deps.sharedSecrets);
  const rules = compileGrants(config.grants);
  const keySource = deps.keySource ?? new JwksKeySource();
  const now = deps.now ?? Date.now;
  const logger = deps.logger ?? consoleLogger;
  const arnPrefix = `arn:${config.partition}:iot:${config.region}:${config.accountId}:`;
  const tolerance = config.clockToleranceSeconds;

  async function authorize(event: unknown): Promise<{ response: AuthorizerResponse; location: TokenLocation; issuer: string }> {
    const search = findToken(event, config.tokenKeyName);
    if (!search.found) {
      throw search.ambiguous
        ? new Denial("token-ambiguous", `the token is given more than once (${search.location})`)
        : new Denial("token-missing", `no "${config.tokenKeyName}" token in the request`);
    }
    const { token, location } = search;
    // Before anything is parsed: a character is at least one byte, so the cheap check covers most cases.
    if (token.length > config.maxTokenBytes || Buffer.byteLength(token, "utf8") > config.maxTokenBytes) {
      throw new Denial("token-too-large", `the token is longer than ${config.maxTokenBytes} bytes`);
    }
    const parts = token.split(".");
    if (parts.length !== 3 || !COMPACT_PART.test(parts[2])) {
      throw new Denial("token-malformed", "the token is not a signed JWT (three non-empty base64url parts)");
    }
    const header = decodePart(parts[0], "header");
    const payload = decodePart(parts[1], "payload");
    if (header.crit !== undefined) {
      throw new Denial("critical-header", "the token has critical header extensions, none of which are supported");
    }
    const iss = payload.iss;
    const issuer = typeof iss === "string" ? issuers.get(iss) : undefined;
    if (issuer === undefined) {
      throw Object.assign(new Denial("issuer-untrusted", "the token's iss is not a configured issuer"), { issuer: forLog(iss) });
    }
    const alg = header.alg;
    if (typeof alg !== "string" || !issuer.algorithms.has(alg)) {
      throw new Denial("algorithm-not-allowed", `alg ${forLog(String(alg))} is not allowed for this issuer`);
    }
    const kid = header.kid;
    if (kid !== undefined && typeof kid !== "string") throw new Denial("token-malformed", "kid is not a string");

    const key = issuer.hmacKey ?? (await keySource.getKey(issuer.config.jwksUri as string, kid, alg));

    if (!verifySignature(alg, key, token, parts[2])) {
      throw new Denial("signature-invalid", "the token's signature does not verify with the issuer's key");
    }

    const nowSeconds = now() / 1000;
    const exp = numericDate(payload, "exp");
    if (exp === undefined) throw new Denial("expiry-missing", "the token has no exp");
    if (nowSeconds >= exp + tolerance) throw new Denial("expired", "the token has expired");
    const nbf = numericDate(payload, "nbf");
    if (nbf !== undefined && nbf > nowSeconds + tolerance) throw new Denial("not-yet-valid", "the token is not valid yet (nbf)");
    const iat = numericDate(payload, "iat");
    if (iat !== undefined && iat > nowSeconds + tolerance) throw new Denial("issued-in-future", "the token's iat is in the future");

    if (issuer.audiences) {
      const aud = payload.aud;
      const values = typeof aud === "string" ? [aud] : Array.isArray(aud) ? aud : [];
      if (!values.some((a) => typeof a === "string" && issuer.audiences?.has(a))) {
        throw new Denial("audience-mismatch", "the token's aud is not a configured audience");
      }
    }
    if (issuer.clientIds) {
      const clientId = payload.client_id;
      if (typeof clientId !== "string" || !issuer.clientIds.has(clientId)) {
        throw new Denial("client-id-mismatch", "the token's client_id is not a configured client");
      }
    }
    if (issuer.config.tokenUse !== undefined && payload.token_use !== issuer.config.tokenUse) {
      throw new Denial("token-use-mismatch", `the token's token_use is not ${issuer.config.tokenUse}`);
    }
    const principalValue = payload[issuer.principalClaim];
    if (typeof principalValue !== "string" || principalValue.length === 0) {
      throw new Denial("principal-missing", `the token has no ${issuer.principalClaim} claim`);
    }
    const principalId = principalIdFor(principalValue, issuer.principalPrefix);

    const scopes = scopesOf(payload);
    const statements: PolicyStatement[] = [];
    for (const rule of rules) {
      if (rule.scopes && !scopes.some((s) => rule.scopes?.has(s))) continue;
      const resources = new Set<string>();
      for (const segments of rule.resources) {
        let arn = arnPrefix;
        for (const segment of segments) {
          if (typeof segment === "string") arn += segment;
          else if ("principal" in segment) arn += principalId;
          else arn += claimForResource(payload, segment.claim);
        }
        resources.add(arn);
      }
      statements.push({ Effect: "Allow", Action: rule.actions, Resource: [...resources] });
    }
    if (statements.length === 0) throw new Denial("no-grant-applies", "no grant applies to the token's scopes");

    const remaining = exp - nowSeconds;
    return {
      response: {
        isAuthenticated: true,
        principalId,
        policyDocuments: packPolicy(statements),
        refreshAfterInSeconds: clampTimer(Math.min(config.refreshAfterSeconds, remaining)),
        disconnectAfterInSeconds: clampTimer(Math.min(config.disconnectAfterSeconds, remaining)),
      },
      location,
      issuer: issuer.config.issuer,
    };
  }

  return async (event) => {
    const connectionId = connectionIdOf(event);
    try {
      const { response, location, issuer } = await authorize(event);
      logger.debug({ outcome: "allow", principalId: response.principalId, issuer, location, connectionId });
      return response;
    } catch (err) {
      const denial = err instanceof Denial ? err : undefined;
      const check: Check = denial?.check ?? "internal-error";
      const fields: LogFields = {
        outcome: "deny",
        check,
        reason: denial ? denial.message : "unexpected failure",
        issuer: (err as { issuer?: string }).issuer,
        protocols: protocolsOf(event),
        connectionId,
      };
      if (denial) logger.warn(fields);
      else logger.error({ ...fields, error: (err as Error)?.name ?? typeof err });
      return deniedResponse();
    }
  };
}

function claimForResource(payload: Record<string, unknown>, claim: string): string {
  const value = Object.hasOwn(payload, claim) ? payload[claim] : undefined;
  const text = typeof value === "string" ? value : typeof value === "number" && Number.isSafeInteger(value) ? String(value) : undefined;
  if (text === undefined || text.length === 0 || text.length > MAX_CLAIM_VALUE_CHARS || UNSAFE_IN_RESOURCE.test(text)) {
    throw new Denial("unsafe-claim-value", `the ${claim} claim is missing, empty, too long or has characters that would widen the policy`);
  }
  return text;
}

function connectionIdOf(event: unknown): string | undefined {
  const metadata = (event as { connectionMetadata?: { id?: unknown } } | null)?.connectionMetadata;
  return forLog(typeof metadata === "object" && metadata !== null ? metadata.id : undefined);
}

function protocolsOf(event: unknown): string | undefined {
  const protocols = (event as { protocols?: unknown } | null)?.protocols;
  return Array.isArray(protocols) ? forLog(protocols.filter((p) => typeof p === "string").join(",")) : undefined;
}
