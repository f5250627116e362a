import * as pulumi from "@pulumi/pulumi";
import { ConfigurationError } from "../../functions/shared/problems";
import { UserDirectory } from "../../infra/user-directory";
import { checkUserDirectoryArgs, type UserDirectoryArgs } from "../../infra/user-directory-args";
import { allRegistered, captureChildren } from "../helpers/capture";
import { MOCK_STACK, setupMocks, unwrap, type MockRecorder } from "../../support/pulumi-mocks";

const REGION = "eu-west-1";
const CALLBACK = "https://abc123defg.execute-api.eu-west-1.amazonaws.com/callback";
const T = {
  pool: "aws:cognito/userPool:UserPool",
  domain: "aws:cognito/userPoolDomain:UserPoolDomain",
  resourceServer: "aws:cognito/resourceServer:ResourceServer",
  client: "aws:cognito/userPoolClient:UserPoolClient",
  group: "aws:cognito/userGroup:UserGroup",
  random: "random:index/randomId:RandomId",
};

let mocks: MockRecorder;
beforeEach(() => {
  mocks = setupMocks({ region: REGION });
});

const baseArgs: UserDirectoryArgs = {
  callbackUrls: [CALLBACK],
  clients: [
    { key: "tv", name: "Living-room TV" },
    { key: "printer", name: "Office printer", type: "confidential", scopes: ["openid", "iot/device"] },
  ],
};

async function create(args: UserDirectoryArgs = baseArgs, name = "users"): Promise<UserDirectory> {
  const { transformation, captured } = captureChildren();
  const directory = new UserDirectory(name, args, { transformations: [transformation] });
  await allRegistered(captured);
  // Let the component's own output registration finish before the next test replaces the mocks.
  await Promise.all(
    [directory.clientIds, directory.clientSecrets, directory.issuer, directory.tokenEndpoint].map((o) =>
      unwrap(o as pulumi.Output<unknown>),
    ),
  );
  await new Promise((resolve) => setTimeout(resolve, 20));
  return directory;
}

describe("UserDirectory", () => {
  it("declares one pool, one domain, one resource server and one client per device kind", async () => {
    await create();
    expect(Object.fromEntries(Object.values(T).map((t) => [t, mocks.byType(t).length]))).toEqual({
      [T.pool]: 1,
      [T.domain]: 1,
      [T.resourceServer]: 1,
      [T.client]: 2,
      [T.group]: 0,
      [T.random]: 1,
    });
  });

  it("gives the pool a strong password policy, TOTP MFA, email recovery and deletion protection", async () => {
    await create();
    expect(mocks.one(T.pool).inputs).toEqual({
      name: `users-${MOCK_STACK}`,
      usernameAttributes: ["email"],
      autoVerifiedAttributes: ["email"],
      usernameConfiguration: { caseSensitive: false },
      passwordPolicy: {
        minimumLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireNumbers: true,
        requireSymbols: true,
        temporaryPasswordValidityDays: 3,
      },
      mfaConfiguration: "OPTIONAL",
      softwareTokenMfaConfiguration: { enabled: true },
      accountRecoverySetting: { recoveryMechanisms: [{ name: "verified_email", priority: 1 }] },
      adminCreateUserConfig: { allowAdminCreateUserOnly: true },
      deletionProtection: "ACTIVE",
      userPoolTier: "ESSENTIALS",
    });
  });

  it("turns MFA off without a software token block, and deletion protection off when asked", async () => {
    await create({
      ...baseArgs,
      mfa: "OFF",
      deletionProtection: false,
      advancedSecurity: "ENFORCED",
      featurePlan: "PLUS",
      allowSelfSignUp: true,
    });
    const inputs = mocks.one(T.pool).inputs;
    expect(inputs.userPoolTier).toBe("PLUS");
    expect(inputs.mfaConfiguration).toBe("OFF");
    expect(inputs.softwareTokenMfaConfiguration).toBeUndefined();
    expect(inputs.deletionProtection).toBe("INACTIVE");
    expect(inputs.userPoolAddOns).toEqual({ advancedSecurityMode: "ENFORCED" });
    expect(inputs.adminCreateUserConfig).toEqual({ allowAdminCreateUserOnly: false });
  });

  it("declares the IoT scopes on the resource server", async () => {
    await create();
    const pool = mocks.one(T.pool);
    expect(mocks.one(T.resourceServer).inputs).toEqual({
      userPoolId: pool.id,
      identifier: "iot",
      name: "iot",
      scopes: [{ scopeName: "device", scopeDescription: "Connect to AWS IoT Core as the signed-in user" }],
    });
  });

  it("registers each client for the code flow only, calling back exactly to /callback, with revocation and lifetimes", async () => {
    await create();
    const pool = mocks.one(T.pool);
    const [tv, printer] = mocks.byType(T.client);
    const common = {
      userPoolId: pool.id,
      allowedOauthFlowsUserPoolClient: true,
      allowedOauthFlows: ["code"],
      callbackUrls: [CALLBACK],
      supportedIdentityProviders: ["COGNITO"],
      explicitAuthFlows: ["ALLOW_REFRESH_TOKEN_AUTH"],
      preventUserExistenceErrors: "ENABLED",
      enableTokenRevocation: true,
      accessTokenValidity: 60,
      idTokenValidity: 60,
      refreshTokenValidity: 30,
      tokenValidityUnits: { accessToken: "minutes", idToken: "minutes", refreshToken: "days" },
    };
    expect(tv.inputs).toEqual({ ...common, name: "Living-room TV", generateSecret: false, allowedOauthScopes: ["openid", "iot/device"] });
    expect(printer.inputs).toEqual({
      ...common,
      name: "Office printer",
      generateSecret: true,
      allowedOauthScopes: ["openid", "iot/device"],
    });
    for (const client of [tv, printer]) {
      expect(client.inputs.allowedOauthFlows).not.toContain("implicit");
      expect(client.inputs.explicitAuthFlows).not.toContain("ALLOW_USER_PASSWORD_AUTH");
    }
  });

  it("outputs the issuer, JWKS URI, hosted UI endpoints and client ids, with the secrets secret", async () => {
    const directory = await create();
    const poolId = mocks.one(T.pool).id;
    const issuer = `https://cognito-idp.${REGION}.amazonaws.com/${poolId}`;
    expect(poolId).toMatch(/^eu-west-1_/);
    expect(await unwrap(directory.issuer)).toBe(issuer);
    expect(await unwrap(directory.jwksUri)).toBe(`${issuer}/.well-known/jwks.json`);
    const prefix = `users-${MOCK_STACK}-${mocks.one(T.random).state.hex as string}`;
    expect(prefix).toMatch(new RegExp(`^users-${MOCK_STACK}-[0-9a-f]{8}$`));
    expect(mocks.one(T.domain).inputs).toEqual({ userPoolId: poolId, domain: prefix, managedLoginVersion: 1 });
    const hosted = `https://${prefix}.auth.${REGION}.amazoncognito.com`;
    expect(await unwrap(directory.authorizationEndpoint)).toBe(`${hosted}/oauth2/authorize`);
    expect(await unwrap(directory.tokenEndpoint)).toBe(`${hosted}/oauth2/token`);
    const [tv, printer] = mocks.byType(T.client);
    expect(await unwrap(directory.clientIds)).toEqual({ tv: tv.id, printer: printer.id });
    const secrets = await unwrap(directory.clientSecrets);
    expect(Object.keys(secrets)).toEqual(["printer"]);
    expect(secrets.printer).toBe(printer.state.clientSecret);
    expect(await pulumi.isSecret(directory.clientSecrets)).toBe(true);
    expect(await pulumi.isSecret(directory.clientIds)).toBe(false);
  });

  it("serves the hosted UI on a custom domain with its certificate", async () => {
    const certificateArn = "arn:aws:acm:us-east-1:123456789012:certificate/abc";
    const directory = await create({ ...baseArgs, domain: { customDomain: "login.example.com", certificateArn } });
    expect(mocks.one(T.domain).inputs).toEqual({
      userPoolId: mocks.one(T.pool).id,
      domain: "login.example.com",
      certificateArn,
      managedLoginVersion: 1,
    });
    expect(mocks.byType(T.random)).toEqual([]);
    expect(await unwrap(directory.authorizationEndpoint)).toBe("https://login.example.com/oauth2/authorize");
    expect(await unwrap(directory.customDomainTarget)).toMatch(/\.cloudfront\.net$/);
  });

  it("refuses weak or contradictory arguments, listing every problem, and declares nothing", async () => {
    let error: unknown;
    try {
      new UserDirectory("users", {
        callbackUrls: ["http://device.example.com/callback"],
        clients: [
          { key: "tv", name: "TV", scopes: ["openid"] },
          { key: "tv", name: "TV again", type: "shared" as "public" },
        ],
        domain: { prefix: "my-cognito-login", certificateArn: "arn:aws:acm:us-east-1:1:certificate/x" },
        mfa: "SMS" as "ON",
        minimumPasswordLength: 8,
        accessTokenValidityMinutes: 2,
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).problems).toEqual([
      "domain.certificateArn is set without domain.customDomain",
      'domain.prefix "my-cognito-login" must be 1-63 lowercase letters, digits or hyphens, not starting or ending with one, without aws, amazon or cognito',
      "client tv: scopes must include an IoT scope (iot/device), or its tokens open nothing",
      "client tv is listed more than once",
      'client tv: type must be public or confidential; got "shared"',
      "callback URL http://device.example.com/callback must use https (Cognito allows http for localhost only)",
      'mfa must be OFF, OPTIONAL or ON; got "SMS"',
      "minimumPasswordLength must be an integer from 12 to 99; got 8",
      "accessTokenValidityMinutes must be an integer from 5 to 1440; got 2",
    ]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(mocks.resources).toEqual([]);
  });

  it("derives the fixed part of a valid, unique domain prefix from the name and stack, leaving room for the random part", () => {
    const checked = checkUserDirectoryArgs("Device_Users", baseArgs, "prod.eu");
    expect(checked.domainPrefixBase).toBe("device-users-prod-eu");
    expect(checked.domainPrefix).toBeUndefined();
    expect(checkUserDirectoryArgs("users", baseArgs, "s".repeat(80)).domainPrefixBase).toHaveLength(63 - 9);
  });

  it("draws the default prefix's random part once, kept by the stack's state, and uses a given prefix as it is", async () => {
    await create();
    expect(mocks.one(T.random).inputs).toEqual({ byteLength: 4, keepers: { base: `users-${MOCK_STACK}` } });
    mocks = setupMocks({ region: REGION });
    await create({ ...baseArgs, domain: { prefix: "acme-device-login" } });
    expect(mocks.byType(T.random)).toEqual([]);
    expect(mocks.one(T.domain).inputs.domain).toBe("acme-device-login");
  });

  it("refuses threat protection without the Plus feature plan, and an unknown plan", () => {
    const problems = (args: Partial<UserDirectoryArgs>) => {
      try {
        checkUserDirectoryArgs("users", { ...baseArgs, ...args }, "dev");
        return [];
      } catch (err) {
        return (err as ConfigurationError).problems;
      }
    };
    expect(problems({ advancedSecurity: "AUDIT" })).toEqual([
      "advancedSecurity AUDIT needs featurePlan PLUS (threat protection is a Plus feature); got ESSENTIALS",
    ]);
    expect(problems({ advancedSecurity: "ENFORCED", featurePlan: "LITE" })).toEqual([
      "advancedSecurity ENFORCED needs featurePlan PLUS (threat protection is a Plus feature); got LITE",
    ]);
    expect(problems({ featurePlan: "GOLD" as "PLUS" })).toEqual(['featurePlan must be LITE, ESSENTIALS or PLUS; got "GOLD"']);
    expect(problems({ advancedSecurity: "ENFORCED", featurePlan: "PLUS" })).toEqual([]);
  });
});

describe("UserDirectory on an existing user pool", () => {
  const existing = { userPoolId: "eu-west-1_AbCdEf123", hostedUiUrl: "https://login.example.com" };
  const adoptedArgs: UserDirectoryArgs = {
    callbackUrls: [CALLBACK],
    existingUserPool: existing,
    clients: [
      { key: "tv", name: "Living-room TV", existingClientId: "1example23456789abcdefghij" },
      { key: "printer", name: "Office printer", type: "confidential", existingClientId: "2example", existingClientSecret: "s3cret" },
      { key: "kiosk", name: "Lobby kiosk" },
    ],
    groups: [{ name: "installers" }],
  };

  it("declares no pool, domain or resource server; only the clients it does not adopt, and the groups, in that pool", async () => {
    await create(adoptedArgs);
    expect(mocks.byType(T.pool)).toEqual([]);
    expect(mocks.byType(T.domain)).toEqual([]);
    expect(mocks.byType(T.resourceServer)).toEqual([]);
    expect(mocks.byType(T.random)).toEqual([]);
    const [kiosk] = mocks.byType(T.client);
    expect(mocks.byType(T.client)).toHaveLength(1);
    expect(kiosk.inputs).toMatchObject({ name: "Lobby kiosk", userPoolId: existing.userPoolId, callbackUrls: [CALLBACK] });
    expect(mocks.one(T.group).inputs).toEqual({ userPoolId: existing.userPoolId, name: "installers" });
  });

  it("outputs the pool's ARN, issuer and endpoints from its id and URL, and the adopted clients' ids, secrets secret", async () => {
    const directory = await create(adoptedArgs);
    expect(await unwrap(directory.userPoolId)).toBe(existing.userPoolId);
    expect(await unwrap(directory.userPoolArn)).toBe(`arn:aws:cognito-idp:${REGION}:123456789012:userpool/${existing.userPoolId}`);
    expect(await unwrap(directory.issuer)).toBe(`https://cognito-idp.${REGION}.amazonaws.com/${existing.userPoolId}`);
    expect(await unwrap(directory.authorizationEndpoint)).toBe("https://login.example.com/oauth2/authorize");
    expect(await unwrap(directory.tokenEndpoint)).toBe("https://login.example.com/oauth2/token");
    expect(await unwrap(directory.clientIds)).toEqual({
      tv: "1example23456789abcdefghij",
      printer: "2example",
      kiosk: mocks.one(T.client).id,
    });
    expect(await unwrap(directory.clientSecrets)).toEqual({ printer: "s3cret" });
    expect(await pulumi.isSecret(directory.clientSecrets)).toBe(true);
    expect(await unwrap(directory.customDomainTarget)).toBeUndefined();
  });

  it("refuses the pool's own settings beside it, adopted clients without it, and a confidential client without its secret", () => {
    let error: unknown;
    try {
      checkUserDirectoryArgs(
        "users",
        {
          ...adoptedArgs,
          existingUserPool: { userPoolId: "pool-1", hostedUiUrl: "https://login.example.com/" },
          clients: [{ key: "printer", name: "Printer", type: "confidential", existingClientId: "x" }],
          mfa: "ON",
          domain: { prefix: "mine" },
        },
        "dev",
      );
    } catch (err) {
      error = err;
    }
    expect((error as ConfigurationError).problems).toEqual([
      'existingUserPool.userPoolId must be a user pool id such as eu-west-1_AbCdEf123; got "pool-1"',
      'existingUserPool.hostedUiUrl must be https://<domain>, without a path or trailing slash; got "https://login.example.com/"',
      "domain is a setting of the pool, and existingUserPool is not this program's: set it on that pool",
      "mfa is a setting of the pool, and existingUserPool is not this program's: set it on that pool",
      "client printer: a confidential existingClientId needs its existingClientSecret",
    ]);
    expect(() =>
      checkUserDirectoryArgs("users", { ...baseArgs, clients: [{ key: "tv", name: "TV", existingClientId: "abc" }] }, "dev"),
    ).toThrow("client tv: existingClientId needs existingUserPool: a new pool has no clients to adopt");
  });
});
