/**
 * The device grant's outcomes as metrics: each line naming an endpoint's outcome carries `DeviceGrantOutcomes`
 * (value 1) by `Endpoint` (the line's event) and `Outcome` (the OAuth error code answered, or what happened:
 * `issued`, `tokens`, `approved`, …). Both come from closed sets: an outcome the IdP chose (an upstream error
 * code) or anything else outside the set is `other`, and a client id never becomes a dimension value.
 */
import type { LogFields } from "../shared/logging";
import { bounded, type DescribeLine, functionLogSink, type LineMetric } from "../shared/metric-lines";
import type { ServiceLogger } from "./errors";

/** The metric every outcome line carries. */
export const DEVICE_GRANT_METRIC = "DeviceGrantOutcomes";

/** The lines' events that are an endpoint's outcome, with the outcome of a line that names none. */
const ENDPOINTS: Record<string, string> = {
  "device-authorization": "issued",
  token: "other",
  redeem: "other",
  refresh: "other",
  "code-entry": "other",
  decision: "other",
  callback: "other",
  "client-authentication": "refused",
  "id-token": "other",
  "client-secret-missing": "server_error",
  "unexpected-failure": "server_error",
  "start-up": "configuration-error",
};
/** The values the `Endpoint` dimension can take. */
export const DEVICE_GRANT_ENDPOINTS: ReadonlySet<string> = new Set(Object.keys(ENDPOINTS));

/** The values the `Outcome` dimension can take (besides `other`): RFC 6749 and RFC 8628 error codes, then ours. */
export const DEVICE_GRANT_OUTCOMES: ReadonlySet<string> = new Set([
  "invalid_request",
  "invalid_client",
  "invalid_grant",
  "invalid_scope",
  "unauthorized_client",
  "unsupported_grant_type",
  "access_denied",
  "authorization_pending",
  "slow_down",
  "expired_token",
  "server_error",
  "temporarily_unavailable",
  "issued",
  "tokens",
  "approved",
  "approving",
  "denied",
  "cancelled",
  "idp-denied",
  "idp-error",
  "bad-csrf",
  "rate-limited",
  "unknown-code",
  "refused",
  "upstream-unavailable",
  "upstream-id-token-refused",
  "signing-failed",
  "user-code-collisions",
  "configuration-error",
]);

/** The metric of a device grant line: by endpoint and outcome, for the events above; nothing for other lines. */
export const describeDeviceGrantLine: DescribeLine = (fields: LogFields): LineMetric | undefined => {
  const event = fields.event;
  if (typeof event !== "string" || !DEVICE_GRANT_ENDPOINTS.has(event)) return undefined;
  const outcome = fields.outcome === undefined ? ENDPOINTS[event] : bounded(fields.outcome, DEVICE_GRANT_OUTCOMES);
  return { name: DEVICE_GRANT_METRIC, dimensions: { Endpoint: event, Outcome: outcome }, rollups: [["Endpoint"]] };
};

/** The Lambda's logger: outcome lines with their metric, written to `write` (stdout by default). */
export function deviceGrantLogger(environment: NodeJS.ProcessEnv, write?: (line: string) => void): ServiceLogger {
  return functionLogSink(environment, describeDeviceGrantLine, write);
}
