/**
 * The authorizer's configuration: its types, its defaults, and the checks that refuse a configuration
 * which cannot be safe. The same checks run in three places: in the Lambda at cold start, in the
 * `IotTokenAuthorizer` component at preview, and in the local sandbox, so a problem is reported the same
 * way wherever it is met, and every problem at once.
 */
import { createSecretKey, type KeyObject } from "node:crypto";

export const RSA_ALGORITHMS = ["RS256", "RS384", "RS512"] as const;
export const HMAC_ALGORITHMS = ["HS256", "HS384", "HS512"] as const;
export type RsaAlgorithm = (typeof RSA_ALGORITHMS)[number];
export type HmacAlgorithm = (typeof HMAC_ALGORITHMS)[number];
export type Algorithm = RsaAlgorithm | HmacAlgorithm;

/** RFC 7518 §3.2: an HMAC key must be at least as long as the hash output. */
export const MIN_HMAC_KEY_BYTES: Record<HmacAlgorithm, number> = { HS256: 32, HS384: 48, HS512: 64 };

export const IOT_ACTIONS = ["iot:Connect", "iot:Publish", "iot:Receive", "iot:RetainPublish", "iot:Subscribe"] as const;
export type IotAction = (typeof IOT_ACTIONS)[number];

/** Which kind of IoT resource each action is checked against (FACTS.md §1). */
export const RESOURCE_KIND_OF_ACTION: Record<IotAction, ResourceKind> = {
  "iot:Connect": "client",
  "iot:Publish": "topic",
  "iot:Receive": "topic",
  "iot:RetainPublish": "topic",
  "iot:Subscribe": "topicfilter",
};
export type ResourceKind = "client" | "topic" | "topicfilter";

/** The limits IoT Core puts on what an authorizer returns (FACTS.md §1). */
export const IOT_LIMITS = {
  minTimerSeconds: 300,
  maxTimerSeconds: 86_400,
  maxPolicyDocuments: 10,
  maxPolicyDocumentChars: 2_048,
  maxPrincipalIdChars: 128,
} as const;

export interface IssuerConfig {
  /** Exact `iss` value of the tokens this issuer signs. */
  issuer: string;
  /** Algorithms accepted from this issuer: all RSA or all HMAC, never a mix. */
  algorithms: Algorithm[];
  /** RSA issuers: where the signing keys are published (https, or http on loopback for local use). */
  jwksUri?: string;
  /** HMAC issuers: name of the SSM SecureString parameter holding the base64-encoded shared secret. */
  secretParameter?: string;
  /** HMAC issuers, tests and the local sandbox only: the base64-encoded shared secret itself. */
  secret?: string;
  /** When set, the token's `aud` (string or array) must contain one of these. */
  audiences?: string[];
  /** When set, the token's `client_id` claim must be one of these (Cognito access tokens carry it). */
  clientIds?: string[];
  /** When set, the token's `token_use` claim must equal this (Cognito: `access` or `id`). */
  tokenUse?: string;
  /** The claim naming the principal; `sub` by default. */
  principalClaim?: string;
  /**
   * Alphanumeric prefix of this issuer's principal ids. Required, and distinct, when several issuers
   * are trusted, so that `alice` at one IdP can never take over `alice`'s topics at another.
   */
  principalPrefix?: string;
}

export interface GrantRule {
  actions: IotAction[];
  /** IoT ARN suffixes: `client/…`, `topic/…` or `topicfilter/…`, with `{principal}` and `{claims.NAME}`. */
  resources: string[];
  /** When set, the rule applies only to tokens carrying at least one of these scopes. */
  scopes?: string[];
}

/** Everything a stack decides; what the account decides (region, account id) comes separately. */
export interface AuthorizerSettings {
  issuers: IssuerConfig[];
  grants: GrantRule[];
  tokenKeyName: string;
  refreshAfterSeconds: number;
  disconnectAfterSeconds: number;
  clockToleranceSeconds: number;
  maxTokenBytes: number;
}

export interface AuthorizerConfig extends AuthorizerSettings {
  region: string;
  accountId: string;
  partition: string;
}

/**
 * A device gets its own client id (`{principal}` or `{principal}-anything`, so one user can run a TV and a
 * console at once) and its own topic tree, as seed 002 does per user. Never `*`.
 */
export const DEFAULT_GRANTS: GrantRule[] = [
  { actions: ["iot:Connect"], resources: ["client/{principal}", "client/{principal}-*"] },
  { actions: ["iot:Publish", "iot:Receive"], resources: ["topic/devices/{principal}/*"] },
  { actions: ["iot:Subscribe"], resources: ["topicfilter/devices/{principal}/*"] },
];

export const DEFAULT_SETTINGS = {
  tokenKeyName: "token",
  refreshAfterSeconds: 3_600,
  disconnectAfterSeconds: 86_400,
  clockToleranceSeconds: 30,
  maxTokenBytes: 8_192,
} as const;

export const LIMITS = {
  maxClockToleranceSeconds: 300,
  minTokenBytes: 256,
  maxTokenBytes: 65_536,
} as const;

export class ConfigurationError extends Error {
  constructor(
    readonly problems: string[],
    subject = "authorizer configuration",
  ) {
    super(`Invalid ${subject}: ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigurationError";
  }
}

export function isRsaAlgorithm(alg: string): alg is RsaAlgorithm {
  return (RSA_ALGORITHMS as readonly string[]).includes(alg);
}
export function isHmacAlgorithm(alg: string): alg is HmacAlgorithm {
  return (HMAC_ALGORITHMS as readonly string[]).includes(alg);
}

const TOKEN_KEY_NAME = /^[A-Za-z0-9_-]{1,128}$/;
const ALPHANUMERIC = /^[A-Za-z0-9]*$/;
const CLAIM_NAME = /^[A-Za-z0-9_:.-]{1,64}$/;
const STANDARD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const SSM_PARAMETER_NAME = /^\/?[A-Za-z0-9_.\-/]{1,1011}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const ACCOUNT_ID = /^\d{12}$/;
const PARTITION = /^aws(-[a-z]+)*$/;
/** `{principal}`, `{claims.NAME}` and IoT's own `${iot:…}` variables; anything else in braces is an error. */
const PLACEHOLDER = /\$\{[^}]*\}|\{([^}]*)\}/g;

/**
 * Decodes an HMAC shared secret given as standard base64, as OpenAM's console takes it (seed 000), and
 * returns it as a `KeyObject` (FACTS.md §3), or the reason it cannot be used.
 */
export function decodeSharedSecret(
  base64: string,
  algorithms: readonly Algorithm[],
  where: string,
): { key: KeyObject; problem?: undefined } | { key?: undefined; problem: string } {
  const trimmed = base64.trim();
  if (!STANDARD_BASE64.test(trimmed)) {
    return { problem: `${where}: the shared secret is not standard base64 (A-Z a-z 0-9 + / with = padding)` };
  }
  const bytes = Buffer.from(trimmed, "base64");
  const needed = Math.max(0, ...algorithms.filter(isHmacAlgorithm).map((a) => MIN_HMAC_KEY_BYTES[a]));
  if (bytes.length < needed) {
    return {
      problem: `${where}: the shared secret decodes to ${bytes.length} bytes; ${algorithms.join("/")} needs at least ${needed}`,
    };
  }
  return { key: createSecretKey(bytes) };
}

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

function stringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === "string");
}

function optionalStringList(value: unknown, where: string, problems: string[]): string[] | undefined {
  if (value === undefined) return undefined;
  if (!stringArray(value) || value.length === 0 || value.some((v) => v.length === 0)) {
    problems.push(`${where} must be a non-empty list of non-empty strings`);
    return undefined;
  }
  return value;
}

function integerSetting(
  raw: Record<string, unknown>,
  key: keyof typeof DEFAULT_SETTINGS,
  min: number,
  max: number,
  problems: string[],
): number {
  const value = raw[key] ?? DEFAULT_SETTINGS[key];
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    problems.push(`${key} must be an integer from ${min} to ${max}; got ${JSON.stringify(value)}`);
    return DEFAULT_SETTINGS[key] as number;
  }
  return value;
}

function checkIssuer(raw: unknown, where: string, problems: string[]): IssuerConfig | undefined {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    problems.push(`${where} must be an object`);
    return undefined;
  }
  const r = raw as Record<string, unknown>;
  const known = new Set([
    "issuer", "algorithms", "jwksUri", "secretParameter", "secret", "audiences", "clientIds", "tokenUse",
    "principalClaim", "principalPrefix",
  ]);
  for (const key of Object.keys(r)) if (!known.has(key)) problems.push(`${where}: unknown setting "${key}"`);

  const issuer = typeof r.issuer === "string" ? r.issuer : "";
  if (issuer.length === 0) problems.push(`${where}.issuer must be a non-empty string (the exact "iss" of its tokens)`);
  const label = issuer ? `issuer ${issuer}` : where;

  let algorithms: Algorithm[] = [];
  if (!stringArray(r.algorithms) || r.algorithms.length === 0) {
    problems.push(`${label}: algorithms must be a non-empty list, e.g. ["RS256"] or ["HS256"]`);
  } else {
    const unknown = r.algorithms.filter((a) => !isRsaAlgorithm(a) && !isHmacAlgorithm(a));
    if (unknown.length > 0) {
      problems.push(
        `${label}: unknown algorithm(s) ${unknown.join(", ")}; allowed: ${[...RSA_ALGORITHMS, ...HMAC_ALGORITHMS].join(", ")}`,
      );
    }
    algorithms = r.algorithms.filter((a): a is Algorithm => isRsaAlgorithm(a) || isHmacAlgorithm(a));
  }
  const rsa = algorithms.some(isRsaAlgorithm);
  const hmac = algorithms.some(isHmacAlgorithm);
  if (rsa && hmac) {
    problems.push(`${label}: mixes RSA and HMAC algorithms; one issuer, one key type (this is how RS/HS confusion starts)`);
  }

  let jwksUri: string | undefined;
  if (r.jwksUri !== undefined) {
    if (typeof r.jwksUri !== "string") problems.push(`${label}: jwksUri must be a string`);
    else jwksUri = r.jwksUri;
  }
  if (rsa) {
    if (jwksUri === undefined) {
      problems.push(`${label}: an RSA issuer needs jwksUri`);
    } else {
      let url: URL | undefined;
      try {
        url = new URL(jwksUri);
      } catch {
        problems.push(`${label}: jwksUri ${JSON.stringify(jwksUri)} is not a URL`);
      }
      if (url && url.protocol !== "https:" && !(url.protocol === "http:" && isLoopback(url.hostname))) {
        problems.push(`${label}: jwksUri must use https (plain http is allowed on loopback only)`);
      }
    }
  } else if (jwksUri !== undefined && hmac) {
    problems.push(`${label}: jwksUri is set but the issuer uses HMAC algorithms`);
  }

  const secretParameter = typeof r.secretParameter === "string" ? r.secretParameter : undefined;
  const secret = typeof r.secret === "string" ? r.secret : undefined;
  if (r.secretParameter !== undefined && secretParameter === undefined) problems.push(`${label}: secretParameter must be a string`);
  if (r.secret !== undefined && secret === undefined) problems.push(`${label}: secret must be a string`);
  if (hmac) {
    if (secretParameter === undefined && secret === undefined) {
      problems.push(`${label}: an HMAC issuer needs its shared secret (secretParameter, or secret for local use)`);
    } else if (secretParameter !== undefined && secret !== undefined) {
      problems.push(`${label}: set secretParameter or secret, not both`);
    }
    if (secretParameter !== undefined && !SSM_PARAMETER_NAME.test(secretParameter)) {
      problems.push(`${label}: secretParameter ${JSON.stringify(secretParameter)} is not an SSM parameter name`);
    }
    if (secret !== undefined) {
      const decoded = decodeSharedSecret(secret, algorithms, label);
      if (decoded.problem) problems.push(decoded.problem);
    }
  } else if (secretParameter !== undefined || secret !== undefined) {
    problems.push(`${label}: a shared secret is set but the issuer does not use HMAC algorithms`);
  }

  const audiences = optionalStringList(r.audiences, `${label}: audiences`, problems);
  const clientIds = optionalStringList(r.clientIds, `${label}: clientIds`, problems);
  let tokenUse: string | undefined;
  if (r.tokenUse !== undefined) {
    if (typeof r.tokenUse !== "string" || r.tokenUse.length === 0) problems.push(`${label}: tokenUse must be a non-empty string`);
    else tokenUse = r.tokenUse;
  }
  let principalClaim: string | undefined;
  if (r.principalClaim !== undefined) {
    if (typeof r.principalClaim !== "string" || !CLAIM_NAME.test(r.principalClaim)) {
      problems.push(`${label}: principalClaim must be a claim name (letters, digits, _ : . -)`);
    } else principalClaim = r.principalClaim;
  }
  let principalPrefix: string | undefined;
  if (r.principalPrefix !== undefined) {
    if (typeof r.principalPrefix !== "string" || !ALPHANUMERIC.test(r.principalPrefix) || r.principalPrefix.length > 32) {
      problems.push(`${label}: principalPrefix must be at most 32 letters and digits (IoT principal ids are alphanumeric)`);
    } else principalPrefix = r.principalPrefix;
  }

  return {
    issuer,
    algorithms,
    ...(jwksUri !== undefined && { jwksUri }),
    ...(secretParameter !== undefined && { secretParameter }),
    ...(secret !== undefined && { secret }),
    ...(audiences && { audiences }),
    ...(clientIds && { clientIds }),
    ...(tokenUse !== undefined && { tokenUse }),
    ...(principalClaim !== undefined && { principalClaim }),
    ...(principalPrefix !== undefined && { principalPrefix }),
  };
}

function checkGrant(raw: unknown, where: string, problems: string[]): GrantRule | undefined {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    problems.push(`${where} must be an object with actions and resources`);
    return undefined;
  }
  const r = raw as Record<string, unknown>;
  for (const key of Object.keys(r)) {
    if (!["actions", "resources", "scopes"].includes(key)) problems.push(`${where}: unknown setting "${key}"`);
  }
  const before = problems.length;
  if (!stringArray(r.actions) || r.actions.length === 0) {
    problems.push(`${where}.actions must be a non-empty list of IoT actions (${IOT_ACTIONS.join(", ")})`);
  } else {
    for (const a of r.actions) {
      if (!(IOT_ACTIONS as readonly string[]).includes(a)) {
        problems.push(`${where}: unknown action ${JSON.stringify(a)}; allowed: ${IOT_ACTIONS.join(", ")}`);
      }
    }
  }
  if (!stringArray(r.resources) || r.resources.length === 0) {
    problems.push(`${where}.resources must be a non-empty list of client/…, topic/… or topicfilter/… resources`);
  } else {
    for (const resource of r.resources) problems.push(...resourceProblems(resource, where));
  }
  const scopes = optionalStringList(r.scopes, `${where}.scopes`, problems);
  if (problems.length > before) return undefined;

  const actions = r.actions as IotAction[];
  const resources = r.resources as string[];
  const kinds = new Set(resources.map(resourceKind));
  for (const action of actions) {
    if (!kinds.has(RESOURCE_KIND_OF_ACTION[action])) {
      problems.push(`${where}: ${action} is checked against ${RESOURCE_KIND_OF_ACTION[action]}/… resources and the rule has none`);
    }
  }
  const actionKinds = new Set(actions.map((a) => RESOURCE_KIND_OF_ACTION[a]));
  for (const resource of resources) {
    if (!actionKinds.has(resourceKind(resource))) {
      problems.push(`${where}: no action in the rule applies to ${resource}`);
    }
  }
  return { actions, resources, ...(scopes && { scopes }) };
}

function resourceKind(resource: string): ResourceKind {
  return resource.slice(0, resource.indexOf("/")) as ResourceKind;
}

function resourceProblems(resource: string, where: string): string[] {
  const problems: string[] = [];
  const kind = resource.slice(0, resource.indexOf("/"));
  if (!["client", "topic", "topicfilter"].includes(kind) || resource.length <= kind.length + 1) {
    problems.push(`${where}: resource ${JSON.stringify(resource)} must start with client/, topic/ or topicfilter/ and name something`);
  }
  for (const match of resource.matchAll(PLACEHOLDER)) {
    const inner = match[1];
    if (inner === undefined) continue; // ${iot:…}: IoT substitutes it itself
    if (inner !== "principal" && !(inner.startsWith("claims.") && CLAIM_NAME.test(inner.slice(7)))) {
      problems.push(`${where}: resource ${JSON.stringify(resource)} has unknown placeholder {${inner}}; use {principal} or {claims.NAME}`);
    }
  }
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(resource)) problems.push(`${where}: resource ${JSON.stringify(resource)} has control characters`);
  return problems;
}

/**
 * Checks the stack-level settings and fills in defaults. Returns the settings and every problem found;
 * callers decide whether to throw (see `loadAuthorizerConfig`).
 */
export function checkAuthorizerSettings(raw: unknown): { settings: AuthorizerSettings; problems: string[] } {
  const problems: string[] = [];
  const r = (typeof raw === "object" && raw !== null && !Array.isArray(raw) ? raw : {}) as Record<string, unknown>;
  if (r !== raw) problems.push("the configuration must be a JSON object");

  const issuers: IssuerConfig[] = [];
  if (!Array.isArray(r.issuers) || r.issuers.length === 0) {
    problems.push("issuers must list at least one trusted issuer");
  } else {
    r.issuers.forEach((entry, i) => {
      const issuer = checkIssuer(entry, `issuers[${i}]`, problems);
      if (issuer) issuers.push(issuer);
    });
  }
  const seen = new Set<string>();
  for (const { issuer } of issuers) {
    if (issuer && seen.has(issuer)) problems.push(`issuer ${issuer} is listed more than once`);
    seen.add(issuer);
  }
  // Principal ids are prefix + id, so two issuers' namespaces are disjoint only if no prefix starts another.
  for (let i = 0; i < issuers.length; i++) {
    for (let j = i + 1; j < issuers.length; j++) {
      const [p, q] = [issuers[i].principalPrefix ?? "", issuers[j].principalPrefix ?? ""];
      if (p.startsWith(q) || q.startsWith(p)) {
        problems.push(
          `issuers ${issuers[i].issuer} and ${issuers[j].issuer} share a principal namespace (prefixes "${p}" and "${q}"): ` +
            `with several issuers, give each a principalPrefix that does not start another's`,
        );
      }
    }
  }

  let grants: GrantRule[] = DEFAULT_GRANTS;
  if (r.grants !== undefined) {
    if (!Array.isArray(r.grants) || r.grants.length === 0) {
      problems.push("grants, when set, must list at least one rule");
    } else {
      grants = [];
      r.grants.forEach((entry, i) => {
        const grant = checkGrant(entry, `grants[${i}]`, problems);
        if (grant) grants.push(grant);
      });
    }
  }

  const tokenKeyName = r.tokenKeyName ?? DEFAULT_SETTINGS.tokenKeyName;
  if (typeof tokenKeyName !== "string" || !TOKEN_KEY_NAME.test(tokenKeyName)) {
    problems.push(`tokenKeyName must be 1-128 letters, digits, _ or -; got ${JSON.stringify(tokenKeyName)}`);
  } else if (tokenKeyName.toLowerCase().startsWith("x-amz-customauthorizer-")) {
    problems.push(`tokenKeyName must not be one of IoT's own x-amz-customauthorizer-* names`);
  }
  const refreshAfterSeconds = integerSetting(r, "refreshAfterSeconds", IOT_LIMITS.minTimerSeconds, IOT_LIMITS.maxTimerSeconds, problems);
  const disconnectAfterSeconds = integerSetting(r, "disconnectAfterSeconds", IOT_LIMITS.minTimerSeconds, IOT_LIMITS.maxTimerSeconds, problems);
  const clockToleranceSeconds = integerSetting(r, "clockToleranceSeconds", 0, LIMITS.maxClockToleranceSeconds, problems);
  const maxTokenBytes = integerSetting(r, "maxTokenBytes", LIMITS.minTokenBytes, LIMITS.maxTokenBytes, problems);

  const knownTop = new Set([
    "issuers", "grants", "tokenKeyName", "refreshAfterSeconds", "disconnectAfterSeconds", "clockToleranceSeconds",
    "maxTokenBytes", "region", "accountId", "partition",
  ]);
  for (const key of Object.keys(r)) if (!knownTop.has(key)) problems.push(`unknown setting "${key}"`);

  return {
    settings: {
      issuers,
      grants,
      tokenKeyName: typeof tokenKeyName === "string" ? tokenKeyName : DEFAULT_SETTINGS.tokenKeyName,
      refreshAfterSeconds,
      disconnectAfterSeconds,
      clockToleranceSeconds,
      maxTokenBytes,
    },
    problems,
  };
}

/** Parses and checks a whole configuration (settings plus region, account and partition), or throws every problem. */
export function loadAuthorizerConfig(raw: unknown): AuthorizerConfig {
  const { settings, problems } = checkAuthorizerSettings(raw);
  const r = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
  const region = r.region;
  const accountId = r.accountId;
  const partition = r.partition ?? "aws";
  if (typeof region !== "string" || !REGION.test(region)) problems.push(`region must be an AWS region such as eu-west-1; got ${JSON.stringify(region)}`);
  if (typeof accountId !== "string" || !ACCOUNT_ID.test(accountId)) problems.push(`accountId must be 12 digits; got ${JSON.stringify(accountId)}`);
  if (typeof partition !== "string" || !PARTITION.test(partition)) problems.push(`partition must be aws, aws-cn, aws-us-gov…; got ${JSON.stringify(partition)}`);
  if (problems.length > 0) throw new ConfigurationError(problems);
  return { ...settings, region: region as string, accountId: accountId as string, partition: partition as string };
}

/** Reads the configuration from its JSON text (the `AUTHORIZER_CONFIG` environment variable). */
export function parseAuthorizerConfig(json: string | undefined): AuthorizerConfig {
  if (json === undefined || json.trim() === "") throw new ConfigurationError(["AUTHORIZER_CONFIG is not set"]);
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    // Never echo the parser's message: it quotes the input, which may hold a (local) shared secret.
    const position = /position (\d+)/.exec((err as Error).message)?.[1];
    throw new ConfigurationError([`AUTHORIZER_CONFIG is not valid JSON${position ? ` (error at character ${position})` : ""}`]);
  }
  return loadAuthorizerConfig(raw);
}
