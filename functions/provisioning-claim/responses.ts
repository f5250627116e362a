/**
 * Every answer of the claim route, as one JSON shape: `{ "error": …, "error_description": … }` on failure (the
 * OAuth error shape the device grant uses too), never a stack trace; `Retry-After` whenever trying again later
 * can succeed; `Cache-Control: no-store` on all of them (shared/http-api-event.ts), since the success carries a
 * private key.
 */
import { type HttpApiResult, jsonResult } from "../shared/http-api-event";

/** Seconds a caller waits after IoT throttled the claim. */
export const RETRY_AFTER_THROTTLED_SECONDS = 2;
/** Seconds a caller waits after IoT or DynamoDB was unavailable. */
export const RETRY_AFTER_UNAVAILABLE_SECONDS = 5;

export interface IssuedClaimBody {
  certificateId: string;
  certificatePem: string;
  privateKey: string;
  /** ISO 8601, UTC. */
  expiresAt: string;
  /** Whole seconds left at the time of the answer. */
  expiresIn: number;
  thingName: string;
  templateName: string;
}

export function issued(body: IssuedClaimBody): HttpApiResult {
  return jsonResult(201, body);
}

export function invalidRequest(description: string): HttpApiResult {
  return jsonResult(400, { error: "invalid_request", error_description: description });
}

export function unauthorized(): HttpApiResult {
  return jsonResult(
    401,
    { error: "invalid_token", error_description: "the request carries no identity" },
    { "www-authenticate": "Bearer" },
  );
}

export function forbidden(reason: "missing-scope" | "missing-group"): HttpApiResult {
  return reason === "missing-scope"
    ? jsonResult(403, { error: "insufficient_scope", error_description: "the token does not carry the provisioning scope" })
    : jsonResult(403, { error: "access_denied", error_description: "the caller is not in the group allowed to provision devices" });
}

export function methodNotAllowed(): HttpApiResult {
  return jsonResult(405, { error: "invalid_request", error_description: "use POST" }, { allow: "POST" });
}

export function throttled(): HttpApiResult {
  return jsonResult(
    429,
    { error: "slow_down", error_description: "AWS IoT is throttling claims; try again shortly" },
    { "retry-after": String(RETRY_AFTER_THROTTLED_SECONDS) },
  );
}

export function unavailable(what: string): HttpApiResult {
  return jsonResult(
    503,
    { error: "temporarily_unavailable", error_description: `${what} is unavailable; try again later` },
    { "retry-after": String(RETRY_AFTER_UNAVAILABLE_SECONDS) },
  );
}

export function serverError(description: string): HttpApiResult {
  return jsonResult(500, { error: "server_error", error_description: description });
}
