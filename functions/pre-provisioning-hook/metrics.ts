/**
 * The pre-provisioning hook's decisions as metrics: each decision line carries `ProvisioningHookDecisions`
 * (value 1) by `Decision` (Allow, Deny) and `Reason` (`bound-claim`, `expired`, `already-used`, …, from a closed
 * set; a thing name, a certificate or a parameter a device sent never becomes a dimension value).
 */
import type { LogFields, LogSink } from "../shared/logging";
import { bounded, type DescribeLine, functionLogSink, type LineMetric } from "../shared/metric-lines";

/** The metric every decision line carries. */
export const HOOK_METRIC = "ProvisioningHookDecisions";

/**
 * Every reason a denial can name (`DenyReason` in decide.ts, and `not-configured`). Listed here rather than typed from
 * decide.ts, which the package's components must not load (it reaches the AWS SDK through the binding store); a new
 * reason missing here is counted as `other` until it is added.
 */
const DENY_REASONS: Record<string, true> = {
  "malformed-event": true,
  "template-mismatch": true,
  "missing-parameter": true,
  "extra-parameter": true,
  "malformed-parameter": true,
  unbound: true,
  expired: true,
  "already-used": true,
  "thing-name-mismatch": true,
  "thing-name-taken": true,
  "registry-unavailable": true,
  "store-unavailable": true,
  "internal-error": true,
  "not-configured": true,
};
/** The values the `Reason` dimension can take (besides `other`). */
export const HOOK_REASONS: ReadonlySet<string> = new Set(["bound-claim", "unbound-claim", ...Object.keys(DENY_REASONS)]);

/** The metric of a hook line: by decision and reason; nothing for other lines. */
export const describeHookLine: DescribeLine = (fields: LogFields): LineMetric | undefined => {
  if (fields.event !== "pre-provisioning") return undefined;
  const decision = fields.decision === "allow" ? "Allow" : "Deny";
  return { name: HOOK_METRIC, dimensions: { Decision: decision, Reason: bounded(fields.reason, HOOK_REASONS) }, rollups: [["Decision"]] };
};

/** The Lambda's logger: decision lines with their metric, written to `write` (stdout by default). */
export function hookLogger(environment: NodeJS.ProcessEnv, write?: (line: string) => void): Pick<LogSink, "info" | "warn" | "error"> {
  return functionLogSink(environment, describeHookLine, write);
}
