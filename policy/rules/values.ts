/**
 * Reading a resource's `props` as the policy SDK hands them over: plain JSON (the provider's input names, camelCase
 * for @pulumi/aws), any of which may be missing. Every rule reads through these, so none of them crashes on a shape
 * it did not expect; a value the engine does not know yet during a preview throws the SDK's own error on access,
 * which the SDK turns into an advisory "can't run during preview" note (these helpers never catch it).
 */

/** What a rule reports through: the SDK's `reportViolation`, or a test's collector. */
export type Report = (message: string) => void;

/** A resource's properties. */
export type Props = Readonly<Record<string, unknown>>;

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The object at `key`, or an empty one. */
export function record(value: unknown, key: string): Record<string, unknown> {
  if (!isRecord(value)) return {};
  const inner = value[key];
  return isRecord(inner) ? inner : {};
}

/** A string or a list of strings as a list (IAM's `Action: "x"` and `Action: ["x"]` alike); anything else is dropped. */
export function stringList(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  return [];
}

/** A positive finite number, or undefined. */
export function positiveNumber(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) && value > 0 ? value : undefined;
}

/** Text we quote in a message, cut short: a message names what is wrong, it does not reproduce documents. */
export function quote(value: unknown, max = 120): string {
  if (typeof value === "number" || typeof value === "boolean" || value === undefined || value === null) return String(value);
  const text = typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}

/** The JSON text of a property (a policy document, an environment variable), parsed; undefined when it is not JSON. */
export function parseJson(text: unknown): unknown {
  if (typeof text !== "string") return isRecord(text) || Array.isArray(text) ? text : undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A Lambda function's environment variable, or undefined (`environment.variables.<name>`). */
export function environmentVariable(props: Props, name: string): unknown {
  return record(record(props, "environment"), "variables")[name];
}
