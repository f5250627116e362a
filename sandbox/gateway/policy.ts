/**
 * IoT policy evaluation for the local gateway: what AWS IoT Core decides for a request given the policy
 * documents a custom authorizer returned. Written here rather than taken from an IAM simulator because
 * the one on npm is AGPL (docs/local-stand-ins.md#iam-policy-evaluation), and IoT needs only a small part of IAM:
 *
 * - `Effect` Allow or Deny; an explicit Deny in any statement of any document wins; nothing allowed
 *   means denied (default deny).
 * - `Action`: one string or a list, matched case-insensitively (IAM action names are), with `*` and `?`
 *   wildcards (`*`, `iot:*`, `iot:Pub*`).
 * - `Resource`: one string or a list of ARNs, matched case-sensitively as a whole, where `*` stands for
 *   any run of characters (none included, `/` included) and `?` for exactly one. IoT checks
 *   `iot:Connect` against `client/<client id>`, `iot:Publish`, `iot:Receive` and `iot:RetainPublish`
 *   against `topic/<topic name>`, and `iot:Subscribe` against `topicfilter/<the filter as sent>`: an
 *   MQTT `+` or `#` in a requested filter is a literal character there, which only a policy `*` (or `?`)
 *   can match. The MQTT meaning of `+`/`#` never applies inside a policy.
 * - Policy variables `${name}` in a resource are replaced by the request's value for `name` (looked up
 *   case-insensitively, as IAM does) and the value is taken literally: a client id of `*` matches a
 *   `*`, nothing else. A resource whose variable has no value matches nothing. `${*}`, `${?}` and
 *   `${$}` stand for the literal characters, as in IAM.
 * - `Condition`: the connect attributes of `iot:Connect` (`iot:ConnectAttributes` with `ForAllValues:` or
 *   `ForAnyValue:` and `StringEquals`/`StringNotEquals`, policy-conditions.ts), as IoT's connect policy
 *   examples use them for Wills and persistent sessions, and `Bool` on `iot:Connection.Thing.IsAttached`.
 * - What the gateway cannot evaluate is read conservatively: an Allow with another `Condition`, `NotAction`
 *   or `NotResource` does not apply; a Deny with such a `Condition` applies when its Action and Resource
 *   match, and a Deny with `NotAction` or `NotResource` applies to every request. The project's authorizer
 *   never writes any of these.
 */
import { type ConditionContext, conditionHolds } from "./policy-conditions";

export type IotPolicyAction = "iot:Connect" | "iot:Publish" | "iot:Receive" | "iot:Subscribe" | "iot:RetainPublish";

export interface PolicyStatement {
  Effect: "Allow" | "Deny";
  Action?: string | string[];
  Resource?: string | string[];
  Condition?: unknown;
  NotAction?: unknown;
  NotResource?: unknown;
  Sid?: string;
}

export interface PolicyDocument {
  Version?: string;
  Statement: PolicyStatement | PolicyStatement[];
}

export interface PolicyRequest {
  action: IotPolicyAction;
  /** The full ARN, e.g. `arn:aws:iot:eu-west-1:123456789012:topic/devices/alice/temp`. */
  resource: string;
  /** Multivalued condition keys of the request, e.g. `{ "iot:ConnectAttributes": ["LastWill"] }` for a CONNECT. */
  conditions?: Record<string, readonly string[]>;
}

const compiledPatterns = new Map<string, RegExp>();
const MAX_CACHED_PATTERNS = 10_000;

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
}

/** `*` and `?` wildcards, everything else literal; the whole string must match. */
function wildcardRegExp(pattern: string, flags: string): RegExp {
  const key = `${flags}:${pattern}`;
  let regexp = compiledPatterns.get(key);
  if (regexp === undefined) {
    let source = "";
    for (const ch of pattern) {
      source += ch === "*" ? "[\\s\\S]*" : ch === "?" ? "[\\s\\S]" : escapeRegExp(ch);
    }
    regexp = new RegExp(`^${source}$`, `${flags}u`);
    if (compiledPatterns.size >= MAX_CACHED_PATTERNS) compiledPatterns.clear();
    compiledPatterns.set(key, regexp);
  }
  return regexp;
}

/** Marks literal characters produced by substitution, so they are never read as wildcards. */
interface Piece {
  text: string;
  literal: boolean;
}

const LITERAL_ESCAPES: Record<string, string> = { "*": "*", "?": "?", $: "$" };

/**
 * Splits a resource pattern into wildcard text and literal (substituted) text, or returns undefined when
 * a variable has no value or a `${` is never closed.
 */
function substitute(pattern: string, variables: ReadonlyMap<string, string>): Piece[] | undefined {
  const pieces: Piece[] = [];
  let rest = pattern;
  for (;;) {
    const start = rest.indexOf("${");
    if (start === -1) break;
    const end = rest.indexOf("}", start + 2);
    if (end === -1) return undefined;
    if (start > 0) pieces.push({ text: rest.slice(0, start), literal: false });
    const name = rest.slice(start + 2, end);
    const value = LITERAL_ESCAPES[name] ?? variables.get(name.toLowerCase());
    if (value === undefined) return undefined;
    pieces.push({ text: value, literal: true });
    rest = rest.slice(end + 1);
  }
  if (rest.length > 0) pieces.push({ text: rest, literal: false });
  return pieces;
}

function resourceMatches(pattern: string, resource: string, variables: ReadonlyMap<string, string>): boolean {
  if (!pattern.includes("${")) return wildcardRegExp(pattern, "").test(resource);
  const pieces = substitute(pattern, variables);
  if (pieces === undefined) return false;
  let source = "";
  for (const piece of pieces) {
    if (piece.literal) {
      source += escapeRegExp(piece.text);
    } else {
      for (const ch of piece.text) source += ch === "*" ? "[\\s\\S]*" : ch === "?" ? "[\\s\\S]" : escapeRegExp(ch);
    }
  }
  return new RegExp(`^${source}$`, "u").test(resource);
}

function actionMatches(pattern: string, action: string): boolean {
  return wildcardRegExp(pattern, "i").test(action);
}

function asList(value: unknown): string[] | undefined {
  if (typeof value === "string") return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value as string[];
  return undefined;
}

function statementsOf(document: PolicyDocument): PolicyStatement[] {
  const statement = (document as { Statement?: unknown } | null)?.Statement;
  if (Array.isArray(statement)) return statement.filter((s): s is PolicyStatement => typeof s === "object" && s !== null);
  if (typeof statement === "object" && statement !== null) return [statement as PolicyStatement];
  return [];
}

/** Whether a statement's Action and Resource cover the request (its Effect aside). */
function statementApplies(statement: PolicyStatement, request: PolicyRequest, variables: ReadonlyMap<string, string>): boolean {
  const actions = asList(statement.Action);
  const resources = asList(statement.Resource);
  if (actions === undefined || resources === undefined) return false;
  return actions.some((a) => actionMatches(a, request.action)) && resources.some((r) => resourceMatches(r, request.resource, variables));
}

/** Whether the statement's Condition holds: true without one, undefined when the gateway cannot evaluate it. */
function conditionOf(statement: PolicyStatement, context: ConditionContext): boolean | undefined {
  return statement.Condition === undefined ? true : conditionHolds(statement.Condition, context);
}

/**
 * IoT's decision for one request: "allow" only when some statement allows it and none denies it.
 * `variables` holds the request's policy variables by name without `${}`, e.g. `{ "iot:ClientId": "alice-tv" }`.
 */
export function evaluatePolicies(
  documents: PolicyDocument[],
  request: PolicyRequest,
  variables: Record<string, string> = {},
): "allow" | "deny" {
  const values = new Map<string, string>();
  for (const [name, value] of Object.entries(variables)) values.set(name.toLowerCase(), value);
  const context: ConditionContext = new Map(Object.entries(request.conditions ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  let allowed = false;
  for (const document of documents) {
    for (const statement of statementsOf(document)) {
      const notElements = statement.NotAction !== undefined || statement.NotResource !== undefined;
      if (statement.Effect === "Deny") {
        // Conservative: a Deny whose Condition cannot be evaluated applies, and a Deny written with
        // NotAction/NotResource applies to every request.
        if (notElements) return "deny";
        if (conditionOf(statement, context) !== false && statementApplies(statement, request, values)) return "deny";
      } else if (statement.Effect === "Allow" && !allowed && !notElements && conditionOf(statement, context) === true) {
        allowed = statementApplies(statement, request, values);
      }
    }
  }
  return allowed ? "allow" : "deny";
}

/** The ARN of an IoT resource: `client/ID`, `topic/NAME` or `topicfilter/FILTER`. */
export function iotArn(
  partition: string,
  region: string,
  accountId: string,
  kind: "client" | "topic" | "topicfilter",
  name: string,
): string {
  return `arn:${partition}:iot:${region}:${accountId}:${kind}/${name}`;
}
