/**
 * The checks of the configured grants: which IoT actions a rule may name, on which resources, with which
 * placeholders. A rule whose actions and resources do not meet is refused, since IoT would silently grant
 * nothing with it. Every problem is collected, none thrown: the caller reports them all at once.
 */
import { isObject, isStringArray } from "../shared/checks";
import { type Problem, problem, problemAt } from "../shared/problems";
import { type GrantRule } from "./config";
import { CLAIM_NAME, optionalStringList } from "./value-checks";

export const IOT_ACTIONS = ["iot:Connect", "iot:Publish", "iot:Receive", "iot:RetainPublish", "iot:Subscribe"] as const;
export type IotAction = (typeof IOT_ACTIONS)[number];

/** Which kind of IoT resource each action is checked against (docs/aws-iot-custom-auth.md#policy-resources-and-variables). */
export const RESOURCE_KIND_OF_ACTION: Record<IotAction, ResourceKind> = {
  "iot:Connect": "client",
  "iot:Publish": "topic",
  "iot:Receive": "topic",
  "iot:RetainPublish": "topic",
  "iot:Subscribe": "topicfilter",
};
export type ResourceKind = "client" | "topic" | "topicfilter";

/** `{principal}`, `{claims.NAME}` and IoT's own `${iot:…}` variables; anything else in braces is an error. */
const PLACEHOLDER = /\$\{[^}]*\}|\{([^}]*)\}/g;

/** The `grants` setting, when given: at least one rule, each checked. Undefined when the list itself is wrong. */
export function checkGrants(raw: unknown, problems: Problem[]): GrantRule[] | undefined {
  if (!Array.isArray(raw) || raw.length === 0) {
    problems.push(problem("grants", (name) => `${name("grants")}, when set, must list at least one rule`));
    return undefined;
  }
  const grants: GrantRule[] = [];
  raw.forEach((entry, i) => {
    const grant = checkGrant(entry, `grants[${i}]`, problems);
    if (grant) grants.push(grant);
  });
  return grants;
}

/** `<rule>: <text>`, about the setting `field` of the rule at `where`. */
function ruleProblem(where: string, field: string, text: string): Problem {
  return problem(`${where}.${field}`, (name) => `${name(where)}: ${text}`);
}

function checkGrant(raw: unknown, where: string, problems: Problem[]): GrantRule | undefined {
  if (!isObject(raw)) {
    problems.push(problemAt(where, "must be an object with actions and resources"));
    return undefined;
  }
  const r = raw;
  for (const key of Object.keys(r)) {
    if (!["actions", "resources", "scopes"].includes(key)) problems.push(ruleProblem(where, key, `unknown setting "${key}"`));
  }
  const before = problems.length;
  if (!isStringArray(r.actions) || r.actions.length === 0) {
    problems.push(problemAt(`${where}.actions`, `must be a non-empty list of IoT actions (${IOT_ACTIONS.join(", ")})`));
  } else {
    for (const a of r.actions) {
      if (!(IOT_ACTIONS as readonly string[]).includes(a)) {
        problems.push(ruleProblem(where, "actions", `unknown action ${JSON.stringify(a)}; allowed: ${IOT_ACTIONS.join(", ")}`));
      }
    }
  }
  if (!isStringArray(r.resources) || r.resources.length === 0) {
    problems.push(problemAt(`${where}.resources`, "must be a non-empty list of client/…, topic/… or topicfilter/… resources"));
  } else {
    for (const resource of r.resources) problems.push(...resourceProblems(resource, where));
  }
  const scopes = optionalStringList(r.scopes, problems, (rest) => problemAt(`${where}.scopes`, rest));
  if (problems.length > before) return undefined;

  const actions = r.actions as IotAction[];
  const resources = r.resources as string[];
  problems.push(...unmatchedProblems(actions, resources, where));
  return { actions, resources, ...(scopes && { scopes }) };
}

/** Actions with no resource of their kind in the rule, and resources no action of the rule applies to. */
function unmatchedProblems(actions: IotAction[], resources: string[], where: string): Problem[] {
  const problems: Problem[] = [];
  const kinds = new Set(resources.map(resourceKind));
  for (const action of actions) {
    if (!kinds.has(RESOURCE_KIND_OF_ACTION[action])) {
      problems.push(
        ruleProblem(
          where,
          "resources",
          `${action} is checked against ${RESOURCE_KIND_OF_ACTION[action]}/… resources and the rule has none`,
        ),
      );
    }
  }
  const actionKinds = new Set(actions.map((a) => RESOURCE_KIND_OF_ACTION[a]));
  for (const resource of resources) {
    if (!actionKinds.has(resourceKind(resource))) {
      problems.push(ruleProblem(where, "actions", `no action in the rule applies to ${resource}`));
    }
  }
  return problems;
}

function resourceKind(resource: string): ResourceKind {
  return resource.slice(0, resource.indexOf("/")) as ResourceKind;
}

function resourceProblems(resource: string, where: string): Problem[] {
  const problems: Problem[] = [];
  const add = (text: string) => problems.push(ruleProblem(where, "resources", text));
  const kind = resource.slice(0, resource.indexOf("/"));
  if (!["client", "topic", "topicfilter"].includes(kind) || resource.length <= kind.length + 1) {
    add(`resource ${JSON.stringify(resource)} must start with client/, topic/ or topicfilter/ and name something`);
  }
  for (const match of resource.matchAll(PLACEHOLDER)) {
    const inner = match[1];
    if (inner === undefined) continue; // ${iot:…}: IoT substitutes it itself
    if (inner !== "principal" && !(inner.startsWith("claims.") && CLAIM_NAME.test(inner.slice(7)))) {
      add(`resource ${JSON.stringify(resource)} has unknown placeholder {${inner}}; use {principal} or {claims.NAME}`);
    }
  }
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(resource)) add(`resource ${JSON.stringify(resource)} has control characters`);
  return problems;
}
