/**
 * The arguments of `OperationsAlarms` and their checks: which functions, API and tables to watch (each optional,
 * so the component fits any subset of the other components), where the alarms go (an SNS topic given, or one
 * created with e-mail subscriptions), the metrics namespace of the functions' decision lines, and every threshold,
 * with its default. Every problem is reported at once, at preview; an unknown field is refused by name.
 */
import type * as pulumi from "@pulumi/pulumi";
import { checkedOrThrow, type Problem, problemAt, unknownFields } from "../functions/shared/problems";
import { DEFAULT_METRICS_NAMESPACE } from "../functions/shared/metric-lines";
import { checkComponentArgs } from "./component-args";
import { checkResourcePrefix } from "./bundled-function";

/** What IoT Core waits for a custom authorizer's answer, in milliseconds (docs/aws-iot-custom-auth.md). */
export const IOT_AUTHORIZER_BUDGET_MS = 5_000;

/** What `OperationsAlarms` uses for an argument not given (`thresholds.authorizerDurationMs` is derived: 80% of the budget). */
export const OPERATIONS_ALARMS_DEFAULTS = {
  authorizerTimeoutSeconds: 3,
  deviceGrantApiStage: "$default",
  metricsNamespace: DEFAULT_METRICS_NAMESPACE,
  thresholds: {
    periodSeconds: 60,
    evaluationPeriods: 5,
    datapointsToAlarm: 2,
    functionErrors: 0,
    authorizerThrottles: 0,
    api5xx: 0,
    tableThrottles: 0,
  },
} as const;

/** The thresholds and the evaluation of every alarm; each has a default. */
export interface OperationsAlarmThresholds {
  /** Seconds per datapoint of every alarm (default 60; 10, 30 or a multiple of 60). */
  periodSeconds?: number;
  /** Datapoints an alarm looks at (default 5). */
  evaluationPeriods?: number;
  /** Breaching datapoints among them that set it off (default 2: two bad minutes out of five). */
  datapointsToAlarm?: number;
  /**
   * The authorizer's p99 duration, in milliseconds, above which its duration alarm fires (default 80% of the smaller
   * of its timeout and IoT's 5 s budget: 2,400 ms for the default 3 s timeout).
   */
  authorizerDurationMs?: number;
  /** Function errors per period above which an errors alarm fires (default 0: any error). */
  functionErrors?: number;
  /** Throttled invocations of the authorizer per period above which its throttles alarm fires (default 0). */
  authorizerThrottles?: number;
  /** The device grant API's 5xx answers per period above which its alarm fires (default 0). */
  api5xx?: number;
  /** Throttled DynamoDB reads and writes of a table per period above which its alarm fires (default 0). */
  tableThrottles?: number;
}

export interface OperationsAlarmsArgs {
  /** Physical-name prefix of the alarms, the topic and the dashboard (default `<name>-<stack>`; letters, digits, `-`, `_`). */
  resourcePrefix?: string;
  /** Tags for the topic and every alarm. */
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /**
   * Customer managed KMS key (ARN) that encrypts a created topic; its key policy must let `cloudwatch.amazonaws.com`
   * use it (`kms:Decrypt`, `kms:GenerateDataKey*`), or alarms cannot publish. Default: no server-side encryption, since
   * CloudWatch cannot use SNS's AWS managed key `alias/aws/sns`, whose policy cannot be changed (alarm notifications
   * carry alarm names and metric values, no secrets).
   */
  kmsKeyArn?: pulumi.Input<string>;
  /** The authorizer's function name (`IotTokenAuthorizer.functionName`): errors, throttles, duration, its decisions. */
  authorizerFunctionName?: pulumi.Input<string>;
  /** The authorizer's timeout in seconds (default 3, the component's), for the default duration threshold. */
  authorizerTimeoutSeconds?: number;
  /** The device grant's function name (`DeviceGrant.functionName`): errors, its outcomes. */
  deviceGrantFunctionName?: pulumi.Input<string>;
  /** The device grant's HTTP API id (`DeviceGrant.apiId`): its 5xx answers. */
  deviceGrantApiId?: pulumi.Input<string>;
  /** The API's stage (`DeviceGrant.apiStageName`; default `$default`). */
  deviceGrantApiStage?: pulumi.Input<string>;
  /** The claim route's function name (`FleetProvisioning.claimFunctionName`): errors, its outcomes. */
  provisioningClaimFunctionName?: pulumi.Input<string>;
  /** The pre-provisioning hook's function name (`FleetProvisioning.hookFunctionName`): errors, its decisions. */
  provisioningHookFunctionName?: pulumi.Input<string>;
  /** DynamoDB tables to watch for throttling, by a short key (letters, digits, `-`) used in the alarm's name. */
  tableNames?: Record<string, pulumi.Input<string>>;
  /**
   * The namespace of the functions' decision metrics (default `IotEnterpriseAuth`, as the functions'); empty, as when
   * the functions' metrics are off: the dashboard has no decision widgets, only the alarms' metrics.
   */
  metricsNamespace?: string;
  /** An existing SNS topic (ARN) for the alarms; without it, the component creates one. */
  alarmTopicArn?: pulumi.Input<string>;
  /** E-mail addresses subscribed to the created topic (each must confirm); not allowed with `alarmTopicArn`. */
  alarmEmails?: string[];
  /** Thresholds and evaluation; see each field for its default. */
  thresholds?: OperationsAlarmThresholds;
}

export type CheckedThresholds = Required<OperationsAlarmThresholds>;

export interface CheckedOperationsAlarmsArgs {
  resourcePrefix: string;
  /** Undefined when the functions write no decision metrics (`metricsNamespace: ""`). */
  metricsNamespace: string | undefined;
  alarmEmails: string[];
  thresholds: CheckedThresholds;
}

const KNOWN = [
  "resourcePrefix",
  "tags",
  "kmsKeyArn",
  "authorizerFunctionName",
  "authorizerTimeoutSeconds",
  "deviceGrantFunctionName",
  "deviceGrantApiId",
  "deviceGrantApiStage",
  "provisioningClaimFunctionName",
  "provisioningHookFunctionName",
  "tableNames",
  "metricsNamespace",
  "alarmTopicArn",
  "alarmEmails",
  "thresholds",
];
const THRESHOLDS: (keyof OperationsAlarmThresholds)[] = [
  "periodSeconds",
  "evaluationPeriods",
  "datapointsToAlarm",
  "authorizerDurationMs",
  "functionErrors",
  "authorizerThrottles",
  "api5xx",
  "tableThrottles",
];
const EMAIL = /^[^\s@"<>]+@[^\s@"<>]+\.[^\s@"<>]+$/;

/** A non-negative number (`integer`: a whole one) at `path`, or a problem. */
function count(value: unknown, path: string, problems: Problem[], min = 0): void {
  if (value !== undefined && (typeof value !== "number" || !Number.isInteger(value) || value < min)) {
    problems.push(problemAt(path, `must be an integer of at least ${min}; got ${JSON.stringify(value)}`));
  }
}

function checkThresholds(given: OperationsAlarmThresholds | undefined, timeoutSeconds: number, problems: Problem[]): CheckedThresholds {
  const t = given ?? {};
  problems.push(...unknownFields(t, THRESHOLDS, "thresholds"));
  for (const field of THRESHOLDS)
    count(t[field], `thresholds.${field}`, problems, ["evaluationPeriods", "datapointsToAlarm"].includes(field) ? 1 : 0);
  const d = OPERATIONS_ALARMS_DEFAULTS.thresholds;
  const period = t.periodSeconds ?? d.periodSeconds;
  if (![10, 30].includes(period) && (period < 60 || period % 60 !== 0)) {
    problems.push(problemAt("thresholds.periodSeconds", `must be 10, 30 or a multiple of 60; got ${period}`));
  }
  const evaluationPeriods = t.evaluationPeriods ?? d.evaluationPeriods;
  const datapointsToAlarm = t.datapointsToAlarm ?? Math.min(d.datapointsToAlarm, evaluationPeriods);
  if (datapointsToAlarm > evaluationPeriods) {
    problems.push(
      problemAt("thresholds.datapointsToAlarm", `must be at most evaluationPeriods (${evaluationPeriods}); got ${datapointsToAlarm}`),
    );
  }
  const budget = Math.min(timeoutSeconds * 1000, IOT_AUTHORIZER_BUDGET_MS);
  const durationMs = t.authorizerDurationMs ?? Math.floor(budget * 0.8);
  if (durationMs > budget) {
    problems.push(
      problemAt(
        "thresholds.authorizerDurationMs",
        `must be at most ${budget} ms (the function's timeout or IoT's 5 s budget); got ${durationMs}`,
      ),
    );
  }
  return {
    periodSeconds: period,
    evaluationPeriods,
    datapointsToAlarm,
    authorizerDurationMs: durationMs,
    functionErrors: t.functionErrors ?? d.functionErrors,
    authorizerThrottles: t.authorizerThrottles ?? d.authorizerThrottles,
    api5xx: t.api5xx ?? d.api5xx,
    tableThrottles: t.tableThrottles ?? d.tableThrottles,
  };
}

/** Checks every argument and fills in defaults, or throws one `ConfigurationError` listing every problem. */
export function checkOperationsAlarmsArgs(name: string, args: OperationsAlarmsArgs, stack: string): CheckedOperationsAlarmsArgs {
  return checkedOrThrow(operationsAlarmsProblems(name, args, stack), `OperationsAlarms ${name}`);
}

/** Every problem of the arguments, with the checked arguments (the stack program reports the problems as its settings). */
export function operationsAlarmsProblems(
  name: string,
  args: OperationsAlarmsArgs,
  stack: string,
): { checked: CheckedOperationsAlarmsArgs; problems: Problem[] } {
  const problems: Problem[] = [];
  problems.push(...unknownFields(args, KNOWN, "arguments"));
  checkComponentArgs(args, problems);
  const resourcePrefix = checkResourcePrefix(name, args.resourcePrefix, stack, "alarm and dashboard names", problems);
  const timeoutSeconds = args.authorizerTimeoutSeconds ?? OPERATIONS_ALARMS_DEFAULTS.authorizerTimeoutSeconds;
  count(args.authorizerTimeoutSeconds, "authorizerTimeoutSeconds", problems, 1);
  // Checked with the shared arguments (checkComponentArgs); empty (no metrics) leaves the dashboard's default.
  const metricsNamespace =
    args.metricsNamespace === "" ? undefined : (args.metricsNamespace ?? OPERATIONS_ALARMS_DEFAULTS.metricsNamespace);
  for (const key of Object.keys(args.tableNames ?? {})) {
    if (!/^[A-Za-z0-9-]{1,32}$/.test(key)) problems.push(problemAt(`tableNames.${key}`, "must be keyed by 1-32 letters, digits or -"));
  }
  const alarmEmails = args.alarmEmails ?? [];
  if (!Array.isArray(alarmEmails)) problems.push(problemAt("alarmEmails", "must be a list of e-mail addresses"));
  else {
    alarmEmails.forEach((email, i) => {
      if (typeof email !== "string" || !EMAIL.test(email))
        problems.push(problemAt(`alarmEmails[${i}]`, `is not an e-mail address: ${JSON.stringify(email)}`));
    });
    const seen = new Set<string>();
    alarmEmails.forEach((email, i) => {
      const key = typeof email === "string" ? email.toLowerCase() : "";
      if (seen.has(key)) problems.push(problemAt(`alarmEmails[${i}]`, `repeats ${JSON.stringify(email)}: each address is subscribed once`));
      seen.add(key);
    });
    if (alarmEmails.length > 0 && args.alarmTopicArn !== undefined) {
      problems.push(problemAt("alarmEmails", "cannot be used with alarmTopicArn: subscribe them to that topic where it is managed"));
    }
  }
  if (typeof args.alarmTopicArn === "string" && !/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/.test(args.alarmTopicArn)) {
    problems.push(problemAt("alarmTopicArn", `must be an SNS topic ARN; got ${JSON.stringify(args.alarmTopicArn)}`));
  }
  const thresholds = checkThresholds(args.thresholds, timeoutSeconds, problems);
  return { checked: { resourcePrefix, metricsNamespace, alarmEmails, thresholds }, problems };
}
