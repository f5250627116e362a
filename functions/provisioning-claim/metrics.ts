/**
 * The claim route's outcomes as metrics: each `provisioning-claim` line (and a start-up failure) carries
 * `ProvisioningClaims` (value 1) by `Outcome` (`issued`, `refused`, `iot-failed`, …, from a closed set; a thing
 * name or an installer never becomes a dimension value).
 */
import type { LogFields, LogSink } from "../shared/logging";
import { bounded, type DescribeLine, functionLogSink, type LineMetric } from "../shared/metric-lines";

/** The metric every claim line carries. */
export const CLAIM_METRIC = "ProvisioningClaims";

/** The values the `Outcome` dimension can take (besides `other`). */
export const CLAIM_OUTCOMES: ReadonlySet<string> = new Set([
  "issued",
  "refused",
  "iot-failed",
  "store-failed",
  "binding-conflict",
  "internal-error",
  "configuration-error",
]);

/** The metric of a claim line: by outcome; a start-up failure is `configuration-error`; nothing for other lines. */
export const describeClaimLine: DescribeLine = (fields: LogFields): LineMetric | undefined => {
  if (fields.event === "start-up") return { name: CLAIM_METRIC, dimensions: { Outcome: "configuration-error" } };
  if (fields.event !== "provisioning-claim") return undefined;
  return { name: CLAIM_METRIC, dimensions: { Outcome: bounded(fields.outcome, CLAIM_OUTCOMES) } };
};

/** The Lambda's logger: claim lines with their metric, written to `write` (stdout by default). */
export function claimLogger(environment: NodeJS.ProcessEnv, write?: (line: string) => void): Pick<LogSink, "info" | "warn" | "error"> {
  return functionLogSink(environment, describeClaimLine, write);
}
