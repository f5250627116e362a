/**
 * The authorizer's decisions as metrics: its allow and deny lines carry `AuthorizerDecisions` (value 1) by
 * `Decision` (Allow, Deny) and, for a denial, by `Check` (which check refused it). The check is one of a closed set
 * (`Check`, anything else is `other`), so no value a device sends ever becomes a dimension value.
 */
import type { LogFields } from "../shared/logging";
import { bounded, type DescribeLine, functionLogSink, type LineMetric } from "../shared/metric-lines";
import type { Check } from "./errors";
import type { Logger } from "./logging";

/** The metric every decision line carries. */
export const AUTHORIZER_METRIC = "AuthorizerDecisions";

/** Every check a denial can name; typed so that a new check cannot be forgotten here. */
const CHECK_NAMES: Record<Check, true> = {
  configuration: true,
  "token-missing": true,
  "token-ambiguous": true,
  "token-too-large": true,
  "token-malformed": true,
  "critical-header": true,
  "issuer-untrusted": true,
  "algorithm-not-allowed": true,
  "key-not-found": true,
  "jwks-unavailable": true,
  "signature-invalid": true,
  "expiry-missing": true,
  expired: true,
  "not-yet-valid": true,
  "issued-in-future": true,
  "audience-mismatch": true,
  "client-id-mismatch": true,
  "token-use-mismatch": true,
  "principal-missing": true,
  "unsafe-claim-value": true,
  "no-grant-applies": true,
  "policy-too-large": true,
  "internal-error": true,
};
/** The values the `Check` dimension can take (besides `other`). */
export const AUTHORIZER_CHECKS: ReadonlySet<string> = new Set(Object.keys(CHECK_NAMES));

/** The metric of an authorizer line: allows by decision, denials by decision and check; nothing for other lines. */
export const describeAuthorizerLine: DescribeLine = (fields: LogFields): LineMetric | undefined => {
  if (fields.outcome === "allow") return { name: AUTHORIZER_METRIC, dimensions: { Decision: "Allow" } };
  if (fields.outcome !== "deny") return undefined;
  return {
    name: AUTHORIZER_METRIC,
    dimensions: { Decision: "Deny", Check: bounded(fields.check, AUTHORIZER_CHECKS) },
    rollups: [["Decision"]],
  };
};

/** The Lambda's logger: decision lines with their metric, written to `write` (stdout by default). */
export function authorizerLogger(environment: NodeJS.ProcessEnv, write?: (line: string) => void): Logger {
  return functionLogSink(environment, describeAuthorizerLine, write);
}
