/**
 * A complete device flow with independent clients: openid-client 6 as the device (discovery through the
 * RFC 8414 metadata, device authorization, polling), a scripted browser as the user (code form,
 * confirmation, Approve, cognito-local's hosted login, the callback), and the IoT authorizer's core as the
 * judge of the access token the device receives. Then the device refreshes through the service.
 */
import { createAuthorizer } from "../../functions/authorizer/authorizer";
import { type LogFields, type Logger } from "../../functions/authorizer/logging";
import { loadAuthorizerConfig } from "../../functions/authorizer/config";
import { ScriptedUser, visibleText } from "../../sandbox/scripted-user";
import { loadOpenidClient, type OpenidClientModule } from "../../sandbox/esm";
import { approve, type GrantHarness, openConfirmation, PASSWORD, startGrant } from "./support/grant";

jest.setTimeout(60_000);

let grant: GrantHarness;
let client: OpenidClientModule;

beforeAll(async () => {
  client = loadOpenidClient();
  grant = await startGrant();
});
afterAll(async () => {
  await grant?.stop();
});

const silent: Logger = { warn: (_f: LogFields) => undefined, debug: () => undefined, error: () => undefined };

function iotEvent(token: string): Record<string, unknown> {
  return {
    token,
    signatureVerified: true,
    protocols: ["tls", "mqtt"],
    protocolData: { tls: { serverName: "example-ats.iot.eu-west-1.amazonaws.com" }, mqtt: { username: "device", clientId: "tv" } },
    connectionMetadata: { id: "d0adaaa7-b22d-4545-923c-8a4c6b5d1b7e" },
  };
}

test("openid-client discovers the service, a user approves through cognito-local, and the access token passes the IoT authorizer", async () => {
  const config = await client.discovery(new URL(grant.url), grant.publicClient.clientId, undefined, client.None(), {
    algorithm: "oauth2",
    execute: [client.allowInsecureRequests],
  });
  const metadata = config.serverMetadata();
  expect(metadata.issuer).toBe(grant.url);
  expect(metadata.device_authorization_endpoint).toBe(`${grant.url}/oauth2/device_authorization`);
  expect(metadata.grant_types_supported).toContain("urn:ietf:params:oauth:grant-type:device_code");

  const authorization = await client.initiateDeviceAuthorization(config, { scope: "openid iot/connect" });
  expect(authorization.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
  expect(authorization.verification_uri).toBe(`${grant.url}/device`);
  expect(authorization.interval).toBe(1);

  // The device polls (openid-client waits `interval` before each poll) while the user approves.
  const polling = client.pollDeviceAuthorizationGrant(config, authorization);

  const user = new ScriptedUser();
  const confirmation = await openConfirmation(user, {
    ...authorization,
    verification_uri_complete: authorization.verification_uri_complete as string,
    interval: authorization.interval ?? 5,
  });
  const text = visibleText(confirmation.body);
  expect(text).toContain(authorization.user_code);
  expect(text).toContain('Living-room <TV> & "Co"');
  expect(text).toContain("iot/connect");
  expect(text).toContain("127.0.0.1");
  const idpUrl = await approve(user, confirmation);
  const idp = new URL(idpUrl);
  expect(idp.origin).toBe(grant.cognito.baseUrl);
  expect(idp.searchParams.get("code_challenge_method")).toBe("S256");
  expect(idp.searchParams.get("client_id")).toBe(grant.publicClient.clientId);
  const callbackUrl = await user.signInAtCognito(idpUrl, grant.username, PASSWORD);
  expect(callbackUrl.startsWith(`${grant.url}/callback?`)).toBe(true);
  const done = await user.get(callbackUrl);
  expect(done.status).toBe(200);
  expect(visibleText(done.body)).toContain("You can return to your device");

  const tokens = await polling;
  expect(tokens.token_type.toLowerCase()).toBe("bearer");
  expect(typeof tokens.access_token).toBe("string");
  expect(typeof tokens.refresh_token).toBe("string");
  // The default token set is ACCESS+REFRESH: no ID token leaves the service.
  expect(tokens.id_token).toBeUndefined();

  const endpoints = grant.cognito.endpoints(grant.poolId);
  const authorizer = createAuthorizer(
    loadAuthorizerConfig({
      region: "eu-west-1",
      accountId: "123456789012",
      issuers: [
        {
          issuer: endpoints.issuer,
          algorithms: ["RS256"],
          jwksUri: endpoints.jwksUri,
          tokenUse: "access",
          clientIds: [grant.publicClient.clientId],
        },
      ],
    }),
    { logger: silent },
  );
  const verdict = await authorizer(iotEvent(tokens.access_token));
  expect(verdict.isAuthenticated).toBe(true);
  expect(JSON.stringify(verdict.policyDocuments)).toContain("iot:Connect");

  // The same device code is spent: a replay is invalid_grant.
  await expect(client.pollDeviceAuthorizationGrant(config, { ...authorization, interval: 1 })).rejects.toMatchObject({
    error: "invalid_grant",
  });

  // Refresh through the service, with the device's own (public) credentials, at the one base URL.
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token as string);
  expect(typeof refreshed.access_token).toBe("string");
  const again = await authorizer(iotEvent(refreshed.access_token));
  expect(again.isAuthenticated).toBe(true);

  // Nothing secret reached the log.
  for (const secret of [
    tokens.access_token,
    tokens.refresh_token as string,
    authorization.device_code,
    authorization.user_code.replace("-", ""),
  ]) {
    expect(grant.logger.text).not.toContain(secret);
  }
});

test("a confidential client completes the flow with client_secret_basic, and its secret is what reaches the IdP", async () => {
  const config = await client.discovery(
    new URL(grant.url),
    grant.confidentialClient.clientId,
    undefined,
    client.ClientSecretBasic(grant.confidentialClient.clientSecret as string),
    { algorithm: "oauth2", execute: [client.allowInsecureRequests] },
  );
  const authorization = await client.initiateDeviceAuthorization(config, {});
  const polling = client.pollDeviceAuthorizationGrant(config, authorization);
  const user = new ScriptedUser();
  const confirmation = await openConfirmation(user, {
    ...authorization,
    verification_uri_complete: authorization.verification_uri_complete as string,
    interval: authorization.interval ?? 5,
  });
  expect(visibleText(confirmation.body)).toContain("Games console");
  const callbackUrl = await user.signInAtCognito(await approve(user, confirmation), grant.username, PASSWORD);
  expect((await user.get(callbackUrl)).status).toBe(200);
  const tokens = await polling;
  const claims = JSON.parse(Buffer.from(tokens.access_token.split(".")[1], "base64url").toString()) as Record<string, unknown>;
  expect(claims.client_id).toBe(grant.confidentialClient.clientId);
  expect(claims.sub).toBe(grant.userSub);
  expect(grant.logger.text).not.toContain(grant.confidentialClient.clientSecret as string);
});
