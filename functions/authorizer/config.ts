/**
 * The authorizer's configuration: its types, its defaults, and the checks that refuse a configuration
 * which cannot be safe. The same checks run in three places: in the Lambda at cold start, in the
 * `IotTokenAuthorizer` component at preview, and in the local sandbox, so a problem is reported the same
 * way wherever it is met, and every problem at once.
 *
 * This module checks the stack-wide settings; each issuer is checked in `issuer-checks.ts`, each grant in
 * `grant-checks.ts`, and the algorithms and shared secrets are `algorithms.ts`'s.
 */
import { ACCOUNT_ID, integerSetting, isObject, PARTITION, REGION } from "../shared/checks";
import { ConfigurationError, type Problem, problemAt, problemWithText, rendered } from "../shared/problems";
import { type Algorithm } from "./algorithms";
import { checkGrants, type IotAction } from "./grant-checks";
import { checkIssuers } from "./issuer-checks";

/** The limits IoT Core puts on what an authorizer returns (docs/aws-iot-custom-auth.md#the-authorizer-response). */
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
  /**
   * Algorithms accepted from this issuer, pinned: `RS256`, `RS384`, `RS512` or `HS256`, `HS384`, `HS512`; all RSA or
   * all HMAC, never a mix (that is how RS/HS confusion starts). A token whose header names another is refused.
   */
  algorithms: Algorithm[];
  /** RSA issuers: where the signing keys are published (https, or http on loopback for local use). */
  jwksUri?: string;
  /**
   * HMAC issuers: name of an SSM SecureString parameter you manage, in this account and region, holding the
   * base64-encoded shared secret; the function reads it at cold start. Not with a stored or inline secret.
   */
  secretParameter?: string;
  /** HMAC issuers, tests and the local sandbox only: the base64-encoded shared secret itself. */
  secret?: string;
  /**
   * HMAC issuers, during a rotation: a second secret also accepted (the one being retired, or the next one), from an
   * SSM SecureString parameter (`previousSecretParameter`) or, for tests and the sandbox, inline (`previousSecret`).
   * docs/operations.md#rotating-an-hs256-shared-secret
   */
  previousSecretParameter?: string;
  previousSecret?: string;
  /** When set, the token's `aud` (string or array) must contain one of these. */
  audiences?: string[];
  /** When set, the token's `client_id` claim must be one of these (Cognito access tokens carry it). */
  clientIds?: string[];
  /** When set, the token's `token_use` claim must equal this (Cognito: `access` or `id`); default: not checked. */
  tokenUse?: string;
  /**
   * The claim naming the principal (default `sub`; letters, digits, `_ : . -`). Its value, mapped one-to-one onto letters
   * and digits (`principal.ts`) after `principalPrefix`, is the principal id the grants' `{principal}` stands for.
   */
  principalClaim?: string;
  /**
   * Alphanumeric prefix of this issuer's principal ids, at most 32 characters (default none). Required, and none
   * starting another, when several issuers are trusted, so that `alice` at one IdP can never take over `alice`'s
   * topics at another.
   */
  principalPrefix?: string;
}

export interface GrantRule {
  /**
   * The IoT actions the rule allows (at least one): `iot:Connect`, `iot:Publish`, `iot:Receive`, `iot:RetainPublish`,
   * `iot:Subscribe`; each needs a resource of its kind in `resources`.
   */
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
 * console at once) and its own topic tree, as Cognito per-user topics do per user. Never `*`.
 */
export const DEFAULT_GRANTS: GrantRule[] = [
  { actions: ["iot:Connect"], resources: ["client/{principal}", "client/{principal}-*"] },
  { actions: ["iot:Publish", "iot:Receive"], resources: ["topic/devices/{principal}/*"] },
  { actions: ["iot:Subscribe"], resources: ["topicfilter/devices/{principal}/*"] },
];

export const DEFAULT_AUTHORIZER_SETTINGS = {
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

const TOKEN_KEY_NAME = /^[A-Za-z0-9_-]{1,128}$/;

/** The stack-wide integer settings and their ranges. */
const INTEGER_RANGES: Record<Exclude<keyof typeof DEFAULT_AUTHORIZER_SETTINGS, "tokenKeyName">, readonly [number, number]> = {
  refreshAfterSeconds: [IOT_LIMITS.minTimerSeconds, IOT_LIMITS.maxTimerSeconds],
  disconnectAfterSeconds: [IOT_LIMITS.minTimerSeconds, IOT_LIMITS.maxTimerSeconds],
  clockToleranceSeconds: [0, LIMITS.maxClockToleranceSeconds],
  maxTokenBytes: [LIMITS.minTokenBytes, LIMITS.maxTokenBytes],
};

function checkTokenKeyName(value: unknown, problems: Problem[]): string {
  if (typeof value !== "string" || !TOKEN_KEY_NAME.test(value)) {
    problems.push(problemAt("tokenKeyName", `must be 1-128 letters, digits, _ or -; got ${JSON.stringify(value)}`));
    return DEFAULT_AUTHORIZER_SETTINGS.tokenKeyName;
  }
  if (value.toLowerCase().startsWith("x-amz-customauthorizer-")) {
    problems.push(problemAt("tokenKeyName", "must not be one of IoT's own x-amz-customauthorizer-* names"));
  }
  return value;
}

/**
 * Checks the stack-level settings and fills in defaults. Returns the settings and every problem found;
 * callers decide whether to throw (see `loadAuthorizerConfig`).
 */
export function checkAuthorizerSettings(raw: unknown): { settings: AuthorizerSettings; problems: string[] } {
  return rendered(inspectAuthorizerSettings(raw));
}

/** `checkAuthorizerSettings` with each problem's path, for callers that name settings their own way. */
export function inspectAuthorizerSettings(raw: unknown): { settings: AuthorizerSettings; problems: Problem[] } {
  const problems: Problem[] = [];
  const r = isObject(raw) ? raw : {};
  if (r !== raw) problems.push(problemWithText("", "the configuration must be a JSON object"));

  const issuers = checkIssuers(r.issuers, problems);
  const grants = r.grants === undefined ? DEFAULT_GRANTS : (checkGrants(r.grants, problems) ?? DEFAULT_GRANTS);
  const tokenKeyName = checkTokenKeyName(r.tokenKeyName ?? DEFAULT_AUTHORIZER_SETTINGS.tokenKeyName, problems);
  const integer = (key: keyof typeof INTEGER_RANGES) =>
    integerSetting(key, r[key] ?? DEFAULT_AUTHORIZER_SETTINGS[key], INTEGER_RANGES[key], DEFAULT_AUTHORIZER_SETTINGS[key], problems);
  const refreshAfterSeconds = integer("refreshAfterSeconds");
  const disconnectAfterSeconds = integer("disconnectAfterSeconds");
  const clockToleranceSeconds = integer("clockToleranceSeconds");
  const maxTokenBytes = integer("maxTokenBytes");

  const knownTop = new Set([
    "issuers",
    "grants",
    "tokenKeyName",
    "refreshAfterSeconds",
    "disconnectAfterSeconds",
    "clockToleranceSeconds",
    "maxTokenBytes",
    "region",
    "accountId",
    "partition",
  ]);
  for (const key of Object.keys(r)) if (!knownTop.has(key)) problems.push(problemWithText(key, `unknown setting "${key}"`));

  return {
    settings: { issuers, grants, tokenKeyName, refreshAfterSeconds, disconnectAfterSeconds, clockToleranceSeconds, maxTokenBytes },
    problems,
  };
}

/** Parses and checks a whole configuration (settings plus region, account and partition), or throws every problem. */
export function loadAuthorizerConfig(raw: unknown): AuthorizerConfig {
  const { settings, problems } = inspectAuthorizerSettings(raw);
  const r = isObject(raw) ? raw : {};
  const region = r.region;
  const accountId = r.accountId;
  const partition = r.partition ?? "aws";
  if (typeof region !== "string" || !REGION.test(region))
    problems.push(problemAt("region", `must be an AWS region such as eu-west-1; got ${JSON.stringify(region)}`));
  if (typeof accountId !== "string" || !ACCOUNT_ID.test(accountId))
    problems.push(problemAt("accountId", `must be 12 digits; got ${JSON.stringify(accountId)}`));
  if (typeof partition !== "string" || !PARTITION.test(partition))
    problems.push(problemAt("partition", `must be aws, aws-cn, aws-us-gov…; got ${JSON.stringify(partition)}`));
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
