/**
 * ID tokens standard clients accept (issue 10 §2.5): with `ID` in the token set, openid-client and
 * oauth4webapi each complete a device flow with ACCESS+ID+REFRESH through the real handler (dynalite,
 * cognito-local as the IdP, a scripted user) and refresh; each validates the service's own ID token as
 * it validates any (issuer from the metadata, audience, expiry), and its signature is checked against the
 * service's JWKS. When the upstream's ID token does not verify, or signing fails, the device still gets its
 * access and refresh tokens (its device code is spent by then), without an ID token.
 */
import { createPublicKey, type JsonWebKey, verify } from "node:crypto";
import { type AuthorizationServer, type Client } from "oauth4webapi";
import { splitCredential } from "../../functions/device-grant/codes";
import { type UpstreamIdp, type UpstreamResult } from "../../functions/device-grant/model";
import { createDeviceGrantService } from "../../functions/device-grant/service";
import { loadOauth4webapi, loadOpenidClient, type Oauth4webapiModule, type OpenidClientModule } from "../../sandbox/esm";
import { ScriptedUser } from "../../sandbox/scripted-user";
import { signRsRaw, rsaKey } from "../../support/tokens";
import {
  approve,
  approveAsUser,
  authorizeDevice,
  type GrantHarness,
  openConfirmation,
  PASSWORD,
  pollToken,
  RecordingServiceLogger,
  startGrant,
  storedRequest,
} from "./support/grant";

jest.setTimeout(60_000);

const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString("utf8")) as Record<string, unknown>;
const headerOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split(".")[0], "base64url").toString("utf8")) as Record<string, unknown>;

let grant: GrantHarness;
let openid: OpenidClientModule;
let oauth: Oauth4webapiModule;

beforeAll(async () => {
  openid = loadOpenidClient();
  oauth = loadOauth4webapi();
  grant = await startGrant({ settings: { resultTokenSet: ["ACCESS", "ID", "REFRESH"] } });
});
afterAll(async () => {
  await grant?.stop();
});

/** Verifies a JWS against the service's JWKS, as a relying party would, with node:crypto. */
async function verifiedAgainstJwks(jwt: string): Promise<boolean> {
  const keys = ((await (await fetch(`${grant.url}/.well-known/jwks.json`)).json()) as { keys: (JsonWebKey & { kid: string })[] }).keys;
  const key = keys.find((k) => k.kid === headerOf(jwt).kid);
  if (!key) return false;
  const [header, payload, signature] = jwt.split(".");
  return verify(
    "sha256",
    Buffer.from(`${header}.${payload}`),
    createPublicKey({ key, format: "jwk" }),
    Buffer.from(signature, "base64url"),
  );
}

/** What both clients must find in the service's ID token for the harness's user and `clientId`. */
function expectServiceIdToken(idToken: string, clientId: string): void {
  const claims = claimsOf(idToken);
  expect(headerOf(idToken)).toEqual({ alg: "RS256", typ: "JWT", kid: grant.signer.publicJwk.kid });
  expect(claims).toMatchObject({ iss: grant.url, aud: clientId, sub: grant.userSub, email: "alice@example.com" });
  expect((claims.exp as number) - (claims.iat as number)).toBeLessThanOrEqual(3600);
  expect((claims.exp as number) > Date.now() / 1000).toBe(true);
  for (const name of Object.keys(claims)) expect(name).not.toMatch(/^cognito:|^token_use$|^nonce$|^at_hash$/);
}

test("the metadata names the JWKS and the signing algorithm; the JWKS publishes the service's key", async () => {
  const metadata = (await (await fetch(`${grant.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
  expect(metadata).toMatchObject({ jwks_uri: `${grant.url}/.well-known/jwks.json`, id_token_signing_alg_values_supported: ["RS256"] });
  const jwks = await fetch(`${grant.url}/.well-known/jwks.json`);
  expect(jwks.headers.get("cache-control")).toBe("public, max-age=300");
  expect(await jwks.json()).toEqual({ keys: [grant.signer.publicJwk] });
});

test("openid-client completes a flow with ACCESS+ID+REFRESH, checks the ID token's signature against the JWKS, and refreshes", async () => {
  const config = await openid.discovery(new URL(grant.url), grant.publicClient.clientId, undefined, openid.None(), {
    algorithm: "oauth2",
    execute: [openid.allowInsecureRequests],
  });
  // Signature checks against `jwks_uri` on top of openid-client's claim checks.
  openid.enableNonRepudiationChecks(config);
  const authorization = await openid.initiateDeviceAuthorization(config, { scope: "openid email iot/connect" });
  const polling = openid.pollDeviceAuthorizationGrant(config, authorization);
  const user = new ScriptedUser();
  const confirmation = await openConfirmation(user, {
    ...authorization,
    verification_uri_complete: authorization.verification_uri_complete as string,
  });
  expect((await user.get(await user.signInAtCognito(await approve(user, confirmation), grant.username, PASSWORD))).status).toBe(200);

  const tokens = await polling;
  expect(typeof tokens.access_token).toBe("string");
  expect(typeof tokens.refresh_token).toBe("string");
  expectServiceIdToken(tokens.id_token as string, grant.publicClient.clientId);
  expect(tokens.claims()).toMatchObject({ iss: grant.url, sub: grant.userSub });

  const refreshed = await openid.refreshTokenGrant(config, tokens.refresh_token as string);
  expectServiceIdToken(refreshed.id_token as string, grant.publicClient.clientId);
  expect(await verifiedAgainstJwks(refreshed.id_token as string)).toBe(true);
});

test("oauth4webapi completes a flow with ACCESS+ID+REFRESH for a confidential client, and refreshes", async () => {
  const options = { [oauth.allowInsecureRequests]: true };
  const as: AuthorizationServer = await oauth.processDiscoveryResponse(
    new URL(grant.url),
    await oauth.discoveryRequest(new URL(grant.url), { algorithm: "oauth2", ...options }),
  );
  const client: Client = { client_id: grant.confidentialClient.clientId };
  const auth = oauth.ClientSecretBasic(grant.confidentialClient.clientSecret as string);
  const authorization = await oauth.processDeviceAuthorizationResponse(
    as,
    client,
    await oauth.deviceAuthorizationRequest(as, client, auth, { scope: "openid iot/connect" }, options),
  );
  expect(
    (
      await approveAsUser(grant, {
        ...authorization,
        verification_uri_complete: authorization.verification_uri_complete as string,
        interval: 1,
      })
    ).status,
  ).toBe(200);
  grant.clock.advance(2);
  const tokens = await oauth.processDeviceCodeResponse(
    as,
    client,
    await oauth.deviceCodeGrantRequest(as, client, auth, authorization.device_code, options),
  );
  expectServiceIdToken(tokens.id_token as string, grant.confidentialClient.clientId);
  expect(oauth.getValidatedIdTokenClaims(tokens)).toMatchObject({ iss: grant.url, aud: grant.confidentialClient.clientId });
  expect(await verifiedAgainstJwks(tokens.id_token as string)).toBe(true);

  const refreshed = await oauth.processRefreshTokenResponse(
    as,
    client,
    await oauth.refreshTokenGrantRequest(as, client, auth, tokens.refresh_token as string, options),
  );
  expectServiceIdToken(refreshed.id_token as string, grant.confidentialClient.clientId);
});

describe("when the service's ID token cannot be made", () => {
  /** A service on the harness's store and configuration, with a stand-in IdP and `signer`. */
  async function tokensThrough(
    idToken: string,
    signer = grant.signer,
  ): Promise<{ body: Record<string, unknown>; logger: RecordingServiceLogger }> {
    const logger = new RecordingServiceLogger();
    const answer: UpstreamResult = { ok: true, tokens: { access_token: "a", token_type: "Bearer", id_token: idToken, refresh_token: "r" } };
    const upstream: UpstreamIdp = {
      authorizationUrl: () => "http://127.0.0.1:1/",
      exchangeCode: async () => answer,
      refresh: async () => answer,
    };
    const service = createDeviceGrantService({
      config: grant.config,
      store: grant.store,
      upstream,
      signer,
      clientSecrets: () => undefined,
      logger,
    });
    const form = (body: Record<string, string>) => ({
      method: "POST",
      path: body.grant_type ? "/oauth2/token" : "/oauth2/device_authorization",
      rawQuery: "",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      cookies: {},
      body: new URLSearchParams(body).toString(),
      sourceIp: "203.0.113.9",
      userAgent: "TV/2.0",
    });
    const { device_code } = JSON.parse((await service.handle(form({ client_id: grant.publicClient.clientId }))).body) as {
      device_code: string;
    };
    const record = await storedRequest(grant, device_code);
    const userCode = (splitCredential(device_code) as { userCode: string }).userCode;
    const now = { ms: Date.now(), seconds: Math.floor(Date.now() / 1000) };
    await grant.store.approve(
      userCode,
      {
        createdAt: record!.createdAt,
        approver: "a",
        approvalUntil: now.ms + 60_000,
        stateHash: "s",
        pkceVerifier: "v",
        maxApprovals: 5,
        charge: "ip#x#0",
      },
      now,
    );
    await grant.store.completeApproval(userCode, "s", "code", now.seconds);
    const response = await service.handle(
      form({ grant_type: "urn:ietf:params:oauth:grant-type:device_code", device_code, client_id: grant.publicClient.clientId }),
    );
    expect(response.status).toBe(200);
    return { body: JSON.parse(response.body) as Record<string, unknown>, logger };
  }

  const upstreamClaims = () => ({
    iss: grant.cognito.endpoints(grant.poolId).issuer,
    aud: grant.publicClient.clientId,
    sub: grant.userSub,
    token_use: "id",
    iat: Math.floor(Date.now() / 1000),
    exp: Math.floor(Date.now() / 1000) + 3600,
  });

  test("an upstream ID token that does not verify: the access and refresh tokens, no ID token, and why in the log", async () => {
    const stranger = rsaKey("not-the-pools-key");
    const { body, logger } = await tokensThrough(signRsRaw(upstreamClaims(), stranger));
    expect(body).toEqual({ access_token: "a", token_type: "Bearer", refresh_token: "r" });
    expect(logger.lines).toContainEqual({
      level: "error",
      fields: { event: "id-token", clientId: grant.publicClient.clientId, outcome: "upstream-id-token-refused", reason: "kid-unknown" },
    });
  });

  test("a signer that fails: the access and refresh tokens, no ID token, and the failure in the log", async () => {
    const failing = { ...grant.signer, sign: async () => Promise.reject(new Error("KMS is down")) };
    // A genuine upstream ID token: what cognito-local issued for this user in a real flow.
    const authorization = await authorizeDevice(grant);
    await approveAsUser(grant, authorization);
    grant.clock.advance(2);
    const real = await pollToken(grant, authorization.device_code);
    expect(typeof real.body.id_token).toBe("string");
    const upstream = grant.upstreamIdTokens.at(-1) as string;
    const { body, logger } = await tokensThrough(upstream, failing);
    expect(body).toEqual({ access_token: "a", token_type: "Bearer", refresh_token: "r" });
    expect(logger.text).toContain("signing-failed");
  });
});
