/**
 * The pre-provisioning hook's decisions as metrics: each decision line carries `ProvisioningHookDecisions`
 * (value 1) by `Decision` (Allow, Deny) and `Reason` (`bound-claim`, `expired`, `already-used`, …, from a closed
 * set; a thing name, a certificate or a parameter a device sent never becomes a dimension value).
 */
import { type LogFields } from "../shared/logging";
import { bounded, type DescribeLine, functionLogSink, type LineMetric } from "../shared/metric-lines";
import { type DenyReason } from "./decide";
import { type HookLogger } from "./index";

/** The metric every decision line carries. */
export const HOOK_METRIC = "ProvisioningHookDecisions";

const DENY_REASONS: Record<DenyReason | "not-configured", true> = {
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
export function hookLogger(environment: NodeJS.ProcessEnv, write?: (line: string) => void): HookLogger {
  return functionLogSink(environment, describeHookLine, write);
}
