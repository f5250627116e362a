/**
 * Checks of single setting values that the issuer and the grant checks both make, so a claim name or a list
 * is held to the same rule, and refused with the same words, in either.
 */

/** A JWT claim name as a setting may give it (`principalClaim`, `{claims.NAME}`). */
export const CLAIM_NAME = /^[A-Za-z0-9_:.-]{1,64}$/;

export function stringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === "string");
}

/** An optional list of non-empty strings: undefined when absent, or when it is wrong (then a problem says so). */
export function optionalStringList(value: unknown, where: string, problems: string[]): string[] | undefined {
  if (value === undefined) return undefined;
  if (!stringArray(value) || value.length === 0 || value.some((v) => v.length === 0)) {
    problems.push(`${where} must be a non-empty list of non-empty strings`);
    return undefined;
  }
  return value;
}
