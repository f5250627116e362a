/**
 * The body of `OperationsAlarms`' dashboard: the functions' decisions from their embedded metric format lines
 * (authorizer allows and denials by check, device grant outcomes by endpoint, claims and hook decisions), then the
 * metrics the alarms watch, then the alarms themselves. Decisions by check use CloudWatch `SEARCH` expressions over
 * the dimension set that includes the check, so a check seen for the first time gets its own line without a
 * change here. How to read it: docs/operations.md#reading-the-dashboard.
 */
import * as pulumi from "@pulumi/pulumi";
import { AUTHORIZER_METRIC } from "../functions/authorizer/metrics";
import { DEVICE_GRANT_METRIC } from "../functions/device-grant/metrics";
import { HOOK_METRIC } from "../functions/pre-provisioning-hook/metrics";
import { CLAIM_METRIC } from "../functions/provisioning-claim/metrics";
import { type CheckedOperationsAlarmsArgs, type OperationsAlarmsArgs } from "./operations-alarms-args";

type Widget = Record<string, unknown>;
const WIDTH = 12;
const HEIGHT = 6;

/** A time-series widget of `metrics` (rows of the dashboard body's metrics array), summed per period. */
function metricWidget(title: string, metrics: unknown[][], period: number, region: string, stat = "Sum"): Widget {
  return {
    type: "metric",
    width: WIDTH,
    height: HEIGHT,
    properties: { title, view: "timeSeries", stacked: false, region, stat, period, metrics },
  };
}

/** A SEARCH of one decision metric of one function, by the dimension set that includes `by`. */
function search(namespace: string, metric: string, functionName: string, keys: string[], filter: string, period: number): unknown[] {
  const schema = [namespace, "Function", ...keys].map((k) => (/[^\w]/.test(k) ? `"${k}"` : k)).join(",");
  return [
    {
      expression: `SEARCH('{${schema}} MetricName="${metric}" Function="${functionName}"${filter}', 'Sum', ${period})`,
      id: `s${keys.length}${metric.length}`,
      period,
    },
  ];
}

interface Names {
  authorizer?: string;
  deviceGrant?: string;
  apiId?: string;
  apiStage: string;
  claim?: string;
  hook?: string;
  tables: Record<string, string>;
  alarmArns: string[];
}

/** The widgets, in reading order; the decision widgets only when the functions write decision metrics (`ns`). */
function widgets(n: Names, ns: string | undefined, period: number, region: string): Widget[] {
  const out: Widget[] = [];
  const graph = (title: string, metrics: unknown[][], p: number, stat = "Sum") => metricWidget(title, metrics, p, region, stat);
  if (n.authorizer && ns !== undefined) {
    out.push(
      graph(
        "Authorizer: allows and denials",
        [
          [ns, AUTHORIZER_METRIC, "Function", n.authorizer, "Decision", "Allow"],
          [".", ".", ".", ".", ".", "Deny"],
        ],
        period,
      ),
      graph(
        "Authorizer: denials by check",
        [search(ns, AUTHORIZER_METRIC, n.authorizer, ["Decision", "Check"], ' Decision="Deny"', period)],
        period,
      ),
    );
  }
  if (n.deviceGrant && ns !== undefined)
    out.push(
      graph(
        "Device grant: outcomes by endpoint",
        [search(ns, DEVICE_GRANT_METRIC, n.deviceGrant, ["Endpoint", "Outcome"], "", period)],
        period,
      ),
    );
  if (n.claim && ns !== undefined)
    out.push(graph("Provisioning claims: outcomes", [search(ns, CLAIM_METRIC, n.claim, ["Outcome"], "", period)], period));
  if (n.hook && ns !== undefined)
    out.push(
      graph("Pre-provisioning hook: decisions by reason", [search(ns, HOOK_METRIC, n.hook, ["Decision", "Reason"], "", period)], period),
    );
  const functions = [n.authorizer, n.deviceGrant, n.claim, n.hook].filter((f): f is string => f !== undefined);
  if (functions.length > 0) {
    out.push(
      graph(
        "Lambda: errors",
        functions.map((f) => ["AWS/Lambda", "Errors", "FunctionName", f]),
        period,
      ),
    );
  }
  if (n.authorizer) {
    out.push(
      graph("Authorizer: throttles", [["AWS/Lambda", "Throttles", "FunctionName", n.authorizer]], period),
      graph("Authorizer: duration p99 (ms)", [["AWS/Lambda", "Duration", "FunctionName", n.authorizer]], period, "p99"),
    );
  }
  if (n.apiId)
    out.push(
      graph(
        "Device grant API: 4xx and 5xx",
        [
          ["AWS/ApiGateway", "5xx", "ApiId", n.apiId, "Stage", n.apiStage],
          [".", "4xx", ".", ".", ".", "."],
        ],
        period,
      ),
    );
  const tables = Object.values(n.tables);
  if (tables.length > 0) {
    out.push(
      graph(
        "DynamoDB: throttled reads and writes",
        tables.flatMap((t) => [
          ["AWS/DynamoDB", "ReadThrottleEvents", "TableName", t],
          ["AWS/DynamoDB", "WriteThrottleEvents", "TableName", t],
        ]),
        period,
      ),
    );
  }
  if (n.alarmArns.length > 0)
    out.push({ type: "alarm", width: 2 * WIDTH, height: 4, properties: { title: "Alarms", alarms: n.alarmArns } });
  return out.map((w, i) => ({ ...w, x: w.width === WIDTH ? (i % 2) * WIDTH : 0, y: Math.floor(i / 2) * HEIGHT }));
}

/** The dashboard body (JSON), once every name is known. */
export function operationsDashboardBody(
  args: OperationsAlarmsArgs,
  checked: CheckedOperationsAlarmsArgs,
  alarmArns: pulumi.Output<string>[],
  region: pulumi.Input<string>,
): pulumi.Output<string> {
  const names = pulumi.output({
    authorizer: args.authorizerFunctionName,
    deviceGrant: args.deviceGrantFunctionName,
    apiId: args.deviceGrantApiId,
    apiStage: args.deviceGrantApiStage ?? "$default",
    claim: args.provisioningClaimFunctionName,
    hook: args.provisioningHookFunctionName,
    tables: args.tableNames ?? {},
    alarmArns,
    region,
  });
  return names.apply(({ region: regionName, ...n }) =>
    JSON.stringify({ widgets: widgets(n as Names, checked.metricsNamespace, checked.thresholds.periodSeconds, regionName) }),
  );
}
