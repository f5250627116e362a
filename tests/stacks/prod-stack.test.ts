/**
 * `Pulumi.prod.yaml` is the production example teams copy: what it says beside each setting must be what the program
 * declares from it. Declared under mocks with its own settings only (the shared secret stands in for the
 * `pulumi config set --secret` its header asks for).
 */
import * as pulumi from "@pulumi/pulumi";
import { PROJECT } from "../../stacks/config";
import { defineStack } from "../../stacks/program";
import { type MockRecorder, setupMocks, unwrap } from "../../support/pulumi-mocks";
import { readStackFile } from "../../support/stack-files";

jest.mock("../../infra/bundle", () => ({
  ...jest.requireActual("../../infra/bundle"),
  functionArchive: () => mockArchive(),
}));
function mockArchive(): pulumi.asset.AssetArchive {
  return new pulumi.asset.AssetArchive({ "index.js": new pulumi.asset.StringAsset("exports.handler=async()=>({})") });
}

const prod = readStackFile("prod") as Record<string, unknown>;
const setting = (name: string) => prod[`${PROJECT}:${name}`];
let mocks: MockRecorder;

beforeAll(async () => {
  mocks = setupMocks({
    project: PROJECT,
    stack: "prod",
    config: { ...(prod as Record<string, object>), [`${PROJECT}:sharedSecret`]: Buffer.alloc(32, 7).toString("base64") },
    secretKeys: [`${PROJECT}:sharedSecret`],
  });
  const outputs = defineStack();
  await Promise.all(Object.values(outputs).map((o) => unwrap(o as pulumi.Output<unknown>)));
  await new Promise((resolve) => setTimeout(resolve, 100));
});

describe("Pulumi.prod.yaml", () => {
  it("keeps a year of logs, every log group encrypted with the stack's key", () => {
    const groups = mocks.byType("aws:cloudwatch/logGroup:LogGroup");
    expect(groups.length).toBeGreaterThanOrEqual(5);
    for (const group of groups) {
      expect({ name: group.name, retention: group.inputs.retentionInDays, key: group.inputs.kmsKeyId }).toEqual({
        name: group.name,
        retention: 365,
        key: setting("kmsKeyArn"),
      });
    }
  });

  it("encrypts every table with the key, keeps point-in-time recovery and refuses deletion", () => {
    const tables = mocks.byType("aws:dynamodb/table:Table");
    expect(tables).toHaveLength(2);
    for (const table of tables) {
      expect(table.inputs).toMatchObject({
        serverSideEncryption: { enabled: true, kmsKeyArn: setting("kmsKeyArn") },
        pointInTimeRecovery: { enabled: true },
        deletionProtectionEnabled: true,
      });
    }
    expect(mocks.one("aws:ssm/parameter:Parameter").inputs.keyId).toBe(setting("kmsKeyArn"));
  });

  it("puts every role under the organisation's permissions boundary", () => {
    const roles = mocks.byType("aws:iam/role:Role");
    expect(roles.length).toBeGreaterThanOrEqual(5);
    for (const role of roles)
      expect({ role: role.name, boundary: role.inputs.permissionsBoundary }).toEqual({
        role: role.name,
        boundary: setting("permissionsBoundary"),
      });
  });

  it("asks for MFA, enforces threat protection on the Plus plan, and protects the pool", () => {
    const pool = mocks.one("aws:cognito/userPool:UserPool").inputs;
    expect(pool).toMatchObject({
      mfaConfiguration: "ON",
      userPoolTier: "PLUS",
      userPoolAddOns: { advancedSecurityMode: "ENFORCED" },
      deletionProtection: "ACTIVE",
      passwordPolicy: expect.objectContaining({ minimumLength: 14 }),
    });
  });

  it("serves sign-in and the device grant at the organisation's own domains, and devices at its IoT domain", () => {
    const userPoolDomain = setting("userPoolDomain") as { customDomain: string; certificateArn: string };
    expect(mocks.one("aws:cognito/userPoolDomain:UserPoolDomain").inputs).toMatchObject({
      domain: userPoolDomain.customDomain,
      certificateArn: userPoolDomain.certificateArn,
    });
    const grantDomain = setting("deviceGrantDomain") as { domainName: string };
    expect(mocks.one("aws:apigatewayv2/domainName:DomainName").inputs.domainName).toBe(grantDomain.domainName);
    const iotDomain = setting("iotDomainConfiguration") as { name: string; domainName: string };
    expect(mocks.one("aws:iot/domainConfiguration:DomainConfiguration").inputs).toMatchObject({
      name: iotDomain.name,
      domainName: iotDomain.domainName,
      authorizerConfig: { defaultAuthorizerName: mocks.one("aws:iot/authorizer:Authorizer").inputs.name },
    });
  });

  it("reserves concurrency for the authorizer and the device grant, and throttles the API for a fleet", () => {
    const functions = mocks.byType("aws:lambda/function:Function");
    const reserved = Object.fromEntries(functions.map((f) => [f.name, f.inputs.reservedConcurrentExecutions]));
    expect(reserved).toMatchObject({ "iot-auth-function": 100, "device-grant-function": 50 });
    expect(mocks.one("aws:apigatewayv2/stage:Stage").inputs.defaultRouteSettings).toMatchObject({
      throttlingBurstLimit: 200,
      throttlingRateLimit: 100,
    });
  });

  it("pages the on-call address on every alarm, through a topic encrypted with the stack's key", () => {
    const topic = mocks.one("aws:sns/topic:Topic");
    expect(topic.inputs.kmsMasterKeyId).toBe(setting("kmsKeyArn"));
    expect(mocks.one("aws:sns/topicSubscription:TopicSubscription").inputs).toMatchObject({
      protocol: "email",
      endpoint: setting("alarmEmails"),
    });
    const alarms = mocks.byType("aws:cloudwatch/metricAlarm:MetricAlarm");
    expect(alarms.map((a) => a.name).sort()).toEqual(
      [
        "authorizer-duration",
        "authorizer-errors",
        "authorizer-throttles",
        "device-grant-5xx",
        "device-grant-errors",
        "provisioning-claim-errors",
        "provisioning-hook-errors",
        "table-claim-bindings-throttles",
        "table-device-grant-throttles",
      ].map((key) => `operations-${key}`),
    );
    expect(mocks.one("aws:cloudwatch/dashboard:Dashboard")).toBeDefined();
  });

  it("tags every taggable resource it declares", () => {
    const tagged = mocks.resources.filter((r) => r.inputs.tags !== undefined);
    expect(tagged.length).toBeGreaterThan(10);
    for (const r of tagged)
      expect({ resource: r.name, tags: r.inputs.tags }).toEqual({
        resource: r.name,
        tags: expect.objectContaining(setting("tags") as object),
      });
  });
});
