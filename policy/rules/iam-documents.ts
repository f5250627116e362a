/**
 * IAM policy documents (role policies, trust policies, managed policies) as lists of statements the rules can
 * ask about: what is allowed, on what, for whom, under which condition keys. Element names and forms follow the
 * IAM User Guide's "IAM JSON policy elements reference" (`Action`/`NotAction`, `Resource`/`NotResource`,
 * `Principal: "*"`, a string or a list for each).
 */
import { isRecord, parseJson, stringList } from "./values";

export interface Statement {
  /** `Sid`, or the statement's position, to name it in a message. */
  label: string;
  effect: "Allow" | "Deny";
  actions: string[];
  /** The statement uses `NotAction`: everything but the listed actions. */
  notAction: boolean;
  resources: string[];
  /** The statement uses `NotResource`: everything but the listed resources. */
  notResource: boolean;
  /** Every principal named (`"*"` for `Principal: "*"`); empty without `Principal`. */
  principals: string[];
  /** `Condition` as `{ operator: { key: values } }`. */
  conditions: Record<string, Record<string, string[]>>;
}

/** The document's statements, or undefined when it is not a JSON policy document. */
export function parsePolicyDocument(document: unknown): Statement[] | undefined {
  const parsed = parseJson(document);
  if (!isRecord(parsed)) return undefined;
  const raw = parsed.Statement;
  const list = Array.isArray(raw) ? raw : isRecord(raw) ? [raw] : undefined;
  if (list === undefined) return undefined;
  return list.filter(isRecord).map((s, i) => readStatement(s, i));
}

function readStatement(s: Record<string, unknown>, index: number): Statement {
  return {
    label: typeof s.Sid === "string" && s.Sid !== "" ? `statement ${s.Sid}` : `statement ${index + 1}`,
    effect: s.Effect === "Deny" ? "Deny" : "Allow",
    actions: stringList(s.Action ?? s.NotAction),
    notAction: s.NotAction !== undefined,
    resources: stringList(s.Resource ?? s.NotResource),
    notResource: s.NotResource !== undefined,
    principals: principals(s.Principal ?? s.NotPrincipal),
    conditions: conditions(s.Condition),
  };
}

function principals(value: unknown): string[] {
  if (value === "*") return ["*"];
  if (!isRecord(value)) return [];
  return Object.values(value).flatMap(stringList);
}

function conditions(value: unknown): Record<string, Record<string, string[]>> {
  if (!isRecord(value)) return {};
  const out: Record<string, Record<string, string[]>> = {};
  for (const [operator, keys] of Object.entries(value)) {
    if (!isRecord(keys)) continue;
    out[operator] = Object.fromEntries(Object.entries(keys).map(([key, v]) => [key, stringList(v)]));
  }
  return out;
}

/** The condition keys a statement tests, whatever the operator (`kms:ViaService`, …). */
export function conditionKeys(statement: Statement): string[] {
  return Object.values(statement.conditions).flatMap((keys) => Object.keys(keys));
}
