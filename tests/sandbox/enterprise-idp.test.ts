/**
 * The enterprise IdP stand-in (sandbox/enterprise-idp.ts) as a device, a browser and an attacker meet it, with
 * independent clients: openid-client for the device flow, `jsonwebtoken` and node:crypto to check its tokens,
 * raw `fetch` for what a standard client refuses to send, a scripted browser for its pages.
 *
 * It is configured as the OpenAM walkthrough configures OpenAM (device flow, confidential `deviceagent`,
 * stateless HS256 access tokens with OpenAM's claims, refresh tokens, the draft grant type), plus an RS256
 * issuer publishing its key; it answers bad input with the protocol's errors; a device code is redeemed once,
 * however many polls race for it; Deny and five failed sign-ins end a request with `access_denied`.
 */
import { createPublicKey, createSecretKey, generateKeyPairSync, randomBytes } from "node:crypto";
import jwt from "jsonwebtoken";
import { approveAtEnterpriseIdp } from "../../sandbox/enterprise-approve";
import { type EnterpriseIdp, type IdpIssuer, startEnterpriseIdp } from "../../sandbox/enterprise-idp";
import { DRAFT_DEVICE_GRANT_TYPE } from "../../sandbox/enterprise-idp-provider";
import { IdpStore } from "../../sandbox/enterprise-idp-store";
import { loadOpenidClient } from "../../sandbox/esm";
import { parseForms, ScriptedUser } from "../../sandbox/scripted-user";

const SECRET = randomBytes(32);
const DEMO = { username: "demo", password: "demo-password-1", sub: "demo" };
let idp: EnterpriseIdp;
let hs: IdpIssuer;
let rs: IdpIssuer;

beforeAll(async () => {
  const jwk = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" });
  idp = await startEnterpriseIdp({
    host: "127.0.0.1",
    port: 0,
    profiles: [
      { key: "enterprise", path: "/openam/oauth2", algorithm: "HS256", clientId: "deviceagent", scopes: ["mail", "cn"] },
      { key: "enterprise2", path: "/partner", algorithm: "RS256", clientId: "partnertv", scopes: ["mail", "cn"] },
    ],
    keys: {
      sharedSecret: createSecretKey(SECRET),
      clientSecret: randomBytes(24).toString("base64url"),
      signingJwk: { ...jwk, kid: "test-key", alg: "RS256", use: "sig" },
      cookieKeys: [randomBytes(32).toString("base64url")],
    },
    store: await IdpStore.open(),
    users: [DEMO],
  });
  [hs, rs] = idp.issuers;
});
afterAll(() => idp?.stop());

function form(url: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(fields).toString(),
  }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, string> }));
}

/** A device code of `at`'s client, asked for as the walkthrough asks (its secret in the form). */
async function deviceCode(at: IdpIssuer = hs) {
  const answer = await form(at.deviceAuthorizationEndpoint, { scope: "mail cn", client_id: at.clientId, client_secret: at.clientSecret });
  expect(answer).toMatchObject({ status: 200, body: { interval: 5, expires_in: 600 } });
  return answer.body as { device_code: string; user_code: string; verification_uri: string; verification_uri_complete: string };
}

function draftTokenRequest(code: string | undefined, at: IdpIssuer = hs) {
  return form(at.tokenEndpoint, {
    grant_type: DRAFT_DEVICE_GRANT_TYPE,
    ...(code !== undefined && { code }),
    client_id: at.clientId,
    client_secret: at.clientSecret,
  });
}

describe("as OpenAM's OAuth2 provider", () => {
  test("publishes its metadata at the issuer: OpenAM's endpoint names, both device grant types, its JWKS", async () => {
    const metadata = (await (await fetch(`${hs.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({
      issuer: hs.issuer,
      device_authorization_endpoint: `${hs.issuer}/device/code`,
      token_endpoint: `${hs.issuer}/access_token`,
      jwks_uri: `${hs.issuer}/jwks`,
    });
    expect(metadata.grant_types_supported).toEqual(
      expect.arrayContaining(["urn:ietf:params:oauth:grant-type:device_code", DRAFT_DEVICE_GRANT_TYPE, "refresh_token"]),
    );
  });

  test("openid-client's device flow gets an HS256 access token with OpenAM's claims, and a refresh token", async () => {
    const client = loadOpenidClient();
    const config = await client.discovery(new URL(hs.issuer), hs.clientId, hs.clientSecret, client.ClientSecretBasic(hs.clientSecret), {
      execute: [client.allowInsecureRequests],
    });
    const authorization = await client.initiateDeviceAuthorization(config, { scope: "mail cn" });
    const polling = client.pollDeviceAuthorizationGrant(config, authorization);
    await approveAtEnterpriseIdp({ verificationUri: authorization.verification_uri, ...DEMO }, authorization.user_code);
    const tokens = await polling;
    expect(tokens.refresh_token).toEqual(expect.any(String));
    const verified = jwt.verify(tokens.access_token, SECRET, { algorithms: ["HS256"], complete: true });
    expect(verified.header).toEqual({ alg: "HS256", typ: "JWT" });
    const claims = verified.payload as Record<string, unknown>;
    expect(claims).toMatchObject({ iss: hs.issuer, sub: "demo", aud: "deviceagent", scope: ["mail", "cn"], tokenName: "access_token" });
    expect(claims).not.toHaveProperty("client_id");
    expect((claims.exp as number) - (claims.iat as number)).toBe(3600);
    expect(() => jwt.verify(tokens.access_token, randomBytes(32), { algorithms: ["HS256"] })).toThrow(/invalid signature/);
  });

  test("an RS256 issuer of the same server signs with the key its JWKS publishes", async () => {
    const code = await deviceCode(rs);
    await approveAtEnterpriseIdp({ verificationUri: code.verification_uri, ...DEMO }, code.user_code);
    const answer = await draftTokenRequest(code.device_code, rs);
    expect(answer.status).toBe(200);
    const { keys } = (await (await fetch(rs.jwksUri)).json()) as { keys: Record<string, unknown>[] };
    expect(keys.every((k) => k.d === undefined)).toBe(true);
    const header = JSON.parse(Buffer.from(answer.body.access_token.split(".")[0], "base64url").toString("utf8")) as { kid: string };
    const key = createPublicKey({ key: keys.find((k) => k.kid === header.kid) as never, format: "jwk" });
    expect(jwt.verify(answer.body.access_token, key, { algorithms: ["RS256"] })).toMatchObject({
      iss: rs.issuer,
      aud: "partnertv",
      sub: "demo",
    });
  });

  test("the walkthrough's draft grant type: pending, then tokens once, and its errors", async () => {
    const code = await deviceCode();
    expect(await draftTokenRequest(code.device_code)).toMatchObject({ status: 400, body: { error: "authorization_pending" } });
    await approveAtEnterpriseIdp({ verificationUri: code.verification_uri, ...DEMO }, code.user_code);
    const tokens = await draftTokenRequest(code.device_code);
    expect(tokens).toMatchObject({ status: 200, body: { token_type: "Bearer", expires_in: 3600, scope: "mail cn" } });
    expect(await draftTokenRequest(code.device_code)).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
    expect(await draftTokenRequest(undefined)).toMatchObject({ status: 400, body: { error: "invalid_request" } });
    expect(await draftTokenRequest("not-a-device-code")).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
  });

  test("one approved device code gives tokens to exactly one of 20 racing polls", async () => {
    const code = await deviceCode();
    await approveAtEnterpriseIdp({ verificationUri: code.verification_uri, ...DEMO }, code.user_code);
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        i % 2 === 0
          ? draftTokenRequest(code.device_code)
          : form(hs.tokenEndpoint, {
              grant_type: "urn:ietf:params:oauth:grant-type:device_code",
              device_code: code.device_code,
              client_id: hs.clientId,
              client_secret: hs.clientSecret,
            }),
      ),
    );
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 400 && a.body.error === "invalid_grant")).toHaveLength(19);
  });

  test("answers bad requests with OAuth errors, never a crash", async () => {
    const noSecret = await form(hs.deviceAuthorizationEndpoint, { scope: "mail cn", client_id: hs.clientId });
    expect(noSecret).toMatchObject({ status: 401, body: { error: "invalid_client" } });
    const wrongSecret = await form(hs.deviceAuthorizationEndpoint, { client_id: hs.clientId, client_secret: "wrong" });
    expect(wrongSecret).toMatchObject({ status: 401, body: { error: "invalid_client" } });
    const unknownGrant = await form(hs.tokenEndpoint, { grant_type: "password", client_id: hs.clientId, client_secret: hs.clientSecret });
    expect(unknownGrant).toMatchObject({ status: 400, body: { error: "unsupported_grant_type" } });
    const otherIssuersClient = await form(hs.tokenEndpoint, {
      grant_type: DRAFT_DEVICE_GRANT_TYPE,
      code: "x",
      client_id: rs.clientId,
      client_secret: rs.clientSecret,
    });
    expect(otherIssuersClient).toMatchObject({ status: 401, body: { error: "invalid_client" } });
    const huge = await fetch(hs.tokenEndpoint, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `grant_type=refresh_token&refresh_token=${"a".repeat(100_000)}`,
    });
    expect(huge.status).toBeGreaterThanOrEqual(400);
    expect(huge.status).toBeLessThan(500);
    await huge.arrayBuffer();
    expect((await fetch(`${idp.url}/nowhere`)).status).toBe(404);
    // Still serving.
    expect((await fetch(`${hs.issuer}/.well-known/openid-configuration`)).status).toBe(200);
  });
});

describe("its pages", () => {
  test("Deny on the device confirmation ends the device's request with access_denied", async () => {
    const code = await deviceCode();
    await approveAtEnterpriseIdp({ verificationUri: code.verification_uri, ...DEMO }, code.user_code, { decision: "deny" });
    expect(await draftTokenRequest(code.device_code)).toMatchObject({ status: 400, body: { error: "access_denied" } });
  });

  test("a wrong password shows the sign-in again; the fifth ends the request with access_denied", async () => {
    const code = await deviceCode();
    const user = new ScriptedUser();
    const confirmation = await user.submit(await user.get(code.verification_uri_complete));
    let page = await user.submit(confirmation);
    for (let attempt = 1; attempt <= 4; attempt++) {
      const formIndex = parseForms(page.body, page.url).findIndex((f) => f.fields.some(([name]) => name === "username"));
      page = await user.submit(page, { username: "demo<script>", password: `wrong-${attempt}` }, { formIndex });
      expect(page.status).toBe(200);
      expect(page.body).toContain("Incorrect username or password.");
      expect(page.body).toContain('value="demo&lt;script&gt;"');
      expect(page.headers.get("content-security-policy")).toMatch(/default-src 'none'/);
      expect(page.headers.get("cache-control")).toBe("no-store");
    }
    const formIndex = parseForms(page.body, page.url).findIndex((f) => f.fields.some(([name]) => name === "username"));
    await user.submit(page, { username: "demo", password: "wrong-5" }, { formIndex });
    expect(await draftTokenRequest(code.device_code)).toMatchObject({ status: 400, body: { error: "access_denied" } });
  });

  test("a sign-in form sent from another origin, or without this browser's interaction, is refused", async () => {
    const code = await deviceCode();
    const user = new ScriptedUser();
    const login = await user.submit(await user.submit(await user.get(code.verification_uri_complete)));
    const action = parseForms(login.body, login.url).find((f) => f.fields.some(([name]) => name === "username"))?.action as string;
    // With this browser's cookies (as a lax cookie would not be sent cross-site, but a browser that sends it) from another origin.
    const cookie = user.cookies.header(new URL(action), { crossSite: false, method: "POST", topLevel: true }) as string;
    const foreign = await fetch(action, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: "https://evil.example", cookie },
      body: new URLSearchParams({ username: "demo", password: DEMO.password }).toString(),
      redirect: "manual",
    });
    expect(foreign.status).toBe(403);
    expect(await foreign.text()).toContain("the form was not sent from this sign-in page");
    // From this origin, but without the browser's interaction cookie.
    const stranger = await fetch(action, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: new URL(action).origin },
      body: new URLSearchParams({ username: "demo", password: DEMO.password }).toString(),
      redirect: "manual",
    });
    expect(stranger.status).toBe(400);
    expect(await stranger.text()).toContain("this sign-in has expired");
    expect(await draftTokenRequest(code.device_code)).toMatchObject({ status: 400, body: { error: "authorization_pending" } });
  });
});

describe("its store", () => {
  test("keeps at most maxEntries, dropping those closest to expiry first", async () => {
    const store = await IdpStore.open({ maxEntries: 3 });
    const adapter = store.adapterFactory("x")("Session");
    for (const [id, ttl] of [
      ["a", 10],
      ["b", 1000],
      ["c", 20],
      ["d", 500],
    ] as const)
      await adapter.upsert(id, { id }, ttl);
    expect(await adapter.find("a")).toBeUndefined();
    expect(await Promise.all(["b", "c", "d"].map((id) => adapter.find(id)))).toEqual([{ id: "b" }, { id: "c" }, { id: "d" }]);
    // Another issuer's namespace sees none of them.
    expect(await store.adapterFactory("y")("Session").find("b")).toBeUndefined();
  });
});
