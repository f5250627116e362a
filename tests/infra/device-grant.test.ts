import * as pulumi from "@pulumi/pulumi";
import { ConfigurationError } from "../../functions/shared/problems";
import { loadDeviceGrantConfig } from "../../functions/device-grant/config";
import { DEFAULT_DEVICE_GRANT_SETTINGS } from "../../functions/device-grant/settings";
import { allRegistered, captureChildren } from "../helpers/capture";
import { bundledEntries } from "../helpers/bundle-stub";
import { MOCK_STACK, setupMocks, unwrap, type MockRecorder } from "../../support/pulumi-mocks";

// What the component declares is the question here; the function's bundle has its own tests.
jest.mock("../../infra/bundle", () => jest.requireActual("../helpers/bundle-stub").stubbedBundleModule());

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../../infra/bundle";
import { ACCESS_LOG_FORMAT, STORE_TABLE_ACTIONS, DEVICE_GRANT_ENTRY, DeviceGrant } from "../../infra/device-grant";
import { type DeviceGrantArgs } from "../../infra/device-grant-args";
import { deviceGrantRolePolicy } from "../../infra/policies";

const ACCOUNT = "123456789012";
const REGION = "eu-west-1";
const POOL = `https://cognito-idp.${REGION}.amazonaws.com/${REGION}_Example`;
const HOSTED = `https://devices.auth.${REGION}.amazoncognito.com`;
const TV_CLIENT = "1example23456789abcdefghij";
const PRINTER_CLIENT = "2example23456789abcdefghij";
const PRINTER_SECRET = "printer-secret-0123456789abcdefghijklmnopqrstuvwxyz";
const KMS_KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

const T = {
  table: "aws:dynamodb/table:Table",
  function: "aws:lambda/function:Function",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  parameter: "aws:ssm/parameter:Parameter",
  api: "aws:apigatewayv2/api:Api",
  integration: "aws:apigatewayv2/integration:Integration",
  route: "aws:apigatewayv2/route:Route",
  stage: "aws:apigatewayv2/stage:Stage",
  permission: "aws:lambda/permission:Permission",
  domain: "aws:apigatewayv2/domainName:DomainName",
  mapping: "aws:apigatewayv2/apiMapping:ApiMapping",
  kmsKey: "aws:kms/key:Key",
};

const upstream = { issuer: POOL, authorizationEndpoint: `${HOSTED}/oauth2/authorize`, tokenEndpoint: `${HOSTED}/oauth2/token` };
const publicOnly: DeviceGrantArgs = {
  clients: [{ clientId: TV_CLIENT, name: "Living-room TV", type: "public", scopes: ["openid", "iot/device"] }],
  upstream,
};
const withConfidential: DeviceGrantArgs = {
  ...publicOnly,
  clients: [
    ...publicOnly.clients,
    {
      clientId: pulumi.output(PRINTER_CLIENT),
      name: "Office printer",
      type: "confidential",
      scopes: ["iot/device"],
      clientSecret: pulumi.secret(PRINTER_SECRET),
    },
  ],
};

let mocks: MockRecorder;
beforeEach(() => {
  mocks = setupMocks({ accountId: ACCOUNT, region: REGION });
});

async function create(args: DeviceGrantArgs, name = "grant"): Promise<DeviceGrant> {
  const { transformation, captured } = captureChildren();
  const grant = new DeviceGrant(name, args, { transformations: [transformation] });
  await allRegistered(captured);
  await Promise.all(
    [grant.baseUrl, grant.callbackUrl, grant.functionName, grant.tableArn, grant.customDomainTarget].map((o) =>
      unwrap(o as pulumi.Output<unknown>),
    ),
  );
  await new Promise((resolve) => setTimeout(resolve, 20));
  return grant;
}

const prefix = `grant-${MOCK_STACK}`;
const tableArn = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${prefix}`;
const logGroupArn = `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/${prefix}`;

function envOf(recorder: MockRecorder): Record<string, string> {
  return (recorder.one(T.function).inputs.environment as { variables: Record<string, string> }).variables;
}

describe("DeviceGrant with public clients only", () => {
  it("declares exactly the expected children", async () => {
    await create(publicOnly);
    expect(Object.fromEntries(Object.values(T).map((t) => [t, mocks.byType(t).length]))).toEqual({
      [T.table]: 1,
      [T.function]: 1,
      [T.logGroup]: 2,
      [T.role]: 1,
      [T.rolePolicy]: 1,
      [T.parameter]: 0,
      [T.api]: 1,
      [T.integration]: 1,
      [T.route]: 7,
      [T.stage]: 1,
      [T.permission]: 7,
      [T.domain]: 0,
      [T.mapping]: 0,
      // No ID in the token set: nothing to sign.
      [T.kmsKey]: 0,
    });
    expect(bundledEntries).toContain(DEVICE_GRANT_ENTRY);
  });

  it("declares the table on demand, keyed by pk, with TTL, point-in-time recovery, encryption and deletion protection", async () => {
    await create(publicOnly);
    expect(mocks.one(T.table).inputs).toEqual({
      name: prefix,
      billingMode: "PAY_PER_REQUEST",
      deletionProtectionEnabled: true,
      hashKey: "pk",
      attributes: [{ name: "pk", type: "S" }],
      ttl: { attributeName: "ttl", enabled: true },
      pointInTimeRecovery: { enabled: true },
      serverSideEncryption: { enabled: true },
    });
  });

  it("allows the function its log group and the store's item operations on the table, nothing else", async () => {
    await create(publicOnly);
    expect(JSON.parse(mocks.one(T.rolePolicy).inputs.policy as string)).toEqual({
      Version: "2012-10-17",
      Statement: [
        { Sid: "WriteOwnLogs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `${logGroupArn}:*` },
        {
          Sid: "ReadWriteRequests",
          Effect: "Allow",
          Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
          Resource: tableArn,
        },
      ],
    });
    expect(JSON.parse(mocks.one(T.role).inputs.assumeRolePolicy as string).Statement).toEqual([
      { Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" },
    ]);
  });

  it("runs one Node.js 22 arm64 function with explicit limits, JSON logs and its configuration, no secret", async () => {
    const grant = await create(publicOnly);
    const fn = mocks.one(T.function);
    expect(fn.inputs).toMatchObject({
      name: prefix,
      runtime: "nodejs22.x",
      architectures: ["arm64"],
      handler: "index.handler",
      memorySize: 256,
      timeout: 10,
      loggingConfig: { logFormat: "JSON", logGroup: `/aws/lambda/${prefix}`, applicationLogLevel: "INFO", systemLogLevel: "WARN" },
    });
    expect(mocks.byType(T.logGroup).map((g) => g.inputs)).toEqual(
      expect.arrayContaining([
        { name: `/aws/lambda/${prefix}`, retentionInDays: 30 },
        { name: `/aws/apigateway/${prefix}`, retentionInDays: 30 },
      ]),
    );
    expect(mocks.byType(T.logGroup)).toHaveLength(2);
    const env = envOf(mocks);
    expect(Object.keys(env)).toEqual(["DEVICE_GRANT_CONFIG"]);
    const baseUrl = await unwrap(grant.baseUrl);
    const config = JSON.parse(env.DEVICE_GRANT_CONFIG);
    expect(config).toEqual({
      settings: { ...DEFAULT_DEVICE_GRANT_SETTINGS },
      clients: [{ clientId: TV_CLIENT, name: "Living-room TV", type: "public", scopes: ["openid", "iot/device"] }],
      scopes: ["openid", "iot/device"],
      upstream: { ...upstream, redirectUri: `${baseUrl}/callback`, jwksUri: `${POOL}/.well-known/jwks.json` },
      publicBaseUrl: baseUrl,
      tableName: prefix,
      region: REGION,
    });
    // The function's own cold-start check accepts exactly this document.
    expect(loadDeviceGrantConfig(config)).toEqual(config);
  });

  it("serves exactly the routes of the route table through one payload 2.0 proxy integration", async () => {
    await create(publicOnly);
    const api = mocks.one(T.api);
    expect(api.inputs).toEqual({
      name: prefix,
      protocolType: "HTTP",
      description: "OAuth 2.0 device authorization grant (RFC 8628)",
      disableExecuteApiEndpoint: false,
    });
    const integration = mocks.one(T.integration);
    expect(integration.inputs).toEqual({
      apiId: api.id,
      integrationType: "AWS_PROXY",
      integrationMethod: "POST",
      integrationUri: `arn:aws:apigateway:${REGION}:lambda:path/2015-03-31/functions/arn:aws:lambda:${REGION}:${ACCOUNT}:function:${prefix}/invocations`,
      payloadFormatVersion: "2.0",
      timeoutMilliseconds: 11_000,
    });
    const routes = mocks.byType(T.route);
    expect(routes.map((r) => r.inputs.routeKey).sort()).toEqual(
      [
        "GET /.well-known/oauth-authorization-server",
        "GET /.well-known/jwks.json",
        "GET /callback",
        "GET /device",
        "POST /device",
        "POST /oauth2/device_authorization",
        "POST /oauth2/token",
      ].sort(),
    );
    for (const route of routes) {
      expect(route.inputs).toEqual({ apiId: api.id, routeKey: route.inputs.routeKey, target: `integrations/${integration.id}` });
    }
  });

  it("lets API Gateway invoke the function for each route of this API only", async () => {
    await create(publicOnly);
    const executionArn = mocks.one(T.api).state.executionArn as string;
    const permissions = mocks.byType(T.permission).map((p) => p.inputs);
    for (const p of permissions) {
      expect(p).toEqual({
        function: prefix,
        action: "lambda:InvokeFunction",
        principal: "apigateway.amazonaws.com",
        sourceArn: p.sourceArn,
      });
    }
    expect(permissions.map((p) => p.sourceArn).sort()).toEqual(
      [
        `${executionArn}/*/GET/.well-known/oauth-authorization-server`,
        `${executionArn}/*/GET/.well-known/jwks.json`,
        `${executionArn}/*/GET/callback`,
        `${executionArn}/*/GET/device`,
        `${executionArn}/*/POST/device`,
        `${executionArn}/*/POST/oauth2/device_authorization`,
        `${executionArn}/*/POST/oauth2/token`,
      ].sort(),
    );
  });

  it("deploys a $default stage with throttling and access logs that carry no codes, headers or query strings", async () => {
    await create({ ...publicOnly, throttling: { burstLimit: 20, rateLimit: 10 } });
    const stage = mocks.one(T.stage);
    const accessLogs = mocks.byType(T.logGroup).find((g) => String(g.inputs.name).startsWith("/aws/apigateway/"));
    if (!accessLogs) throw new Error("no access log group");
    expect(stage.inputs).toEqual({
      apiId: mocks.one(T.api).id,
      name: "$default",
      autoDeploy: true,
      accessLogSettings: { destinationArn: accessLogs.state.arn, format: ACCESS_LOG_FORMAT },
      defaultRouteSettings: { throttlingBurstLimit: 20, throttlingRateLimit: 10, detailedMetricsEnabled: false },
    });
    const format = JSON.parse(ACCESS_LOG_FORMAT) as Record<string, string>;
    expect(format.routeKey).toBe("$context.routeKey");
    for (const variable of Object.values(format)) {
      expect(variable).toMatch(/^\$context\.[A-Za-z.]+$/);
      expect(variable).not.toMatch(/path|querystring|header|authorizer|body|request\./i);
    }
  });

  it("outputs every endpoint under the API's base URL", async () => {
    const grant = await create(publicOnly);
    const base = mocks.one(T.api).state.apiEndpoint as string;
    expect(await unwrap(grant.baseUrl)).toBe(base);
    expect(await unwrap(grant.deviceAuthorizationEndpoint)).toBe(`${base}/oauth2/device_authorization`);
    expect(await unwrap(grant.tokenEndpoint)).toBe(`${base}/oauth2/token`);
    expect(await unwrap(grant.verificationUri)).toBe(`${base}/device`);
    expect(await unwrap(grant.metadataUrl)).toBe(`${base}/.well-known/oauth-authorization-server`);
    expect(await unwrap(grant.jwksUri)).toBe(`${base}/.well-known/jwks.json`);
    expect(await unwrap(grant.idTokenKeyArn)).toBeUndefined();
    expect(await unwrap(grant.callbackUrl)).toBe(`${base}/callback`);
    expect(await unwrap(grant.tableName)).toBe(prefix);
    expect(await unwrap(grant.tableArn)).toBe(tableArn);
    expect(await unwrap(grant.functionName)).toBe(prefix);
    expect(await unwrap(grant.customDomainTarget)).toBeUndefined();
  });
});

describe("DeviceGrant with a confidential client, a customer key and a custom domain", () => {
  const parameterName = `/iot-enterprise-auth/${prefix}/device-grant/client-secrets`;
  const parameterArn = `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter${parameterName}`;
  const certificateArn = `arn:aws:acm:${REGION}:${ACCOUNT}:certificate/abc`;
  const args: DeviceGrantArgs = {
    ...withConfidential,
    kmsKeyArn: KMS_KEY,
    customDomain: { domainName: "dev.example.com", certificateArn },
  };

  it("stores the client secrets in a SecureString marked secret, and the function gets only its name", async () => {
    await create(args);
    const parameter = mocks.one(T.parameter);
    expect(parameter.inputs).toMatchObject({ name: parameterName, type: "SecureString", keyId: KMS_KEY });
    expect(JSON.parse(parameter.inputs.value as string)).toEqual({ [PRINTER_CLIENT]: PRINTER_SECRET });
    expect(parameter.secretInputs).toEqual(["value"]);
    const fn = mocks.one(T.function);
    expect(JSON.stringify(fn.inputs)).not.toContain(PRINTER_SECRET);
    const config = JSON.parse(envOf(mocks).DEVICE_GRANT_CONFIG);
    expect(config.clientSecretsParameter).toBe(parameterName);
    expect(config.clients.map((c: { clientId: string }) => c.clientId)).toEqual([TV_CLIENT, PRINTER_CLIENT]);
  });

  it("encrypts the table with the customer key and lets the function use it only through DynamoDB", async () => {
    await create(args);
    expect(mocks.one(T.table).inputs.serverSideEncryption).toEqual({ enabled: true, kmsKeyArn: KMS_KEY });
    expect(JSON.parse(mocks.one(T.rolePolicy).inputs.policy as string).Statement.slice(2)).toEqual([
      {
        Sid: "UseTableKeyThroughDynamoDb",
        Effect: "Allow",
        Action: ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
        Resource: KMS_KEY,
        Condition: { StringEquals: { "kms:ViaService": `dynamodb.${REGION}.amazonaws.com` } },
      },
      { Sid: "ReadClientSecrets", Effect: "Allow", Action: "ssm:GetParameter", Resource: parameterArn },
      {
        Sid: "DecryptClientSecretsThroughSsm",
        Effect: "Allow",
        Action: "kms:Decrypt",
        Resource: KMS_KEY,
        Condition: {
          StringEquals: { "kms:ViaService": `ssm.${REGION}.amazonaws.com`, "kms:EncryptionContext:PARAMETER_ARN": parameterArn },
        },
      },
    ]);
  });

  it("serves everything on the custom domain and turns the execute-api endpoint off", async () => {
    const grant = await create(args);
    expect(mocks.one(T.api).inputs.disableExecuteApiEndpoint).toBe(true);
    const domain = mocks.one(T.domain);
    expect(domain.inputs).toEqual({
      domainName: "dev.example.com",
      domainNameConfiguration: { certificateArn, endpointType: "REGIONAL", securityPolicy: "TLS_1_2" },
    });
    expect(mocks.one(T.mapping).inputs).toEqual({ apiId: mocks.one(T.api).id, domainName: "dev.example.com", stage: "$default" });
    expect(await unwrap(grant.verificationUri)).toBe("https://dev.example.com/device");
    expect(await unwrap(grant.callbackUrl)).toBe("https://dev.example.com/callback");
    expect(await unwrap(grant.customDomainTarget)).toMatch(/^d-.*\.execute-api\.eu-west-1\.amazonaws\.com$/);
    const config = JSON.parse(envOf(mocks).DEVICE_GRANT_CONFIG);
    expect(config.publicBaseUrl).toBe("https://dev.example.com");
    expect(config.upstream.redirectUri).toBe("https://dev.example.com/callback");
  });
});

describe("DeviceGrant issuing its own ID tokens", () => {
  const withId: DeviceGrantArgs = { ...publicOnly, settings: { resultTokenSet: ["ACCESS", "ID", "REFRESH"] } };

  it("creates an asymmetric signing key, hands the function its ARN and public key, and lets it only sign with it", async () => {
    const grant = await create({ ...withId, upstream: { ...upstream, jwksUri: "https://idp.example.com/keys" } });
    const key = mocks.one(T.kmsKey);
    expect(key.inputs).toEqual({
      description: `Signs the ID tokens of the device grant ${prefix} (RS256)`,
      keyUsage: "SIGN_VERIFY",
      customerMasterKeySpec: "RSA_2048",
      enableKeyRotation: false,
      deletionWindowInDays: 30,
    });
    const keyArn = key.state.arn as string;
    expect(await unwrap(grant.idTokenKeyArn)).toBe(keyArn);
    // The public key comes from KMS at deployment: the function never calls GetPublicKey.
    expect(mocks.calls.filter((c) => c.token === "aws:kms/getPublicKey:getPublicKey").map((c) => c.inputs)).toEqual([{ keyId: keyArn }]);
    const config = JSON.parse(envOf(mocks).DEVICE_GRANT_CONFIG);
    expect(config.idTokenKey).toEqual({ kmsKeyArn: keyArn, algorithm: "RS256", publicKeyPem: expect.stringContaining("BEGIN PUBLIC KEY") });
    expect(config.upstream.jwksUri).toBe("https://idp.example.com/keys");
    expect(loadDeviceGrantConfig(config)).toEqual(config);
    const statements = JSON.parse(mocks.one(T.rolePolicy).inputs.policy as string).Statement;
    expect(statements.slice(2)).toEqual([
      {
        Sid: "SignIdTokens",
        Effect: "Allow",
        Action: "kms:Sign",
        Resource: keyArn,
        Condition: { StringEquals: { "kms:SigningAlgorithm": "RSASSA_PKCS1_V1_5_SHA_256", "kms:MessageType": "DIGEST" } },
      },
    ]);
    expect(JSON.stringify(statements)).not.toMatch(/kms:GetPublicKey|kms:\*|"Resource":"\*"/);
  });

  it("signs ES256 with an ECC_NIST_P256 key and ECDSA_SHA_256 when asked to", async () => {
    await create({ ...withId, idTokenAlgorithm: "ES256" });
    expect(mocks.one(T.kmsKey).inputs).toMatchObject({ customerMasterKeySpec: "ECC_NIST_P256", keyUsage: "SIGN_VERIFY" });
    expect(JSON.parse(envOf(mocks).DEVICE_GRANT_CONFIG).idTokenKey.algorithm).toBe("ES256");
    const sign = JSON.parse(mocks.one(T.rolePolicy).inputs.policy as string).Statement.find(
      (st: { Sid: string }) => st.Sid === "SignIdTokens",
    );
    expect(sign.Condition.StringEquals["kms:SigningAlgorithm"]).toBe("ECDSA_SHA_256");
  });
});

describe("DeviceGrant with a weak configuration", () => {
  it("lists every problem at once, with the computed entropy, and declares nothing", async () => {
    let error: unknown;
    try {
      new DeviceGrant("grant", {
        settings: { deviceCodeLength: 16, userCodeLength: 4, userCodeMask: "####", resultTokenSet: ["ID"], pollingIntervalSeconds: 0 },
        clients: [
          { clientId: TV_CLIENT, name: "TV", type: "confidential", scopes: ["iot/device"] },
          { clientId: TV_CLIENT, name: "TV", type: "public", scopes: ["iot/device"], clientSecret: "x" },
        ],
        scopes: ["openid"],
        upstream: { ...upstream, tokenEndpoint: "http://idp.example.com/token" },
        lambda: { timeoutSeconds: 29 },
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/^Invalid DeviceGrant "grant" arguments: \d+ problem\(s\)/);
    expect((error as ConfigurationError).problems).toEqual([
      "pollingIntervalSeconds must be an integer from 1 to 60; got 0",
      "resultTokenSet must include ACCESS: a token response without access_token is not a token response (RFC 6749 §5.1)",
      expect.stringMatching(/^deviceCodeLength 16 with format #aA gives 95\.\d+ bits; at least 128 are required/),
      expect.stringMatching(/^userCodeLength 4 with format B gives 17\.\d+ bits \(matched case-insensitively\); at least 30 are required/),
      `client ${TV_CLIENT} is registered more than once`,
      "client TV is confidential and needs clientSecret",
      "client TV is public and must not have a clientSecret",
      "client TV: scope(s) iot/device are not among the offered scopes",
      "upstream.tokenEndpoint must use https; got http://idp.example.com/token",
      "lambda.timeoutSeconds must be an integer from 1 to 10; got 29",
    ]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(mocks.resources).toEqual([]);
  });
});

describe("STORE_TABLE_ACTIONS", () => {
  it("are exactly the DynamoDB operations the store sends", () => {
    const source = readFileSync(join(REPO_ROOT, "functions", "device-grant", "dynamo-store.ts"), "utf8");
    const sent = new Set([...source.matchAll(/\b(\w+)Command\b/g)].map((m) => `dynamodb:${m[1]}`));
    expect([...sent].sort()).toEqual([...STORE_TABLE_ACTIONS].sort());
  });
});

describe("deviceGrantRolePolicy", () => {
  it("grants Query on the named indexes' ARNs only, in a stable order", () => {
    const policy = deviceGrantRolePolicy({
      logGroupArn: "arn:aws:logs:eu-west-1:1:log-group:g",
      tableArn: "arn:aws:dynamodb:eu-west-1:1:table/t",
      tableActions: ["dynamodb:PutItem", "dynamodb:GetItem"],
      queriedIndexes: ["byState", "byClient"],
      region: "eu-west-1",
      dnsSuffix: "amazonaws.com",
    });
    expect(policy.Statement.slice(1)).toEqual([
      {
        Sid: "ReadWriteRequests",
        Effect: "Allow",
        Action: ["dynamodb:GetItem", "dynamodb:PutItem"],
        Resource: "arn:aws:dynamodb:eu-west-1:1:table/t",
      },
      {
        Sid: "QueryIndexes",
        Effect: "Allow",
        Action: "dynamodb:Query",
        Resource: ["arn:aws:dynamodb:eu-west-1:1:table/t/index/byClient", "arn:aws:dynamodb:eu-west-1:1:table/t/index/byState"],
      },
    ]);
    for (const statement of policy.Statement) {
      for (const action of ([] as string[]).concat(statement.Action)) expect(action).not.toContain("*");
    }
  });
});

describe("examples/device-grant", () => {
  it("runs: a user directory whose clients call back to the device grant, which knows their ids", async () => {
    const recorder = setupMocks({ project: "device-grant-example", region: REGION, config: { "aws:region": REGION } });
    const example = await import("../../examples/device-grant");
    const verificationUri = await unwrap(example.verificationUri);
    const api = recorder.one(T.api);
    expect(verificationUri).toBe(`${api.state.apiEndpoint}/device`);
    const ids = await unwrap(example.clientIds);
    expect(Object.keys(ids)).toEqual(["tv", "printer"]);
    await unwrap(example.clientSecrets);
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (const client of recorder.byType("aws:cognito/userPoolClient:UserPoolClient")) {
      expect(client.inputs.callbackUrls).toEqual([`${api.state.apiEndpoint}/callback`]);
    }
    const config = JSON.parse(envOf(recorder).DEVICE_GRANT_CONFIG);
    expect(config.clients.map((c: { clientId: string }) => c.clientId)).toEqual([ids.tv, ids.printer]);
    expect(config.settings.codeExpirySeconds).toBe(600);
    expect(await pulumi.isSecret(example.clientSecrets)).toBe(true);
  });
});
