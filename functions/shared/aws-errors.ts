/**
 * What an AWS SDK failure means to a caller that must answer someone: the service is throttling us (try again
 * a little later), the service or the network is unavailable (try again later), or something else is wrong
 * (a missing resource, a denied permission: retrying will not help). Only the error's name is ever kept; the
 * SDK's message can quote request data.
 */

export type AwsFailureKind = "throttled" | "unavailable" | "failed";

const THROTTLING = new Set([
  "ThrottlingException",
  "Throttling",
  "TooManyRequestsException",
  "ProvisionedThroughputExceededException",
  "RequestLimitExceeded",
]);

const UNAVAILABLE = new Set([
  "ServiceUnavailableException",
  "ServiceUnavailable",
  "InternalFailureException",
  "InternalFailure",
  "InternalServerError",
  "InternalServerException",
  "RequestTimeout",
  "RequestTimeoutException",
  "TimeoutError",
  "AbortError",
  "DeadlineError",
]);

/** Node's socket-level failures: the service was never reached, or the connection broke. */
const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH"]);

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  $retryable?: { throttling?: unknown };
}

/** The error's name, or `UnknownError`; never its message. */
export function awsErrorName(err: unknown): string {
  const name = (err as SdkErrorShape | null)?.name;
  return typeof name === "string" && /^[A-Za-z0-9_.:-]{1,64}$/.test(name) ? name : "UnknownError";
}

/** Whether a failure is throttling, unavailability (the service or the network), or anything else. */
export function classifyAwsFailure(err: unknown): AwsFailureKind {
  const e = (err ?? {}) as SdkErrorShape;
  const name = awsErrorName(err);
  const status = typeof e.$metadata?.httpStatusCode === "number" ? e.$metadata.httpStatusCode : undefined;
  if (THROTTLING.has(name) || e.$retryable?.throttling === true || status === 429) return "throttled";
  if (UNAVAILABLE.has(name) || (typeof e.code === "string" && NETWORK_CODES.has(e.code)) || (status !== undefined && status >= 500)) {
    return "unavailable";
  }
  return "failed";
}
