/**
 * Single-step negative tests of the two protocol endpoints, each against the real handler on dynalite:
 * oauth4webapi as the standard client where it can send the request, raw HTTP where it refuses to send a
 * malformed one (repeated parameters, two authentication methods, a secret for a public client).
 */
import { createHash } from "node:crypto";
import { type AuthorizationServer, type Client } from "oauth4webapi";
import { ScriptedUser, visibleText } from "../../sandbox/scripted-user";
import { loadOauth4webapi, type Oauth4webapiModule } from "../../sandbox/esm";
import {
  approveAsUser,
  authorizeDevice,
  type GrantHarness,
  openConfirmation,
  pollToken,
  postForm,
  startGrant,
  storedRequest,
} from "./support/grant";

jest.setTimeout(60_000);

const DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";

let grant: GrantHarness;
let oauth: Oauth4webapiModule;
let as: AuthorizationServer;

beforeAll(async () => {
  oauth = loadOauth4webapi();
  grant = await startGrant();
  const discovery = await oauth.discoveryRequest(new URL(grant.url), { algorithm: "oauth2", [oauth.allowInsecureRequests]: true });
  as = await oauth.processDiscoveryResponse(new URL(grant.url), discovery);
});
afterAll(async () => {
  await grant?.stop();
});
beforeEach(() => {
  grant.clock.offsetMs = 0;
});

const insecure = () => ({ [oauth.allowInsecureRequests]: true });
const publicClient = (): Client => ({ client_id: grant.publicClient.clientId });
const confidentialClient = (): Client => ({ client_id: grant.confidentialClient.clientId });
const secret = () => grant.confidentialClient.clientSecret as string;

/** Polls with oauth4webapi and returns the OAuth error code it raised (or "tokens"). */
async function poll4(deviceCode: string, client: Client = publicClient(), auth = oauth.None()): Promise<string> {
  const response = await oauth.deviceCodeGrantRequest(as, client, auth, deviceCode, insecure());
  try {
    await oauth.processDeviceCodeResponse(as, client, response);
    return "tokens";
  } catch (err) {
    // oauth4webapi raises a 401 with WWW-Authenticate as a challenge error, not as an OAuth error body.
    if (err instanceof oauth.WWWAuthenticateChallengeError) return `challenge ${err.status} ${err.cause.map((c) => c.scheme).join(",")}`;
    return (err as { error?: string }).error ?? `unexpected: ${(err as Error).message}`;
  }
}

describe("metadata (RFC 8414)", () => {
  test("names the endpoints, the grants and the authentication methods in use, and is cacheable", async () => {
    const response = await fetch(`${grant.url}/.well-known/oauth-authorization-server`);
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("public, max-age=300");
    expect(await response.json()).toEqual({
      issuer: grant.url,
      token_endpoint: `${grant.url}/oauth2/token`,
      device_authorization_endpoint: `${grant.url}/oauth2/device_authorization`,
      // RFC 8414 §2 requires it; no authorization endpoint, so the one response type is `none` (metadata.ts).
      response_types_supported: ["none"],
      grant_types_supported: [DEVICE_GRANT, "refresh_token"],
      token_endpoint_auth_methods_supported: ["none", "client_secret_basic", "client_secret_post"],
      scopes_supported: ["openid", "email", "iot/connect"],
    });
  });
});

describe("device authorization endpoint", () => {
  const endpoint = () => `${grant.url}/oauth2/device_authorization`;

  test("answers a public client with every field, the masked user code and no-store headers", async () => {
    const response = await oauth.deviceAuthorizationRequest(as, publicClient(), oauth.None(), { scope: "openid" }, insecure());
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(response.headers.get("pragma")).toBe("no-cache");
    const body = await oauth.processDeviceAuthorizationResponse(as, publicClient(), response);
    expect(body.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    // `<user code>-<secret>`: the request's key, then 64 characters of the default #aA format.
    expect(body.device_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{8}-[0-9A-Za-z]{64}$/);
    expect(body.device_code.startsWith(`${body.user_code.replace("-", "")}-`)).toBe(true);
    expect(body.verification_uri_complete).toBe(`${grant.url}/device?user_code=${body.user_code}`);
    expect(body.expires_in).toBe(1800);
    expect(body.interval).toBe(1);
    const stored = await storedRequest(grant, body.device_code);
    expect(stored).toMatchObject({ status: "pending", scopes: ["openid"], clientId: grant.publicClient.clientId, deviceIp: "127.0.0.1" });
    // The device code's secret is never stored, only its SHA-256.
    const secret = body.device_code.split("-")[1];
    expect(JSON.stringify(stored)).not.toContain(secret);
    expect(stored?.deviceSecretHash).toBe(createHash("sha256").update(secret).digest("hex"));
  });

  test("authenticates a confidential client with client_secret_basic and client_secret_post", async () => {
    for (const auth of [oauth.ClientSecretBasic(secret()), oauth.ClientSecretPost(secret())]) {
      const response = await oauth.deviceAuthorizationRequest(as, confidentialClient(), auth, {}, insecure());
      const body = await oauth.processDeviceAuthorizationResponse(as, confidentialClient(), response);
      const stored = await storedRequest(grant, body.device_code);
      // Without `scope`, the client's registered scopes.
      expect(stored?.scopes).toEqual(["openid", "iot/connect"]);
    }
  });

  test("a wrong secret by Basic is 401 invalid_client with WWW-Authenticate; by POST it is 400", async () => {
    const basic = await postForm(endpoint(), {}, { basic: { clientId: grant.confidentialClient.clientId, clientSecret: "wrong" } });
    expect(basic.status).toBe(401);
    expect(basic.body.error).toBe("invalid_client");
    expect(basic.headers.get("www-authenticate")).toMatch(/^Basic realm=/);
    const post = await postForm(endpoint(), { client_id: grant.confidentialClient.clientId, client_secret: "wrong" });
    expect(post.status).toBe(400);
    expect(post.body.error).toBe("invalid_client");
    expect(post.headers.get("www-authenticate")).toBeNull();
    // oauth4webapi sees the same.
    const response = await oauth.deviceAuthorizationRequest(as, confidentialClient(), oauth.ClientSecretBasic("wrong"), {}, insecure());
    const refusal = await oauth.processDeviceAuthorizationResponse(as, confidentialClient(), response).catch((err: unknown) => err);
    expect(refusal).toBeInstanceOf(oauth.WWWAuthenticateChallengeError);
    expect(refusal).toMatchObject({ status: 401, cause: [{ scheme: "basic" }] });
    expect(await (refusal as { response: Response }).response.json()).toMatchObject({ error: "invalid_client" });
  });

  test("refuses: a confidential client without its secret, a secret for a public client, an unknown client, no client", async () => {
    const cases: [Record<string, string>, { basic?: { clientId: string; clientSecret: string } }][] = [
      [{ client_id: grant.confidentialClient.clientId }, {}],
      [{ client_id: grant.publicClient.clientId, client_secret: "anything" }, {}],
      [{}, { basic: { clientId: grant.publicClient.clientId, clientSecret: "anything" } }],
      [{ client_id: "unknown-client" }, {}],
      [{}, {}],
    ];
    for (const [fields, options] of cases) {
      const answer = await postForm(endpoint(), fields, options);
      expect(answer.body.error).toBe("invalid_client");
      expect(answer.status).toBe(options.basic ? 401 : 400);
    }
  });

  test("refuses a repeated parameter, two authentication methods, a mismatched client_id, and a non-form body", async () => {
    const repeated = await postForm(endpoint(), [
      ["client_id", grant.publicClient.clientId],
      ["client_id", grant.publicClient.clientId],
    ]);
    expect([repeated.status, repeated.body.error]).toEqual([400, "invalid_request"]);
    const repeatedScope = await postForm(endpoint(), [
      ["client_id", grant.publicClient.clientId],
      ["scope", "openid"],
      ["scope", "email"],
    ]);
    expect(repeatedScope.body.error).toBe("invalid_request");
    const basic = { clientId: grant.confidentialClient.clientId, clientSecret: secret() };
    expect((await postForm(endpoint(), { client_secret: secret() }, { basic })).body.error).toBe("invalid_request");
    expect((await postForm(endpoint(), { client_id: grant.publicClient.clientId }, { basic })).body.error).toBe("invalid_request");
    const json = await fetch(endpoint(), { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect([json.status, ((await json.json()) as { error: string }).error]).toEqual([400, "invalid_request"]);
    const get = await fetch(endpoint());
    expect(get.status).toBe(405);
  });

  test("a scope outside the client's registration is invalid_scope", async () => {
    // `email` is offered by the service but not registered for the confidential client.
    const response = await oauth.deviceAuthorizationRequest(
      as,
      confidentialClient(),
      oauth.ClientSecretPost(secret()),
      { scope: "openid email" },
      insecure(),
    );
    await expect(oauth.processDeviceAuthorizationResponse(as, confidentialClient(), response)).rejects.toMatchObject({
      error: "invalid_scope",
    });
    const unknown = await postForm(endpoint(), { client_id: grant.publicClient.clientId, scope: "admin" });
    expect([unknown.status, unknown.body.error]).toEqual([400, "invalid_scope"]);
  });
});

describe("token endpoint, device_code grant", () => {
  const endpoint = () => `${grant.url}/oauth2/token`;

  test("the first poll is never slow_down, however early; a second one too soon is, and raises the stored interval by 5", async () => {
    const authorization = await authorizeDevice(grant);
    expect(await poll4(authorization.device_code)).toBe("authorization_pending");
    expect(await poll4(authorization.device_code)).toBe("slow_down");
    const code = authorization.device_code;
    expect((await storedRequest(grant, code))?.interval).toBe(6);
    // The client now waits 6 s; about a second early is still accepted (timer drift).
    grant.clock.advance(5.2);
    expect(await poll4(authorization.device_code)).toBe("authorization_pending");
    // Too early for the raised interval: slow_down again, 11 s from now on.
    grant.clock.advance(2);
    expect(await poll4(authorization.device_code)).toBe("slow_down");
    expect((await storedRequest(grant, code))?.interval).toBe(11);
    grant.clock.advance(11);
    expect(await poll4(authorization.device_code)).toBe("authorization_pending");
  });

  test("every answer carries no-store; errors are 400 JSON, never a 200", async () => {
    const authorization = await authorizeDevice(grant);
    const answer = await pollToken(grant, authorization.device_code);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe("authorization_pending");
    expect(answer.headers.get("cache-control")).toBe("no-store");
    expect(answer.headers.get("pragma")).toBe("no-cache");
    expect(answer.headers.get("content-type")).toMatch(/^application\/json/);
  });

  test("missing and unknown parameters: invalid_request, unsupported_grant_type, invalid_grant", async () => {
    const client_id = grant.publicClient.clientId;
    expect((await postForm(endpoint(), { client_id })).body.error).toBe("invalid_request");
    expect((await postForm(endpoint(), { client_id, grant_type: DEVICE_GRANT })).body.error).toBe("invalid_request");
    expect((await postForm(endpoint(), { client_id, grant_type: "password", username: "a", password: "b" })).body.error).toBe(
      "unsupported_grant_type",
    );
    expect((await postForm(endpoint(), { client_id, grant_type: "authorization_code", code: "x" })).body.error).toBe(
      "unsupported_grant_type",
    );
    expect(await poll4("not-a-device-code")).toBe("invalid_grant");
    const authorization = await authorizeDevice(grant);
    const repeated = await postForm(endpoint(), [
      ["client_id", client_id],
      ["grant_type", DEVICE_GRANT],
      ["device_code", authorization.device_code],
      ["device_code", authorization.device_code],
    ]);
    expect([repeated.status, repeated.body.error]).toEqual([400, "invalid_request"]);
  });

  test("a device code is bound to its client: another client gets invalid_grant", async () => {
    const authorization = await authorizeDevice(grant);
    expect(await poll4(authorization.device_code, confidentialClient(), oauth.ClientSecretBasic(secret()))).toBe("invalid_grant");
    // The rightful client is unaffected.
    expect(await poll4(authorization.device_code)).toBe("authorization_pending");
  });

  test("client authentication at the token endpoint: wrong secret 401, secret for a public client, Basic and POST both work", async () => {
    const authorization = await authorizeDevice(grant, grant.confidentialClient);
    expect(await poll4(authorization.device_code, confidentialClient(), oauth.ClientSecretBasic("wrong"))).toBe("challenge 401 basic");
    const wrong = await postForm(
      endpoint(),
      { grant_type: DEVICE_GRANT, device_code: authorization.device_code },
      { basic: { clientId: grant.confidentialClient.clientId, clientSecret: "wrong" } },
    );
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("www-authenticate")).toMatch(/^Basic /);
    expect(await poll4(authorization.device_code, confidentialClient(), oauth.ClientSecretPost(secret()))).toBe("authorization_pending");
    grant.clock.advance(2);
    expect(await poll4(authorization.device_code, confidentialClient(), oauth.ClientSecretBasic(secret()))).toBe("authorization_pending");
    const publicWithSecret = await postForm(endpoint(), {
      grant_type: DEVICE_GRANT,
      device_code: authorization.device_code,
      client_id: grant.publicClient.clientId,
      client_secret: "x",
    });
    expect(publicWithSecret.body.error).toBe("invalid_client");
  });

  test("an unknown client id and a wrong secret get the same answer: status, error, description and headers", async () => {
    const authorization = await authorizeDevice(grant, grant.confidentialClient);
    const fields = { grant_type: DEVICE_GRANT, device_code: authorization.device_code };
    const comparable = (answer: Awaited<ReturnType<typeof postForm>>) => ({
      status: answer.status,
      body: answer.body,
      headers: [...answer.headers.entries()].filter(([name]) => !["date", "content-length", "connection", "keep-alive"].includes(name)),
    });
    for (const url of [endpoint(), `${grant.url}/oauth2/device_authorization`]) {
      const basicUnknown = await postForm(url, fields, { basic: { clientId: "no-such-client", clientSecret: "wrong" } });
      const basicWrong = await postForm(url, fields, { basic: { clientId: grant.confidentialClient.clientId, clientSecret: "wrong" } });
      expect(comparable(basicUnknown)).toEqual(comparable(basicWrong));
      expect(comparable(basicWrong)).toMatchObject({
        status: 401,
        body: { error: "invalid_client", error_description: "client authentication failed" },
      });
      const postUnknown = await postForm(url, { ...fields, client_id: "no-such-client", client_secret: "wrong" });
      const postWrong = await postForm(url, { ...fields, client_id: grant.confidentialClient.clientId, client_secret: "wrong" });
      const publicWithSecret = await postForm(url, { ...fields, client_id: grant.publicClient.clientId, client_secret: "wrong" });
      const unknownPublic = await postForm(url, { ...fields, client_id: "no-such-client" });
      const confidentialWithout = await postForm(url, { ...fields, client_id: grant.confidentialClient.clientId });
      for (const other of [postWrong, publicWithSecret, unknownPublic, confidentialWithout])
        expect(comparable(other)).toEqual(comparable(postUnknown));
      expect(comparable(postUnknown)).toMatchObject({
        status: 400,
        body: { error: "invalid_client", error_description: "client authentication failed" },
      });
    }
    // What failed is in the log, for the operator.
    expect(grant.logger.text).toContain("unknown-client");
    expect(grant.logger.text).toContain("wrong-secret");
  });

  test("deny: the next poll is access_denied, and stays so", async () => {
    const authorization = await authorizeDevice(grant);
    const user = new ScriptedUser();
    const confirmation = await openConfirmation(user, authorization);
    const denied = await user.submit(confirmation, {}, { submitter: "deny" });
    expect(denied.status).toBe(200);
    expect(visibleText(denied.body)).toContain("You denied the request");
    expect(await poll4(authorization.device_code)).toBe("access_denied");
    grant.clock.advance(5);
    expect(await poll4(authorization.device_code)).toBe("access_denied");
  });

  test("expiry is checked against the clock: expired_token after expires_in, before and after approval, while the record is kept", async () => {
    const pending = await authorizeDevice(grant);
    grant.clock.advance(pending.expires_in - 2);
    expect(await poll4(pending.device_code)).toBe("authorization_pending");
    grant.clock.advance(2);
    expect(await poll4(pending.device_code)).toBe("expired_token");
    expect(await storedRequest(grant, pending.device_code)).toBeDefined();

    grant.clock.offsetMs = 0;
    const approved = await authorizeDevice(grant);
    expect((await approveAsUser(grant, approved)).status).toBe(200);
    grant.clock.advance(approved.expires_in);
    expect(await poll4(approved.device_code)).toBe("expired_token");
  });

  test("redemption works once: replay after the tokens is invalid_grant", async () => {
    const authorization = await authorizeDevice(grant);
    expect((await approveAsUser(grant, authorization)).status).toBe(200);
    const first = await pollToken(grant, authorization.device_code);
    expect(first.status).toBe(200);
    expect(first.headers.get("cache-control")).toBe("no-store");
    expect(first.headers.get("pragma")).toBe("no-cache");
    expect(Object.keys(first.body).sort()).toEqual(["access_token", "expires_in", "refresh_token", "token_type"]);
    expect(await poll4(authorization.device_code)).toBe("invalid_grant");
    expect((await storedRequest(grant, authorization.device_code))?.status).toBe("redeemed");
  });
});

describe("token endpoint, refresh_token grant", () => {
  test("needs refresh_token, checks scope against the client, and passes the IdP's refusal on", async () => {
    const client_id = grant.publicClient.clientId;
    const url = `${grant.url}/oauth2/token`;
    expect((await postForm(url, { client_id, grant_type: "refresh_token" })).body.error).toBe("invalid_request");
    expect((await postForm(url, { client_id, grant_type: "refresh_token", refresh_token: "x", scope: "admin" })).body.error).toBe(
      "invalid_scope",
    );
    const refused = await postForm(url, { client_id, grant_type: "refresh_token", refresh_token: "not-a-refresh-token" });
    expect(refused.status).toBe(400);
    expect(typeof refused.body.error).toBe("string");
    expect(refused.body.access_token).toBeUndefined();
  });

  test("is unsupported when the token set has no REFRESH", async () => {
    const narrow = await startGrant({ settings: { resultTokenSet: ["ACCESS"] } });
    try {
      const answer = await postForm(`${narrow.url}/oauth2/token`, {
        client_id: narrow.publicClient.clientId,
        grant_type: "refresh_token",
        refresh_token: "x",
      });
      expect(answer.body.error).toBe("unsupported_grant_type");
      // And the tokens of a completed flow are filtered to the set.
      const authorization = await authorizeDevice(narrow);
      await approveAsUser(narrow, authorization);
      const tokens = await pollToken(narrow, authorization.device_code);
      expect(Object.keys(tokens.body).sort()).toEqual(["access_token", "expires_in", "token_type"]);
    } finally {
      await narrow.stop();
    }
  });
});
