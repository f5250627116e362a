import type * as pulumi from "@pulumi/pulumi";
import { type ConfigurationError } from "../../functions/shared/problems";
import { OperationsAlarms } from "../../infra/operations-alarms";
import { checkOperationsAlarmsArgs, type OperationsAlarmsArgs } from "../../infra/operations-alarms-args";
import { allRegistered, captureChildren } from "../helpers/capture";
import { MOCK_STACK, setupMocks, unwrap, type MockRecorder } from "../../support/pulumi-mocks";

const T = {
  alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
  dashboard: "aws:cloudwatch/dashboard:Dashboard",
  topic: "aws:sns/topic:Topic",
  subscription: "aws:sns/topicSubscription:TopicSubscription",
};
const TOPIC = `arn:aws:sns:eu-west-1:123456789012:ops-${MOCK_STACK}-alarms`;
const PREFIX = `ops-${MOCK_STACK}`;

let mocks: MockRecorder;
beforeEach(() => {
  mocks = setupMocks({ region: "eu-west-1" });
});

const everything: OperationsAlarmsArgs = {
  authorizerFunctionName: "auth-prod",
  deviceGrantFunctionName: "grant-prod",
  deviceGrantApiId: "a1b2c3d4e5",
  provisioningClaimFunctionName: "claims-prod",
  provisioningHookFunctionName: "hook-prod",
  tableNames: { grant: "grant-requests-prod", bindings: "claim-bindings-prod" },
  alarmEmails: ["oncall@example.com"],
};

async function create(args: OperationsAlarmsArgs = everything): Promise<OperationsAlarms> {
  const { transformation, captured } = captureChildren();
  const ops = new OperationsAlarms("ops", args, { transformations: [transformation] });
  await allRegistered(captured);
  await Promise.all([ops.alarmTopicArn, ops.alarmNames, ops.dashboardName].map((o) => unwrap(o as pulumi.Output<unknown>)));
  await new Promise((resolve) => setTimeout(resolve, 20));
  return ops;
}

const alarm = (key: string) => {
  const found = mocks.byType(T.alarm).find((a) => a.inputs.name === `${PREFIX}-${key}`);
  if (!found) throw new Error(`no alarm ${key}`);
  return found.inputs;
};
const judged = { comparisonOperator: "GreaterThanThreshold", evaluationPeriods: 5, datapointsToAlarm: 2, period: 60 };
const actions = { alarmActions: [TOPIC], okActions: [TOPIC] };

describe("OperationsAlarms", () => {
  it("declares one alarm per watched signal, an encrypted topic with the e-mail subscription, and a dashboard", async () => {
    const ops = await create();
    expect(
      mocks
        .byType(T.alarm)
        .map((a) => a.inputs.name)
        .sort(),
    ).toEqual(
      [
        "authorizer-errors",
        "authorizer-throttles",
        "authorizer-duration",
        "device-grant-errors",
        "device-grant-5xx",
        "provisioning-claim-errors",
        "provisioning-hook-errors",
        "table-grant-throttles",
        "table-bindings-throttles",
      ]
        .map((k) => `${PREFIX}-${k}`)
        .sort(),
    );
    // Not SNS's AWS managed key: CloudWatch cannot use it, so alarms would never arrive.
    expect(mocks.one(T.topic).inputs).toEqual({ name: `${PREFIX}-alarms` });
    expect(mocks.one(T.subscription).inputs).toEqual({ topic: TOPIC, protocol: "email", endpoint: "oncall@example.com" });
    expect(await unwrap(ops.alarmTopicArn)).toBe(TOPIC);
    expect(await unwrap(ops.dashboardName)).toBe(PREFIX);
  });

  it("watches the authorizer's errors, throttles and p99 duration at 80% of its 3 s timeout", async () => {
    await create();
    expect(alarm("authorizer-errors")).toEqual({
      name: `${PREFIX}-authorizer-errors`,
      alarmDescription: expect.stringContaining("docs/operations.md#alarms"),
      namespace: "AWS/Lambda",
      metricName: "Errors",
      dimensions: { FunctionName: "auth-prod" },
      statistic: "Sum",
      threshold: 0,
      treatMissingData: "notBreaching",
      ...judged,
      ...actions,
    });
    expect(alarm("authorizer-throttles")).toMatchObject({
      metricName: "Throttles",
      statistic: "Sum",
      threshold: 0,
      treatMissingData: "notBreaching",
      ...actions,
    });
    const duration = alarm("authorizer-duration");
    expect(duration).toMatchObject({
      namespace: "AWS/Lambda",
      metricName: "Duration",
      dimensions: { FunctionName: "auth-prod" },
      extendedStatistic: "p99",
      threshold: 2400,
      treatMissingData: "missing",
      ...judged,
      ...actions,
    });
    expect(duration.statistic).toBeUndefined();
  });

  it("watches the device grant API's 5xx by ApiId and Stage, and each table's read and write throttles", async () => {
    await create();
    expect(alarm("device-grant-5xx")).toMatchObject({
      namespace: "AWS/ApiGateway",
      metricName: "5xx",
      dimensions: { ApiId: "a1b2c3d4e5", Stage: "$default" },
      statistic: "Sum",
      threshold: 0,
      treatMissingData: "notBreaching",
      ...judged,
      ...actions,
    });
    const table = alarm("table-grant-throttles");
    expect(table.metricQueries).toEqual([
      {
        id: "reads",
        returnData: false,
        metric: {
          namespace: "AWS/DynamoDB",
          metricName: "ReadThrottleEvents",
          dimensions: { TableName: "grant-requests-prod" },
          period: 60,
          stat: "Sum",
        },
      },
      {
        id: "writes",
        returnData: false,
        metric: {
          namespace: "AWS/DynamoDB",
          metricName: "WriteThrottleEvents",
          dimensions: { TableName: "grant-requests-prod" },
          period: 60,
          stat: "Sum",
        },
      },
      { id: "throttles", expression: "reads + writes", label: "Throttled reads and writes", returnData: true },
    ]);
    expect(table).toMatchObject({
      threshold: 0,
      comparisonOperator: "GreaterThanThreshold",
      evaluationPeriods: 5,
      datapointsToAlarm: 2,
      ...actions,
    });
    expect(table.namespace).toBeUndefined();
  });

  it("uses a given topic, creates none, and takes every threshold given", async () => {
    const given = "arn:aws:sns:eu-west-1:123456789012:pager";
    await create({
      authorizerFunctionName: "auth-prod",
      authorizerTimeoutSeconds: 5,
      alarmTopicArn: given,
      thresholds: {
        periodSeconds: 300,
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
        authorizerDurationMs: 4500,
        functionErrors: 5,
        authorizerThrottles: 10,
      },
    });
    expect(mocks.byType(T.topic)).toHaveLength(0);
    expect(alarm("authorizer-duration")).toMatchObject({
      threshold: 4500,
      period: 300,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      alarmActions: [given],
      okActions: [given],
    });
    expect(alarm("authorizer-errors")).toMatchObject({ threshold: 5 });
    expect(alarm("authorizer-throttles")).toMatchObject({ threshold: 10 });
    expect(mocks.byType(T.alarm)).toHaveLength(3);
  });

  it("builds a dashboard of the decision metrics (EMF) and of the alarms' metrics, with the real names", async () => {
    await create({ authorizerFunctionName: "auth-prod", deviceGrantFunctionName: "grant-prod", metricsNamespace: "Acme/Auth" });
    const body = JSON.parse(String(mocks.one(T.dashboard).inputs.dashboardBody));
    const byTitle = Object.fromEntries(body.widgets.map((w: { properties: { title: string } }) => [w.properties.title, w.properties]));
    expect(Object.keys(byTitle)).toEqual([
      "Authorizer: allows and denials",
      "Authorizer: denials by check",
      "Device grant: outcomes by endpoint",
      "Lambda: errors",
      "Authorizer: throttles",
      "Authorizer: duration p99 (ms)",
      "Alarms",
    ]);
    expect(byTitle["Authorizer: allows and denials"]).toMatchObject({
      region: "eu-west-1",
      stat: "Sum",
      period: 60,
      metrics: [
        ["Acme/Auth", "AuthorizerDecisions", "Function", "auth-prod", "Decision", "Allow"],
        [".", ".", ".", ".", ".", "Deny"],
      ],
    });
    expect(byTitle["Authorizer: denials by check"].metrics[0][0].expression).toBe(
      `SEARCH('{"Acme/Auth",Function,Decision,Check} MetricName="AuthorizerDecisions" Function="auth-prod" Decision="Deny"', 'Sum', 60)`,
    );
    expect(byTitle["Device grant: outcomes by endpoint"].metrics[0][0].expression).toBe(
      `SEARCH('{"Acme/Auth",Function,Endpoint,Outcome} MetricName="DeviceGrantOutcomes" Function="grant-prod"', 'Sum', 60)`,
    );
    expect(byTitle["Authorizer: duration p99 (ms)"]).toMatchObject({
      stat: "p99",
      metrics: [["AWS/Lambda", "Duration", "FunctionName", "auth-prod"]],
    });
    expect(byTitle.Alarms.alarms).toHaveLength(4);
  });

  it("with the functions' metrics off (metricsNamespace empty), the dashboard keeps the alarms' metrics only", async () => {
    await create({ authorizerFunctionName: "auth-prod", deviceGrantFunctionName: "grant-prod", metricsNamespace: "" });
    const body = JSON.parse(String(mocks.one(T.dashboard).inputs.dashboardBody));
    expect(body.widgets.map((w: { properties: { title: string } }) => w.properties.title)).toEqual([
      "Lambda: errors",
      "Authorizer: throttles",
      "Authorizer: duration p99 (ms)",
      "Alarms",
    ]);
  });

  it("with nothing to watch, declares a topic and an empty dashboard, and no alarm", async () => {
    await create({});
    expect(mocks.byType(T.alarm)).toHaveLength(0);
    expect(JSON.parse(String(mocks.one(T.dashboard).inputs.dashboardBody))).toEqual({ widgets: [] });
  });
});

describe("checkOperationsAlarmsArgs", () => {
  it("lists every problem at once, unknown fields by name", () => {
    let error: ConfigurationError | undefined;
    try {
      checkOperationsAlarmsArgs(
        "ops",
        {
          metricsNamespace: "AWS/Mine",
          alarmEmails: ["not-an-address", "oncall@example.com", "OnCall@example.com"],
          alarmTopicArn: "arn:aws:sns:eu-west-1:123456789012:pager",
          tableNames: { "bad key": "t" },
          thresholds: { periodSeconds: 45, authorizerDurationMs: 6000, datapointsToAlarm: 9, evaluationPeriods: 5, api5xxx: 1 } as never,
          alarmTopic: "x",
        } as never,
        "prod",
      );
    } catch (err) {
      error = err as ConfigurationError;
    }
    expect(error?.problems).toEqual([
      'arguments: unknown field "alarmTopic"',
      'metricsNamespace must be 1-255 of letters, digits and . - _ / # : or space, not under AWS/; got "AWS/Mine"',
      "tableNames.bad key must be keyed by 1-32 letters, digits or -",
      'alarmEmails[0] is not an e-mail address: "not-an-address"',
      'alarmEmails[2] repeats "OnCall@example.com": each address is subscribed once',
      "alarmEmails cannot be used with alarmTopicArn: subscribe them to that topic where it is managed",
      'thresholds: unknown field "api5xxx" (did you mean api5xx?)',
      "thresholds.periodSeconds must be 10, 30 or a multiple of 60; got 45",
      "thresholds.datapointsToAlarm must be at most evaluationPeriods (5); got 9",
      "thresholds.authorizerDurationMs must be at most 3000 ms (the function's timeout or IoT's 5 s budget); got 6000",
    ]);
  });
});
