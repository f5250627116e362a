/**
 * The settings a production stack needs reach every component from the stack file: the customer managed key, the
 * permissions boundary, tags, reserved concurrency, table deletion protection, the user pool's plan, threat
 * protection and token lifetimes, an IoT domain configuration, an existing user pool with adopted clients. And a
 * setting the program does not know is refused, with the one it was probably meant to be, never ignored.
 */
import * as pulumi from "@pulumi/pulumi";
import { ConfigurationError } from "../../functions/shared/problems";
import { PROJECT } from "../../stacks/config";
import { defineStack } from "../../stacks/program";
import { setupMocks, unwrap, type MockRecorder } from "../../support/pulumi-mocks";
import { readStackFile } from "../../support/stack-files";

jest.mock("../../infra/bundle", () => ({
  ...jest.requireActual("../../infra/bundle"),
  functionArchive: () => mockArchive(),
}));
function mockArchive(): pulumi.asset.AssetArchive {
  return new pulumi.asset.AssetArchive({ "index.js": new pulumi.asset.StringAsset("exports.handler=async()=>({})") });
}

const key = (k: string) => `${PROJECT}:${k}`;
const KMS_KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const BOUNDARY = "arn:aws:iam::123456789012:policy/workload-boundary";
const TAGS = { team: "platform", environment: "prod" };
type Config = Record<string, string | number | boolean | object>;

function devStack(extra: Config = {}): Config {
  const config: Config = { [key("sharedSecret")]: Buffer.alloc(48, 9).toString("base64") };
  for (const [k, v] of Object.entries(readStackFile("dev"))) config[k] = v as string | number | boolean | object;
  return { ...config, ...extra };
}

async function declared(config: Config): Promise<MockRecorder> {
  const mocks = setupMocks({ config, secretKeys: [key("sharedSecret"), key("existingClientSecrets")], project: PROJECT });
  const outputs = defineStack();
  await Promise.all(Object.values(outputs).map((o) => unwrap(o as pulumi.Output<unknown>)));
  await new Promise((resolve) => setTimeout(resolve, 100));
  return mocks;
}

function refused(config: Config): string[] {
  setupMocks({ config, secretKeys: [key("sharedSecret")], project: PROJECT });
  try {
    defineStack();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigurationError);
    return (err as ConfigurationError).problems;
  }
  throw new Error("the configuration was accepted");
}

describe("a production stack's settings", () => {
  it("reach every component: the key, the boundary, the tags, reserved concurrency and table deletion protection", async () => {
    const mocks = await declared(
      devStack({
        [key("kmsKeyArn")]: KMS_KEY,
        [key("permissionsBoundary")]: BOUNDARY,
        [key("tags")]: TAGS,
        [key("functionReservedConcurrency")]: 100,
        [key("deviceGrantReservedConcurrency")]: 20,
        [key("tableDeletionProtection")]: true,
      }),
    );
    const roles = mocks.byType("aws:iam/role:Role");
    expect(roles.length).toBeGreaterThanOrEqual(4);
    expect(roles.filter((r) => r.inputs.permissionsBoundary !== BOUNDARY).map((r) => r.name)).toEqual([]);
    const logGroups = mocks.byType("aws:cloudwatch/logGroup:LogGroup");
    expect(logGroups.filter((g) => g.inputs.kmsKeyId !== KMS_KEY).map((g) => g.name)).toEqual([]);
    for (const table of mocks.byType("aws:dynamodb/table:Table")) {
      expect({ table: table.name, sse: table.inputs.serverSideEncryption, protected: table.inputs.deletionProtectionEnabled }).toEqual({
        table: table.name,
        sse: { enabled: true, kmsKeyArn: KMS_KEY },
        protected: true,
      });
    }
    for (const parameter of mocks.byType("aws:ssm/parameter:Parameter")) expect(parameter.inputs.keyId).toBe(KMS_KEY);
    // Pulumi keeps only what the program declares; a resource type that takes tags and got none would show here.
    const tagged = mocks.resources.filter((r) => r.type.startsWith("aws:") && "tags" in r.inputs);
    expect(tagged.length).toBeGreaterThan(15);
    for (const r of tagged) expect({ r: `${r.type} ${r.name}`, tags: r.inputs.tags }).toEqual({ r: `${r.type} ${r.name}`, tags: TAGS });
    expect(mocks.one("aws:cognito/userPool:UserPool").inputs.tags).toEqual(TAGS);
    const reserved = Object.fromEntries(
      mocks.byType("aws:lambda/function:Function").map((f) => [f.name, f.inputs.reservedConcurrentExecutions]),
    );
    expect(reserved).toEqual({
      "iot-auth-function": 100,
      "device-grant-function": 20,
      "fleet-claim-function": undefined,
      "fleet-hook-function": undefined,
    });
  });

  it("sets the user pool's plan, threat protection, password length and token lifetimes", async () => {
    const mocks = await declared(
      devStack({
        [key("userPoolFeaturePlan")]: "PLUS",
        [key("userPoolAdvancedSecurity")]: "ENFORCED",
        [key("userPoolMinimumPasswordLength")]: 16,
        [key("userPoolAccessTokenMinutes")]: 15,
        [key("userPoolIdTokenMinutes")]: 15,
        [key("userPoolRefreshTokenDays")]: 7,
      }),
    );
    const pool = mocks.one("aws:cognito/userPool:UserPool").inputs;
    expect(pool.userPoolTier).toBe("PLUS");
    expect(pool.userPoolAddOns).toEqual({ advancedSecurityMode: "ENFORCED" });
    expect((pool.passwordPolicy as { minimumLength: number }).minimumLength).toBe(16);
    for (const client of mocks.byType("aws:cognito/userPoolClient:UserPoolClient")) {
      expect([client.inputs.accessTokenValidity, client.inputs.idTokenValidity, client.inputs.refreshTokenValidity]).toEqual([15, 15, 7]);
    }
  });

  it("makes the authorizer the default of an IoT domain configuration", async () => {
    const mocks = await declared(devStack({ [key("iotDomainConfiguration")]: { name: "devices" } }));
    const domain = mocks.one("aws:iot/domainConfiguration:DomainConfiguration").inputs;
    expect(domain.name).toBe("devices");
    expect((domain.authorizerConfig as { defaultAuthorizerName: string }).defaultAuthorizerName).toBe(
      mocks.one("aws:iot/authorizer:Authorizer").state.name,
    );
  });

  it("uses an existing user pool, adopting its confidential client with the secret setting, and creating the others", async () => {
    const clients = (readStackFile("dev")[key("deviceClients")] as { key: string }[]).map((c) =>
      c.key === "printer" ? { ...c, existingClientId: "2example23456789abcdefghij" } : c,
    );
    const config = devStack({
      [key("existingUserPool")]: { userPoolId: "eu-west-1_AbCdEf123", hostedUiUrl: "https://login.example.com" },
      [key("deviceClients")]: clients,
      [key("existingClientSecrets")]: { printer: "printer-secret" },
    });
    delete config[key("userPoolDeletionProtection")];
    const mocks = await declared(config);
    expect(mocks.byType("aws:cognito/userPool:UserPool")).toEqual([]);
    expect(
      mocks
        .byType("aws:cognito/userPoolClient:UserPoolClient")
        .map((c) => c.name)
        .sort(),
    ).toEqual(["users-client-installer", "users-client-tv"]);
    const grantConfig = JSON.parse(
      (mocks.named("aws:lambda/function:Function", "device-grant-function").inputs.environment as { variables: Record<string, string> })
        .variables.DEVICE_GRANT_CONFIG,
    );
    expect(grantConfig.upstream.issuer).toBe("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123");
    expect(grantConfig.upstream.tokenEndpoint).toBe("https://login.example.com/oauth2/token");
    expect(grantConfig.clients.find((c: { name: string }) => c.name === "Office printer").clientId).toBe("2example23456789abcdefghij");
    const secrets = mocks.named("aws:ssm/parameter:Parameter", "device-grant-client-secrets");
    expect(secrets.secretInputs).toContain("value");
  });
});

describe("a stack file with settings the program does not know", () => {
  it("is refused, each unknown setting named with the known one it is closest to, beside every other problem", () => {
    expect(
      refused(
        devStack({
          [key("userPoolMFA")]: "ON",
          [key("kmsKeyARN")]: KMS_KEY,
          [key("enableCaching")]: true,
          [key("userPoolFeaturePlan")]: "ESSENTIALS",
          [key("userPoolAdvancedSecurity")]: "AUDIT",
          [key("tags")]: ["platform"],
        }),
      ),
    ).toEqual([
      "userPoolMFA is not a setting of this program (did you mean userPoolMfa?): remove it, or see Pulumi.yaml and the README's Configuration table",
      "kmsKeyARN is not a setting of this program (did you mean kmsKeyArn?): remove it, or see Pulumi.yaml and the README's Configuration table",
      "enableCaching is not a setting of this program: remove it, or see Pulumi.yaml and the README's Configuration table",
      "tags must be an object of string values, e.g. {team: platform, cost-centre: iot}",
      "userPoolAdvancedSecurity AUDIT needs userPoolFeaturePlan PLUS (threat protection is a Plus feature); got ESSENTIALS",
    ]);
  });

  it("refuses unknown fields inside structured settings, and the pool's own settings beside an existing pool", () => {
    const config = devStack({
      [key("userPoolDomain")]: { prefx: "acme-login" },
      [key("iotDomainConfiguration")]: { name: "devices", domain: "iot.example.com" },
      [key("existingUserPool")]: { userPoolId: "eu-west-1_AbCdEf123", hostedUiUrl: "https://login.example.com" },
      [key("userPoolMfa")]: "ON",
    });
    expect(refused(config)).toEqual([
      'userPoolDomain: unknown field "prefx" (did you mean prefix?)',
      "userPoolDomain is a setting of the pool, and existingUserPool is not this program's: set it on that pool",
      "userPoolMfa is a setting of the pool, and existingUserPool is not this program's: set it on that pool",
      "userPoolDeletionProtection is a setting of the pool, and existingUserPool is not this program's: set it on that pool",
      'iotDomainConfiguration: unknown field "domain"',
    ]);
  });
});

describe("the customer managed key", () => {
  it("is refused from another region than the stack's, which its services could not use", () => {
    const elsewhere = KMS_KEY.replace(":eu-west-1:", ":us-east-1:");
    expect(refused(devStack({ [key("kmsKeyArn")]: elsewhere }))).toEqual([
      "kmsKeyArn is a key in us-east-1, but the stack deploys to eu-west-1 (aws:region): use a key of eu-west-1",
    ]);
  });
});

describe("the reserved concurrency settings", () => {
  it("reserve nothing at their default 0, and refuse a negative number by the setting's name", async () => {
    const mocks = await declared(devStack({ [key("functionReservedConcurrency")]: 0 }));
    expect(mocks.named("aws:lambda/function:Function", "iot-auth-function").inputs.reservedConcurrentExecutions).toBeUndefined();
    expect(refused(devStack({ [key("deviceGrantReservedConcurrency")]: -5 }))).toEqual([
      "deviceGrantReservedConcurrency must be a whole number of executions, 1 or more (0 would stop the function; leave it out for none); got -5",
    ]);
  });
});
