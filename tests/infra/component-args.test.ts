/**
 * The arguments every function-deploying component shares (infra/component-args.ts, infra/bundled-function.ts):
 * a permissions boundary on every role it creates, the customer managed key on everything it keeps at rest, reserved
 * concurrency on each function, and the outputs teams attach alarms and policies to. Each component is run under the
 * mocks with all of them set, and every role, log group, parameter, table and function it declares is checked.
 */
import type { ConfigurationError } from "../../functions/shared/problems";
import { allRegistered, captureChildren } from "../helpers/capture";
import { MOCK_STACK, setupMocks, unwrap, type MockRecorder } from "../../support/pulumi-mocks";

jest.mock("../../infra/bundle", () => jest.requireActual("../helpers/bundle-stub").stubbedBundleModule());

import { DeviceGrant } from "../../infra/device-grant";
import { type DeviceGrantArgs } from "../../infra/device-grant-args";
import { FleetProvisioning } from "../../infra/fleet-provisioning";
import { type FleetProvisioningArgs } from "../../infra/fleet-provisioning-args";
import { IotTokenAuthorizer } from "../../infra/iot-token-authorizer";
import { checkIotTokenAuthorizerArgs, type IotTokenAuthorizerArgs } from "../../infra/iot-token-authorizer-args";

const ACCOUNT = "123456789012";
const REGION = "eu-west-1";
const KMS_KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const BOUNDARY = `arn:aws:iam::${ACCOUNT}:policy/platform/workload-boundary`;
const POOL = `https://cognito-idp.${REGION}.amazonaws.com/${REGION}_Example`;
const HOSTED = `https://devices.auth.${REGION}.amazoncognito.com`;
const shared = { kmsKeyArn: KMS_KEY, permissionsBoundary: BOUNDARY };

const T = {
  role: "aws:iam/role:Role",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  parameter: "aws:ssm/parameter:Parameter",
  table: "aws:dynamodb/table:Table",
  function: "aws:lambda/function:Function",
};

const authorizerArgs: IotTokenAuthorizerArgs = {
  ...shared,
  issuers: [{ issuer: "https://openam.example.com/oauth2", algorithms: ["HS256"], sharedSecret: Buffer.alloc(32, 7).toString("base64") }],
  lambda: { reservedConcurrency: 50 },
};
const grantArgs: DeviceGrantArgs = {
  ...shared,
  clients: [{ clientId: "2example23456789abcdefghij", name: "Printer", type: "confidential", scopes: ["iot/device"], clientSecret: "s" }],
  upstream: { issuer: POOL, authorizationEndpoint: `${HOSTED}/oauth2/authorize`, tokenEndpoint: `${HOSTED}/oauth2/token` },
  lambda: { reservedConcurrency: 20 },
};
const fleetArgs: FleetProvisioningArgs = {
  ...shared,
  claims: { jwt: { issuer: POOL, audiences: ["1example23456789abcdefghij"] } },
  claimFunction: { reservedConcurrency: 5 },
  hookFunction: { reservedConcurrency: 10 },
};

let mocks: MockRecorder;
beforeEach(() => {
  mocks = setupMocks({ accountId: ACCOUNT, region: REGION });
});

async function declare<C>(make: (opts: { transformations: never[] }) => C, outputs: (c: C) => unknown[]): Promise<C> {
  const { transformation, captured } = captureChildren();
  const component = make({ transformations: [transformation] as never[] });
  await allRegistered(captured);
  await Promise.all(outputs(component).map((o) => unwrap(o as never)));
  await new Promise((resolve) => setTimeout(resolve, 20));
  return component;
}

/** What every component must do with the shared arguments, whatever it declares. */
function expectSharedArgumentsApplied(): void {
  const roles = mocks.byType(T.role);
  expect(roles.length).toBeGreaterThan(0);
  for (const role of roles)
    expect({ role: role.name, boundary: role.inputs.permissionsBoundary }).toEqual({ role: role.name, boundary: BOUNDARY });
  const logGroups = mocks.byType(T.logGroup);
  expect(logGroups.length).toBeGreaterThan(0);
  for (const group of logGroups) expect({ group: group.name, key: group.inputs.kmsKeyId }).toEqual({ group: group.name, key: KMS_KEY });
  for (const parameter of mocks.byType(T.parameter))
    expect({ parameter: parameter.name, key: parameter.inputs.keyId }).toEqual({ parameter: parameter.name, key: KMS_KEY });
  for (const table of mocks.byType(T.table))
    expect({ table: table.name, sse: table.inputs.serverSideEncryption }).toEqual({
      table: table.name,
      sse: { enabled: true, kmsKeyArn: KMS_KEY },
    });
}

function reserved(): Record<string, unknown> {
  return Object.fromEntries(mocks.byType(T.function).map((f) => [f.name, f.inputs.reservedConcurrentExecutions]));
}

describe("IotTokenAuthorizer's shared arguments", () => {
  it("bounds its role, encrypts its log group and secret parameter with the key, reserves concurrency, and decrypts with that key only", async () => {
    const auth = await declare(
      (opts) => new IotTokenAuthorizer("auth", authorizerArgs, opts),
      (a) => [a.functionRoleArn, a.logGroupName],
    );
    expectSharedArgumentsApplied();
    expect(mocks.byType(T.parameter)).toHaveLength(1);
    expect(reserved()).toEqual({ "auth-function": 50 });
    const policy = JSON.parse(mocks.one("aws:iam/rolePolicy:RolePolicy").inputs.policy as string);
    const decrypt = policy.Statement.find((s: { Sid: string }) => s.Sid === "DecryptSharedSecretsThroughSsm");
    expect(decrypt.Resource).toBe(KMS_KEY);
    expect(await unwrap(auth.functionRoleArn)).toBe(mocks.one(T.role).state.arn);
    expect(await unwrap(auth.logGroupName)).toBe(`/aws/lambda/auth-${MOCK_STACK}`);
  });

  it("leaves concurrency unreserved and the keys AWS's when not asked", async () => {
    await declare(
      (opts) => new IotTokenAuthorizer("auth", { issuers: authorizerArgs.issuers }, opts),
      (a) => [a.functionArn],
    );
    expect(reserved()).toEqual({ "auth-function": undefined });
    expect(mocks.one(T.logGroup).inputs.kmsKeyId).toBeUndefined();
    expect(mocks.one(T.role).inputs.permissionsBoundary).toBeUndefined();
  });
});

describe("DeviceGrant's shared arguments", () => {
  it("bounds its role, encrypts its table, parameter and both log groups with the key, and reserves concurrency", async () => {
    const grant = await declare(
      (opts) => new DeviceGrant("grant", grantArgs, opts),
      (g) => [g.functionRoleArn, g.logGroupName, g.accessLogGroupName, g.apiStageName],
    );
    expectSharedArgumentsApplied();
    expect(mocks.byType(T.logGroup)).toHaveLength(2);
    expect(reserved()).toEqual({ "grant-function": 20 });
    expect(await unwrap(grant.logGroupName)).toBe(`/aws/lambda/grant-${MOCK_STACK}`);
    expect(await unwrap(grant.accessLogGroupName)).toBe(`/aws/apigateway/grant-${MOCK_STACK}`);
    expect(await unwrap(grant.apiStageName)).toBe("$default");
    expect(await unwrap(grant.functionRoleArn)).toBe(mocks.one(T.role).state.arn);
  });
});

describe("FleetProvisioning's shared arguments", () => {
  it("bounds all three roles (IoT's provisioning role too), encrypts its table and log groups, and reserves each function's concurrency", async () => {
    const fleet = await declare(
      (opts) => new FleetProvisioning("fleet", fleetArgs, opts),
      (f) => [f.claimFunctionArn, f.hookFunctionArn, f.claimLogGroupName, f.hookLogGroupName],
    );
    expectSharedArgumentsApplied();
    expect(
      mocks
        .byType(T.role)
        .map((r) => r.name)
        .sort(),
    ).toEqual(["fleet-claim-role", "fleet-hook-role", "fleet-provisioning-role"]);
    expect(reserved()).toEqual({ "fleet-claim-function": 5, "fleet-hook-function": 10 });
    expect(await unwrap(fleet.claimLogGroupName)).toBe(`/aws/lambda/fleet-${MOCK_STACK}-claim`);
    expect(await unwrap(fleet.hookLogGroupName)).toBe(`/aws/lambda/fleet-${MOCK_STACK}-hook`);
    expect(await unwrap(fleet.hookFunctionArn)).toBe(mocks.named(T.function, "fleet-hook-function").state.arn);
  });
});

describe("the shared arguments' checks", () => {
  const problemsOf = (make: () => unknown): string[] => {
    try {
      make();
      return [];
    } catch (err) {
      return (err as ConfigurationError).problems;
    }
  };
  const bad = { kmsKeyArn: "alias/aws/ssm", permissionsBoundary: "arn:aws:iam::123456789012:role/not-a-policy" };

  it("refuses a key alias, a boundary that is not a managed policy, and zero or fractional reserved concurrency, in every component", () => {
    const expected = [
      'kmsKeyArn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), not an alias; got "alias/aws/ssm"',
      'permissionsBoundary must be the ARN of an IAM managed policy (arn:aws:iam::<account>:policy/<name>); got "arn:aws:iam::123456789012:role/not-a-policy"',
    ];
    const reservedProblem = (path: string, value: number) =>
      `${path} must be a whole number of executions, 1 or more (0 would stop the function; leave it out for none); got ${value}`;
    expect(problemsOf(() => new IotTokenAuthorizer("auth", { ...authorizerArgs, ...bad, lambda: { reservedConcurrency: 0 } }))).toEqual([
      reservedProblem("lambda.reservedConcurrency", 0),
      ...expected,
    ]);
    expect(problemsOf(() => new DeviceGrant("grant", { ...grantArgs, ...bad, lambda: { reservedConcurrency: 2.5 } }))).toEqual([
      reservedProblem("lambda.reservedConcurrency", 2.5),
      ...expected,
    ]);
    expect(problemsOf(() => new FleetProvisioning("fleet", { ...fleetArgs, ...bad, hookFunction: { reservedConcurrency: -1 } }))).toEqual([
      reservedProblem("hookFunction.reservedConcurrency", -1),
      ...expected,
    ]);
    expect(mocks.resources).toEqual([]);
  });

  it("accepts a partition's ARNs and an AWS managed boundary", () => {
    const cn = {
      kmsKeyArn: "arn:aws-cn:kms:cn-north-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
      permissionsBoundary: "arn:aws:iam::aws:policy/PowerUserAccess",
    };
    expect(problemsOf(() => checkIotTokenAuthorizerArgs("auth", { ...authorizerArgs, ...cn }, "dev"))).toEqual([]);
  });
});

describe("the tables' deletion protection", () => {
  it("is on by default and off only when asked, in both components that keep a table", async () => {
    await declare(
      (opts) => new DeviceGrant("grant", { ...grantArgs, deletionProtection: false }, opts),
      (g) => [g.tableArn],
    );
    await declare(
      (opts) => new FleetProvisioning("fleet", fleetArgs, opts),
      (f) => [f.tableArn],
    );
    expect(Object.fromEntries(mocks.byType(T.table).map((t) => [t.name, t.inputs.deletionProtectionEnabled]))).toEqual({
      "grant-table": false,
      "fleet-table": true,
    });
  });
});
