/**
 * A validator of the CloudWatch embedded metric format, for tests: the rules of "Specification: Embedded metric
 * format" (CloudWatch User Guide) that a line written by our functions must meet for CloudWatch Logs to extract its
 * metrics, plus the CloudWatch API's rules for dimension values (API reference, `Dimension`). Returns every problem
 * found (an empty list when the line is valid), so a failing test names them all.
 */

const UNITS = new Set(
  "Seconds Microseconds Milliseconds Bytes Kilobytes Megabytes Gigabytes Terabytes Bits Kilobits Megabits Gigabits Terabits Percent Count Bytes/Second Kilobytes/Second Megabytes/Second Gigabytes/Second Terabytes/Second Bits/Second Kilobits/Second Megabits/Second Gigabits/Second Terabits/Second Count/Second None".split(
    " ",
  ),
);
/** Members a MetricDirective, a MetricDefinition and the metadata object may have (no others, per the specification). */
const DIRECTIVE_MEMBERS = new Set(["Namespace", "Dimensions", "Metrics"]);
const DEFINITION_MEMBERS = new Set(["Name", "Unit", "StorageResolution"]);
const METADATA_MEMBERS = new Set(["Timestamp", "CloudWatchMetrics", "LogGroupName"]);
/** Dimension keys per set, in the specification (the archived text says 9; CloudWatch now allows 30 per metric). */
export const MAX_DIMENSIONS_PER_SET = 30;
export const MAX_METRICS_PER_DIRECTIVE = 100;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isName = (v: unknown): v is string => typeof v === "string" && v.length >= 1 && v.length <= 255;

/** A dimension value CloudWatch accepts: 1-1024 ASCII characters, no control character, not only spaces. */
export function isDimensionValue(v: unknown): boolean {
  return typeof v === "string" && v.length >= 1 && v.length <= 1024 && /^[\x20-\x7e]+$/.test(v) && v.trim() !== "";
}

function checkDirective(root: Record<string, unknown>, d: unknown, at: string, problems: string[]): void {
  if (!isObject(d)) return void problems.push(`${at} is not an object`);
  for (const key of Object.keys(d)) if (!DIRECTIVE_MEMBERS.has(key)) problems.push(`${at} has an unknown member ${key}`);
  if (!isName(d.Namespace)) problems.push(`${at}.Namespace is not a string of 1-255 characters`);
  if (!Array.isArray(d.Dimensions) || d.Dimensions.length === 0) problems.push(`${at}.Dimensions is not a non-empty array`);
  else
    d.Dimensions.forEach((set: unknown, i) => {
      if (!Array.isArray(set) || set.length > MAX_DIMENSIONS_PER_SET) return void problems.push(`${at}.Dimensions[${i}] is not a set`);
      for (const key of set) {
        if (!isName(key)) problems.push(`${at}.Dimensions[${i}] has a key that is not a name`);
        else if (!isDimensionValue(root[key])) problems.push(`dimension ${key} has no valid string value at the root`);
      }
    });
  if (!Array.isArray(d.Metrics) || d.Metrics.length > MAX_METRICS_PER_DIRECTIVE)
    return void problems.push(`${at}.Metrics is not an array of at most 100`);
  d.Metrics.forEach((m: unknown, i) => {
    if (!isObject(m) || !isName(m.Name)) return void problems.push(`${at}.Metrics[${i}] has no Name`);
    for (const key of Object.keys(m)) if (!DEFINITION_MEMBERS.has(key)) problems.push(`${at}.Metrics[${i}] has an unknown member ${key}`);
    if (m.Unit !== undefined && !UNITS.has(m.Unit as string)) problems.push(`${at}.Metrics[${i}].Unit ${String(m.Unit)} is not a unit`);
    const value = root[m.Name];
    const numeric = typeof value === "number" && Number.isFinite(value);
    const numbers = Array.isArray(value) && value.length <= 100 && value.every((n) => typeof n === "number" && Number.isFinite(n));
    if (!numeric && !numbers) problems.push(`metric ${m.Name} has no numeric value at the root`);
  });
}

/** Every way `line` (one log event, as written) breaks the embedded metric format; empty when it is valid. */
export function emfProblems(line: string): string[] {
  const problems: string[] = [];
  let root: unknown;
  try {
    root = JSON.parse(line);
  } catch {
    return ["the line is not one JSON value"];
  }
  if (!isObject(root)) return ["the line is not a JSON object"];
  const aws = root._aws;
  if (!isObject(aws)) return ["no _aws object at the root"];
  for (const key of Object.keys(aws)) if (!METADATA_MEMBERS.has(key)) problems.push(`_aws has an unknown member ${key}`);
  if (!Number.isInteger(aws.Timestamp)) problems.push("_aws.Timestamp is not an integer (milliseconds since the epoch)");
  if (!Array.isArray(aws.CloudWatchMetrics) || aws.CloudWatchMetrics.length === 0)
    problems.push("_aws.CloudWatchMetrics is not a non-empty array");
  else
    aws.CloudWatchMetrics.forEach((d, i) => checkDirective(root as Record<string, unknown>, d, `_aws.CloudWatchMetrics[${i}]`, problems));
  return problems;
}

/** The metrics a valid line publishes: one entry per directive, dimension set and metric, with the value. */
export function extractedMetrics(line: string): { namespace: string; name: string; dimensions: Record<string, string>; value: number }[] {
  const root = JSON.parse(line) as Record<string, unknown> & {
    _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] };
  };
  return root._aws.CloudWatchMetrics.flatMap((d) =>
    d.Dimensions.flatMap((set) =>
      d.Metrics.map((m) => ({
        namespace: d.Namespace,
        name: m.Name,
        dimensions: Object.fromEntries(set.map((k) => [k, root[k] as string])),
        value: root[m.Name] as number,
      })),
    ),
  );
}
