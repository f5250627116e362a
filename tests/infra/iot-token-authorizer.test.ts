import { createPublicKey, generateKeyPairSync } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_GRANTS, DEFAULT_AUTHORIZER_SETTINGS } from "../../functions/authorizer/config";
import { ConfigurationError } from "../../functions/shared/problems";
import { allRegistered, captureChildren, outputsRegistered, type CapturedResource } from "../helpers/capture";
import { bundledEntries } from "../helpers/bundle-stub";
import { MOCK_STACK, setupMocks, unwrap, type MockRecorder } from "../../support/pulumi-mocks";

// The component's tests are about what it declares; the bundle has its own tests (bundle.test.ts), and a
// half-edited function must not fail these.
jest.mock("../../infra/bundle", () => jest.requireActual("../helpers/bundle-stub").stubbedBundleModule());

import { AUTHORIZER_ENTRY, IotTokenAuthorizer } from "../../infra/iot-token-authorizer";
import { checkedSharedSecret, type IotTokenAuthorizerArgs, usableSharedSecret } from "../../infra/iot-token-authorizer-args";

const ACCOUNT = "123456789012";
const REGION = "eu-west-1";
/** 32 bytes, base64: the shortest HS256 secret accepted. */
const SHARED_SECRET = Buffer.alloc(32, 7).toString("base64");
const OPENAM = "https://openam.example.com:8443/openam/oauth2";
const COGNITO = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example";

const T = {
  function: "aws:lambda/function:Function",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  parameter: "aws:ssm/parameter:Parameter",
  key: "tls:index/privateKey:PrivateKey",
  authorizer: "aws:iot/authorizer:Authorizer",
  permission: "aws:lambda/permission:Permission",
  domain: "aws:iot/domainConfiguration:DomainConfiguration",
};

const hsIssuer = { issuer: OPENAM, algorithms: ["HS256" as const], sharedSecret: SHARED_SECRET, audiences: ["deviceagent"] };
const rsIssuer = {
  issuer: COGNITO,
  algorithms: ["RS256" as const],
  jwksUri: `${COGNITO}/.well-known/jwks.json`,
  tokenUse: "access",
  clientIds: ["abc123"],
};

let mocks: MockRecorder;
beforeEach(() => {
  mocks = setupMocks({ accountId: ACCOUNT, region: REGION });
});

async function create(
  args: IotTokenAuthorizerArgs,
  name = "auth",
): Promise<{ component: IotTokenAuthorizer; captured: CapturedResource[] }> {
  const { transformation, captured } = captureChildren();
  const component = new IotTokenAuthorizer(name, args, { transformations: [transformation] });
  await allRegistered(captured);
  await outputsRegistered(component);
  return { component, captured };
}

function policyOf(recorder: MockRecorder) {
  return JSON.parse(recorder.one(T.rolePolicy).inputs.policy as string);
}

function envConfigOf(recorder: MockRecorder) {
  const variables = (recorder.one(T.function).inputs.environment as { variables: Record<string, string> }).variables;
  return { variables, config: JSON.parse(variables.AUTHORIZER_CONFIG) };
}

describe("IotTokenAuthorizer with an HS256 issuer (ForgeRock OpenAM)", () => {
  const prefix = `auth-${MOCK_STACK}`;
  const parameterName = `/iot-enterprise-auth/${prefix}/issuers/0/shared-secret`;
  const parameterArn = `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/iot-enterprise-auth/${prefix}/issuers/0/shared-secret`;
  const logGroupArn = `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/${prefix}`;

  it("declares exactly the expected children", async () => {
    await create({ issuers: [hsIssuer] });
    const counts = Object.fromEntries(Object.values(T).map((t) => [t, mocks.byType(t).length]));
    expect(counts).toEqual({
      [T.function]: 1,
      [T.logGroup]: 1,
      [T.role]: 1,
      [T.rolePolicy]: 1,
      [T.parameter]: 1,
      [T.key]: 1,
      [T.authorizer]: 1,
      [T.permission]: 1,
      [T.domain]: 0,
    });
    expect(mocks.byType("aws:iam/rolePolicyAttachment:RolePolicyAttachment")).toHaveLength(0);
    expect(bundledEntries).toContain(AUTHORIZER_ENTRY);
  });

  it("allows the function its log group, its secret parameter and decryption through SSM, nothing else", async () => {
    await create({ issuers: [hsIssuer] });
    expect(policyOf(mocks)).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "WriteOwnLogs",
          Effect: "Allow",
          Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
          Resource: `${logGroupArn}:*`,
        },
        { Sid: "ReadSharedSecrets", Effect: "Allow", Action: "ssm:GetParameter", Resource: parameterArn },
        {
          Sid: "DecryptSharedSecretsThroughSsm",
          Effect: "Allow",
          Action: "kms:Decrypt",
          Resource: "*",
          Condition: {
            StringEquals: {
              "kms:ViaService": `ssm.${REGION}.amazonaws.com`,
              "kms:EncryptionContext:PARAMETER_ARN": parameterArn,
            },
          },
        },
      ],
    });
    const rolePolicy = mocks.one(T.rolePolicy);
    expect(rolePolicy.inputs.role).toBe(mocks.one(T.role).id);
  });

  it("lets only the Lambda service assume the role", async () => {
    await create({ issuers: [hsIssuer] });
    const role = mocks.one(T.role);
    expect(JSON.parse(role.inputs.assumeRolePolicy as string)).toEqual({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }],
    });
    expect(role.inputs.managedPolicyArns).toBeUndefined();
  });

  it("stores the shared secret as a SecureString marked secret", async () => {
    await create({ issuers: [hsIssuer] });
    const parameter = mocks.one(T.parameter);
    expect(parameter.inputs).toMatchObject({ name: parameterName, type: "SecureString", value: SHARED_SECRET });
    expect(parameter.secretInputs).toContain("value");
  });

  it("passes the function its configuration, naming the parameter and never the secret", async () => {
    await create({ issuers: [hsIssuer] });
    const { variables, config } = envConfigOf(mocks);
    expect(Object.keys(variables)).toEqual(["AUTHORIZER_CONFIG"]);
    expect(config).toEqual({
      issuers: [{ issuer: OPENAM, algorithms: ["HS256"], secretParameter: parameterName, audiences: ["deviceagent"] }],
      grants: DEFAULT_GRANTS,
      ...DEFAULT_AUTHORIZER_SETTINGS,
      region: REGION,
      accountId: ACCOUNT,
      partition: "aws",
    });
    const fn = mocks.one(T.function);
    const everything = JSON.stringify(fn.inputs);
    expect(everything).not.toContain(SHARED_SECRET);
    expect(everything).not.toContain(Buffer.from(SHARED_SECRET, "base64").toString("hex"));
    expect(fn.secretInputs).toEqual([]);
  });

  it("runs the function on Node.js 22, arm64, with explicit memory and a timeout under IoT's 5 s", async () => {
    await create({ issuers: [hsIssuer] });
    const fn = mocks.one(T.function);
    expect(fn.inputs).toMatchObject({
      name: prefix,
      runtime: "nodejs22.x",
      architectures: ["arm64"],
      handler: "index.handler",
      memorySize: 256,
      timeout: 3,
      role: `arn:aws:iam::${ACCOUNT}:role/${mocks.one(T.role).id}`,
      loggingConfig: { logFormat: "JSON", logGroup: `/aws/lambda/${prefix}`, applicationLogLevel: "INFO", systemLogLevel: "WARN" },
    });
    expect(fn.inputs.code).toBeInstanceOf(pulumi.asset.AssetArchive);
  });

  it("gives the function its own log group with retention", async () => {
    await create({ issuers: [hsIssuer] });
    expect(mocks.one(T.logGroup).inputs).toMatchObject({ name: `/aws/lambda/${prefix}`, retentionInDays: 30 });
  });

  it("declares the authorizer with signing on and the generated key's public half", async () => {
    const { component } = await create({ issuers: [hsIssuer] });
    const key = mocks.one(T.key);
    expect(key.inputs).toEqual({ algorithm: "RSA", rsaBits: 2048 });
    const authorizer = mocks.one(T.authorizer);
    expect(authorizer.inputs).toEqual({
      name: prefix,
      authorizerFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${prefix}`,
      signingDisabled: false,
      status: "ACTIVE",
      tokenKeyName: "token",
      tokenSigningPublicKeys: { primary: key.state.publicKeyPem },
      enableCachingForHttp: false,
    });
    expect(createPublicKey(key.state.publicKeyPem as string).asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(await unwrap(component.publicKeyPem)).toBe(key.state.publicKeyPem);
  });

  it("lets IoT invoke the function for this authorizer, from this account, only", async () => {
    await create({ issuers: [hsIssuer] });
    expect(mocks.one(T.permission).inputs).toEqual({
      function: prefix,
      action: "lambda:InvokeFunction",
      principal: "iot.amazonaws.com",
      sourceArn: `arn:aws:iot:${REGION}:${ACCOUNT}:authorizer/${prefix}`,
      sourceAccount: ACCOUNT,
    });
  });

  it("replaces the authorizer, creating the new one first, when signing is toggled or its name changes", async () => {
    const { captured } = await create({ issuers: [hsIssuer] });
    const authorizer = captured.find((c) => c.type === T.authorizer);
    expect(authorizer?.opts.replaceOnChanges).toEqual(["signingDisabled", "name"]);
    expect((authorizer?.opts as pulumi.CustomResourceOptions).deleteBeforeReplace).toBe(false);
    const fn = captured.find((c) => c.type === T.function);
    const dependsOn = fn?.opts.dependsOn as pulumi.Resource[];
    const byResource = new Map(captured.map((c) => [c.resource, c.type]));
    expect(dependsOn.map((r) => byResource.get(r)).sort()).toEqual([T.logGroup, T.rolePolicy, T.parameter].sort());
    for (const child of captured.filter((c) => c.type !== "iot-enterprise-auth:iot:TokenAuthorizer")) {
      expect(child.opts.parent).toBeDefined();
    }
  });

  it("exposes its outputs, with the private key secret", async () => {
    const { component } = await create({ issuers: [hsIssuer] });
    const key = mocks.one(T.key);
    expect(await unwrap(component.authorizerName)).toBe(prefix);
    expect(await unwrap(component.authorizerArn)).toBe(`arn:aws:iot:${REGION}:${ACCOUNT}:authorizer/${prefix}`);
    expect(await unwrap(component.tokenKeyName)).toBe("token");
    expect(await unwrap(component.functionName)).toBe(prefix);
    expect(await unwrap(component.functionArn)).toBe(`arn:aws:lambda:${REGION}:${ACCOUNT}:function:${prefix}`);
    expect(await unwrap(component.dataEndpoint)).toBe(`a1b2c3d4e5f6g7-ats.iot.${REGION}.amazonaws.com`);
    expect(await unwrap(component.privateKeyPem)).toBe(key.state.privateKeyPem);
    expect(await pulumi.isSecret(component.privateKeyPem)).toBe(true);
    expect(await pulumi.isSecret(component.publicKeyPem)).toBe(false);
  });

  it("looks up only the region, account, partition and IoT endpoint", async () => {
    const { component } = await create({ issuers: [hsIssuer] });
    await unwrap(component.dataEndpoint);
    expect([...new Set(mocks.calls.map((c) => c.token))].sort()).toEqual([
      "aws:index/getCallerIdentity:getCallerIdentity",
      "aws:index/getPartition:getPartition",
      "aws:index/getRegion:getRegion",
      "aws:iot/getEndpoint:getEndpoint",
    ]);
  });

  it("checks a shared secret given as an Output once it is known, failing the deployment", async () => {
    // `checkedSharedSecret` applies `usableSharedSecret` to the known value; a rejected Output would only
    // surface here as unhandled rejections, so the check is asserted on directly.
    expect(() => usableSharedSecret(Buffer.alloc(16).toString("base64"), ["HS256"], `issuer ${OPENAM}`, "test")).toThrow(
      `issuer ${OPENAM}: the shared secret decodes to 16 bytes; HS256 needs at least 32`,
    );
    const good = checkedSharedSecret(pulumi.output(` ${SHARED_SECRET}\n`), ["HS256"], `issuer ${OPENAM}`, "test");
    expect(await unwrap(good)).toBe(SHARED_SECRET);
    expect(await pulumi.isSecret(good)).toBe(true);
  });

  it("stores a shared secret given as an Output", async () => {
    await create({ issuers: [{ ...hsIssuer, sharedSecret: pulumi.secret(SHARED_SECRET) }] });
    const parameter = mocks.one(T.parameter);
    expect(parameter.inputs.value).toBe(SHARED_SECRET);
    expect(parameter.secretInputs).toContain("value");
  });
});

describe("IotTokenAuthorizer with an RS256 issuer only (Cognito)", () => {
  it("grants no SSM or KMS access and creates no parameter", async () => {
    await create({ issuers: [rsIssuer] });
    expect(mocks.byType(T.parameter)).toHaveLength(0);
    expect(policyOf(mocks)).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "WriteOwnLogs",
          Effect: "Allow",
          Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
          Resource: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/auth-${MOCK_STACK}:*`,
        },
      ],
    });
    expect(envConfigOf(mocks).config.issuers).toEqual([
      { issuer: COGNITO, algorithms: ["RS256"], jwksUri: `${COGNITO}/.well-known/jwks.json`, clientIds: ["abc123"], tokenUse: "access" },
    ]);
  });

  it("passes every authorizer setting through to the function", async () => {
    const grants = [{ actions: ["iot:Connect" as const], resources: ["client/{principal}"] }];
    await create({
      issuers: [rsIssuer],
      grants,
      tokenKeyName: "access_token",
      refreshAfterSeconds: 900,
      disconnectAfterSeconds: 7_200,
      clockToleranceSeconds: 5,
      maxTokenBytes: 4_096,
      lambda: { memorySize: 512, timeoutSeconds: 4, architecture: "x86_64" },
      logRetentionDays: 90,
      enableCachingForHttp: true,
    });
    expect(envConfigOf(mocks).config).toMatchObject({
      grants,
      tokenKeyName: "access_token",
      refreshAfterSeconds: 900,
      disconnectAfterSeconds: 7_200,
      clockToleranceSeconds: 5,
      maxTokenBytes: 4_096,
    });
    expect(mocks.one(T.function).inputs).toMatchObject({ memorySize: 512, timeout: 4, architectures: ["x86_64"] });
    expect(mocks.one(T.logGroup).inputs.retentionInDays).toBe(90);
    expect(mocks.one(T.authorizer).inputs).toMatchObject({ tokenKeyName: "access_token", enableCachingForHttp: true });
  });

  it("generates a 4096-bit key when asked", async () => {
    await create({ issuers: [rsIssuer], signing: { rsaBits: 4096 } });
    const key = mocks.one(T.key);
    expect(key.inputs.rsaBits).toBe(4096);
    expect(createPublicKey(key.state.publicKeyPem as string).asymmetricKeyDetails?.modulusLength).toBe(4096);
  });

  it("uses a caller-supplied public key and creates no private key", async () => {
    const publicKeyPem = mocksKey();
    const { component } = await create({ issuers: [rsIssuer], signing: { publicKeyPem, keyName: "rotation-2" } });
    expect(mocks.byType(T.key)).toHaveLength(0);
    expect(mocks.one(T.authorizer).inputs.tokenSigningPublicKeys).toEqual({ "rotation-2": publicKeyPem });
    expect(await unwrap(component.privateKeyPem)).toBeUndefined();
  });

  it("declares an authorizer without keys when signing is off", async () => {
    const { component } = await create({ issuers: [rsIssuer], signing: { enabled: false } });
    expect(mocks.byType(T.key)).toHaveLength(0);
    const inputs = mocks.one(T.authorizer).inputs;
    expect(inputs.signingDisabled).toBe(true);
    expect(inputs.tokenSigningPublicKeys).toBeUndefined();
    expect(await unwrap(component.publicKeyPem)).toBeUndefined();
  });

  it("makes itself the default authorizer of a domain configuration when asked", async () => {
    await create({
      issuers: [rsIssuer],
      domainConfiguration: {
        name: "devices",
        domainName: "iot.example.com",
        serverCertificateArns: ["arn:aws:acm:eu-west-1:123456789012:certificate/abc"],
      },
    });
    expect(mocks.one(T.domain).inputs).toEqual({
      name: "devices",
      domainName: "iot.example.com",
      serverCertificateArns: ["arn:aws:acm:eu-west-1:123456789012:certificate/abc"],
      serviceType: "DATA",
      authorizerConfig: { defaultAuthorizerName: `auth-${MOCK_STACK}`, allowAuthorizerOverride: false },
    });
  });

  it("tags every child that takes tags", async () => {
    await create({ issuers: [hsIssuer], tags: { team: "iot" } });
    for (const type of [T.function, T.logGroup, T.role, T.parameter, T.authorizer]) {
      expect(mocks.one(type).inputs.tags).toEqual({ team: "iot" });
    }
  });
});

describe("IotTokenAuthorizer trusting an issuer declared in the same program", () => {
  it("takes the issuer, JWKS URI and client ids as outputs and gives the function their real values", async () => {
    const pool = pulumi.output(COGNITO);
    await create({
      issuers: [
        {
          ...rsIssuer,
          issuer: pool,
          jwksUri: pool.apply((i) => `${i}/.well-known/jwks.json`),
          clientIds: pulumi.output(["abc123", "def456"]),
          principalPrefix: "c",
        },
        { ...hsIssuer, principalPrefix: "o" },
      ],
    });
    const { config } = envConfigOf(mocks);
    expect(config.issuers[0]).toEqual({
      issuer: COGNITO,
      algorithms: ["RS256"],
      jwksUri: `${COGNITO}/.well-known/jwks.json`,
      clientIds: ["abc123", "def456"],
      tokenUse: "access",
      principalPrefix: "c",
    });
    expect(JSON.stringify(config)).not.toContain("invalid");
  });

  it("still checks an output-valued issuer against the others at preview", () => {
    expect(() => new IotTokenAuthorizer("auth", { issuers: [{ ...rsIssuer, issuer: pulumi.output(COGNITO) }, hsIssuer] })).toThrow(
      /share a principal namespace/,
    );
  });
});

describe("IotTokenAuthorizer argument checks", () => {
  async function expectRefused(args: unknown, name = "auth"): Promise<string[]> {
    let error: unknown;
    try {
      new IotTokenAuthorizer(name, args as IotTokenAuthorizerArgs);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    // Nothing was declared, not even the component itself.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(mocks.resources).toEqual([]);
    return (error as ConfigurationError).problems;
  }

  it("refuses a 1024-bit or odd-sized signing key", async () => {
    const problems = await expectRefused({ issuers: [rsIssuer], signing: { rsaBits: 1024 } });
    expect(problems).toEqual(["signing.rsaBits must be one of 2048, 3072, 4096; got 1024"]);
  });

  it("lists every problem of a bad configuration at once", async () => {
    const problems = await expectRefused(
      {
        issuers: [
          { issuer: OPENAM, algorithms: ["HS256"], sharedSecret: Buffer.alloc(16).toString("base64") },
          { issuer: COGNITO, algorithms: ["RS256"] },
          { issuer: "https://other.example.com", algorithms: ["ES256"], jwksUri: "https://other.example.com/jwks" },
        ],
        resourcePrefix: "bad prefix!",
        lambda: { timeoutSeconds: 5 },
      },
      "auth",
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^resourcePrefix "bad prefix!" must be 1-64 letters/),
        `issuer ${OPENAM}: the shared secret decodes to 16 bytes; HS256 needs at least 32`,
        `issuer ${COGNITO}: an RSA issuer needs jwksUri`,
        expect.stringMatching(/^issuer https:\/\/other\.example\.com: unknown algorithm\(s\) ES256/),
        expect.stringMatching(/^lambda\.timeoutSeconds must be an integer from 1 to 4/),
      ]),
    );
  });

  it("names both sides of conflicting settings", async () => {
    const problems = await expectRefused({
      issuers: [
        { ...hsIssuer, secretParameter: "/existing" },
        { ...rsIssuer, secret: "c2VjcmV0" },
      ],
      signing: { enabled: false, rsaBits: 3072 },
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        `issuer ${OPENAM}: set sharedSecret or secretParameter, not both`,
        `issuer ${COGNITO}: an inline secret would end up in the function's environment; pass sharedSecret instead`,
        "signing.enabled is false but a signing key is configured (publicKeyPem, rsaBits, keyName or keys)",
      ]),
    );
  });

  it("refuses a component name that cannot name the function", async () => {
    const problems = await expectRefused({ issuers: [rsIssuer] }, "my authorizer");
    expect(problems).toEqual([
      expect.stringContaining(`resourcePrefix "my authorizer-${MOCK_STACK}" (derived from the component name and stack)`),
    ]);
  });

  it("refuses a weak caller-supplied public key and a retention CloudWatch does not offer", async () => {
    const weak = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ type: "spki", format: "pem" }).toString();
    const problems = await expectRefused({ issuers: [rsIssuer], signing: { publicKeyPem: weak }, logRetentionDays: 31 });
    expect(problems).toEqual([
      "signing.publicKeyPem must be an RSA key of at least 2048 bits; got rsa 1024",
      expect.stringMatching(/^logRetentionDays must be one of 1, 3, 5, .*; got 31$/),
    ]);
  });
});

function mocksKey(): string {
  return generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ type: "spki", format: "pem" }).toString();
}
