import * as pulumi from "@pulumi/pulumi";
import { ConfigurationError } from "../../functions/shared/problems";
import { PROJECT, readStackConfig } from "../../stacks/config";
import { defineStack } from "../../stacks/program";
import { MOCK_STACK, setupMocks, unwrap, type MockRecorder } from "../../support/pulumi-mocks";
import { readStackFile } from "../../support/stack-files";

// What the program declares is the component's business (tests/infra); here the question is whether the
// stack configuration reaches it intact. The bundle is stubbed so a half-edited function cannot fail these.
jest.mock("../../infra/bundle", () => ({
  ...jest.requireActual("../../infra/bundle"),
  functionArchive: () => mockArchive(),
}));
function mockArchive(): pulumi.asset.AssetArchive {
  return new pulumi.asset.AssetArchive({ "index.js": new pulumi.asset.StringAsset("exports.handler=async()=>({})") });
}

const SHARED_SECRET = Buffer.alloc(48, 9).toString("base64");
const OPENAM = "https://openam.example.com:8443/openam/oauth2";
const key = (k: string) => `${PROJECT}:${k}`;

/** The dev stack's file, as the Pulumi CLI hands it to the program, plus the secret a user sets. */
function devStackConfig(): Record<string, string | number | boolean | object> {
  const config: Record<string, string | number | boolean | object> = { [key("sharedSecret")]: SHARED_SECRET };
  for (const [k, v] of Object.entries(readStackFile("dev"))) config[k] = v as string | number | boolean | object;
  return config;
}

function setup(config: Record<string, string | number | boolean | object>): MockRecorder {
  return setupMocks({ config, secretKeys: [key("sharedSecret")], project: PROJECT });
}

async function settled(outputs: ReturnType<typeof defineStack>): Promise<void> {
  await Promise.all(Object.values(outputs).map((o) => unwrap(o as pulumi.Output<unknown>)));
  // The permission and role policy are not behind any output; give their registration a moment.
  await new Promise((resolve) => setTimeout(resolve, 50));
}

describe("the program with the dev stack's configuration (ForgeRock OpenAM, HS256)", () => {
  it("declares the authorizer with the stack's settings", async () => {
    const mocks = setup(devStackConfig());
    const outputs = defineStack();
    await settled(outputs);

    const prefix = `iot-auth-${MOCK_STACK}`;
    const fn = mocks.named("aws:lambda/function:Function", "iot-auth-function");
    const config = JSON.parse((fn.inputs.environment as { variables: Record<string, string> }).variables.AUTHORIZER_CONFIG);
    expect(config.issuers[0]).toEqual({
      issuer: OPENAM,
      algorithms: ["HS256"],
      secretParameter: `/iot-enterprise-auth/${prefix}/issuers/0/shared-secret`,
      audiences: ["deviceagent"],
      principalPrefix: "openam",
    });
    expect(config.grants).toEqual(readStackFile("dev")[key("grants")]);
    expect(config.refreshAfterSeconds).toBe(900);
    for (const group of mocks.byType("aws:cloudwatch/logGroup:LogGroup")) expect(group.inputs.retentionInDays).toBe(7);
    expect(JSON.stringify(fn.inputs)).not.toContain(SHARED_SECRET);

    const parameter = mocks.named("aws:ssm/parameter:Parameter", "iot-auth-issuer-0-secret");
    expect(parameter.inputs).toMatchObject({ type: "SecureString", value: SHARED_SECRET });
    expect(parameter.secretInputs).toEqual(["value"]);
    expect(mocks.one("tls:index/privateKey:PrivateKey").inputs).toEqual({ algorithm: "RSA", rsaBits: 2048 });
    expect(mocks.one("aws:iot/authorizer:Authorizer").inputs.signingDisabled).toBe(false);

    expect(await unwrap(outputs.authorizerName)).toBe(prefix);
    expect(await unwrap(outputs.tokenKeyName)).toBe("token");
    expect(await pulumi.isSecret(outputs.privateKeyPem)).toBe(true);
  });

  it("marks the shared secret secret as soon as it is read", () => {
    setup(devStackConfig());
    const args = readStackConfig().authorizer;
    expect(pulumi.Output.isInstance(args.issuers[0].sharedSecret)).toBe(true);
    return expect(pulumi.isSecret(args.issuers[0].sharedSecret as pulumi.Output<string>)).resolves.toBe(true);
  });

  it("turns signing off without a key", async () => {
    const mocks = setup({ ...devStackConfig(), [key("signingEnabled")]: false });
    await settled(defineStack());
    expect(mocks.byType("tls:index/privateKey:PrivateKey")).toHaveLength(0);
    expect(mocks.one("aws:iot/authorizer:Authorizer").inputs.signingDisabled).toBe(true);
  });
});

describe("the program with a bad configuration", () => {
  async function expectRefused(config: Record<string, string | number | boolean | object>): Promise<string[]> {
    const mocks = setup(config);
    let error: unknown;
    try {
      defineStack();
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/^Invalid iot-enterprise-auth stack configuration: \d+ problem\(s\)/);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(mocks.resources).toEqual([]);
    return (error as ConfigurationError).problems;
  }

  it("lists every problem at once, naming the stack settings, and declares nothing", async () => {
    const problems = await expectRefused({
      [key("issuers")]: [
        { issuer: OPENAM, algorithms: ["HS256"], sharedSecret: true },
        { issuer: "https://idp.example.com", algorithms: ["RS256"] },
      ],
      [key("sharedSecret")]: Buffer.alloc(16).toString("base64"),
      [key("functionTimeoutSeconds")]: 5,
      [key("signingKeyBits")]: 1024,
      [key("logRetentionDays")]: "a month",
      [key("refreshAfterSeconds")]: 60,
    });
    expect(problems).toEqual([
      'logRetentionDays must be an integer; got "a month"',
      `issuer ${OPENAM}: the shared secret decodes to 16 bytes; HS256 needs at least 32`,
      "issuer https://idp.example.com: an RSA issuer needs jwksUri",
      expect.stringMatching(/^issuers .* and https:\/\/idp\.example\.com share a principal namespace/),
      "refreshAfterSeconds must be an integer from 300 to 86400; got 60",
      "signingKeyBits must be one of 2048, 3072, 4096; got 1024",
      expect.stringMatching(/^functionTimeoutSeconds must be an integer from 1 to 4/),
    ]);
  });

  it("asks for the issuers when there are none", async () => {
    expect(await expectRefused({})).toEqual(["issuers is not set: list the identity providers to trust (see Pulumi.dev.yaml)"]);
  });

  it("says how to set a missing shared secret, and refuses one written into the stack file", async () => {
    const missing = await expectRefused({ [key("issuers")]: [{ issuer: OPENAM, algorithms: ["HS256"], sharedSecret: true }] });
    expect(missing).toEqual([
      `issuer ${OPENAM} reads the shared secret, but sharedSecret is not set: run pulumi config set --secret sharedSecret <base64 secret>`,
    ]);
    const inline = await expectRefused({
      [key("issuers")]: [{ issuer: OPENAM, algorithms: ["HS256"], sharedSecret: SHARED_SECRET }],
    });
    expect(inline).toEqual([`issuer ${OPENAM}: sharedSecret must be true (the secret itself goes in the secret setting sharedSecret)`]);
  });

  it("refuses a shared secret no issuer reads", async () => {
    const problems = await expectRefused({
      [key("issuers")]: [{ issuer: OPENAM, algorithms: ["RS256"], jwksUri: `${OPENAM}/connect/jwk_uri` }],
      [key("sharedSecret")]: SHARED_SECRET,
    });
    expect(problems).toEqual(['sharedSecret is set but no issuer reads it: add "sharedSecret": true to the HMAC issuer']);
  });

  it("refuses issuers that are not JSON objects", async () => {
    expect(await expectRefused({ [key("issuers")]: "{not json" })).toEqual([
      "issuers must be a list of objects (set it in the stack file or with pulumi config set --path)",
    ]);
  });
});

describe("the program with the device grant (dev stack: deviceGrantEnabled)", () => {
  const fnConfig = (mocks: MockRecorder, name: string, variable: string) =>
    JSON.parse(
      (mocks.named("aws:lambda/function:Function", name).inputs.environment as { variables: Record<string, string> }).variables[variable],
    );

  it("makes the authorizer trust the user pool's access tokens for the device clients, beside OpenAM", async () => {
    const mocks = setup(devStackConfig());
    const outputs = defineStack();
    await settled(outputs);
    const device = outputs.deviceGrant;
    if (!device) throw new Error("the dev stack enables the device grant");
    await Promise.all(Object.values(device).map((o) => unwrap(o as pulumi.Output<unknown>)));
    await new Promise((resolve) => setTimeout(resolve, 50));

    const pool = mocks.one("aws:cognito/userPool:UserPool");
    const issuer = `https://cognito-idp.eu-west-1.amazonaws.com/${pool.id}`;
    const clients = ["users-client-tv", "users-client-printer"].map((n) => mocks.named("aws:cognito/userPoolClient:UserPoolClient", n));
    const config = fnConfig(mocks, "iot-auth-function", "AUTHORIZER_CONFIG");
    expect(config.issuers[1]).toEqual({
      issuer,
      algorithms: ["RS256"],
      jwksUri: `${issuer}/.well-known/jwks.json`,
      tokenUse: "access",
      clientIds: clients.map((c) => c.id),
      principalPrefix: "cognito",
    });
    expect(JSON.stringify(config)).not.toContain("invalid");
    expect(await unwrap(device.userPoolIssuer)).toBe(issuer);
  });

  it("registers the device grant's /callback with every app client, and the clients with the device grant", async () => {
    const mocks = setup(devStackConfig());
    const outputs = defineStack();
    await settled(outputs);
    const device = outputs.deviceGrant;
    if (!device) throw new Error("the dev stack enables the device grant");
    const callback = await unwrap(device.callbackUrl);
    const api = mocks.one("aws:apigatewayv2/api:Api");
    expect(callback).toBe(`${api.state.apiEndpoint}/callback`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const clients = ["users-client-tv", "users-client-printer", "users-client-installer"].map((n) =>
      mocks.named("aws:cognito/userPoolClient:UserPoolClient", n),
    );
    expect(mocks.byType("aws:cognito/userPoolClient:UserPoolClient")).toHaveLength(3);
    for (const client of clients) expect(client.inputs.callbackUrls).toEqual([callback]);
    expect(clients.map((c) => c.inputs.generateSecret)).toEqual([false, true, false]);

    const grantConfig = fnConfig(mocks, "device-grant-function", "DEVICE_GRANT_CONFIG");
    const domainPrefix = mocks.one("aws:cognito/userPoolDomain:UserPoolDomain").inputs.domain as string;
    expect(domainPrefix).toMatch(new RegExp(`^users-${MOCK_STACK}-[0-9a-f]{8}$`));
    expect(grantConfig.clients).toEqual([
      { clientId: clients[0].id, name: "Living-room TV", type: "public", scopes: ["openid", "iot/device"] },
      { clientId: clients[1].id, name: "Office printer", type: "confidential", scopes: ["iot/device"] },
      { clientId: clients[2].id, name: "Installer app", type: "public", scopes: ["openid", "iot/provision"] },
    ]);
    expect(grantConfig.settings.codeExpirySeconds).toBe(900);
    expect(grantConfig.upstream).toEqual({
      issuer: `https://cognito-idp.eu-west-1.amazonaws.com/${mocks.one("aws:cognito/userPool:UserPool").id}`,
      authorizationEndpoint: `https://${domainPrefix}.auth.eu-west-1.amazoncognito.com/oauth2/authorize`,
      tokenEndpoint: `https://${domainPrefix}.auth.eu-west-1.amazoncognito.com/oauth2/token`,
      redirectUri: callback,
      // The pool's keys, against which the device grant verifies the pool's ID tokens.
      jwksUri: `https://cognito-idp.eu-west-1.amazonaws.com/${mocks.one("aws:cognito/userPool:UserPool").id}/.well-known/jwks.json`,
    });
    expect(grantConfig.clientSecretsParameter).toBe(`/iot-enterprise-auth/device-grant-${MOCK_STACK}/device-grant/client-secrets`);

    const secrets = mocks.named("aws:ssm/parameter:Parameter", "device-grant-client-secrets");
    expect(JSON.parse(secrets.inputs.value as string)).toEqual({ [clients[1].id]: clients[1].state.clientSecret });
    expect(secrets.secretInputs).toEqual(["value"]);
    expect(mocks.one("aws:cognito/userPool:UserPool").inputs.deletionProtection).toBe("INACTIVE");
    expect(mocks.one("aws:apigatewayv2/stage:Stage").inputs.defaultRouteSettings).toEqual({
      throttlingBurstLimit: 20,
      throttlingRateLimit: 10,
      detailedMetricsEnabled: false,
    });
    expect(await pulumi.isSecret(device.deviceClientSecrets)).toBe(true);
    expect(await unwrap(device.verificationUri)).toBe(`${api.state.apiEndpoint}/device`);
  });

  it("declares no Cognito, table or API without deviceGrantEnabled", async () => {
    const config = devStackConfig();
    for (const k of Object.keys(config)) if (/device|userPool|codeExpiry|apiThrottling|fleet|provisioning/.test(k)) delete config[k];
    const mocks = setup(config);
    const outputs = defineStack();
    await settled(outputs);
    expect(outputs.deviceGrant).toBeUndefined();
    expect(mocks.byType("aws:cognito/userPool:UserPool")).toHaveLength(0);
    expect(mocks.byType("aws:dynamodb/table:Table")).toHaveLength(0);
    expect(mocks.byType("aws:apigatewayv2/api:Api")).toHaveLength(0);
    expect(fnConfig(mocks, "iot-auth-function", "AUTHORIZER_CONFIG").issuers).toHaveLength(1);
  });

  it("refuses a weak device grant with every problem listed, the authorizer's included, and declares nothing", async () => {
    const mocks = setup({
      ...devStackConfig(),
      [key("deviceCodeLength")]: 16,
      [key("userCodeLength")]: 4,
      [key("resultTokenSet")]: "ID",
      [key("pollingIntervalSeconds")]: 0,
      [key("userPoolMfa")]: "SMS",
      [key("deviceClients")]: [{ key: "tv", name: "TV", scopes: ["openid"] }],
      [key("issuers")]: [{ issuer: OPENAM, algorithms: ["HS256"], sharedSecret: true }],
      [key("functionTimeoutSeconds")]: 5,
      // Its clients list no installers' app: this test is about the device grant's own settings.
      [key("fleetProvisioningEnabled")]: false,
    });
    let error: unknown;
    try {
      defineStack();
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).problems).toEqual([
      "client tv: scopes must include an IoT scope (iot/device), or its tokens open nothing",
      'userPoolMfa must be OFF, OPTIONAL or ON; got "SMS"',
      "pollingIntervalSeconds must be an integer from 1 to 60; got 0",
      "resultTokenSet must include ACCESS: a token response without access_token is not a token response (RFC 6749 §5.1)",
      expect.stringMatching(/^deviceCodeLength 16 with format #aA gives 95\.\d+ bits; at least 128 are required/),
      expect.stringMatching(/^userCodeLength 4 with format B gives 17\.\d+ bits \(matched case-insensitively\); at least 30 are required/),
      `issuers ${OPENAM} and the device grant's user pool (userPoolPrincipalPrefix) share a principal namespace (prefixes "" and "cognito"): ` +
        "with several issuers, give each a principalPrefix that does not start another's",
      expect.stringMatching(/^functionTimeoutSeconds must be an integer from 1 to 4/),
    ]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(mocks.resources).toEqual([]);
  });
});

describe("the program with fleet provisioning (dev stack: fleetProvisioningEnabled)", () => {
  const fnConfig = (mocks: MockRecorder, name: string, variable: string) =>
    JSON.parse(
      (mocks.named("aws:lambda/function:Function", name).inputs.environment as { variables: Record<string, string> }).variables[variable],
    );

  it("serves the claim route on the device grant's API for the installers' app, and keeps installers' tokens out of IoT", async () => {
    const mocks = setup(devStackConfig());
    const outputs = defineStack();
    await settled(outputs);
    const fleet = outputs.fleetProvisioning;
    if (!fleet) throw new Error("the dev stack enables fleet provisioning");
    const api = mocks.one("aws:apigatewayv2/api:Api");
    const pool = mocks.one("aws:cognito/userPool:UserPool");
    const installer = mocks.named("aws:cognito/userPoolClient:UserPoolClient", "users-client-installer");

    const route = mocks.named("aws:apigatewayv2/route:Route", "fleet-route");
    expect(route.inputs).toMatchObject({ apiId: api.id, routeKey: "POST /provisioning/claims", authorizationType: "JWT" });
    expect(route.inputs.authorizationScopes).toEqual(["iot/provision"]);
    const authorizer = mocks.one("aws:apigatewayv2/authorizer:Authorizer");
    expect(authorizer.inputs).toMatchObject({ apiId: api.id, authorizerType: "JWT" });
    expect(authorizer.inputs.jwtConfiguration).toEqual({
      issuer: `https://cognito-idp.eu-west-1.amazonaws.com/${pool.id}`,
      audiences: [installer.id],
    });
    expect(await unwrap(fleet.claimEndpoint)).toBe(`${api.state.apiEndpoint}/provisioning/claims`);

    // The required group exists in the pool, and the claim function requires it.
    expect(mocks.one("aws:cognito/userGroup:UserGroup").inputs).toMatchObject({ userPoolId: pool.id, name: "installers" });
    expect(fnConfig(mocks, "fleet-claim-function", "PROVISIONING_CLAIM_CONFIG")).toMatchObject({ requiredGroup: "installers" });
    // The pool's resource server offers the provisioning scope beside the device scope.
    const scopes = mocks.one("aws:cognito/resourceServer:ResourceServer").inputs.scopes as { scopeName: string }[];
    expect(scopes.map((s) => s.scopeName)).toEqual(["device", "provision"]);
    // An installer is not a device: the authorizer trusts the pool's tokens for the device clients only.
    const issuers = fnConfig(mocks, "iot-auth-function", "AUTHORIZER_CONFIG").issuers as { clientIds?: string[] }[];
    expect(issuers[1].clientIds).toEqual([
      mocks.named("aws:cognito/userPoolClient:UserPoolClient", "users-client-tv").id,
      mocks.named("aws:cognito/userPoolClient:UserPoolClient", "users-client-printer").id,
    ]);
    for (const group of mocks.byType("aws:cloudwatch/logGroup:LogGroup")) expect(group.inputs.retentionInDays).toBe(7);
    expect(mocks.byType("aws:cognito/identityPool:IdentityPool")).toHaveLength(0);
  });

  it("refuses fleet provisioning without the device grant, or without an installers' app, naming the settings", async () => {
    const config = devStackConfig();
    const withoutGrant = { ...config, [key("deviceGrantEnabled")]: false };
    const mocks = setup(withoutGrant);
    expect(() => defineStack()).toThrow(/fleetProvisioningEnabled needs deviceGrantEnabled/);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(mocks.resources).toEqual([]);

    setup({ ...config, [key("deviceClients")]: [{ key: "tv", name: "TV" }], [key("provisioningThingNamePattern")]: "([" });
    let error: unknown;
    try {
      defineStack();
    } catch (err) {
      error = err;
    }
    expect((error as ConfigurationError).problems).toEqual([
      expect.stringMatching(/^fleetProvisioningEnabled: no entry of deviceClients lists the scope iot\/provision/),
      expect.stringMatching(/^provisioningThingNamePattern /),
    ]);
  });
});
