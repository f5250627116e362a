/**
 * The stack's operations alarms: off in the dev stack, on with `alarmsEnabled`, `alarmTopicArn` or `alarmEmails`,
 * watching the functions, API and tables the stack declares by their real names; `metricsNamespace` reaches the
 * functions and the dashboard alike; problems are named by the stack settings, all at once, before anything is declared.
 */
import type * as pulumi from "@pulumi/pulumi";
import { ConfigurationError } from "../../functions/shared/problems";
import { PROJECT, readStackConfig } from "../../stacks/config";
import { defineStack } from "../../stacks/program";
import { MOCK_STACK, setupMocks, unwrap, type MockRecorder } from "../../support/pulumi-mocks";
import { readStackFile } from "../../support/stack-files";

jest.mock("../../infra/bundle", () => ({
  ...jest.requireActual("../../infra/bundle"),
  functionArchive: () => new (jest.requireActual("@pulumi/pulumi") as typeof pulumi).asset.AssetArchive({}),
}));

const key = (k: string) => `${PROJECT}:${k}`;
const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";

function setup(extra: Record<string, unknown> = {}): MockRecorder {
  const config: Record<string, string | number | boolean | object> = { [key("sharedSecret")]: Buffer.alloc(48, 9).toString("base64") };
  for (const [k, v] of Object.entries({ ...readStackFile("dev"), ...extra })) config[k] = v as string | number | boolean | object;
  return setupMocks({ config, secretKeys: [key("sharedSecret")], project: PROJECT });
}

async function declare(): Promise<ReturnType<typeof defineStack>> {
  const outputs = defineStack();
  await Promise.all(Object.values(outputs).map((o) => unwrap(o as pulumi.Output<unknown>)));
  if (outputs.alarms) await Promise.all([unwrap(outputs.alarms.alarmTopicArn), unwrap(outputs.alarms.dashboardName)]);
  await new Promise((resolve) => setTimeout(resolve, 50));
  return outputs;
}

it("the dev stack declares no alarm: nobody is paged for a development stack", async () => {
  const mocks = setup();
  const outputs = await declare();
  expect(mocks.byType(ALARM)).toHaveLength(0);
  expect(outputs.alarms).toBeUndefined();
});

it("alarmEmails turns the alarms on: a topic with the subscription, alarms on the authorizer, the device grant, its API, fleet provisioning and both tables", async () => {
  const mocks = setup({ [key("alarmEmails")]: "oncall@example.com, second@example.com" });
  const outputs = await declare();
  const names = mocks.byType(ALARM).map((a) => String(a.inputs.name).replace(`operations-${MOCK_STACK}-`, ""));
  expect(names.sort()).toEqual(
    [
      "authorizer-errors",
      "authorizer-throttles",
      "authorizer-duration",
      "device-grant-errors",
      "device-grant-5xx",
      "provisioning-claim-errors",
      "provisioning-hook-errors",
      "table-device-grant-throttles",
      "table-claim-bindings-throttles",
    ].sort(),
  );
  const fn = await unwrap(outputs.functionName);
  const errors = mocks.byType(ALARM).find((a) => String(a.inputs.name).endsWith("-authorizer-errors"))?.inputs;
  expect(errors).toMatchObject({ namespace: "AWS/Lambda", metricName: "Errors", dimensions: { FunctionName: fn } });
  expect(mocks.byType("aws:sns/topicSubscription:TopicSubscription").map((s) => s.inputs.endpoint)).toEqual([
    "oncall@example.com",
    "second@example.com",
  ]);
  expect(await unwrap(outputs.alarms?.alarmTopicArn as pulumi.Output<string>)).toMatch(/^arn:aws:sns:.*:operations-test-alarms$/);
  expect(await unwrap(outputs.alarms?.dashboardName as pulumi.Output<string>)).toBe(`operations-${MOCK_STACK}`);
});

it("metricsNamespace reaches every function's environment and the dashboard; the duration threshold is the setting", async () => {
  const mocks = setup({ [key("alarmsEnabled")]: true, [key("metricsNamespace")]: "Acme/Auth", [key("authorizerDurationAlarmMs")]: 1500 });
  await declare();
  for (const fn of mocks.byType("aws:lambda/function:Function"))
    expect(fn.inputs.environment).toMatchObject({ variables: { METRICS_NAMESPACE: "Acme/Auth" } });
  expect(String(mocks.one("aws:cloudwatch/dashboard:Dashboard").inputs.dashboardBody)).toContain('"Acme/Auth","AuthorizerDecisions"');
  expect(mocks.byType(ALARM).find((a) => String(a.inputs.name).endsWith("-authorizer-duration"))?.inputs.threshold).toBe(1500);
});

it("refuses wrong alarm settings at preview, naming each setting", () => {
  setup({
    [key("alarmTopicArn")]: "arn:aws:sns:eu-west-1:123456789012:pager",
    [key("alarmEmails")]: "not-an-address",
    [key("authorizerDurationAlarmMs")]: 9000,
    [key("metricsNamespace")]: "AWS/Lambda",
  });
  let error: unknown;
  try {
    readStackConfig();
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(ConfigurationError);
  expect((error as ConfigurationError).problems).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^metricsNamespace must be 1-255/),
      'alarmEmails[0] is not an e-mail address: "not-an-address"',
      "alarmEmails cannot be used with alarmTopicArn: subscribe them to that topic where it is managed",
      "authorizerDurationAlarmMs must be at most 3000 ms (the function's timeout or IoT's 5 s budget); got 9000",
    ]),
  );
});
