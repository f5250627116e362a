/**
 * The pre-provisioning hook's runtime configuration: one JSON document in `PRE_PROVISIONING_HOOK_CONFIG`,
 * checked whole at cold start (every problem at once) and by the `FleetProvisioning` component before it
 * deploys. `parameters` are exactly the parameters a device sends in `RegisterThing`; the owner parameter is
 * the hook's own (it answers it in `parameterOverrides`), so a device that sends it is refused.
 */
import { integerSetting, isObject, REGION } from "../shared/checks";
import { ConfigurationError, type Problem, problemAt, problemWithText } from "../shared/problems";
import { checkDeclaredParameters, type DeclaredParameter, TEMPLATE_PARAMETER_NAME } from "../shared/provisioning-parameters";

export const PRE_PROVISIONING_HOOK_CONFIG_ENV = "PRE_PROVISIONING_HOOK_CONFIG";

/** A fleet provisioning template's ARN: `arn:<partition>:iot:<region>:<account>:provisioningtemplate/<name>`. */
export const TEMPLATE_ARN = /^arn:aws(-[a-z]+)*:iot:[a-z]{2}(-[a-z]+)+-\d:\d{12}:provisioningtemplate\/[0-9A-Za-z_-]{1,36}$/;
const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;

export interface PreProvisioningHookConfig {
  /** The one template whose requests the hook may allow. */
  templateArn: string;
  /** The claim binding table. */
  tableName: string;
  region: string;
  /** The parameters a device must send, exactly these, each matching its pattern. */
  parameters: DeclaredParameter[];
  /** Which of `parameters` names the thing. */
  thingNameParameter: string;
  /** The parameter the hook sets to the thing's owner (never sent by the device). */
  ownerParameter: string;
  /** Admit claims that no installer bound (the identity pool's direct path); off unless the stack says so. */
  allowUnboundClaims: boolean;
  /** Milliseconds the hook may spend on AWS calls per decision, well inside IoT's 5 s. */
  deadlineMs: number;
}

export const HOOK_CONFIG_DEFAULTS = { ownerParameter: "Owner", allowUnboundClaims: false, deadlineMs: 2_500 } as const;

const KNOWN_KEYS = new Set([
  "templateArn",
  "tableName",
  "region",
  "parameters",
  "thingNameParameter",
  "ownerParameter",
  "allowUnboundClaims",
  "deadlineMs",
]);

function parameterName(r: Record<string, unknown>, key: string, fallback: unknown, problems: Problem[]): string {
  const value = r[key] ?? fallback;
  if (typeof value !== "string" || !TEMPLATE_PARAMETER_NAME.test(value)) {
    problems.push(problemAt(key, `must be a letter followed by up to 63 letters or digits; got ${JSON.stringify(value)}`));
    return "";
  }
  return value;
}

/** Checks a whole configuration and fills in defaults, or throws every problem at once. */
export function loadPreProvisioningHookConfig(raw: unknown): PreProvisioningHookConfig {
  const problems: Problem[] = [];
  const r = isObject(raw) ? raw : {};
  if (!isObject(raw)) problems.push(problemWithText("", "the pre-provisioning hook configuration must be a JSON object"));
  for (const key of Object.keys(r)) if (!KNOWN_KEYS.has(key)) problems.push(problemWithText(key, `unknown setting "${key}"`));
  const d = HOOK_CONFIG_DEFAULTS;
  const text = (key: string, rule: RegExp, what: string) => {
    const value = r[key];
    if (typeof value !== "string" || !rule.test(value)) problems.push(problemAt(key, `must be ${what}; got ${JSON.stringify(value)}`));
    return typeof value === "string" ? value : "";
  };
  const templateArn = text("templateArn", TEMPLATE_ARN, "a provisioning template ARN");
  const tableName = text("tableName", TABLE_NAME, "a DynamoDB table name");
  const region = text("region", REGION, "an AWS region such as eu-west-1");
  const parameters = checkDeclaredParameters("parameters", r.parameters, problems);
  const thingNameParameter = parameterName(r, "thingNameParameter", undefined, problems);
  const ownerParameter = parameterName(r, "ownerParameter", d.ownerParameter, problems);
  if (thingNameParameter !== "" && parameters.length > 0 && !parameters.some((p) => p.name === thingNameParameter)) {
    problems.push(problemAt("thingNameParameter", `${thingNameParameter} is not among the declared parameters`));
  }
  if (parameters.some((p) => p.name === ownerParameter)) {
    problems.push(problemAt("ownerParameter", `${ownerParameter} is set by the hook and must not be a parameter devices send`));
  }
  const allowUnboundClaims = r.allowUnboundClaims ?? d.allowUnboundClaims;
  if (typeof allowUnboundClaims !== "boolean") {
    problems.push(problemAt("allowUnboundClaims", `must be true or false; got ${JSON.stringify(allowUnboundClaims)}`));
  }
  const deadlineMs = integerSetting("deadlineMs", r.deadlineMs ?? d.deadlineMs, [1, 4_500], d.deadlineMs, problems, " ms (IoT waits 5 s)");
  if (problems.length > 0) throw new ConfigurationError(problems, "pre-provisioning hook configuration");
  return {
    templateArn,
    tableName,
    region,
    parameters,
    thingNameParameter,
    ownerParameter,
    allowUnboundClaims: allowUnboundClaims as boolean,
    deadlineMs,
  };
}

/** Reads the configuration from its JSON text (the `PRE_PROVISIONING_HOOK_CONFIG` environment variable). */
export function parsePreProvisioningHookConfig(json: string | undefined): PreProvisioningHookConfig {
  if (json === undefined || json.trim() === "") {
    throw new ConfigurationError([`${PRE_PROVISIONING_HOOK_CONFIG_ENV} is not set`], "pre-provisioning hook configuration");
  }
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new ConfigurationError([`${PRE_PROVISIONING_HOOK_CONFIG_ENV} is not valid JSON`], "pre-provisioning hook configuration");
  }
  return loadPreProvisioningHookConfig(raw);
}
