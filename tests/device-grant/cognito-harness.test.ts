/**
 * The device-grant tests' upstream IdP and browser, proven against the real thing: cognito-local signs a
 * scripted user in through its hosted login form, issues tokens for an authorization code with PKCE and
 * for a refresh token, and the IoT authorizer's core accepts its access tokens. Also the ESM-only clients
 * (oauth4webapi, openid-client) loaded into this CommonJS jest run and driven against cognito-local, and
 * what cognito-local does not check (documented in sandbox/cognito-local.ts), so a change in its behaviour shows.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createAuthorizer } from "../../functions/authorizer/authorizer";
import { type LogFields, type Logger } from "../../functions/authorizer/logging";
import { principalIdFor } from "../../functions/authorizer/principal";
import { loadAuthorizerConfig } from "../../functions/authorizer/config";
import { CookieJar, parseForms, ScriptedUser } from "../../sandbox/scripted-user";
import { type AppClient, type CognitoLocal, type CognitoUser, pkceS256, startCognito } from "../../sandbox/cognito-local";
import { loadOauth4webapi, loadOpenidClient } from "../../sandbox/esm";

const CALLBACK = "https://device.example.test/callback";
const PASSWORD = "Correct-horse-battery-9";

let idp: CognitoLocal;
let poolId: string;
let confidential: AppClient;
let publicClient: AppClient;
let alice: CognitoUser;

beforeAll(async () => {
  idp = await startCognito();
  poolId = await idp.createUserPool("devices");
  confidential = await idp.createAppClient(poolId, { name: "living-room-tv", callbackUrls: [CALLBACK], generateSecret: true });
  publicClient = await idp.createAppClient(poolId, { name: "printer", callbackUrls: [CALLBACK] });
  alice = await idp.createUser(poolId, "alice", PASSWORD, { email: "alice@example.test" });
});
afterAll(async () => {
  await idp?.stop();
});

function decodeJwt(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [header, payload] = token
    .split(".")
    .slice(0, 2)
    .map((part) => JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as Record<string, unknown>);
  return { header, payload };
}

function authorizeUrl(client: AppClient, challenge: string, state: string, scope = "openid"): string {
  const url = new URL(idp.endpoints(poolId).authorizationEndpoint);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: client.clientId,
    redirect_uri: CALLBACK,
    scope,
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
  }).toString();
  return url.toString();
}

/** Signs alice in for `client` and returns the authorization code and the PKCE verifier. */
async function signIn(client: AppClient, user = new ScriptedUser()): Promise<{ code: string; verifier: string }> {
  const { verifier, challenge } = pkceS256();
  const state = `state-${Date.now()}`;
  const callback = new URL(await user.signInAtCognito(authorizeUrl(client, challenge, state), "alice", PASSWORD));
  expect(`${callback.origin}${callback.pathname}`).toBe(CALLBACK);
  expect(callback.searchParams.get("state")).toBe(state);
  const code = callback.searchParams.get("code");
  if (!code) throw new Error("no code in the callback");
  return { code, verifier };
}

function exchange(client: AppClient, code: string, verifier: string) {
  return idp.tokenRequest(client, { grant_type: "authorization_code", code, redirect_uri: CALLBACK, code_verifier: verifier });
}

class RecordingLogger implements Logger {
  readonly checks: (string | number | boolean | undefined)[] = [];
  warn(fields: LogFields): void {
    this.checks.push(fields.check);
  }
  debug(): void {}
  error(fields: LogFields): void {
    this.checks.push(fields.check);
  }
}

function authorizerFor(clientIds: string[], tokenUse = "access") {
  const logger = new RecordingLogger();
  const { issuer, jwksUri } = idp.endpoints(poolId);
  const authorize = createAuthorizer(
    loadAuthorizerConfig({
      region: "eu-west-1",
      accountId: "123456789012",
      issuers: [{ issuer, algorithms: ["RS256"], jwksUri, tokenUse, clientIds }],
    }),
    { logger },
  );
  return { authorize, logger };
}

describe("cognito-local harness", () => {
  test("serves a pool's OIDC endpoints on 127.0.0.1 and a discovery document that names them", async () => {
    const endpoints = idp.endpoints(poolId);
    expect(idp.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(poolId).toMatch(/^local_/);
    const discovery = (await (await fetch(endpoints.discoveryUrl)).json()) as Record<string, unknown>;
    expect(discovery).toMatchObject({
      issuer: endpoints.issuer,
      authorization_endpoint: endpoints.authorizationEndpoint,
      token_endpoint: endpoints.tokenEndpoint,
      jwks_uri: endpoints.jwksUri,
    });
    const jwks = (await (await fetch(endpoints.jwksUri)).json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys).toEqual([expect.objectContaining({ kty: "RSA", kid: "CognitoLocal", alg: "RS256", use: "sig" })]);
    expect(confidential.clientSecret).toEqual(expect.any(String));
    expect(publicClient.clientSecret).toBeUndefined();
  });

  test("the login form carries the request in hidden fields the form reader finds", async () => {
    const user = new ScriptedUser();
    const page = await user.get(authorizeUrl(publicClient, pkceS256().challenge, "s1"));
    expect(page.status).toBe(200);
    const [form] = parseForms(page.body, page.url);
    expect(form.method).toBe("POST");
    expect(form.action).toBe(idp.endpoints(poolId).authorizationEndpoint);
    expect(Object.fromEntries(form.fields)).toMatchObject({
      client_id: publicClient.clientId,
      redirect_uri: CALLBACK,
      state: "s1",
      username: "",
      password: "",
    });
  });

  test("authorization code + PKCE S256, client_secret_basic: tokens whose access token the IoT authorizer accepts", async () => {
    const { code, verifier } = await signIn(confidential);
    const answer = await exchange(confidential, code, verifier);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ token_type: "Bearer", expires_in: 3600 });
    const accessToken = answer.body.access_token as string;
    const { header, payload } = decodeJwt(accessToken);
    expect(header).toMatchObject({ alg: "RS256", kid: "CognitoLocal" });
    expect(payload).toMatchObject({
      iss: idp.endpoints(poolId).issuer,
      sub: alice.sub,
      username: "alice",
      client_id: confidential.clientId,
      token_use: "access",
      scope: "openid", // what was asked for and the client allows, as Cognito grants it (sandbox/cognito-scopes.ts)
    });
    expect(payload.aud).toBeUndefined();
    expect(decodeJwt(answer.body.id_token as string).payload).toMatchObject({
      aud: confidential.clientId,
      token_use: "id",
      email: "alice@example.test",
    });

    const { authorize, logger } = authorizerFor([confidential.clientId]);
    const decision = await authorize({ token: accessToken });
    expect(logger.checks).toEqual([]);
    expect(decision.isAuthenticated).toBe(true);
    expect(decision.principalId).toBe(principalIdFor(alice.sub));
    expect(decision.policyDocuments[0].Statement[0]).toEqual({
      Effect: "Allow",
      Action: ["iot:Connect"],
      Resource: [
        `arn:aws:iot:eu-west-1:123456789012:client/${decision.principalId}`,
        `arn:aws:iot:eu-west-1:123456789012:client/${decision.principalId}-*`,
      ],
    });
  });

  test("the authorizer refuses cognito-local's ID token and another client's access token", async () => {
    const { code, verifier } = await signIn(publicClient);
    const answer = await exchange(publicClient, code, verifier);
    expect(answer.status).toBe(200);

    const { authorize, logger } = authorizerFor([confidential.clientId]);
    expect((await authorize({ token: answer.body.access_token })).isAuthenticated).toBe(false);
    expect((await authorize({ token: answer.body.id_token })).isAuthenticated).toBe(false);
    // The ID token has no client_id claim: the client check comes before token_use.
    expect(logger.checks).toEqual(["client-id-mismatch", "client-id-mismatch"]);

    const forPublic = authorizerFor([publicClient.clientId]);
    expect((await forPublic.authorize({ token: answer.body.id_token })).isAuthenticated).toBe(false);
    expect(forPublic.logger.checks).toEqual(["client-id-mismatch"]);
    expect((await forPublic.authorize({ token: answer.body.access_token })).isAuthenticated).toBe(true);
  });

  test("refresh_token grant: a new access token for the same user, no new refresh token", async () => {
    const { code, verifier } = await signIn(confidential);
    const first = await exchange(confidential, code, verifier);
    const refreshed = await idp.tokenRequest(confidential, {
      grant_type: "refresh_token",
      refresh_token: first.body.refresh_token as string,
    });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refresh_token).toBeUndefined();
    expect(refreshed.body.access_token).not.toBe(first.body.access_token);
    expect(decodeJwt(refreshed.body.access_token as string).payload).toMatchObject({
      sub: alice.sub,
      client_id: confidential.clientId,
      token_use: "access",
    });
    const decision = await authorizerFor([confidential.clientId]).authorize({ token: refreshed.body.access_token });
    expect(decision.isAuthenticated).toBe(true);

    const bogus = await idp.tokenRequest(confidential, { grant_type: "refresh_token", refresh_token: "not-a-refresh-token" });
    expect(bogus).toEqual({ status: 400, body: expect.objectContaining({ error: "invalid_grant" }) });
  });

  test("codes are single-use and bound to the PKCE verifier, client and redirect URI", async () => {
    const first = await signIn(publicClient);
    expect((await exchange(publicClient, first.code, pkceS256().verifier)).body.error).toBe("invalid_grant");
    // A failed exchange consumes the code too.
    expect((await exchange(publicClient, first.code, first.verifier)).body.error).toBe("invalid_grant");

    const second = await signIn(publicClient);
    expect((await exchange(confidential, second.code, second.verifier)).body).toMatchObject({
      error: "invalid_grant",
      error_description: "client_id mismatch",
    });

    const third = await signIn(publicClient);
    expect((await exchange(publicClient, third.code, third.verifier)).status).toBe(200);
    expect((await exchange(publicClient, third.code, third.verifier)).body.error).toBe("invalid_grant");

    expect((await idp.tokenRequest(publicClient, { grant_type: "password", username: "alice", password: PASSWORD })).body.error).toBe(
      "unsupported_grant_type",
    );
  });

  test("what cognito-local does not check: client secrets (wrong or absent) are accepted", async () => {
    const wrongSecret = await signIn(confidential);
    expect((await exchange({ ...confidential, clientSecret: "wrong" }, wrongSecret.code, wrongSecret.verifier)).status).toBe(200);
    const noSecret = await signIn(confidential);
    expect((await exchange({ clientId: confidential.clientId }, noSecret.code, noSecret.verifier)).status).toBe(200);
  });

  test("client_secret_basic alone is refused: cognito-local wants client_id in the body", async () => {
    const { code, verifier } = await signIn(confidential);
    const response = await fetch(idp.endpoints(poolId).tokenEndpoint, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        authorization: `Basic ${Buffer.from(`${confidential.clientId}:${confidential.clientSecret}`).toString("base64")}`,
      },
      body: new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: CALLBACK, code_verifier: verifier }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: "invalid_request", error_description: "Missing client_id" });
  });

  test("refusals: a wrong password shows the form again; no PKCE and unregistered redirect URIs are 400", async () => {
    const user = new ScriptedUser();
    const url = authorizeUrl(publicClient, pkceS256().challenge, "s2");
    await expect(user.signInAtCognito(url, "alice", "wrong-password")).rejects.toThrow(/Incorrect username or password/);
    await expect(user.signInAtCognito(url, "mallory", PASSWORD)).rejects.toThrow(/Incorrect username or password/);

    const noPkce = new URL(url);
    noPkce.searchParams.delete("code_challenge");
    await expect(user.signInAtCognito(noPkce.toString(), "alice", PASSWORD)).rejects.toThrow(/HTTP 400 .*Missing code_challenge/);
    const plain = new URL(url);
    plain.searchParams.set("code_challenge_method", "plain");
    await expect(user.signInAtCognito(plain.toString(), "alice", PASSWORD)).rejects.toThrow(/code_challenge_method must be S256/);
    const elsewhere = new URL(url);
    elsewhere.searchParams.set("redirect_uri", "https://attacker.example.test/callback");
    await expect(user.signInAtCognito(elsewhere.toString(), "alice", PASSWORD)).rejects.toThrow(/redirect_uri not registered/);
  });
});

describe("ESM-only clients loaded into jest", () => {
  test("oauth4webapi: discovery, authorization code with PKCE, client_secret_basic, refresh", async () => {
    const oauth = loadOauth4webapi();
    const issuer = new URL(idp.endpoints(poolId).issuer);
    const insecure = { [oauth.allowInsecureRequests]: true };
    const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: "oidc", ...insecure }));
    expect(as.token_endpoint).toBe(idp.endpoints(poolId).tokenEndpoint);

    const client = { client_id: confidential.clientId };
    const auth = oauth.ClientSecretBasic(confidential.clientSecret as string);
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const url = new URL(as.authorization_endpoint as string);
    url.search = new URLSearchParams({
      response_type: "code",
      client_id: client.client_id,
      redirect_uri: CALLBACK,
      scope: "openid",
      state,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
    }).toString();
    const callback = await new ScriptedUser().signInAtCognito(url.toString(), "alice", PASSWORD);

    const parameters = oauth.validateAuthResponse(as, client, new URL(callback), state);
    // client_id in the body as well: cognito-local requires it even with HTTP Basic (see sandbox/cognito-local.ts).
    const bodyClientId = { additionalParameters: { client_id: client.client_id }, ...insecure };
    const tokens = await oauth.processAuthorizationCodeResponse(
      as,
      client,
      await oauth.authorizationCodeGrantRequest(as, client, auth, parameters, CALLBACK, verifier, bodyClientId),
    );
    expect(tokens.token_type).toBe("bearer"); // oauth4webapi normalises the case
    expect(oauth.getValidatedIdTokenClaims(tokens)).toMatchObject({ sub: alice.sub, aud: client.client_id, iss: issuer.href });
    expect((await authorizerFor([confidential.clientId]).authorize({ token: tokens.access_token })).isAuthenticated).toBe(true);

    const refreshed = await oauth.processRefreshTokenResponse(
      as,
      client,
      await oauth.refreshTokenGrantRequest(as, client, auth, tokens.refresh_token as string, bodyClientId),
    );
    expect((await authorizerFor([confidential.clientId]).authorize({ token: refreshed.access_token })).isAuthenticated).toBe(true);

    // Errors come from the package's realm: match them with its own classes and fields.
    const replay = oauth.authorizationCodeGrantRequest(as, client, auth, parameters, CALLBACK, verifier, bodyClientId);
    const failure = await oauth.processAuthorizationCodeResponse(as, client, await replay).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(oauth.ResponseBodyError);
    expect(failure).toMatchObject({ error: "invalid_grant", status: 400 });
  });

  test("openid-client: discovery over http needs allowInsecureRequests; code grant and refresh", async () => {
    const client = loadOpenidClient();
    const issuer = new URL(idp.endpoints(poolId).issuer);
    const config = await client.discovery(issuer, publicClient.clientId, undefined, client.None(), {
      execute: [client.allowInsecureRequests],
    });
    expect(config.serverMetadata().issuer).toBe(issuer.href);

    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: CALLBACK,
      scope: "openid",
      state,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
    });
    const callback = await new ScriptedUser().signInAtCognito(url.href, "alice", PASSWORD);
    const tokens = await client.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: verifier, expectedState: state });
    expect(tokens.claims()).toMatchObject({ sub: alice.sub });
    expect((await authorizerFor([publicClient.clientId]).authorize({ token: tokens.access_token })).isAuthenticated).toBe(true);

    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token as string);
    expect((await authorizerFor([publicClient.clientId]).authorize({ token: refreshed.access_token })).isAuthenticated).toBe(true);

    await expect(client.discovery(issuer, publicClient.clientId)).rejects.toMatchObject({ code: "OAUTH_HTTP_REQUEST_FORBIDDEN" });
  });
});

describe("scripted user against a local page server", () => {
  const seen: { method: string; path: string; cookie?: string; origin?: string; secFetchSite?: string; body: string }[] = [];
  const CONFIRM_PAGE = `<!doctype html><html><head><title>Confirm</title><style>form{}</style></head><body>
    <h1>Confirm &amp; approve</h1>
    <form method="post" action="/device/decide">
      <input type="hidden" name="csrf" value="a&quot;b&lt;c">
      <input type=hidden name=user_code value=BCDF-GHJK>
      <input type="checkbox" name="remember">
      <input type="checkbox" name="agree" checked>
      <input type="text" name="off" value="x" disabled>
      <textarea name="note">
line &amp; more</textarea>
      <select name="lang"><option value="en">English</option><option value="fr" selected>Français</option></select>
      <button type="submit" name="action" value="approve">Approve</button>
      <button type="submit" name="action" value="deny">Deny</button>
    </form>
    <form action="search"><input name="q" value=""><input type="submit" value="Go"></form>
  </body></html>`;
  let server: http.Server;
  let base: string;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString()));
      req.on("end", () => {
        const path = (req.url ?? "").split("?")[0];
        seen.push({
          method: req.method ?? "",
          path,
          cookie: req.headers.cookie,
          origin: req.headers.origin,
          secFetchSite: req.headers["sec-fetch-site"] as string,
          body,
        });
        if (path === "/set") {
          res.setHeader("set-cookie", [
            "sid=1; Path=/; HttpOnly; SameSite=Lax",
            "__Host-csrf=abc; Path=/; Secure; HttpOnly; SameSite=Strict",
            "__Host-bad=x; Path=/app; Secure",
            "scoped=2; Path=/app",
            "gone=3; Max-Age=0",
            "foreign=4; Domain=example.com",
          ]);
          res.writeHead(302, { location: "/device/page" }).end();
        } else if (path === "/device/page") {
          res.writeHead(200, { "content-type": "text/html" }).end(CONFIRM_PAGE);
        } else if (path === "/device/decide") {
          res.writeHead(303, { location: "/done" }).end();
        } else if (path === "/keep") {
          res.writeHead(307, { location: "/done" }).end();
        } else if (path === "/logout") {
          res.setHeader("set-cookie", "sid=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
          res.writeHead(200).end("bye");
        } else {
          res.writeHead(200, { "content-type": "text/plain" }).end(`${req.method} ${path}`);
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  });
  beforeEach(() => {
    seen.length = 0;
  });

  test("follows redirects, records the chain, keeps cookies by path and prefix rules", async () => {
    const user = new ScriptedUser();
    const page = await user.get(`${base}/set`);
    expect(page.url).toBe(`${base}/device/page`);
    expect(page.chain).toEqual([
      { method: "GET", url: `${base}/set`, status: 302, location: `${base}/device/page` },
      { method: "GET", url: `${base}/device/page`, status: 200 },
    ]);
    expect(seen[1].cookie).toBe("sid=1; __Host-csrf=abc");
    expect(user.cookies.names().sort()).toEqual(["__Host-csrf", "scoped", "sid"]);
    await user.get(`${base}/app/x`);
    expect(seen.at(-1)?.cookie).toBe("scoped=2; sid=1; __Host-csrf=abc");
    await user.get(`${base}/logout`);
    await user.get(`${base}/app/x`);
    expect(seen.at(-1)?.cookie).toBe("scoped=2; __Host-csrf=abc");
  });

  test("reads a form like a browser and submits the clicked button with Origin; 303 turns the POST into a GET", async () => {
    const user = new ScriptedUser();
    const page = await user.get(`${base}/set`);
    const [confirm, search] = parseForms(page.body, page.url);
    expect(confirm).toEqual({
      action: `${base}/device/decide`,
      method: "POST",
      fields: [
        ["csrf", 'a"b<c'],
        ["user_code", "BCDF-GHJK"],
        ["agree", "on"],
        ["note", "line & more"],
        ["lang", "fr"],
      ],
      submitters: [
        { name: "action", value: "approve", label: "Approve" },
        { name: "action", value: "deny", label: "Deny" },
      ],
    });
    expect(search).toEqual({ action: `${base}/device/search`, method: "GET", fields: [["q", ""]], submitters: [] });

    const done = await user.submit(page, { user_code: "bcdf ghjk" }, { submitter: "Deny" });
    expect(done.body).toBe("GET /done");
    expect(done.chain.map((h) => `${h.method} ${h.status}`)).toEqual(["POST 303", "GET 200"]);
    const post = seen.find((s) => s.method === "POST");
    expect(post).toMatchObject({ path: "/device/decide", origin: base, secFetchSite: "same-origin", cookie: "sid=1; __Host-csrf=abc" });
    expect(new URLSearchParams(post?.body)).toEqual(
      new URLSearchParams([
        ["csrf", 'a"b<c'],
        ["agree", "on"],
        ["note", "line & more"],
        ["lang", "fr"],
        ["user_code", "bcdf ghjk"],
        ["action", "deny"],
      ]),
    );
    await expect(user.submit(page, {}, { submitter: "explode" })).rejects.toThrow(/no form with a "explode" button/);
  });

  test("307 keeps the POST; follow() can stop before a redirect target", async () => {
    const user = new ScriptedUser();
    const kept = await user.postForm(`${base}/keep`, { a: "1" });
    expect(kept.body).toBe("POST /done");
    expect(seen.map((s) => `${s.method} ${s.path} ${s.body}`)).toEqual(["POST /keep a=1", "POST /done a=1"]);
    const stopped = await user.get(`${base}/set`, { follow: (url) => url.pathname !== "/device/page" });
    expect(stopped.status).toBe(302);
    expect(stopped.chain.at(-1)?.location).toBe(`${base}/device/page`);
    expect(seen.at(-1)?.path).toBe("/set");
  });
});

describe("cookie jar rules", () => {
  const page = new URL("http://127.0.0.1:8080/device");
  test("SameSite: Lax cookies go on a cross-site top-level GET only, Strict never cross-site, None always", () => {
    const jar = new CookieJar();
    jar.store(page, ["lax=1; Path=/", "strict=2; Path=/; SameSite=Strict", "none=3; Path=/; SameSite=None; Secure"]);
    expect(jar.header(page, { crossSite: false, method: "POST", topLevel: true })).toBe("lax=1; strict=2; none=3");
    expect(jar.header(page, { crossSite: true, method: "GET", topLevel: true })).toBe("lax=1; none=3");
    expect(jar.header(page, { crossSite: true, method: "POST", topLevel: true })).toBe("none=3");
  });
  test("Secure cookies only to https or loopback; SameSite=None without Secure and foreign domains are dropped", () => {
    const jar = new CookieJar();
    const remote = new URL("http://device.example.test/device");
    jar.store(remote, ["s=1; Secure", "n=2; SameSite=None", "d=3; Domain=other.test", "ok=4"]);
    expect(jar.names()).toEqual(["ok"]);
    jar.store(new URL("https://device.example.test/"), ["s=1; Secure; Path=/"]);
    expect(jar.header(remote, { crossSite: false, method: "GET", topLevel: true })).toBe("ok=4");
    expect(jar.header(new URL("https://device.example.test/device"), { crossSite: false, method: "GET", topLevel: true })).toBe(
      "ok=4; s=1",
    );
  });
  test("cookies expire by Max-Age against the jar's clock", () => {
    let now = 1_000_000;
    const jar = new CookieJar(() => now);
    jar.store(page, ["short=1; Max-Age=60"]);
    expect(jar.header(page, { crossSite: false, method: "GET", topLevel: true })).toBe("short=1");
    now += 60_000;
    expect(jar.header(page, { crossSite: false, method: "GET", topLevel: true })).toBeUndefined();
  });
});
