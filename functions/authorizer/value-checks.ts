/**
 * Checks of single setting values that the issuer and the grant checks both make, so a claim name or a list
 * is held to the same rule, and refused with the same words, in either.
 */
import { isStringArray } from "../shared/checks";
import { type Problem } from "../shared/problems";

/** A JWT claim name as a setting may give it (`principalClaim`, `{claims.NAME}`). */
export const CLAIM_NAME = /^[A-Za-z0-9_:.-]{1,64}$/;

/**
 * An optional list of non-empty strings: undefined when absent, or when it is wrong (then `problem` describes the
 * rest of the sentence, "must be a non-empty list of non-empty strings").
 */
export function optionalStringList(value: unknown, problems: Problem[], problem: (rest: string) => Problem): string[] | undefined {
  if (value === undefined) return undefined;
  if (!isStringArray(value) || value.length === 0 || value.some((v) => v.length === 0)) {
    problems.push(problem("must be a non-empty list of non-empty strings"));
    return undefined;
  }
  return value;
}
