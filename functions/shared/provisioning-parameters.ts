/**
 * The rules a fleet provisioning template's parameters live by, shared by the claim function (the thing name an
 * installer enters), the pre-provisioning hook (every parameter a device sends) and the `FleetProvisioning`
 * component (the template it declares): IoT's own limits on thing names and attributes, and the operator's
 * pattern per declared parameter, always matched against the whole value.
 *
 * IoT's rules are in docs/fleet-provisioning.md#names-and-attributes.
 */
import { createHash } from "node:crypto";
import { type Problem, problemAt } from "./problems";

/** A thing name as IoT accepts it: 1 to 128 letters, digits, `:`, `_` or `-`. */
export const IOT_THING_NAME = /^[a-zA-Z0-9:_-]{1,128}$/;

/** A thing attribute name as IoT accepts it. */
export const IOT_ATTRIBUTE_NAME = /^[a-zA-Z0-9_.,@/:#-]{1,128}$/;

/** A thing attribute value as IoT accepts it (up to 800 characters). */
export const IOT_ATTRIBUTE_VALUE = /^[a-zA-Z0-9_.,@/:#=[\]-]{0,800}$/;

/** Our rule for a template parameter's name: a letter, then letters and digits (no `AWS::` pseudo-parameters). */
export const TEMPLATE_PARAMETER_NAME = /^[A-Za-z][A-Za-z0-9]{0,63}$/;

/** The longest parameter value the hook looks at; anything longer is refused before a pattern runs on it. */
export const MAX_PARAMETER_VALUE_LENGTH = 256;

/** The default pattern of thing names: what IoT accepts, minus `:` (kept out of topics and client ids). */
export const DEFAULT_THING_NAME_PATTERN = "[A-Za-z0-9_-]{1,128}";

/** A parameter the device sends in `RegisterThing`, with the pattern its whole value must match. */
export interface DeclaredParameter {
  name: string;
  /** A JavaScript regular expression, matched against the whole value (it is anchored here). */
  pattern: string;
}

/** Compiles a declared pattern, anchored at both ends; undefined when it is not a regular expression. */
export function anchoredPattern(pattern: string): RegExp | undefined {
  try {
    return new RegExp(`^(?:${pattern})$`);
  } catch {
    return undefined;
  }
}

/** Whether `value` is a string within the length cap that matches `pattern` as a whole. */
export function matchesPattern(value: unknown, pattern: RegExp): value is string {
  return typeof value === "string" && value.length <= MAX_PARAMETER_VALUE_LENGTH && pattern.test(value);
}

/** Whether `value` can name a thing: the declared pattern, and IoT's own rule. */
export function isAcceptableThingName(value: unknown, pattern: RegExp): value is string {
  return matchesPattern(value, pattern) && IOT_THING_NAME.test(value);
}

/** A pattern setting: a string that compiles, and that is not the empty pattern (it would accept anything). */
export function checkPatternSetting(path: string, value: unknown, problems: Problem[]): string {
  if (typeof value !== "string" || value === "" || value.length > 512) {
    problems.push(problemAt(path, `must be a regular expression of 1 to 512 characters; got ${JSON.stringify(value)}`));
    return typeof value === "string" ? value : "";
  }
  if (anchoredPattern(value) === undefined) problems.push(problemAt(path, `${JSON.stringify(value)} is not a valid regular expression`));
  return value;
}

/**
 * The declared parameters of a configuration: a non-empty list of `{ name, pattern }` with distinct names
 * that follow `TEMPLATE_PARAMETER_NAME`.
 */
export function checkDeclaredParameters(path: string, value: unknown, problems: Problem[]): DeclaredParameter[] {
  if (!Array.isArray(value) || value.length === 0) {
    problems.push(problemAt(path, "must be a non-empty list of { name, pattern }"));
    return [];
  }
  const seen = new Set<string>();
  return value.map((entry, i) => {
    const e = (entry ?? {}) as Partial<DeclaredParameter>;
    const at = `${path}[${i}]`;
    if (typeof e.name !== "string" || !TEMPLATE_PARAMETER_NAME.test(e.name)) {
      problems.push(problemAt(`${at}.name`, `must be a letter followed by up to 63 letters or digits; got ${JSON.stringify(e.name)}`));
    } else if (seen.has(e.name)) {
      problems.push(problemAt(`${at}.name`, `${e.name} is declared twice`));
    }
    if (typeof e.name === "string") seen.add(e.name);
    return { name: typeof e.name === "string" ? e.name : "", pattern: checkPatternSetting(`${at}.pattern`, e.pattern, problems) };
  });
}

/**
 * The value recorded as a thing's owner for an installer's `sub`: the subject itself when IoT accepts it as an
 * attribute value (a Cognito `sub` is a UUID), otherwise `sha256-` and the hex SHA-256 of it, so that any
 * issuer's subjects map to a value IoT stores, and distinct subjects stay distinct.
 */
export function ownerAttributeValue(sub: string): string {
  if (sub.length <= 128 && IOT_ATTRIBUTE_VALUE.test(sub) && !sub.startsWith("sha256-")) return sub;
  return `sha256-${createHash("sha256").update(sub, "utf8").digest("hex")}`;
}
