/**
 * The verification pages and the callback through the real handler on dynalite and cognito-local
 * (escaping, headers, CSRF, rate limiting, pre-fill without approval, state binding, IdP errors), plus the
 * pure helpers they rest on (HTML escaping, form, Basic and cookie parsing, the payload 2.0 adapter) and
 * the handler's refusal to throw on a broken configuration.
 */
import { fromApiGatewayEvent, toApiGatewayResult } from "../../functions/device-grant/apigw";
import { parseBasicAuthorization, parseCookies, parseParameters } from "../../functions/device-grant/http";
import { basicAuthorizationHeader } from "../../functions/shared/oauth";
import { createHandler, readClientSecrets } from "../../functions/device-grant/index";
import { type UpstreamIdp, type UpstreamResult } from "../../functions/device-grant/model";
import { contentSecurityPolicy, escapeHtml, STYLE_HASH } from "../../functions/device-grant/pages";
import { createDeviceGrantService } from "../../functions/device-grant/service";
import { parseForms, ScriptedUser, visibleText } from "../../sandbox/scripted-user";
import {
  approve,
  authorizeDevice,
  type GrantHarness,
  openConfirmation,
  PASSWORD,
  pollToken,
  postForm,
  RecordingServiceLogger,
  startGrant,
  storedRequest,
} from "./support/grant";

jest.setTimeout(60_000);

describe("pure helpers", () => {
  test("escapeHtml escapes the five HTML-significant characters and nothing else", () => {
    expect(escapeHtml(`<script>alert("x")</script> & 'y'`)).toBe("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;");
    expect(escapeHtml("BCDF-GHJK é")).toBe("BCDF-GHJK é");
    expect(escapeHtml("&amp;")).toBe("&amp;amp;");
  });

  test("parseParameters reports repeated names, treats empty values as absent, refuses bad escapes", () => {
    expect(parseParameters("a=1&b=2&a=3")?.repeated).toEqual(["a"]);
    const parsed = parseParameters("a=&b=x+y%21");
    expect(parsed?.params.has("a")).toBe(false);
    expect(parsed?.params.get("b")).toBe("x y!");
    expect(parseParameters("a=%E0%A4%A")).toBeUndefined();
  });

  test("Basic credentials are form-urlencoded before base64 (RFC 6749 §2.3.1), so ':' '%' '+' survive", () => {
    const secret = "p:a%s+s w/ord";
    expect(parseBasicAuthorization(basicAuthorizationHeader("client:1", secret))).toEqual({ clientId: "client:1", clientSecret: secret });
    expect(parseBasicAuthorization(undefined)).toBeUndefined();
    expect(parseBasicAuthorization("Bearer abc")).toBe("malformed");
    expect(parseBasicAuthorization("Basic !!!")).toBe("malformed");
    expect(parseBasicAuthorization(`Basic ${Buffer.from("no-colon").toString("base64")}`)).toBe("malformed");
    expect(parseBasicAuthorization(`Basic ${Buffer.from(":secret").toString("base64")}`)).toBe("malformed");
  });

  test("parseCookies takes the first of a repeated name, from an array or one header", () => {
    expect(parseCookies(["a=1", "b=2; a=3"])).toEqual({ a: "1", b: "2" });
    expect(parseCookies('x=%41; y="q"')).toEqual({ x: "A", y: "q" });
  });

  test("the payload 2.0 adapter decodes base64 bodies, reads cookies and the raw query, and returns cookies apart", () => {
    const request = fromApiGatewayEvent({
      version: "2.0",
      rawPath: "/device",
      rawQueryString: "user_code=A&user_code=B",
      cookies: ["device-grant=abc"],
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: Buffer.from("user_code=BCDF").toString("base64"),
      isBase64Encoded: true,
      requestContext: { http: { method: "post", sourceIp: "203.0.113.7", userAgent: "TV/1.0" } },
    });
    expect(request).toMatchObject({
      method: "POST",
      path: "/device",
      rawQuery: "user_code=A&user_code=B",
      body: "user_code=BCDF",
      sourceIp: "203.0.113.7",
      userAgent: "TV/1.0",
    });
    expect(request.cookies).toEqual({ "device-grant": "abc" });
    expect(request.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(fromApiGatewayEvent(null)).toMatchObject({ method: "", path: "", body: "" });
    expect(toApiGatewayResult({ status: 200, headers: {}, cookies: ["a=b"], body: "x" })).toEqual({
      statusCode: 200,
      headers: {},
      cookies: ["a=b"],
      body: "x",
      isBase64Encoded: false,
    });
  });

  test("the CSP allows only the page's own stylesheet, forms to itself and the IdP, no framing, no base", () => {
    expect(contentSecurityPolicy("https://idp.example.com")).toBe(
      `default-src 'none'; style-src ${STYLE_HASH}; form-action 'self' https://idp.example.com; frame-ancestors 'none'; base-uri 'none'`,
    );
  });
});

describe("the handler never throws", () => {
  test("a missing or broken configuration gives server_error JSON or an error page, logged with every problem", async () => {
    const logger = new RecordingServiceLogger();
    const handler = createHandler({ environment: { DEVICE_GRANT_CONFIG: '{"tableName":1}' }, logger });
    const json = await handler({ rawPath: "/oauth2/token", requestContext: { http: { method: "POST" } } });
    expect(json.statusCode).toBe(500);
    expect(JSON.parse(json.body)).toMatchObject({ error: "server_error" });
    const html = await handler({ rawPath: "/device", requestContext: { http: { method: "GET" } } });
    expect(html.statusCode).toBe(503);
    expect(html.headers["content-type"]).toMatch(/^text\/html/);
    expect(logger.lines[0].fields.reason).toMatch(/problem/);
  });

  test("client secrets: every confidential client needs one in the parameter, and the value is never quoted", async () => {
    const config = {
      clients: [
        { clientId: "a", type: "confidential" },
        { clientId: "b", type: "confidential" },
        { clientId: "c", type: "public" },
      ],
      clientSecretsParameter: "/p",
    };
    const read = async () => JSON.stringify({ a: "s3cret-a" });
    await expect(readClientSecrets(config as never, read)).rejects.toThrow(/no secret for confidential client b/);
    await expect(readClientSecrets(config as never, async () => "s3cret-not-json")).rejects.toThrow(/not a JSON object/);
    await expect(readClientSecrets(config as never, async () => "s3cret-not-json")).rejects.not.toThrow(/s3cret/);
    const ok = await readClientSecrets(config as never, async () => JSON.stringify({ a: "x", b: "y" }));
    expect([...ok.entries()]).toEqual([
      ["a", "x"],
      ["b", "y"],
    ]);
  });
});

describe("verification pages", () => {
  let grant: GrantHarness;
  beforeAll(async () => {
    grant = await startGrant({ settings: { maxFailedEntriesPerIp: 4, maxFailedAttemptsPerCode: 3 } });
  });
  afterAll(async () => {
    await grant?.stop();
  });
  // Each test is another person at another address: the address budget (4 here) is what the rate-limit tests spend.
  let person = 0;
  beforeEach(() => {
    grant.clock.offsetMs = 0;
    grant.sourceIp.value = `192.0.2.${++person}`;
  });

  test("every page carries the strict headers and is a self-contained, accessible document", async () => {
    const user = new ScriptedUser();
    const page = await user.get(`${grant.url}/device`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toBe(contentSecurityPolicy(grant.cognito.baseUrl));
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    expect(page.headers.get("referrer-policy")).toBe("no-referrer");
    expect(page.headers.get("cache-control")).toBe("no-store");
    expect(page.body).toMatch(/^<!DOCTYPE html>\n<html lang="en">/);
    expect(page.body).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(page.body).toContain('<label for="user_code">');
    expect(page.body).toMatch(/<h1>/);
    expect(page.body).not.toMatch(/<script|\bsrc=|<link|https?:\/\//i);
    const cookie = page.headers.getSetCookie()[0];
    expect(cookie).toMatch(/^device-grant=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+$/);
    const notFound = await user.get(`${grant.url}/nope`);
    expect(notFound.status).toBe(404);
    expect(notFound.headers.get("content-security-policy")).toContain("default-src 'none'");
  });

  test("verification_uri_complete pre-fills the code but approves nothing; the confirmation escapes what it shows", async () => {
    const authorization = await authorizeDevice(grant);
    const user = new ScriptedUser();
    const form = await user.get(authorization.verification_uri_complete);
    const fields = Object.fromEntries(parseForms(form.body, form.url)[0].fields);
    expect(fields.user_code).toBe(authorization.user_code);
    expect((await storedRequest(grant, authorization.device_code))?.status).toBe("pending");
    expect((await pollToken(grant, authorization.device_code)).body.error).toBe("authorization_pending");

    // An attacker's pre-fill is escaped, not interpreted.
    const hostile = await user.get(`${grant.url}/device?user_code=${encodeURIComponent('"><script>x</script>')}`);
    expect(hostile.body).not.toContain("<script>");
    expect(hostile.body).toContain('value="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"');

    const confirmation = await user.submit(form);
    expect(confirmation.status).toBe(200);
    expect(confirmation.body).toContain("Living-room &lt;TV&gt; &amp; &quot;Co&quot;");
    expect(confirmation.body).not.toContain("<TV>");
    // Typed in lower case with spaces: the same request.
    const typed = await user.submit(form, { user_code: ` ${authorization.user_code.toLowerCase().replace("-", " ")} ` });
    expect(visibleText(typed.body)).toContain(authorization.user_code);
    // Still pending: only the Approve button changes anything.
    expect((await storedRequest(grant, authorization.device_code))?.status).toBe("pending");
  });

  test("the device's User-Agent is shown as what the device claims to run, its first product only, short, or not at all", async () => {
    const cases: [string, string][] = [
      ["AcmeThermostat/2.4.1 (firmware 7; +https://evil.example/<script>alert(1)</script>)", "AcmeThermostat/2.4.1"],
      ["Your bank <b>verified</b> this device", "Your"],
      [`${"A".repeat(80)}/1.0`, `${"A".repeat(47)}…`],
      ["(no product) TV/1.0", "(nothing)"],
      ["", "(nothing)"],
    ];
    for (const [i, [userAgent, shown]] of cases.entries()) {
      grant.sourceIp.value = `203.0.113.${40 + i}`; // each device and its user somewhere else: the budget is not the subject
      const answer = await postForm(
        `${grant.url}/oauth2/device_authorization`,
        { client_id: grant.publicClient.clientId },
        { headers: { "user-agent": userAgent } },
      );
      const confirmation = await openConfirmation(new ScriptedUser(), answer.body as never);
      const text = visibleText(confirmation.body);
      expect(text).toContain(`Device says it runs ${shown}`);
      expect(confirmation.body).not.toContain("<script>");
      expect(text).not.toContain("evil.example");
      expect(text).not.toContain("verified");
    }
  });

  test("CSRF: a decision without the browser's cookie, with a forged token, or with another request's token changes nothing", async () => {
    const authorization = await authorizeDevice(grant);
    const other = await authorizeDevice(grant);
    const user = new ScriptedUser();
    const confirmation = await openConfirmation(user, authorization);
    const otherConfirmation = await openConfirmation(user, other);
    const code = authorization.device_code;

    const forged = await user.submit(confirmation, { csrf: "forged" }, { submitter: "approve", follow: () => false });
    expect(forged.status).toBe(403);
    expect(visibleText(forged.body)).toContain("Nothing was changed");
    // The token of another request's confirmation, with this request's code.
    const otherToken = Object.fromEntries(parseForms(otherConfirmation.body, otherConfirmation.url)[0].fields).csrf;
    const swapped = await user.submit(confirmation, { csrf: otherToken }, { submitter: "deny" });
    expect(swapped.status).toBe(403);
    // Another browser (no cookie of ours) replaying the whole form.
    const attacker = new ScriptedUser();
    const replayed = await attacker.submit(confirmation, {}, { submitter: "approve", follow: () => false });
    expect(replayed.status).toBe(403);
    // The code entry form is protected too.
    const entry = await attacker.postForm(`${grant.url}/device`, { action: "enter", user_code: authorization.user_code, csrf: "x" });
    expect(entry.status).toBe(403);
    expect((await storedRequest(grant, code))?.status).toBe("pending");
    // The genuine form still works.
    expect((await user.submit(confirmation, {}, { submitter: "deny" })).status).toBe(200);
    expect((await storedRequest(grant, code))?.status).toBe("denied");
  });

  test("wrong codes are rate-limited per client IP, with a page that says what to do", async () => {
    grant.sourceIp.value = "198.51.100.23";
    const user = new ScriptedUser();
    const form = await user.get(`${grant.url}/device`);
    for (let i = 0; i < 4; i++) {
      const wrong = await user.submit(form, { user_code: `ZZZZ-ZZZ${"BCDF"[i]}` });
      expect(wrong.status).toBe(400);
      expect(visibleText(wrong.body)).toContain("That code was not found");
    }
    // Even the right code is refused now, from this address.
    const authorization = await authorizeDevice(grant);
    const limited = await user.submit(form, { user_code: authorization.user_code });
    expect(limited.status).toBe(429);
    expect(visibleText(limited.body)).toMatch(/Too many attempts.*Wait \d+ minutes? and try again/);
    // Another address is not affected, and the window passes.
    grant.sourceIp.value = "198.51.100.24";
    expect((await user.submit(form, { user_code: authorization.user_code })).status).toBe(200);
    grant.sourceIp.value = "198.51.100.23";
    grant.clock.advance(grant.config.settings.attemptWindowSeconds);
    expect((await user.submit(form, { user_code: authorization.user_code })).status).toBe(200);
  });

  test("approvals that never come back lock the code after maxFailedAttemptsPerCode; forged forms never count", async () => {
    const authorization = await authorizeDevice(grant);
    const user = new ScriptedUser();
    const confirmation = await openConfirmation(user, authorization);
    for (let i = 0; i < 5; i++) {
      expect((await user.submit(confirmation, { csrf: `bad-${i}` }, { submitter: "approve", follow: () => false })).status).toBe(403);
    }
    // Three sign-ins started (this browser holds the lock and may restart it) and abandoned at the IdP.
    for (let i = 0; i < 3; i++) {
      grant.sourceIp.value = `192.0.2.${100 + i}`;
      expect((await user.submit(confirmation, {}, { submitter: "approve", follow: () => false })).status).toBe(303);
    }
    const locked = await user.submit(confirmation, {}, { submitter: "approve", follow: () => false });
    expect([locked.status, visibleText(locked.body)]).toEqual([429, expect.stringContaining("Too many sign-in attempts")]);
    // While the last sign-in may still finish, another browser is told someone is approving; once its lock
    // has run out, that the code is spent.
    const other = new ScriptedUser();
    expect(visibleText((await openConfirmation(other, authorization)).body)).toContain("Someone is already approving this device");
    grant.clock.advance(grant.config.settings.approvalLockSeconds);
    expect(visibleText((await openConfirmation(other, authorization)).body)).toContain("Too many sign-in attempts");
    expect((await storedRequest(grant, authorization.device_code))?.approvals).toBe(3);
  });

  test("expired, denied and already-used codes each get their own page", async () => {
    const user = new ScriptedUser();
    const expiring = await authorizeDevice(grant);
    const form = await user.get(expiring.verification_uri_complete);
    grant.clock.advance(expiring.expires_in);
    const expired = await user.submit(form);
    expect([expired.status, visibleText(expired.body)]).toEqual([400, expect.stringContaining("This code has expired")]);
    grant.clock.offsetMs = 0;

    const denied = await authorizeDevice(grant);
    await user.submit(await openConfirmation(user, denied), {}, { submitter: "deny" });
    expect(visibleText((await openConfirmation(user, denied)).body)).toContain("This request was denied");
  });

  test("the callback's state works once, only in the browser that approved, and IdP errors are handled", async () => {
    const authorization = await authorizeDevice(grant);
    const user = new ScriptedUser();
    const idpUrl = await approve(user, await openConfirmation(user, authorization));
    const callbackUrl = await user.signInAtCognito(idpUrl, grant.username, PASSWORD);

    // Another browser with the same callback URL: no match, nothing changes.
    const stranger = await new ScriptedUser().get(callbackUrl);
    expect(stranger.status).toBe(400);
    expect(visibleText(stranger.body)).toContain("could not be matched");
    const code = authorization.device_code;
    expect((await storedRequest(grant, code))?.status).toBe("approving");
    // A forged state in the right browser: no match either.
    const forged = new URL(callbackUrl);
    forged.searchParams.set("state", "forged");
    expect((await user.get(forged.toString())).status).toBe(400);

    expect((await user.get(callbackUrl)).status).toBe(200);
    expect((await storedRequest(grant, code))?.status).toBe("approved");
    const replay = await user.get(callbackUrl);
    expect([replay.status, visibleText(replay.body)]).toEqual([400, expect.stringContaining("already used")]);

    // An IdP error other than access_denied puts the request back to pending: the user can retry.
    const retry = await authorizeDevice(grant);
    const retryUrl = new URL(await approve(user, await openConfirmation(user, retry)));
    const errorUrl = `${grant.url}/callback?error=server_error&state=${encodeURIComponent(retryUrl.searchParams.get("state") as string)}`;
    const failed = await user.get(errorUrl);
    expect([failed.status, visibleText(failed.body)]).toEqual([502, expect.stringContaining("server_error")]);
    expect((await storedRequest(grant, retry.device_code))?.status).toBe("pending");
    // access_denied at the IdP ends the request.
    const again = new URL(await approve(user, await openConfirmation(user, retry)));
    const deniedUrl = `${grant.url}/callback?error=access_denied&state=${encodeURIComponent(again.searchParams.get("state") as string)}`;
    expect((await user.get(deniedUrl)).status).toBe(400);
    expect((await pollToken(grant, retry.device_code)).body.error).toBe("access_denied");
  });
});

describe("an upstream IdP that cannot be reached", () => {
  let grant: GrantHarness;
  beforeAll(async () => {
    grant = await startGrant();
  });
  afterAll(async () => {
    await grant?.stop();
  });

  test("gives the approval back: the device hears authorization_pending and its next poll gets the tokens", async () => {
    let answer: UpstreamResult = { ok: false, status: 504, error: "temporarily_unavailable" };
    const exchanges: string[] = [];
    const upstream: UpstreamIdp = {
      authorizationUrl: () => "http://127.0.0.1:1/authorize",
      exchangeCode: async (p) => {
        exchanges.push(p.codeVerifier);
        return answer;
      },
      refresh: async () => answer,
    };
    const service = createDeviceGrantService({
      config: grant.config,
      store: grant.store,
      upstream,
      clientSecrets: () => undefined,
      logger: new RecordingServiceLogger(),
    });
    const request = (body: Record<string, string>) => ({
      method: "POST",
      path: "/oauth2/" + (body.grant_type ? "token" : "device_authorization"),
      rawQuery: "",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      cookies: {},
      body: new URLSearchParams(body).toString(),
      sourceIp: "203.0.113.9",
      userAgent: "TV/2.0",
    });
    const started = JSON.parse((await service.handle(request({ client_id: grant.publicClient.clientId }))).body) as { device_code: string };
    const code = started.device_code;
    const record = await storedRequest(grant, code);
    // As if a user had approved: the approval lock and verifier, then the callback's code.
    const userCode = record!.userCode;
    const now = { ms: Date.now(), seconds: Math.floor(Date.now() / 1000) };
    const approval = {
      createdAt: record!.createdAt,
      approver: "a",
      approvalUntil: now.ms + 60_000,
      stateHash: "s",
      pkceVerifier: "verifier-1",
      maxApprovals: 5,
      charge: "ip#203.0.113.9#0",
    };
    expect((await grant.store.approve(userCode, approval, now)).written).toBe(true);
    expect((await grant.store.completeApproval(userCode, "s", "code-1", now.seconds)).written).toBe(true);
    const poll = () =>
      service.handle(
        request({
          grant_type: "urn:ietf:params:oauth:grant-type:device_code",
          device_code: started.device_code,
          client_id: grant.publicClient.clientId,
        }),
      );

    const first = await poll();
    expect([first.status, JSON.parse(first.body).error]).toEqual([400, "authorization_pending"]);
    expect((await storedRequest(grant, code))?.status).toBe("approved");
    answer = { ok: true, tokens: { access_token: "a", token_type: "Bearer", id_token: "i", refresh_token: "r", expires_in: 60 } };
    const second = await poll();
    expect(second.status).toBe(200);
    // ACCESS+REFRESH: the ID token is filtered out.
    expect(JSON.parse(second.body)).toEqual({ access_token: "a", token_type: "Bearer", refresh_token: "r", expires_in: 60 });
    expect(exchanges).toEqual(["verifier-1", "verifier-1"]);
    expect(JSON.parse((await poll()).body).error).toBe("invalid_grant");
  });
});
