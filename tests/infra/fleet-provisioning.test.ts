/**
 * `FleetProvisioning` under Pulumi mocks: every child's inputs checked whole (the template body and `enabled`,
 * each IAM and IoT policy statement with its exact ARNs, the permissions, the functions' configurations as their
 * own loaders accept them), the claim route on an API of its own or attached to another, the identity pool
 * only when asked for, and every problem reported at preview before anything is declared.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigurationError } from "../../functions/shared/problems";
import { loadPreProvisioningHookConfig } from "../../functions/pre-provisioning-hook/config";
import { loadProvisioningClaimConfig } from "../../functions/provisioning-claim/config";
import { CLAIM_FUNCTION_TABLE_ACTIONS, HOOK_FUNCTION_TABLE_ACTIONS } from "../../functions/shared/claim-binding-table";
import { allRegistered, captureChildren } from "../helpers/capture";
import { bundledEntries } from "../helpers/bundle-stub";
import { MOCK_STACK, setupMocks, unwrap, type MockRecorder } from "../../support/pulumi-mocks";

jest.mock("../../infra/bundle", () => jest.requireActual("../helpers/bundle-stub").stubbedBundleModule());

import { REPO_ROOT } from "../../infra/bundle";
import { CLAIM_ACCESS_LOG_FORMAT } from "../../infra/fleet-provisioning-access";
import { FleetProvisioning, PRE_PROVISIONING_HOOK_ENTRY, PROVISIONING_CLAIM_ENTRY } from "../../infra/fleet-provisioning";
import { type FleetProvisioningArgs } from "../../infra/fleet-provisioning-args";

const ACCOUNT = "123456789012";
const REGION = "eu-west-1";
const POOL_ID = `${REGION}_Example`;
const ISSUER = `https://cognito-idp.${REGION}.amazonaws.com/${POOL_ID}`;
const APP_CLIENT = "1example23456789abcdefghij";
const KMS_KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

const T = {
  table: "aws:dynamodb/table:Table",
  function: "aws:lambda/function:Function",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  template: "aws:iot/provisioningTemplate:ProvisioningTemplate",
  iotPolicy: "aws:iot/policy:Policy",
  permission: "aws:lambda/permission:Permission",
  api: "aws:apigatewayv2/api:Api",
  authorizer: "aws:apigatewayv2/authorizer:Authorizer",
  integration: "aws:apigatewayv2/integration:Integration",
  route: "aws:apigatewayv2/route:Route",
  stage: "aws:apigatewayv2/stage:Stage",
  identityPool: "aws:cognito/identityPool:IdentityPool",
  poolRoles: "aws:cognito/identityPoolRoleAttachment:IdentityPoolRoleAttachment",
};

const basic: FleetProvisioningArgs = {
  thing: { namePattern: "[A-Z]{2}-[0-9]{6}" },
  parameters: [{ name: "Model", pattern: "heat-pump|boiler" }],
  claims: { jwt: { issuer: ISSUER, audiences: [APP_CLIENT] }, requiredGroup: "installers" },
};

let mocks: MockRecorder;
beforeEach(() => {
  mocks = setupMocks({ accountId: ACCOUNT, region: REGION });
});

async function create(args: FleetProvisioningArgs, name = "fleet"): Promise<FleetProvisioning> {
  const { transformation, captured } = captureChildren();
  const fleet = new FleetProvisioning(name, args, { transformations: [transformation] });
  await allRegistered(captured);
  await Promise.all([fleet.templateArn, fleet.claimEndpoint, fleet.hookFunctionName, fleet.identityPoolId].map((o) => unwrap(o)));
  await new Promise((resolve) => setTimeout(resolve, 20));
  return fleet;
}

const prefix = `fleet-${MOCK_STACK}`;
const templateArn = `arn:aws:iot:${REGION}:${ACCOUNT}:provisioningtemplate/${prefix}`;
const tableArn = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${prefix}-claims`;
const logGroupArn = (fn: string) => `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/${prefix}-${fn}`;
const fnNamed = (suffix: string) => mocks.named(T.function, `fleet-${suffix}-function`);
const policyOf = (suffix: string) => JSON.parse(mocks.named(T.rolePolicy, `fleet-${suffix}-policy`).inputs.policy as string);
const envOf = (suffix: string) => (fnNamed(suffix).inputs.environment as { variables: Record<string, string> }).variables;

describe("FleetProvisioning with its own claim API", () => {
  it("declares exactly the expected children, and no identity pool", async () => {
    const fleet = await create(basic);
    expect(Object.fromEntries(Object.values(T).map((t) => [t, mocks.byType(t).length]))).toEqual({
      [T.table]: 1,
      [T.function]: 2,
      [T.logGroup]: 3,
      [T.role]: 3,
      [T.rolePolicy]: 2,
      [T.attachment]: 1,
      [T.template]: 1,
      [T.iotPolicy]: 1,
      [T.permission]: 2,
      [T.api]: 1,
      [T.authorizer]: 1,
      [T.integration]: 1,
      [T.route]: 1,
      [T.stage]: 1,
      [T.identityPool]: 0,
      [T.poolRoles]: 0,
    });
    expect(bundledEntries).toEqual(expect.arrayContaining([PROVISIONING_CLAIM_ENTRY, PRE_PROVISIONING_HOOK_ENTRY]));
    expect(await unwrap(fleet.identityPoolId)).toBeUndefined();
    expect(await unwrap(fleet.installerRoleArn)).toBeUndefined();
  });

  it("declares an enabled FLEET_PROVISIONING template with the hook at payload version 2020-04-01", async () => {
    await create(basic);
    const template = mocks.one(T.template);
    expect(template.inputs).toEqual({
      name: prefix,
      description: `Fleet provisioning by trusted user (${prefix})`,
      enabled: true,
      type: "FLEET_PROVISIONING",
      provisioningRoleArn: mocks.named(T.role, "fleet-provisioning-role").state.arn,
      templateBody: expect.any(String),
      preProvisioningHook: { targetArn: fnNamed("hook").state.arn, payloadVersion: "2020-04-01" },
    });
    const body = template.inputs.templateBody as string;
    expect(body.length).toBeLessThanOrEqual(10_240);
    expect(JSON.parse(body)).toEqual({
      Parameters: { ThingName: { Type: "String" }, Model: { Type: "String" }, Owner: { Type: "String" } },
      Resources: {
        thing: {
          Type: "AWS::IoT::Thing",
          Properties: { ThingName: { Ref: "ThingName" }, AttributePayload: { owner: { Ref: "Owner" }, model: { Ref: "Model" } } },
          OverrideSettings: { AttributePayload: "FAIL" },
        },
        certificate: {
          Type: "AWS::IoT::Certificate",
          Properties: { CertificateId: { Ref: "AWS::IoT::Certificate::Id" }, Status: "ACTIVE" },
        },
        policy: { Type: "AWS::IoT::Policy", Properties: { PolicyName: `${prefix}-device` } },
      },
      DeviceConfiguration: { topicRoot: { "Fn::Join": ["/", ["devices", { Ref: "ThingName" }]] } },
    });
  });

  it("gives each device its own client id and topic tree, by thing name", async () => {
    await create(basic);
    const policy = mocks.one(T.iotPolicy);
    expect(policy.inputs.name).toBe(`${prefix}-device`);
    const base = `arn:aws:iot:${REGION}:${ACCOUNT}`;
    const own = "devices/${iot:Connection.Thing.ThingName}";
    expect(JSON.parse(policy.inputs.policy as string)).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Action: "iot:Connect",
          Resource: `${base}:client/\${iot:Connection.Thing.ThingName}`,
          Condition: { Bool: { "iot:Connection.Thing.IsAttached": "true" } },
        },
        { Effect: "Allow", Action: ["iot:Publish", "iot:Receive"], Resource: [`${base}:topic/${own}`, `${base}:topic/${own}/*`] },
        { Effect: "Allow", Action: "iot:Subscribe", Resource: [`${base}:topicfilter/${own}`, `${base}:topicfilter/${own}/*`] },
      ],
    });
  });

  it("lets IoT assume the provisioning role only for this account and region, with AWSIoTThingsRegistration", async () => {
    await create(basic);
    const role = mocks.named(T.role, "fleet-provisioning-role");
    expect(JSON.parse(role.inputs.assumeRolePolicy as string)).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { Service: "iot.amazonaws.com" },
          Action: "sts:AssumeRole",
          Condition: { StringEquals: { "aws:SourceAccount": ACCOUNT }, ArnLike: { "aws:SourceArn": `arn:aws:iot:${REGION}:${ACCOUNT}:*` } },
        },
      ],
    });
    expect(mocks.one(T.attachment).inputs).toEqual({
      role: role.state.name,
      policyArn: "arn:aws:iam::aws:policy/service-role/AWSIoTThingsRegistration",
    });
  });

  it("allows the claim function CreateProvisioningClaim on this template only, and PutItem on the table only", async () => {
    await create(basic);
    expect(policyOf("claim")).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "WriteOwnLogs",
          Effect: "Allow",
          Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
          Resource: `${logGroupArn("claim")}:*`,
        },
        { Sid: "CreateClaimsForThisTemplate", Effect: "Allow", Action: "iot:CreateProvisioningClaim", Resource: templateArn },
        { Sid: "RecordBindings", Effect: "Allow", Action: ["dynamodb:PutItem"], Resource: tableArn },
      ],
    });
  });

  it("allows the hook its store's three item operations and DescribeThing on this account's things", async () => {
    await create(basic);
    expect(policyOf("hook")).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "WriteOwnLogs",
          Effect: "Allow",
          Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
          Resource: `${logGroupArn("hook")}:*`,
        },
        {
          Sid: "ReadAndConsumeBindings",
          Effect: "Allow",
          Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
          Resource: tableArn,
        },
        { Sid: "LookUpThingNames", Effect: "Allow", Action: "iot:DescribeThing", Resource: `arn:aws:iot:${REGION}:${ACCOUNT}:thing/*` },
      ],
    });
    for (const name of ["fleet-claim-role", "fleet-hook-role"]) {
      expect(JSON.parse(mocks.named(T.role, name).inputs.assumeRolePolicy as string).Statement).toEqual([
        { Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" },
      ]);
    }
  });

  it("lets IoT invoke the hook for this template and account only, before the template exists", async () => {
    await create(basic);
    expect(mocks.named(T.permission, "fleet-hook-invoke").inputs).toEqual({
      function: `${prefix}-hook`,
      action: "lambda:InvokeFunction",
      principal: "iot.amazonaws.com",
      sourceArn: templateArn,
      sourceAccount: ACCOUNT,
    });
  });

  it("runs both functions on Node.js 22 with IoT's budget for the hook and configurations their own loaders accept", async () => {
    await create(basic);
    expect(fnNamed("hook").inputs).toMatchObject({
      name: `${prefix}-hook`,
      runtime: "nodejs22.x",
      architectures: ["arm64"],
      timeout: 4,
      memorySize: 256,
    });
    expect(fnNamed("claim").inputs).toMatchObject({ name: `${prefix}-claim`, runtime: "nodejs22.x", timeout: 10 });
    const hookConfig = JSON.parse(envOf("hook").PRE_PROVISIONING_HOOK_CONFIG);
    expect(hookConfig).toEqual({
      templateArn,
      tableName: `${prefix}-claims`,
      region: REGION,
      parameters: [
        { name: "ThingName", pattern: "[A-Z]{2}-[0-9]{6}" },
        { name: "Model", pattern: "heat-pump|boiler" },
      ],
      thingNameParameter: "ThingName",
      ownerParameter: "Owner",
      allowUnboundClaims: false,
      deadlineMs: 2_500,
    });
    expect(loadPreProvisioningHookConfig(hookConfig)).toEqual(hookConfig);
    const claimConfig = JSON.parse(envOf("claim").PROVISIONING_CLAIM_CONFIG);
    expect(claimConfig).toEqual({
      templateName: prefix,
      tableName: `${prefix}-claims`,
      region: REGION,
      thingNamePattern: "[A-Z]{2}-[0-9]{6}",
      requiredScope: "iot/provision",
      requiredGroup: "installers",
      groupsClaim: "cognito:groups",
      iotDeadlineMs: 5_000,
      storeDeadlineMs: 3_000,
    });
    expect(loadProvisioningClaimConfig(claimConfig)).toEqual(claimConfig);
    expect(
      mocks
        .byType(T.logGroup)
        .map((g) => g.inputs.name)
        .sort(),
    ).toEqual([`/aws/apigateway/${prefix}-claims`, `/aws/lambda/${prefix}-claim`, `/aws/lambda/${prefix}-hook`].sort());
  });

  it("keeps bindings in an on-demand table with TTL, point-in-time recovery, encryption and deletion protection", async () => {
    await create(basic);
    expect(mocks.one(T.table).inputs).toEqual({
      name: `${prefix}-claims`,
      billingMode: "PAY_PER_REQUEST",
      deletionProtectionEnabled: true,
      hashKey: "pk",
      attributes: [{ name: "pk", type: "S" }],
      ttl: { attributeName: "ttl", enabled: true },
      pointInTimeRecovery: { enabled: true },
      serverSideEncryption: { enabled: true },
    });
  });

  it("serves POST /provisioning/claims behind a JWT authorizer requiring the scope, with throttling and header-free access logs", async () => {
    const fleet = await create(basic);
    const api = mocks.one(T.api);
    const authorizer = mocks.one(T.authorizer);
    expect(authorizer.inputs).toEqual({
      apiId: api.id,
      name: `${prefix}-installers`,
      authorizerType: "JWT",
      identitySources: ["$request.header.Authorization"],
      jwtConfiguration: { issuer: ISSUER, audiences: [APP_CLIENT] },
    });
    const integration = mocks.one(T.integration);
    expect(integration.inputs).toMatchObject({
      apiId: api.id,
      integrationType: "AWS_PROXY",
      payloadFormatVersion: "2.0",
      timeoutMilliseconds: 11_000,
    });
    expect(mocks.one(T.route).inputs).toEqual({
      apiId: api.id,
      routeKey: "POST /provisioning/claims",
      target: `integrations/${integration.id}`,
      authorizationType: "JWT",
      authorizerId: authorizer.id,
      authorizationScopes: ["iot/provision"],
    });
    expect(mocks.named(T.permission, "fleet-claim-invoke").inputs).toEqual({
      function: `${prefix}-claim`,
      action: "lambda:InvokeFunction",
      principal: "apigateway.amazonaws.com",
      sourceArn: `${api.state.executionArn}/*/POST/provisioning/claims`,
    });
    expect(mocks.one(T.stage).inputs).toMatchObject({
      name: "$default",
      autoDeploy: true,
      accessLogSettings: { format: CLAIM_ACCESS_LOG_FORMAT },
      defaultRouteSettings: { throttlingBurstLimit: 20, throttlingRateLimit: 10, detailedMetricsEnabled: false },
    });
    for (const variable of Object.values(JSON.parse(CLAIM_ACCESS_LOG_FORMAT) as Record<string, string>)) {
      expect(variable).not.toMatch(/path|querystring|header|body|claims/i);
    }
    expect(await unwrap(fleet.claimEndpoint)).toBe(`${api.state.apiEndpoint}/provisioning/claims`);
  });

  it("outputs the template, the roles, the table and the functions", async () => {
    const fleet = await create(basic);
    expect(await unwrap(fleet.templateName)).toBe(prefix);
    expect(await unwrap(fleet.templateArn)).toBe(templateArn);
    expect(await unwrap(fleet.provisioningRoleArn)).toBe(mocks.named(T.role, "fleet-provisioning-role").state.arn);
    expect(await unwrap(fleet.claimFunctionRoleArn)).toBe(mocks.named(T.role, "fleet-claim-role").state.arn);
    expect(await unwrap(fleet.hookFunctionRoleArn)).toBe(mocks.named(T.role, "fleet-hook-role").state.arn);
    expect(await unwrap(fleet.tableName)).toBe(`${prefix}-claims`);
    expect(await unwrap(fleet.tableArn)).toBe(tableArn);
    expect(await unwrap(fleet.claimFunctionName)).toBe(`${prefix}-claim`);
    expect(await unwrap(fleet.hookFunctionName)).toBe(`${prefix}-hook`);
    expect(await unwrap(fleet.devicePolicyName)).toBe(`${prefix}-device`);
  });

  it("uses a customer key for the table, and lets both functions use it through DynamoDB only", async () => {
    await create({ ...basic, kmsKeyArn: KMS_KEY });
    expect(mocks.one(T.table).inputs.serverSideEncryption).toEqual({ enabled: true, kmsKeyArn: KMS_KEY });
    for (const fn of ["claim", "hook"]) {
      expect(policyOf(fn).Statement.at(-1)).toEqual({
        Sid: "UseTableKeyThroughDynamoDb",
        Effect: "Allow",
        Action: ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
        Resource: KMS_KEY,
        Condition: { StringEquals: { "kms:ViaService": `dynamodb.${REGION}.amazonaws.com` } },
      });
    }
  });
});

describe("FleetProvisioning attached to an existing API", () => {
  const existing = {
    apiId: "devgrant01",
    executionArn: `arn:aws:execute-api:${REGION}:${ACCOUNT}:devgrant01`,
    endpoint: "https://device.example.com",
  };

  it("adds its route and a JWT authorizer to that API, and no API, stage or access logs of its own", async () => {
    const fleet = await create({ ...basic, claims: { ...basic.claims, attachTo: existing } });
    expect(mocks.byType(T.api)).toHaveLength(0);
    expect(mocks.byType(T.stage)).toHaveLength(0);
    expect(mocks.byType(T.logGroup)).toHaveLength(2);
    expect(mocks.one(T.authorizer).inputs.apiId).toBe("devgrant01");
    expect(mocks.one(T.route).inputs).toMatchObject({ apiId: "devgrant01", authorizerId: mocks.one(T.authorizer).id });
    expect(mocks.named(T.permission, "fleet-claim-invoke").inputs.sourceArn).toBe(`${existing.executionArn}/*/POST/provisioning/claims`);
    expect(await unwrap(fleet.claimEndpoint)).toBe("https://device.example.com/provisioning/claims");
  });

  it("uses the API's own JWT authorizer when one is named", async () => {
    await create({ ...basic, claims: { requiredGroup: "installers", attachTo: { ...existing, authorizerId: "jwt0001" } } });
    expect(mocks.byType(T.authorizer)).toHaveLength(0);
    expect(mocks.one(T.route).inputs).toMatchObject({ authorizerId: "jwt0001", authorizationScopes: ["iot/provision"] });
  });
});

describe("FleetProvisioning with the direct path", () => {
  const direct: FleetProvisioningArgs = {
    ...basic,
    identityPool: { userPoolId: POOL_ID, clientIds: [APP_CLIENT] },
    allowUnboundClaims: true,
  };

  it("creates an identity pool without unauthenticated identities, checking the pool's tokens server-side", async () => {
    const fleet = await create(direct);
    const pool = mocks.one(T.identityPool);
    expect(pool.inputs).toEqual({
      identityPoolName: prefix.replace(/-/g, "_"),
      allowUnauthenticatedIdentities: false,
      allowClassicFlow: false,
      cognitoIdentityProviders: [
        { clientId: APP_CLIENT, providerName: `cognito-idp.${REGION}.amazonaws.com/${POOL_ID}`, serverSideTokenCheck: true },
      ],
    });
    expect(await unwrap(fleet.identityPoolId)).toBe(pool.id);
  });

  it("gives authenticated installers of the group a role that may call CreateProvisioningClaim on this template only", async () => {
    const fleet = await create(direct);
    const pool = mocks.one(T.identityPool);
    const role = mocks.named(T.role, "fleet-installer-role");
    expect(JSON.parse(role.inputs.assumeRolePolicy as string)).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { Federated: "cognito-identity.amazonaws.com" },
          Action: "sts:AssumeRoleWithWebIdentity",
          Condition: {
            StringEquals: { "cognito-identity.amazonaws.com:aud": pool.id },
            "ForAnyValue:StringLike": { "cognito-identity.amazonaws.com:amr": "authenticated" },
          },
        },
      ],
    });
    expect(policyOf("installer")).toEqual({
      Version: "2012-10-17",
      Statement: [{ Sid: "CreateClaimsForThisTemplate", Effect: "Allow", Action: "iot:CreateProvisioningClaim", Resource: templateArn }],
    });
    expect(mocks.one(T.poolRoles).inputs).toEqual({
      identityPoolId: pool.id,
      roles: { authenticated: role.state.arn },
      roleMappings: [
        {
          identityProvider: `cognito-idp.${REGION}.amazonaws.com/${POOL_ID}:${APP_CLIENT}`,
          type: "Rules",
          ambiguousRoleResolution: "Deny",
          mappingRules: [{ claim: "cognito:groups", matchType: "Contains", value: "installers", roleArn: role.state.arn }],
        },
      ],
    });
    expect(await unwrap(fleet.installerRoleArn)).toBe(role.state.arn);
    expect(JSON.parse(envOf("hook").PRE_PROVISIONING_HOOK_CONFIG).allowUnboundClaims).toBe(true);
  });
});

describe("problems at preview", () => {
  it("lists every problem at once and declares nothing", async () => {
    let error: unknown;
    try {
      new FleetProvisioning("a-fleet-name-long-enough-to-break-iot-template-names", {
        thing: { namePattern: "(", ownerAttribute: "owner!" },
        parameters: [
          { name: "ThingName", pattern: ".*" },
          { name: "Model", pattern: ".*" },
          { name: "Colour", pattern: ".*" },
          { name: "Site", pattern: ".*" },
        ],
        topicPrefix: "devices/#",
        claims: {
          scope: "has space",
          jwt: { issuer: ISSUER, audiences: [] },
          attachTo: { apiId: "a", executionArn: "b", endpoint: "c", authorizerId: "d" },
        },
        identityPool: { userPoolId: POOL_ID, clientIds: [APP_CLIENT] },
        hookFunction: { timeoutSeconds: 5 },
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).problems).toEqual([
      expect.stringMatching(/^templateName "a-fleet-name-long-enough.*" \(the resource prefix, \d+ characters\) must be 1-36/),
      'thing.namePattern "(" is not a valid regular expression',
      "thing.ownerAttribute is not a thing attribute name IoT accepts",
      "parameters[0].name ThingName is already a parameter of the template",
      expect.stringMatching(/^the owner and 4 parameter\(s\) make 5 thing attributes; a thing without a type has at most 3/),
      expect.stringMatching(/^topicPrefix must be topic levels/),
      "claims.jwt must not be given with claims.attachTo.authorizerId (which authorizer would apply?)",
      "claims.jwt.audiences must list at least one audience (the installer app's client id)",
      'claims.scope must be an OAuth scope such as iot/provision; got "has space"',
      expect.stringMatching(/^identityPool makes claims without a binding, which the hook denies: set allowUnboundClaims: true/),
      "hookFunction.timeoutSeconds must be an integer from 1 to 4: IoT waits 5 s for the hook; got 5",
    ]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(mocks.resources).toEqual([]);
  });

  it("refuses a template body over IoT's 10,240 characters", () => {
    const long = (i: number) => `P${String(i).padStart(2, "0")}${"x".repeat(60)}`;
    const parameters = Array.from({ length: 49 }, (_, i) => ({
      name: long(i),
      pattern: ".+",
      attribute: `a${String(i).padStart(2, "0")}${"y".repeat(120)}`,
    }));
    expect(() => new FleetProvisioning("fleet", { ...basic, thing: { thingTypeName: "heater" }, parameters })).toThrow(
      /the template body would be \d{5} characters; IoT allows 10240/,
    );
  });

  it("needs a JWT authorizer: its own from claims.jwt, or the attached API's", () => {
    expect(() => new FleetProvisioning("fleet", { claims: {} })).toThrow(/claims\.jwt is required unless claims\.attachTo\.authorizerId/);
  });
});

describe("the binding table's actions", () => {
  it("are exactly the operations the store sends, and the claim function only records", () => {
    const store = readFileSync(join(REPO_ROOT, "functions", "shared", "claim-binding-store.ts"), "utf8");
    const sent = new Set([...store.matchAll(/new (\w+)Command\(/g)].map((m) => `dynamodb:${m[1]}`));
    expect([...sent].sort()).toEqual([...new Set([...CLAIM_FUNCTION_TABLE_ACTIONS, ...HOOK_FUNCTION_TABLE_ACTIONS])].sort());
    const claim = readFileSync(join(REPO_ROOT, "functions", "provisioning-claim", "claim.ts"), "utf8");
    expect([...claim.matchAll(/bindings\.(\w+)\(/g)].map((m) => m[1])).toEqual(["record"]);
  });
});

describe("examples/fleet-provisioning", () => {
  it("runs: a user directory's installers claim through the component's own API, in the installers group", async () => {
    const recorder = setupMocks({ project: "fleet-provisioning-example", region: REGION, config: { "aws:region": REGION } });
    const example = await import("../../examples/fleet-provisioning");
    expect(await unwrap(example.claimEndpoint)).toBe(`${recorder.one(T.api).state.apiEndpoint}/provisioning/claims`);
    expect(await unwrap(example.templateName)).toMatch(/^[0-9A-Za-z_-]{1,36}$/);
    const authorizer = recorder.one(T.authorizer);
    expect((authorizer.inputs.jwtConfiguration as { issuer: string }).issuer).toMatch(
      /^https:\/\/cognito-idp\.eu-west-1\.amazonaws\.com\//,
    );
    const claimConfig = JSON.parse(
      (recorder.named(T.function, "fleet-claim-function").inputs.environment as { variables: Record<string, string> }).variables
        .PROVISIONING_CLAIM_CONFIG,
    );
    expect(claimConfig.requiredGroup).toBe("installers");
    expect(recorder.byType(T.identityPool)).toHaveLength(0);
  });
});
