/**
 * The small checks every configuration in this repository shares, in one place: integers in a range, AWS
 * identifiers, SSM parameter names, and URLs that must be https (plain http on loopback only, for local use).
 * Each returns whether the value passes, or the problem to report; callers collect problems and report them all
 * at once (problems.ts).
 */
import { type Problem, problemAt } from "./problems";

/** An AWS region such as `eu-west-1` or `us-gov-west-1`. */
export const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
export const ACCOUNT_ID = /^\d{12}$/;
/** `aws`, `aws-cn`, `aws-us-gov`… */
export const PARTITION = /^aws(-[a-z]+)*$/;
/** An SSM parameter name: a path of letters, digits and `_ . - /`, with or without the leading slash. */
export const SSM_PARAMETER_NAME = /^\/?[A-Za-z0-9_.\-/]{1,1011}$/;

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === "string");
}

export function isIntegerInRange(value: unknown, min: number, max: number): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max;
}

/** `value` if it is an integer from `min` to `max`; otherwise a problem is added and `fallback` returned. */
export function integerSetting(
  path: string,
  value: unknown,
  range: readonly [min: number, max: number],
  fallback: number,
  problems: Problem[],
  unit = "",
): number {
  const [min, max] = range;
  if (isIntegerInRange(value, min, max)) return value;
  problems.push(problemAt(path, `must be an integer from ${min} to ${max}${unit}; got ${JSON.stringify(value)}`));
  return fallback;
}

export function isLoopbackHost(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** Whether a parsed URL is https, or plain http to this machine. */
export function isHttpsOrLoopback(url: URL): boolean {
  return url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHost(url.hostname));
}

/** Parses `value` as a URL, or `undefined` when it is not one. */
export function parseUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}
