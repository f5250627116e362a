/**
 * Decisions as CloudWatch metrics without an SDK call: the one line a function writes per decision carries the
 * embedded metric format (EMF) `_aws` block, so CloudWatch Logs extracts a count from the line it writes anyway.
 *
 * Why the line is written to stdout whole, and not through `console.*`: with Lambda's JSON log format, the Node.js
 * runtime writes an object logged through the console as the `message` of its own object, and EMF is only read from
 * the root of a log event; a JSON object written to stdout directly is kept as it is (Lambda does not encode JSON
 * twice) and still filtered by its `level`. So a metric line keeps the shape of the other lines (our fields under
 * `message`, beside `timestamp` and `level`) and adds `_aws`, its dimensions and its value at the root
 * (docs/operations.md#decisions-as-metrics, with the sources). A metric line is written at INFO at least: a line
 * Lambda's log-level filter drops loses its metric too.
 *
 * Dimension values come from closed sets only (`bounded`): never a principal, a client id, a token or anything else
 * a caller chooses, since every distinct value is a metric of its own.
 */
import { consoleLogSink, type LogFields, type LogSink } from "./logging";

/** The namespace of every metric the functions write, unless `METRICS_NAMESPACE` names another. */
export const DEFAULT_METRICS_NAMESPACE = "IotEnterpriseAuth";
/** The environment variable naming the namespace; empty turns the metrics off. */
export const METRICS_NAMESPACE_ENV = "METRICS_NAMESPACE";
/** The dimension value of anything outside a dimension's closed set. */
export const OTHER = "other";

/**
 * A CloudWatch namespace as PutMetricData accepts one: 1-255 of letters, digits, `.`, `-`, `_`, `/`, `#`, `:` and
 * space, with one character that is not a space, and not under `AWS/` (reserved for AWS services).
 */
export function isMetricsNamespace(value: string): boolean {
  return /^[0-9A-Za-z.\-_/#: ]{1,255}$/.test(value) && value.trim() !== "" && !value.startsWith("AWS/");
}

/** What one line counts: a metric of value 1 (unit Count) with its dimensions. */
export interface LineMetric {
  /** The metric's name. */
  name: string;
  /** Dimension names and values (besides `Function`), each value from a closed set; together, the finest dimension set. */
  dimensions: Record<string, string>;
  /** Coarser dimension sets also published (names of `dimensions`; `Function` is always added). */
  rollups?: string[][];
}

/** Which metric a line carries, if any: each function's own rule. */
export type DescribeLine = (fields: LogFields) => LineMetric | undefined;

/** A value from a closed set, or `other`: what may become a dimension value. */
export function bounded(value: unknown, allowed: ReadonlySet<string>): string {
  return typeof value === "string" && allowed.has(value) ? value : OTHER;
}

export interface MetricSinkOptions {
  /** The metrics' namespace; undefined writes no metrics (every line goes to `fallback`). */
  namespace: string | undefined;
  /** The function's name (`AWS_LAMBDA_FUNCTION_NAME`): the `Function` dimension of every metric. */
  functionName: string;
  describe: DescribeLine;
  /** Where a metric line goes, newline included; stdout by default (synchronous for pipes and files on Linux). */
  write?: (line: string) => void;
  now?: () => number;
  /** Where lines without a metric go; the console (Lambda's JSON log format) by default. */
  fallback?: LogSink;
}

type Level = keyof LogSink;
const LEVEL_NAMES: Record<Level, string> = { debug: "INFO", info: "INFO", warn: "WARN", error: "ERROR" };

/**
 * The EMF members of a line's root, as JSON text without the braces, for a line at `timestampMs`: `_aws` (one
 * directive), the dimensions and the value. Everything but the timestamp depends on the metric only, whose dimension
 * values come from closed sets, so it is serialized once per metric and kept (`cache`, bounded all the same): the
 * decision line is on the authorizer's hot path.
 */
export function emfMembersJson(
  namespace: string,
  functionName: string,
  metric: LineMetric,
  timestampMs: number,
  cache: Map<string, [string, string]> = new Map(),
): string {
  const key = `${metric.name}\u0001${Object.entries(metric.dimensions).join("\u0002")}\u0001${(metric.rollups ?? []).join("\u0002")}`;
  let parts = cache.get(key);
  if (parts === undefined) {
    const dimensions = { Function: functionName, ...metric.dimensions };
    const sets = [...(metric.rollups ?? []).map((names) => ["Function", ...names]), Object.keys(dimensions)];
    const directives = JSON.stringify([{ Namespace: namespace, Dimensions: sets, Metrics: [{ Name: metric.name, Unit: "Count" }] }]);
    parts = [`,"CloudWatchMetrics":${directives}},`, JSON.stringify({ ...dimensions, [metric.name]: 1 }).slice(1, -1)];
    if (cache.size >= 1_000) cache.clear();
    cache.set(key, parts);
  }
  return `"_aws":{"Timestamp":${timestampMs}${parts[0]}${parts[1]}`;
}

/** A log sink whose metric-carrying lines are whole JSON documents with EMF at the root; the others go to `fallback`. */
export function metricLogSink(options: MetricSinkOptions): LogSink {
  const fallback = options.fallback ?? consoleLogSink;
  const write = options.write ?? ((line: string) => void process.stdout.write(line));
  const now = options.now ?? Date.now;
  const cache = new Map<string, [string, string]>();
  const line = (level: Level, fields: LogFields): void => {
    const metric = options.namespace === undefined ? undefined : options.describe(fields);
    if (metric === undefined) return fallback[level](fields);
    const at = now();
    const emf = emfMembersJson(options.namespace as string, options.functionName, metric, at, cache);
    // {timestamp, level, message, _aws, dimensions…, metric}: built as text, `message` the only part serialized per line.
    write(`{"timestamp":"${new Date(at).toISOString()}","level":"${LEVEL_NAMES[level]}","message":${JSON.stringify(fields)},${emf}}\n`);
  };
  return {
    debug: (fields) => line("debug", fields),
    info: (fields) => line("info", fields),
    warn: (fields) => line("warn", fields),
    error: (fields) => line("error", fields),
  };
}

/** The namespace and function name of a function's environment: `METRICS_NAMESPACE` (default, or empty for none). */
export function metricSettingsOf(environment: NodeJS.ProcessEnv): { namespace: string | undefined; functionName: string } {
  const given = environment[METRICS_NAMESPACE_ENV];
  const namespace = given === undefined ? DEFAULT_METRICS_NAMESPACE : given !== "" && isMetricsNamespace(given) ? given : undefined;
  const name = environment.AWS_LAMBDA_FUNCTION_NAME;
  return { namespace, functionName: name !== undefined && /^[\w-]{1,140}$/.test(name) ? name : OTHER };
}

/** The sink a function's handler writes through: metrics per `describe`, from its environment's settings. */
export function functionLogSink(environment: NodeJS.ProcessEnv, describe: DescribeLine, write?: (line: string) => void): LogSink {
  return metricLogSink({ ...metricSettingsOf(environment), describe, ...(write && { write }) });
}
