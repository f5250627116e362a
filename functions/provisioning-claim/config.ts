/**
 * The claim function's runtime configuration: one JSON document in `PROVISIONING_CLAIM_CONFIG`, checked whole
 * at cold start (every problem at once) and by the `FleetProvisioning` component before it deploys, so what
 * reaches the function is what its cold start accepts.
 */
import { integerSetting, isObject, REGION } from "../shared/checks";
import { ConfigurationError, type Problem, problemAt, problemWithText } from "../shared/problems";
import { checkPatternSetting, DEFAULT_THING_NAME_PATTERN } from "../shared/provisioning-parameters";

export const PROVISIONING_CLAIM_CONFIG_ENV = "PROVISIONING_CLAIM_CONFIG";

/** A provisioning template's name as IoT accepts it (CreateProvisioningClaim's `templateName`). */
export const TEMPLATE_NAME = /^[0-9A-Za-z_-]{1,36}$/;
const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;
/** An OAuth scope token (RFC 6749 §3.3), e.g. `iot/provision`. */
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]{1,256}$/;
/** A Cognito group name (no whitespace), or any IdP's group value. */
const GROUP = /^[^\s]{1,128}$/;

export interface ProvisioningClaimConfig {
  /** The fleet provisioning template claims are made for. */
  templateName: string;
  /** The claim binding table. */
  tableName: string;
  region: string;
  /** The pattern a thing name must match as a whole (IoT's own rule applies as well). */
  thingNamePattern: string;
  /** The scope the caller's token must carry (API Gateway checks it too; this is the second lock). */
  requiredScope?: string;
  /** The group the caller must belong to, when set. */
  requiredGroup?: string;
  /** The claim holding the caller's groups (default `cognito:groups`). */
  groupsClaim: string;
  /** Milliseconds the function waits for `CreateProvisioningClaim`. */
  iotDeadlineMs: number;
  /** Milliseconds the function waits for the binding to be recorded. */
  storeDeadlineMs: number;
}

export const CLAIM_CONFIG_DEFAULTS = {
  thingNamePattern: DEFAULT_THING_NAME_PATTERN,
  groupsClaim: "cognito:groups",
  iotDeadlineMs: 5_000,
  storeDeadlineMs: 3_000,
} as const;

const KNOWN_KEYS = new Set([
  "templateName",
  "tableName",
  "region",
  "thingNamePattern",
  "requiredScope",
  "requiredGroup",
  "groupsClaim",
  "iotDeadlineMs",
  "storeDeadlineMs",
]);

function optional(r: Record<string, unknown>, key: string, rule: RegExp, what: string, problems: Problem[]): string | undefined {
  const value = r[key];
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !rule.test(value)) {
    problems.push(problemAt(key, `must be ${what}; got ${JSON.stringify(value)}`));
    return undefined;
  }
  return value;
}

function required(r: Record<string, unknown>, key: string, rule: RegExp, what: string, problems: Problem[]): string {
  const value = r[key];
  if (typeof value !== "string" || !rule.test(value)) problems.push(problemAt(key, `must be ${what}; got ${JSON.stringify(value)}`));
  return typeof value === "string" ? value : "";
}

/** Checks a whole configuration and fills in defaults, or throws every problem at once. */
export function loadProvisioningClaimConfig(raw: unknown): ProvisioningClaimConfig {
  const problems: Problem[] = [];
  const r = isObject(raw) ? raw : {};
  if (!isObject(raw)) problems.push(problemWithText("", "the provisioning claim configuration must be a JSON object"));
  for (const key of Object.keys(r)) if (!KNOWN_KEYS.has(key)) problems.push(problemWithText(key, `unknown setting "${key}"`));
  const d = CLAIM_CONFIG_DEFAULTS;
  const config: ProvisioningClaimConfig = {
    templateName: required(r, "templateName", TEMPLATE_NAME, "a provisioning template name (1-36 letters, digits, _ or -)", problems),
    tableName: required(r, "tableName", TABLE_NAME, "a DynamoDB table name", problems),
    region: required(r, "region", REGION, "an AWS region such as eu-west-1", problems),
    thingNamePattern: checkPatternSetting("thingNamePattern", r.thingNamePattern ?? d.thingNamePattern, problems),
    groupsClaim: required(
      { groupsClaim: r.groupsClaim ?? d.groupsClaim },
      "groupsClaim",
      /^[A-Za-z0-9_:.-]{1,64}$/,
      "a claim name",
      problems,
    ),
    iotDeadlineMs: integerSetting("iotDeadlineMs", r.iotDeadlineMs ?? d.iotDeadlineMs, [1, 25_000], d.iotDeadlineMs, problems, " ms"),
    storeDeadlineMs: integerSetting(
      "storeDeadlineMs",
      r.storeDeadlineMs ?? d.storeDeadlineMs,
      [1, 25_000],
      d.storeDeadlineMs,
      problems,
      " ms",
    ),
  };
  const requiredScope = optional(r, "requiredScope", SCOPE, "an OAuth scope such as iot/provision", problems);
  const requiredGroup = optional(r, "requiredGroup", GROUP, "a group name without spaces (1-128 characters)", problems);
  if (problems.length > 0) throw new ConfigurationError(problems, "provisioning claim configuration");
  return { ...config, ...(requiredScope !== undefined && { requiredScope }), ...(requiredGroup !== undefined && { requiredGroup }) };
}

/** Reads the configuration from its JSON text (the `PROVISIONING_CLAIM_CONFIG` environment variable). */
export function parseProvisioningClaimConfig(json: string | undefined): ProvisioningClaimConfig {
  if (json === undefined || json.trim() === "") {
    throw new ConfigurationError([`${PROVISIONING_CLAIM_CONFIG_ENV} is not set`], "provisioning claim configuration");
  }
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new ConfigurationError([`${PROVISIONING_CLAIM_CONFIG_ENV} is not valid JSON`], "provisioning claim configuration");
  }
  return loadProvisioningClaimConfig(raw);
}
