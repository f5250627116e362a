/**
 * `OperationsAlarms`: the CloudWatch alarms worth paging on for a deployed stack, and a dashboard of the functions'
 * decisions. It watches whatever it is given (the authorizer, the device grant and its API, the fleet provisioning
 * functions, DynamoDB tables; each optional) and sends every alarm, and its return to OK, to one SNS topic: one
 * given, or one it creates (encrypted, with optional e-mail subscriptions). What each alarm means and what to do
 * when it fires: docs/operations.md#alarms.
 *
 * `treatMissingData`: an errors, throttles or 5xx alarm treats no data as not breaching (no invocations, no
 * errors: a quiet night must not page); the duration alarm keeps its state on missing data (no invocation says
 * nothing about how slow the next one will be).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
  checkOperationsAlarmsArgs,
  type CheckedThresholds,
  OPERATIONS_ALARMS_DEFAULTS,
  type OperationsAlarmsArgs,
} from "./operations-alarms-args";
import { operationsDashboardBody } from "./operations-dashboard";

/** One alarm, before it is declared: what it watches and how it judges. */
interface AlarmSpec {
  key: string;
  description: string;
  metric?: {
    namespace: string;
    metricName: string;
    dimensions: pulumi.Input<Record<string, pulumi.Input<string>>>;
    statistic?: string;
    extendedStatistic?: string;
  };
  metricQueries?: aws.types.input.cloudwatch.MetricAlarmMetricQuery[];
  threshold: number;
  treatMissingData: "notBreaching" | "missing";
}

/** The alarms of a Lambda function: errors (and, for the authorizer, throttles and p99 duration). */
function functionAlarms(
  key: string,
  what: string,
  functionName: pulumi.Input<string>,
  t: CheckedThresholds,
  authorizer: boolean,
): AlarmSpec[] {
  const lambda = (metricName: string, stat: { statistic?: string; extendedStatistic?: string }) => ({
    namespace: "AWS/Lambda",
    metricName,
    dimensions: { FunctionName: functionName },
    ...stat,
  });
  const alarms: AlarmSpec[] = [
    {
      key: `${key}-errors`,
      description: `${what}: invocations that failed (a crash or a timeout, not a refusal). docs/operations.md#alarms`,
      metric: lambda("Errors", { statistic: "Sum" }),
      threshold: t.functionErrors,
      treatMissingData: "notBreaching",
    },
  ];
  if (!authorizer) return alarms;
  return [
    ...alarms,
    {
      key: `${key}-throttles`,
      description: `${what}: invocations Lambda throttled (IoT refuses those devices). docs/operations.md#alarms`,
      metric: lambda("Throttles", { statistic: "Sum" }),
      threshold: t.authorizerThrottles,
      treatMissingData: "notBreaching",
    },
    {
      key: `${key}-duration`,
      description: `${what}: p99 duration near IoT's 5 s budget or the function's timeout. docs/operations.md#alarms`,
      metric: lambda("Duration", { extendedStatistic: "p99" }),
      threshold: t.authorizerDurationMs,
      treatMissingData: "missing",
    },
  ];
}

/** Throttled reads and writes of one table, summed by metric math. */
function tableAlarm(key: string, tableName: pulumi.Input<string>, t: CheckedThresholds): AlarmSpec {
  const events = (id: string, metricName: string): aws.types.input.cloudwatch.MetricAlarmMetricQuery => ({
    id,
    returnData: false,
    metric: { namespace: "AWS/DynamoDB", metricName, dimensions: { TableName: tableName }, period: t.periodSeconds, stat: "Sum" },
  });
  return {
    key: `table-${key}-throttles`,
    description: `DynamoDB table ${key}: throttled reads and writes. docs/operations.md#alarms`,
    metricQueries: [
      events("reads", "ReadThrottleEvents"),
      events("writes", "WriteThrottleEvents"),
      { id: "throttles", expression: "reads + writes", label: "Throttled reads and writes", returnData: true },
    ],
    threshold: t.tableThrottles,
    treatMissingData: "notBreaching",
  };
}

export class OperationsAlarms extends pulumi.ComponentResource {
  /** The topic every alarm notifies (given or created). */
  readonly alarmTopicArn: pulumi.Output<string>;
  /** The alarms' names, by key (`authorizer-errors`, `device-grant-5xx`, `table-<key>-throttles`, …). */
  readonly alarmNames: pulumi.Output<Record<string, string>>;
  /** The dashboard's name. */
  readonly dashboardName: pulumi.Output<string>;

  constructor(name: string, args: OperationsAlarmsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("iot-enterprise-auth:monitoring:OperationsAlarms", name, {}, opts);
    const checked = checkOperationsAlarmsArgs(name, args, pulumi.getStack());
    const { resourcePrefix: prefix, thresholds: t } = checked;
    const parent = { parent: this };

    this.alarmTopicArn =
      args.alarmTopicArn !== undefined ? pulumi.output(args.alarmTopicArn) : this.createTopic(name, prefix, args, checked.alarmEmails);

    const specs: AlarmSpec[] = [
      ...(args.authorizerFunctionName !== undefined
        ? functionAlarms("authorizer", "IoT custom authorizer", args.authorizerFunctionName, t, true)
        : []),
      ...(args.deviceGrantFunctionName !== undefined
        ? functionAlarms("device-grant", "Device grant", args.deviceGrantFunctionName, t, false)
        : []),
      ...(args.deviceGrantApiId !== undefined
        ? [
            {
              key: "device-grant-5xx",
              description: "Device grant API: 5xx answers (server_error, an integration failure or timeout). docs/operations.md#alarms",
              metric: {
                namespace: "AWS/ApiGateway",
                metricName: "5xx",
                dimensions: {
                  ApiId: args.deviceGrantApiId,
                  Stage: args.deviceGrantApiStage ?? OPERATIONS_ALARMS_DEFAULTS.deviceGrantApiStage,
                },
                statistic: "Sum",
              },
              threshold: t.api5xx,
              treatMissingData: "notBreaching" as const,
            },
          ]
        : []),
      ...(args.provisioningClaimFunctionName !== undefined
        ? functionAlarms("provisioning-claim", "Provisioning claim route", args.provisioningClaimFunctionName, t, false)
        : []),
      ...(args.provisioningHookFunctionName !== undefined
        ? functionAlarms("provisioning-hook", "Pre-provisioning hook", args.provisioningHookFunctionName, t, false)
        : []),
      ...Object.entries(args.tableNames ?? {}).map(([key, table]) => tableAlarm(key, table, t)),
    ];
    const alarms = specs.map((spec) => {
      const alarm = new aws.cloudwatch.MetricAlarm(
        `${name}-${spec.key}`,
        {
          name: `${prefix}-${spec.key}`,
          alarmDescription: spec.description,
          ...(spec.metric && { ...spec.metric, period: t.periodSeconds }),
          ...(spec.metricQueries && { metricQueries: spec.metricQueries }),
          comparisonOperator: "GreaterThanThreshold",
          threshold: spec.threshold,
          evaluationPeriods: t.evaluationPeriods,
          datapointsToAlarm: t.datapointsToAlarm,
          treatMissingData: spec.treatMissingData,
          alarmActions: [this.alarmTopicArn],
          okActions: [this.alarmTopicArn],
          tags: args.tags,
        },
        parent,
      );
      return [spec.key, alarm] as const;
    });
    this.alarmNames = pulumi.output(Object.fromEntries(alarms.map(([key, alarm]) => [key, alarm.name])));

    const dashboard = new aws.cloudwatch.Dashboard(
      `${name}-dashboard`,
      {
        dashboardName: prefix,
        dashboardBody: operationsDashboardBody(
          args,
          checked,
          alarms.map(([, a]) => a.arn),
          aws.getRegionOutput({}, parent).region,
        ),
      },
      parent,
    );
    this.dashboardName = dashboard.dashboardName;
    this.registerOutputs({ alarmTopicArn: this.alarmTopicArn, alarmNames: this.alarmNames, dashboardName: this.dashboardName });
  }

  /**
   * A topic of its own with the e-mail subscriptions; encrypted with the given key only. CloudWatch can publish to an
   * encrypted topic only when the key's policy lets `cloudwatch.amazonaws.com` use it, which SNS's AWS managed key
   * (`alias/aws/sns`) never does: alarms would deploy and never arrive (docs/operations.md#alarms).
   */
  private createTopic(name: string, prefix: string, args: OperationsAlarmsArgs, emails: string[]): pulumi.Output<string> {
    const topic = new aws.sns.Topic(
      `${name}-alarms`,
      { name: `${prefix}-alarms`, ...(args.kmsKeyArn !== undefined && { kmsMasterKeyId: args.kmsKeyArn }), tags: args.tags },
      { parent: this },
    );
    emails.forEach(
      (email, i) =>
        new aws.sns.TopicSubscription(
          `${name}-alarms-email-${i}`,
          { topic: topic.arn, protocol: "email", endpoint: email },
          { parent: this },
        ),
    );
    return topic.arn;
  }
}
