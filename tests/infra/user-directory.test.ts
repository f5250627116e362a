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
    });
  });

  it("turns MFA off without a software token block, and deletion protection off when asked", async () => {
    await create({ ...baseArgs, mfa: "OFF", deletionProtection: false, advancedSecurity: "ENFORCED", allowSelfSignUp: true });
    const inputs = mocks.one(T.pool).inputs;
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
    expect(mocks.one(T.domain).inputs).toEqual({ userPoolId: poolId, domain: `users-${MOCK_STACK}` });
    const hosted = `https://users-${MOCK_STACK}.auth.${REGION}.amazoncognito.com`;
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
    expect(mocks.one(T.domain).inputs).toEqual({ userPoolId: mocks.one(T.pool).id, domain: "login.example.com", certificateArn });
    expect(await unwrap(directory.authorizationEndpoint)).toBe("https://login.example.com/oauth2/authorize");
    expect(await unwrap(directory.cloudfrontDistribution)).toMatch(/\.cloudfront\.net$/);
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

  it("derives a valid domain prefix from the name and stack", () => {
    expect(checkUserDirectoryArgs("Device_Users", baseArgs, "prod.eu").domainPrefix).toBe("device-users-prod-eu");
  });
});
