/**
 * The IoT policy an allowed token gets: the configured grants, compiled once, filled in per token with the
 * principal id and claim values, and packed into as few policy documents as IoT's limits allow.
 *
 * A claim value reaches a resource only if it cannot widen it (a wildcard, another topic level, one of
 * IoT's own variables): such a value denies the token rather than being escaped.
 */
import { type GrantRule, IOT_LIMITS } from "./config";
import { Denial } from "./errors";

export interface PolicyStatement {
  Effect: "Allow";
  Action: string[];
  Resource: string[];
}
export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: PolicyStatement[];
}

/** Characters that widen or break an IoT resource when they come from a claim (docs/aws-iot-custom-auth.md#claim-values-in-resources). */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const UNSAFE_IN_RESOURCE = /[/+#*?${}\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const MAX_CLAIM_VALUE_CHARS = 128;

/** A resource template, compiled once: literal text, `{principal}`, or `{claims.NAME}`. */
type Segment = string | { claim: string } | { principal: true };
export interface CompiledRule {
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

export function compileGrants(grants: GrantRule[]): CompiledRule[] {
  return grants.map((g) => ({
    actions: [...g.actions],
    scopes: g.scopes ? new Set(g.scopes) : undefined,
    resources: g.resources.map(compileResource),
  }));
}

/** Scopes from `scope`: a space-separated string (RFC 8693 / Cognito) or a JSON array (OpenAM). */
function scopesOf(payload: Record<string, unknown>): string[] {
  const scope = payload.scope;
  if (typeof scope === "string") return scope.split(" ").filter((s) => s.length > 0);
  if (Array.isArray(scope)) return scope.filter((s): s is string => typeof s === "string");
  return [];
}

/**
 * One statement per rule that applies to the token's scopes, its resources filled in under `arnPrefix`.
 * Empty when no rule applies; a claim that would widen a resource denies the whole token.
 */
export function grantedStatements(
  rules: readonly CompiledRule[],
  arnPrefix: string,
  principalId: string,
  payload: Record<string, unknown>,
): PolicyStatement[] {
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
  return statements;
}

function claimForResource(payload: Record<string, unknown>, claim: string): string {
  const value = Object.hasOwn(payload, claim) ? payload[claim] : undefined;
  const text = typeof value === "string" ? value : typeof value === "number" && Number.isSafeInteger(value) ? String(value) : undefined;
  if (text === undefined || text.length === 0 || text.length > MAX_CLAIM_VALUE_CHARS || UNSAFE_IN_RESOURCE.test(text)) {
    throw new Denial("unsafe-claim-value", `the ${claim} claim is missing, empty, too long or has characters that would widen the policy`);
  }
  return text;
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
  const documents = fillDocuments(splitOversizeStatements(statements, sizes));
  if (documents.length > IOT_LIMITS.maxPolicyDocuments) {
    throw new Denial(
      "policy-too-large",
      `the grants need ${documents.length} policy documents; IoT accepts ${IOT_LIMITS.maxPolicyDocuments}`,
    );
  }
  return documents;
}

interface Piece {
  statement: PolicyStatement;
  size: number;
}

/** Statements with their sizes; one too large for a document becomes several, each as full as a document allows. */
function splitOversizeStatements(statements: PolicyStatement[], sizes: number[]): Piece[] {
  const max = IOT_LIMITS.maxPolicyDocumentChars;
  const pieces: Piece[] = [];
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
        open && open.statement.Action === statement.Action
          ? { ...open.statement, Resource: [...open.statement.Resource, resource] }
          : undefined;
      const mergedSize = merged ? statementLength(merged) : Infinity;
      if (open && merged && DOCUMENT_OVERHEAD + mergedSize <= max) {
        open.statement = merged;
        open.size = mergedSize;
      } else {
        pieces.push({ statement: single, size: singleSize });
      }
    }
  }
  return pieces;
}

/** Fills documents in order, starting a new one when the next statement would not fit. */
function fillDocuments(pieces: Piece[]): PolicyDocument[] {
  const max = IOT_LIMITS.maxPolicyDocumentChars;
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
  return documents;
}
