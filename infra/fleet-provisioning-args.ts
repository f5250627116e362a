/**
 * The `FleetProvisioning` component's arguments: what a program passes, the defaults, and the checks that run
 * before any resource is declared, every problem at once. The template body is built here from the checked
 * arguments and held to IoT's limits, so a template IoT would refuse fails at preview, not halfway through
 * `pulumi up`. `fleetProvisioningProblems` returns the problems for a caller that lists them with its own.
 */
import type * as pulumi from "@pulumi/pulumi";
import { isIntegerInRange } from "../functions/shared/checks";
import { checkedOrThrow, type Problem, problem, problemAt, problemWithText } from "../functions/shared/problems";
import {
  checkPatternSetting,
  DEFAULT_THING_NAME_PATTERN,
  IOT_ATTRIBUTE_NAME,
  IOT_THING_NAME,
  TEMPLATE_PARAMETER_NAME,
} from "../functions/shared/provisioning-parameters";
import {
  type Architecture,
  type CheckedFunctionArgs,
  checkFunctionArgs,
  checkLogRetentionDays,
  checkResourcePrefix,
  type FunctionArgs,
} from "./bundled-function";
import { type ComponentArgs, checkComponentArgs } from "./component-args";
import { provisioningTemplateBody, TEMPLATE_LIMITS, type TemplateParameter, type TemplateSpec } from "./provisioning-template";

export const FLEET_PROVISIONING_DEFAULTS = {
  scope: "iot/provision",
  thingNameParameter: "ThingName",
  thingNamePattern: DEFAULT_THING_NAME_PATTERN,
  ownerParameter: "Owner",
  ownerAttribute: "owner",
  topicPrefix: "devices",
  allowUnboundClaims: false,
  /** Seconds: the claim waits on IoT and the table; API Gateway waits at most 30 s. */
  claimFunction: { memorySize: 256, timeoutSeconds: 10, architecture: "arm64" as Architecture },
  /** Seconds: IoT waits 5 s for the hook in all. */
  hookFunction: { memorySize: 256, timeoutSeconds: 4, architecture: "arm64" as Architecture },
  logRetentionDays: 30,
  throttlingBurstLimit: 20,
  throttlingRateLimit: 10,
  deletionProtection: true,
} as const;

/** The route the claim function serves. */
export const CLAIM_ROUTE = { method: "POST", path: "/provisioning/claims" } as const;

export interface FleetProvisioningThingArgs {
  /** The template parameter that names the thing (default `ThingName`). */
  nameParameter?: string;
  /** The pattern every thing name must match as a whole (default: IoT's rule without `:`). */
  namePattern?: string;
  /** The thing attribute recording who provisioned it (default `owner`). */
  ownerAttribute?: string;
  /** An existing thing type every provisioned thing gets (allows up to 50 attributes instead of 3). */
  thingTypeName?: string;
  /** Existing thing groups every provisioned thing joins. */
  thingGroups?: string[];
}

export interface FleetProvisioningClaimsArgs {
  /** The scope the claim route requires (default `iot/provision`). */
  scope?: string;
  /** The Cognito group an installer must belong to; any signed-in user of the pool when absent. */
  requiredGroup?: string;
  /**
   * The tokens the route accepts: access tokens from `issuer` for one of `audiences` (API Gateway compares them
   * with `aud`, or `client_id` when a token has no `aud`, as Cognito access tokens have none). Creates a JWT
   * authorizer; required unless `attachTo.authorizerId` names an existing one.
   */
  jwt?: {
    /** The `iss` of the installers' access tokens (a `UserDirectory`'s `issuer`); API Gateway reads its JWKS from it. */
    issuer: pulumi.Input<string>;
    /** The installer app's client id(s); at least one. */
    audiences: pulumi.Input<string>[];
  };
  /**
   * Serve the route on an existing HTTP API (the device grant's, say) instead of one of the component's own.
   * Its `$default` stage must deploy automatically; its throttling and access logs apply.
   */
  attachTo?: {
    /** The HTTP API's id (e.g. a `DeviceGrant`'s `apiId`). */
    apiId: pulumi.Input<string>;
    /** The API's `executionArn`, for the Lambda permission. */
    executionArn: pulumi.Input<string>;
    /** Where the API is served, without a trailing slash: the claim endpoint is `<endpoint>/provisioning/claims`. */
    endpoint: pulumi.Input<string>;
    /** An existing JWT authorizer of that API; the component creates one from `jwt` when absent. */
    authorizerId?: pulumi.Input<string>;
  };
  /** Stage throttling of the component's own API (not with `attachTo`); past it API Gateway answers 429. */
  throttling?: {
    /** Requests admitted at once (default 20; 1 to 5,000). */
    burstLimit?: number;
    /** Steady requests per second (default 10; 1 to 10,000). */
    rateLimit?: number;
  };
}

export interface FleetProvisioningIdentityPoolArgs {
  /** The user pool whose users may exchange ID tokens for AWS credentials. */
  userPoolId: pulumi.Input<string>;
  /** Its app clients whose ID tokens the identity pool accepts. */
  clientIds: pulumi.Input<string>[];
}

export interface FleetProvisioningArgs extends ComponentArgs {
  /** The template's name, 1-36 letters, digits, `_` or `-` (default: the resource prefix, when it fits). */
  templateName?: string;
  /** The template's description in the IoT console: at most 500 printable characters; default none. */
  description?: string;
  /** What the template makes of each device: its thing's name parameter and pattern, owner attribute, type and groups. */
  thing?: FleetProvisioningThingArgs;
  /**
   * Further parameters every device sends, each matched against its pattern and stored as a thing attribute. With
   * the owner, at most 3 attributes without `thing.thingTypeName`, 50 with it.
   */
  parameters?: {
    /** The template parameter's name: a letter followed by letters or digits, neither `thing.nameParameter` nor `Owner`. */
    name: string;
    /** The pattern the value must match as a whole; the hook refuses a device whose value does not. */
    pattern: string;
    /** The thing attribute it is stored as (default: the name with its first letter in lower case). */
    attribute?: string;
  }[];
  /**
   * Each device may use `<topicPrefix>/<thing name>` and below, and nothing else (default `devices`; topic levels of
   * letters, digits, `_` or `-`, no wildcards, at most 64 characters).
   */
  topicPrefix?: string;
  /** The claim route (`POST /provisioning/claims`): how installers' tokens are checked, and where it is served. */
  claims: FleetProvisioningClaimsArgs;
  /**
   * The original write-up's direct path: a Cognito identity pool (no unauthenticated identities) whose
   * authenticated role may call `CreateProvisioningClaim` for this template. Such claims carry no binding, so
   * it needs `allowUnboundClaims` (docs/fleet-provisioning.md#the-direct-path).
   */
  identityPool?: FleetProvisioningIdentityPoolArgs;
  /**
   * Let the hook admit claims no installer bound (default `false`: deny by default). Needed by `identityPool`; it
   * gives up the binding of a claim to an installer and a thing name.
   */
  allowUnboundClaims?: boolean;
  /** The claim function: memory (256 MB), timeout (10 s, at most 25), instruction set, reserved concurrency (none). */
  claimFunction?: FunctionArgs;
  /** The hook: memory (256 MB), timeout (4 s, at most 4: IoT waits 5 s), instruction set, reserved concurrency (none). */
  hookFunction?: FunctionArgs;
  /**
   * Names the functions, table, device policy and log groups (default `<component name>-<stack>`): letters, digits,
   * `-` or `_`, at most 58 characters (function names end in `-claim`).
   */
  resourcePrefix?: string;
  /** Refuse to delete the claim binding table until this is turned off (default `true`). */
  deletionProtection?: boolean;
}

export interface CheckedFleetProvisioningArgs {
  resourcePrefix: string;
  templateName: string;
  template: TemplateSpec;
  templateBody: string;
  scope: string;
  requiredGroup?: string;
  allowUnboundClaims: boolean;
  claimFunction: CheckedFunctionArgs;
  hookFunction: CheckedFunctionArgs;
  logRetentionDays: number;
  throttlingBurstLimit: number;
  throttlingRateLimit: number;
  deletionProtection: boolean;
}

/** An OAuth scope token (RFC 6749 §3.3). */
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]{1,256}$/;
const TOPIC_PREFIX = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/;
/** Lambda function names are at most 64 characters, and ours end in `-claim`. */
const MAX_PREFIX = 58;

/** A `lambda`-style problem moved under another argument name (`claimFunction.timeoutSeconds`). */
function renamed(inner: Problem, argument: string): Problem {
  const move = (path: string) => path.replace(/^lambda\b/, argument);
  return problem(move(inner.path), (name) => inner.describe((path, usual) => name(move(path), usual)));
}

function checkFunctions(a: Partial<FleetProvisioningArgs>, problems: Problem[]) {
  const d = FLEET_PROVISIONING_DEFAULTS;
  const collect = (argument: string, given: FunctionArgs | undefined, defaults: CheckedFunctionArgs, max: number, why: string) => {
    const own: Problem[] = [];
    const checked = checkFunctionArgs(given, defaults, { max, why }, own);
    problems.push(...own.map((p) => renamed(p, argument)));
    return checked;
  };
  return {
    claimFunction: collect("claimFunction", a.claimFunction, d.claimFunction, 25, "API Gateway waits 30 s"),
    hookFunction: collect("hookFunction", a.hookFunction, d.hookFunction, 4, "IoT waits 5 s for the hook"),
  };
}

function checkTemplateName(given: string | undefined, resourcePrefix: string, problems: Problem[]): string {
  const name = given ?? resourcePrefix;
  if (/^[0-9A-Za-z_-]{1,36}$/.test(name)) return name;
  const why = given === undefined ? ` (the resource prefix, ${name.length} characters)` : "";
  problems.push(
    problem(
      "templateName",
      (n) => `${n("templateName")} ${JSON.stringify(name)}${why} must be 1-36 letters, digits, _ or -: give a shorter templateName`,
    ),
  );
  return name;
}

/** The thing's parameter, pattern, owner attribute, type and groups. */
function checkThing(a: Partial<FleetProvisioningArgs>, problems: Problem[]) {
  const d = FLEET_PROVISIONING_DEFAULTS;
  const thing = a.thing ?? {};
  const nameParameter = thing.nameParameter ?? d.thingNameParameter;
  if (!TEMPLATE_PARAMETER_NAME.test(nameParameter))
    problems.push(problemAt("thing.nameParameter", "must be a letter followed by letters or digits"));
  const namePattern = checkPatternSetting("thing.namePattern", thing.namePattern ?? d.thingNamePattern, problems);
  const ownerAttribute = thing.ownerAttribute ?? d.ownerAttribute;
  if (!IOT_ATTRIBUTE_NAME.test(ownerAttribute))
    problems.push(problemAt("thing.ownerAttribute", `is not a thing attribute name IoT accepts`));
  if (thing.thingTypeName !== undefined && !IOT_THING_NAME.test(thing.thingTypeName)) {
    problems.push(problemAt("thing.thingTypeName", "must be 1-128 letters, digits, :, _ or -"));
  }
  (thing.thingGroups ?? []).forEach((group, i) => {
    if (!IOT_THING_NAME.test(group)) problems.push(problemAt(`thing.thingGroups[${i}]`, "must be 1-128 letters, digits, :, _ or -"));
  });
  return { nameParameter, namePattern, ownerAttribute, thingTypeName: thing.thingTypeName, thingGroups: thing.thingGroups };
}

/** The other parameters: distinct names (not the thing's, not the owner's), patterns, attribute names, IoT's attribute count. */
function checkParameters(
  a: Partial<FleetProvisioningArgs>,
  thing: ReturnType<typeof checkThing>,
  problems: Problem[],
): TemplateParameter[] {
  const reserved = new Set([thing.nameParameter, FLEET_PROVISIONING_DEFAULTS.ownerParameter]);
  const attributes = new Set([thing.ownerAttribute]);
  const parameters = (a.parameters ?? []).map((p, i) => {
    const at = `parameters[${i}]`;
    if (typeof p?.name !== "string" || !TEMPLATE_PARAMETER_NAME.test(p.name))
      problems.push(problemAt(`${at}.name`, "must be a letter followed by letters or digits"));
    else if (reserved.has(p.name)) problems.push(problemAt(`${at}.name`, `${p.name} is already a parameter of the template`));
    reserved.add(p?.name);
    const attribute = p?.attribute ?? (typeof p?.name === "string" ? p.name.charAt(0).toLowerCase() + p.name.slice(1) : "");
    if (!IOT_ATTRIBUTE_NAME.test(attribute)) problems.push(problemAt(`${at}.attribute`, "is not a thing attribute name IoT accepts"));
    else if (attributes.has(attribute)) problems.push(problemAt(`${at}.attribute`, `${attribute} is already an attribute of the thing`));
    attributes.add(attribute);
    return { name: p?.name ?? "", pattern: checkPatternSetting(`${at}.pattern`, p?.pattern, problems), attribute };
  });
  const limit = thing.thingTypeName === undefined ? 3 : 50;
  if (attributes.size > limit) {
    const why =
      thing.thingTypeName === undefined
        ? "a thing without a type has at most 3 attributes (give thing.thingTypeName for 50)"
        : "a thing has at most 50";
    problems.push(
      problemWithText("parameters", `the owner and ${parameters.length} parameter(s) make ${attributes.size} thing attributes; ${why}`),
    );
  }
  return parameters;
}

/** The claim route: exactly one way to authorize it, a scope, a group without spaces, throttling on an own API only. */
function checkClaims(a: Partial<FleetProvisioningArgs>, problems: Problem[]) {
  const d = FLEET_PROVISIONING_DEFAULTS;
  const claims = (a.claims ?? {}) as FleetProvisioningClaimsArgs;
  if (a.claims === undefined) problems.push(problemAt("claims", "is required: how installers' tokens are checked on the claim route"));
  const hasAuthorizer = claims.attachTo?.authorizerId !== undefined;
  if (claims.jwt === undefined && !hasAuthorizer)
    problems.push(problemAt("claims.jwt", "is required unless claims.attachTo.authorizerId names an existing JWT authorizer"));
  if (claims.jwt !== undefined && hasAuthorizer)
    problems.push(problemAt("claims.jwt", "must not be given with claims.attachTo.authorizerId (which authorizer would apply?)"));
  if (claims.jwt !== undefined && (!Array.isArray(claims.jwt.audiences) || claims.jwt.audiences.length === 0)) {
    problems.push(problemAt("claims.jwt.audiences", "must list at least one audience (the installer app's client id)"));
  }
  if (claims.attachTo !== undefined && claims.throttling !== undefined) {
    problems.push(problemAt("claims.throttling", "applies to the component's own API only; the attached API's stage throttles its routes"));
  }
  const scope = claims.scope ?? d.scope;
  if (!SCOPE.test(scope))
    problems.push(problemAt("claims.scope", `must be an OAuth scope such as iot/provision; got ${JSON.stringify(scope)}`));
  if (claims.requiredGroup !== undefined && !/^[^\s]{1,128}$/.test(claims.requiredGroup)) {
    problems.push(problemAt("claims.requiredGroup", "must be a group name of 1-128 characters without spaces"));
  }
  const throttlingBurstLimit = claims.throttling?.burstLimit ?? d.throttlingBurstLimit;
  const throttlingRateLimit = claims.throttling?.rateLimit ?? d.throttlingRateLimit;
  if (!isIntegerInRange(throttlingBurstLimit, 1, 5_000))
    problems.push(problemAt("claims.throttling.burstLimit", "must be an integer from 1 to 5000"));
  if (!isIntegerInRange(throttlingRateLimit, 1, 10_000))
    problems.push(problemAt("claims.throttling.rateLimit", "must be an integer from 1 to 10000"));
  return { scope, requiredGroup: claims.requiredGroup, throttlingBurstLimit, throttlingRateLimit };
}

/** The direct path needs the hook to admit unbound claims, and at least one app client. */
function checkIdentityPool(a: Partial<FleetProvisioningArgs>, allowUnboundClaims: boolean, problems: Problem[]): void {
  if (a.identityPool === undefined) return;
  if (!allowUnboundClaims) {
    problems.push(
      problemAt(
        "identityPool",
        "makes claims without a binding, which the hook denies: set allowUnboundClaims: true to admit them (see the trade-off in docs/fleet-provisioning.md)",
      ),
    );
  }
  if (!Array.isArray(a.identityPool.clientIds) || a.identityPool.clientIds.length === 0) {
    problems.push(problemAt("identityPool.clientIds", "must list at least one app client of the user pool"));
  }
}

/** The template body, held to IoT's limits. */
function checkTemplate(spec: TemplateSpec, description: string | undefined, problems: Problem[]): string {
  const body = provisioningTemplateBody(spec);
  if (body.length > TEMPLATE_LIMITS.bodyCharacters) {
    problems.push(
      problemWithText("parameters", `the template body would be ${body.length} characters; IoT allows ${TEMPLATE_LIMITS.bodyCharacters}`),
    );
  }
  if (description !== undefined && (description.length > TEMPLATE_LIMITS.descriptionCharacters || /\p{C}/u.test(description))) {
    problems.push(problemAt("description", `must be at most ${TEMPLATE_LIMITS.descriptionCharacters} printable characters`));
  }
  return body;
}

/** The checks of `checkFleetProvisioningArgs`, returning the problems instead of throwing. */
export function fleetProvisioningProblems(
  name: string,
  args: FleetProvisioningArgs,
  stack: string,
): { checked: CheckedFleetProvisioningArgs; problems: Problem[] } {
  const problems: Problem[] = [];
  const a = (args ?? {}) as Partial<FleetProvisioningArgs>;
  const d = FLEET_PROVISIONING_DEFAULTS;
  const resourcePrefix = checkResourcePrefix(name, a.resourcePrefix, stack, "the functions, the table and the device policy", problems);
  if (resourcePrefix.length > MAX_PREFIX)
    problems.push(problemAt("resourcePrefix", `must be at most ${MAX_PREFIX} characters (function names end in -claim)`));
  const templateName = checkTemplateName(a.templateName, resourcePrefix, problems);
  const thing = checkThing(a, problems);
  const parameters = checkParameters(a, thing, problems);
  const topicPrefix = a.topicPrefix ?? d.topicPrefix;
  if (!TOPIC_PREFIX.test(topicPrefix) || topicPrefix.length > 64) {
    problems.push(
      problemAt("topicPrefix", `must be topic levels of letters, digits, _ or - (no wildcards, no $); got ${JSON.stringify(topicPrefix)}`),
    );
  }
  const template: TemplateSpec = {
    thingNameParameter: thing.nameParameter,
    thingNamePattern: thing.namePattern,
    ownerParameter: d.ownerParameter,
    ownerAttribute: thing.ownerAttribute,
    parameters,
    ...(thing.thingTypeName !== undefined && { thingTypeName: thing.thingTypeName }),
    ...(thing.thingGroups !== undefined && { thingGroups: thing.thingGroups }),
    devicePolicyName: `${resourcePrefix}-device`,
    topicPrefix,
  };
  const templateBody = checkTemplate(template, a.description, problems);
  const claims = checkClaims(a, problems);
  const allowUnboundClaims = a.allowUnboundClaims ?? d.allowUnboundClaims;
  checkIdentityPool(a, allowUnboundClaims, problems);
  const functions = checkFunctions(a, problems);
  const logRetentionDays = checkLogRetentionDays(a.logRetentionDays ?? d.logRetentionDays, problems);
  checkComponentArgs(a, problems);
  const deletionProtection = a.deletionProtection ?? d.deletionProtection;
  if (typeof deletionProtection !== "boolean") problems.push(problemAt("deletionProtection", "must be true or false"));
  return {
    problems,
    checked: {
      resourcePrefix,
      templateName,
      template,
      templateBody,
      ...claims,
      allowUnboundClaims,
      ...functions,
      logRetentionDays,
      deletionProtection,
    },
  };
}

/** Checks every argument and fills in defaults, or throws one `ConfigurationError` listing every problem. */
export function checkFleetProvisioningArgs(name: string, args: FleetProvisioningArgs, stack: string): CheckedFleetProvisioningArgs {
  return checkedOrThrow(fleetProvisioningProblems(name, args, stack), `FleetProvisioning "${name}" arguments`);
}
