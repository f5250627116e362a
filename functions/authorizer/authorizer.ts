/**
 * The IoT custom authorizer's core: from an IoT event to an IoT answer, with no AWS SDK in sight.
 *
 * Order of work, cheapest refusal first: find the token, refuse it if oversize (before any parsing),
 * parse the header and payload, refuse unknown `crit`, route by `iss` to a configured issuer (the header's
 * `alg` chooses nothing: it must be one the issuer is pinned to), get the key as a `KeyObject`, verify the
 * signature, then check every claim, derive the principal id and build the policy from the configured
 * grants. Anything unexpected denies; nothing throws.
 *
 * Each step's rules live with their subject: the token's format and signature in `token.ts`, principal ids
 * in `principal.ts`, the policy in `policy.ts`; this module keeps their order and the claim checks.
 */
import { type KeyObject } from "node:crypto";
import { decodeSharedSecret, isHmacAlgorithm } from "./algorithms";
import { type AuthorizerConfig, IOT_LIMITS, type IssuerConfig } from "./config";
import { ConfigurationError } from "../shared/problems";
import { findToken, type TokenLocation } from "./custom-auth";
import { type Check, Denial } from "./errors";
import { DEFAULT_JWKS_OPTIONS, type KeySource, JwksKeySource } from "./jwks";
import { boundedLogger, clientIdOf, connectionIdOf, consoleLogger, forLog, type LogFields, type Logger, protocolsOf } from "./logging";
import { compileGrants, grantedStatements, packPolicy, type PolicyDocument } from "./policy";
import { principalIdFor } from "./principal";
import { numericDate, parseToken, verifySignature } from "./token";

export interface AuthorizerResponse {
  isAuthenticated: boolean;
  principalId: string;
  policyDocuments: PolicyDocument[];
  refreshAfterInSeconds: number;
  disconnectAfterInSeconds: number;
}

export interface AuthorizerDependencies {
  /** Keys of RSA issuers; a jwks-rsa backed source (`jwks.ts`, with its default budgets) by default. */
  keySource?: KeySource;
  /** Milliseconds since the epoch. */
  now?: () => number;
  logger?: Logger;
  /**
   * Shared secrets of HMAC issuers configured with `secretParameter`, by issuer, base64 as stored; the
   * Lambda handler reads them from SSM. Issuers with an inline `secret` need nothing here.
   */
  sharedSecrets?: ReadonlyMap<string, string>;
  /** Second secrets of HMAC issuers configured with `previousSecretParameter`, during a rotation; as `sharedSecrets`. */
  previousSharedSecrets?: ReadonlyMap<string, string>;
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

interface PreparedIssuer {
  config: IssuerConfig;
  algorithms: ReadonlySet<string>;
  /** HMAC issuers: the current secret, then the previous one during a rotation. */
  hmacKeys: KeyObject[] | undefined;
  principalClaim: string;
  principalPrefix: string;
  audiences: ReadonlySet<string> | undefined;
  clientIds: ReadonlySet<string> | undefined;
}

/** An HMAC issuer's keys: its secret, then its previous one if it has one; what is wrong goes into `problems`, never a secret. */
function hmacKeysOf(issuer: IssuerConfig, secrets: SecretSources, problems: string[]): KeyObject[] {
  const keys: KeyObject[] = [];
  const slots = [
    { base64: issuer.secret ?? secrets.current?.get(issuer.issuer), source: issuer.secretParameter ?? "secret", what: "shared secret" },
    ...(issuer.previousSecret !== undefined || issuer.previousSecretParameter !== undefined
      ? [
          {
            base64: issuer.previousSecret ?? secrets.previous?.get(issuer.issuer),
            source: issuer.previousSecretParameter ?? "previousSecret",
            what: "previous shared secret",
          },
        ]
      : []),
  ];
  for (const { base64, source, what } of slots) {
    if (base64 === undefined) {
      problems.push(`issuer ${issuer.issuer}: its ${what} (${source}) was not provided`);
      continue;
    }
    const decoded = decodeSharedSecret(base64, issuer.algorithms);
    if (decoded.problem !== undefined)
      problems.push(`issuer ${issuer.issuer}: ${decoded.problem.replace("the shared secret", `the ${what}`)}`);
    else keys.push(decoded.key);
  }
  return keys;
}

interface SecretSources {
  current: ReadonlyMap<string, string> | undefined;
  previous: ReadonlyMap<string, string> | undefined;
}

function prepareIssuers(config: AuthorizerConfig, secrets: SecretSources): Map<string, PreparedIssuer> {
  const problems: string[] = [];
  const prepared = new Map<string, PreparedIssuer>();
  for (const issuer of config.issuers) {
    prepared.set(issuer.issuer, {
      config: issuer,
      algorithms: new Set(issuer.algorithms),
      hmacKeys: issuer.algorithms.some(isHmacAlgorithm) ? hmacKeysOf(issuer, secrets, problems) : undefined,
      principalClaim: issuer.principalClaim ?? "sub",
      principalPrefix: issuer.principalPrefix ?? "",
      audiences: issuer.audiences ? new Set(issuer.audiences) : undefined,
      clientIds: issuer.clientIds ? new Set(issuer.clientIds) : undefined,
    });
  }
  if (problems.length > 0) throw new ConfigurationError(problems);
  return prepared;
}

/**
 * Which of an HMAC issuer's keys signed the token: its index, or -1. Every key is tried whatever the first gives, each
 * compared in constant time, so the time taken does not tell which secret (if any) matched.
 */
function matchingHmacKey(alg: string, keys: readonly KeyObject[], token: string, signature: string): number {
  let matched = -1;
  keys.forEach((key, index) => {
    if (verifySignature(alg, key, token, signature) && matched === -1) matched = index;
  });
  return matched;
}

function clampTimer(seconds: number): number {
  return Math.min(IOT_LIMITS.maxTimerSeconds, Math.max(IOT_LIMITS.minTimerSeconds, Math.floor(seconds)));
}

interface Decision {
  response: AuthorizerResponse;
  location: TokenLocation;
  issuer: string;
  /** HMAC issuers: which secret verified the token (never the secret itself). */
  secretUsed: "current" | "previous" | undefined;
}

/**
 * Builds the authorizer for a loaded configuration. Throws `ConfigurationError` (synchronously) when an
 * HMAC issuer's secret is missing or unusable; after that, the returned function never throws.
 */
export function createAuthorizer(config: AuthorizerConfig, deps: AuthorizerDependencies = {}): Authorizer {
  const issuers = prepareIssuers(config, { current: deps.sharedSecrets, previous: deps.previousSharedSecrets });
  const rules = compileGrants(config.grants);
  const now = deps.now ?? Date.now;
  // Every line, whatever path it comes from, is cut to MAX_LOG_LINE_CHARS: attacker-chosen text reaches reasons.
  const logger = boundedLogger(deps.logger ?? consoleLogger);
  const keySource = deps.keySource ?? new JwksKeySource(DEFAULT_JWKS_OPTIONS, now, logger);
  const arnPrefix = `arn:${config.partition}:iot:${config.region}:${config.accountId}:`;
  const tolerance = config.clockToleranceSeconds;

  async function authorize(event: unknown): Promise<Decision> {
    const { token, location } = boundedTokenOf(event, config);
    const { header, payload, signature } = parseToken(token);
    const issuer = trustedIssuerOf(payload, issuers);
    const { alg, kid } = pinnedAlgorithmOf(header, issuer);

    const secretUsed = await checkSignature(issuer, alg, kid, token, signature);

    const nowSeconds = now() / 1000;
    const exp = checkLifetime(payload, nowSeconds, tolerance);
    checkAudienceAndClient(payload, issuer);
    const principalId = principalIdFor(principalValueOf(payload, issuer), issuer.principalPrefix);

    const statements = grantedStatements(rules, arnPrefix, principalId, payload);
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
      secretUsed,
    };
  }

  /** Verifies the signature with the issuer's key; for an HMAC issuer, says which of its secrets signed. */
  async function checkSignature(
    issuer: PreparedIssuer,
    alg: string,
    kid: string | undefined,
    token: string,
    signature: string,
  ): Promise<"current" | "previous" | undefined> {
    if (issuer.hmacKeys !== undefined) {
      const index = matchingHmacKey(alg, issuer.hmacKeys, token, signature);
      if (index === -1) throw new Denial("signature-invalid", "the token's signature does not verify with the issuer's key");
      return index === 0 ? "current" : "previous";
    }
    const key = await keySource.getKey(issuer.config.jwksUri as string, kid, alg);
    if (!verifySignature(alg, key, token, signature)) {
      throw new Denial("signature-invalid", "the token's signature does not verify with the issuer's key");
    }
    return undefined;
  }

  return async (event) => {
    const connectionId = connectionIdOf(event);
    try {
      const { response, location, issuer, secretUsed } = await authorize(event);
      const clientId = clientIdOf(event);
      logger.debug({ outcome: "allow", principalId: response.principalId, issuer, location, connectionId, clientId, secretUsed });
      return response;
    } catch (err) {
      logDenial(logger, err, event, connectionId);
      return deniedResponse();
    }
  };
}

/** A denial is a warning; anything else that stopped the decision is an error for the operator. */
function logDenial(logger: Logger, err: unknown, event: unknown, connectionId: string | undefined): void {
  const denial = err instanceof Denial ? err : undefined;
  const check: Check = denial?.check ?? "internal-error";
  const fields: LogFields = {
    outcome: "deny",
    check,
    reason: denial ? denial.message : "unexpected failure",
    issuer: (err as { issuer?: string }).issuer,
    protocols: protocolsOf(event),
    connectionId,
    clientId: clientIdOf(event),
  };
  if (denial) logger.warn(fields);
  else logger.error({ ...fields, error: (err as Error)?.name ?? typeof err });
}

/** The one token in the request, refused before anything is parsed if it is over the size limit. */
function boundedTokenOf(event: unknown, config: AuthorizerConfig): { token: string; location: TokenLocation } {
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
  return { token, location };
}

function trustedIssuerOf(payload: Record<string, unknown>, issuers: ReadonlyMap<string, PreparedIssuer>): PreparedIssuer {
  const iss = payload.iss;
  const issuer = typeof iss === "string" ? issuers.get(iss) : undefined;
  if (issuer === undefined) {
    throw Object.assign(new Denial("issuer-untrusted", "the token's iss is not a configured issuer"), { issuer: forLog(iss, 128) });
  }
  return issuer;
}

/** The header's `alg`, accepted only if the issuer is pinned to it, and its `kid`, if any. */
function pinnedAlgorithmOf(header: Record<string, unknown>, issuer: PreparedIssuer): { alg: string; kid: string | undefined } {
  const alg = header.alg;
  if (typeof alg !== "string" || !issuer.algorithms.has(alg)) {
    throw new Denial("algorithm-not-allowed", `alg ${JSON.stringify(forLog(String(alg), 64))} is not allowed for this issuer`);
  }
  const kid = header.kid;
  if (kid !== undefined && typeof kid !== "string") throw new Denial("token-malformed", "kid is not a string");
  return { alg, kid };
}

/** `exp` (required), `nbf` and `iat` against the clock, with the configured tolerance; returns `exp`. */
function checkLifetime(payload: Record<string, unknown>, nowSeconds: number, tolerance: number): number {
  const exp = numericDate(payload, "exp");
  if (exp === undefined) throw new Denial("expiry-missing", "the token has no exp");
  if (nowSeconds >= exp + tolerance) throw new Denial("expired", "the token has expired");
  const nbf = numericDate(payload, "nbf");
  if (nbf !== undefined && nbf > nowSeconds + tolerance) throw new Denial("not-yet-valid", "the token is not valid yet (nbf)");
  const iat = numericDate(payload, "iat");
  if (iat !== undefined && iat > nowSeconds + tolerance) throw new Denial("issued-in-future", "the token's iat is in the future");
  return exp;
}

/** Whom the token was issued for: `aud`, `client_id` and `token_use`, each only when the issuer configures it. */
function checkAudienceAndClient(payload: Record<string, unknown>, issuer: PreparedIssuer): void {
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
}

function principalValueOf(payload: Record<string, unknown>, issuer: PreparedIssuer): string {
  const principalValue = payload[issuer.principalClaim];
  if (typeof principalValue !== "string" || principalValue.length === 0) {
    throw new Denial("principal-missing", `the token has no ${issuer.principalClaim} claim`);
  }
  return principalValue;
}
