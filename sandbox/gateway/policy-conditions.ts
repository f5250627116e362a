/**
 * The part of IAM's `Condition` element that IoT connect policies use: the multivalued key
 * `iot:ConnectAttributes` (`LastWill`, `PersistentConnect`) with the set operators `ForAllValues:` and
 * `ForAnyValue:` over `StringEquals` and `StringNotEquals` (DG: Connect policy examples, Using
 * connectAttributes), and `Bool` on a single-valued key such as `iot:Connection.Thing.IsAttached` (DG: Thing
 * policy variables). Anything else is not evaluated: the caller then reads the statement conservatively
 * (an Allow does not apply, a Deny does), as policy.ts does for every element it cannot evaluate.
 */

/** The request's multivalued condition keys, by lower-case name, e.g. `{ "iot:connectattributes": ["LastWill"] }`. */
export type ConditionContext = ReadonlyMap<string, readonly string[]>;

type SetOperator = (values: readonly string[], wanted: readonly string[]) => boolean;

const SET_OPERATORS: Record<string, SetOperator> = {
  "forallvalues:stringequals": (values, wanted) => values.every((v) => wanted.includes(v)),
  "foranyvalue:stringequals": (values, wanted) => values.some((v) => wanted.includes(v)),
  "forallvalues:stringnotequals": (values, wanted) => values.every((v) => !wanted.includes(v)),
  "foranyvalue:stringnotequals": (values, wanted) => values.some((v) => !wanted.includes(v)),
  // A single-valued key compared as `true`/`false` (IAM's Bool operator), e.g. `iot:Connection.Thing.IsAttached`.
  bool: (values, wanted) => values.length === 1 && wanted.some((w) => w.toLowerCase() === values[0].toLowerCase()),
};

function stringList(value: unknown): string[] | undefined {
  if (typeof value === "string") return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value as string[];
  return undefined;
}

/**
 * Whether a statement's `Condition` holds for the request: every operator, and every key under it, must
 * hold. Undefined when the gateway cannot evaluate it (an unknown operator, or a key the request has no
 * value for), so that the caller can read the statement conservatively.
 */
export function conditionHolds(condition: unknown, context: ConditionContext): boolean | undefined {
  if (typeof condition !== "object" || condition === null || Array.isArray(condition)) return undefined;
  let holds = true;
  for (const [operatorName, block] of Object.entries(condition)) {
    const operator = SET_OPERATORS[operatorName.toLowerCase()];
    if (operator === undefined || typeof block !== "object" || block === null) return undefined;
    for (const [key, raw] of Object.entries(block as Record<string, unknown>)) {
      const values = context.get(key.toLowerCase());
      const wanted = stringList(raw);
      if (values === undefined || wanted === undefined) return undefined;
      holds &&= operator(values, wanted);
    }
  }
  return holds;
}
