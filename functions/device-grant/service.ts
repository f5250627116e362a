/**
 * The device authorization grant's core (RFC 8628): six endpoints from a normalised HTTP request to a
 * normalised response, with storage, time, randomness and the upstream IdP as ports. The same core runs in
 * Lambda (`index.ts` + `apigw.ts`), in the tests against dynalite and cognito-local, and in the local
 * sandbox (`local-server.ts`).
 *
 * State machine of one request (every arrow one conditional write on status and version):
 *
 *     pending ──Approve──▶ approving ──callback──▶ approved ──poll──▶ redeemed
 *        │  ▲                 │  │
 *        │  └──IdP error──────┘  └──IdP access_denied──▶ denied
 *        └──Deny──────────────────────────────────────▶ denied
 *
 * Decisions this file makes, and why:
 * - CSRF: a per-browser cookie (32 random bytes, `HttpOnly`, `SameSite=Lax`, `__Host-` and `Secure` on
 *   https) and, in every form, `HMAC-SHA256(key = cookie, purpose)` where the purpose names the step and,
 *   for Approve/Deny, the request (its device code hash). A forged form needs the cookie, which another
 *   site can neither read nor set; a token for one request is useless for another; no server-side secret
 *   or session table is needed.
 * - `state` is bound to the request and to the browser: the store keeps `SHA-256(state "." cookie)`, so a
 *   callback is found only with the very state and the cookie of the browser that pressed Approve, and
 *   works once (the request leaves `approving`).
 * - IdP errors at the callback: `access_denied` (the user refused at the IdP) ends the request as denied;
 *   any other error puts it back to pending, so the user can retry with the same code until it expires.
 * - Deny is possible only from pending; Approve from pending or approving (a user who abandoned the IdP
 *   login can approve again, which replaces the state). An approve racing a deny: exactly one write wins.
 * - Poll bookkeeping writes `lastPollAt` with the record's version; a user's Approve that loses to a poll
 *   re-reads and retries while the status is still the one it expects, so polling never makes a click fail.
 * - On approved, the transition approved → redeemed is written first and the upstream exchange follows:
 *   of 50 concurrent polls only one can win the write, so tokens leave once. If the IdP cannot be reached
 *   (network, timeout, 5xx) the request goes back to approved and the device hears
 *   `authorization_pending`, so its next poll retries; the IdP's codes are single-use, so a retry after a
 *   lost answer cannot mint a second token set.
 * - Failed code entries are counted per client IP and per typed code (its SHA-256, never the code) in
 *   fixed windows of `attemptWindowSeconds`; a bad CSRF token on a decision counts against the code.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { cryptoRandom, formatUserCode, generateCode, hashDeviceCode, normalizeUserCode } from "./codes";
import { type DeviceGrantConfig } from "./config";
import { type HttpRequest, type HttpResponse, isFormRequest, jsonResponse, parseBasicAuthorization, parseParameters } from "./http";
import { type Clock, type ClientRegistration, type DeviceRequest, type RandomSource, type Store, type UpstreamIdp, type UpstreamResult } from "./model";
import { confirmationPage, type Page, PAGES, entryPage, pageHeaders, pageResponse } from "./pages";

export const DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";

export const ROUTES = {
  deviceAuthorization: "/oauth2/device_authorization",
  token: "/oauth2/token",
  metadata: "/.well-known/oauth-authorization-server",
  device: "/device",
  callback: "/callback",
} as const;

/**
 * A poll this much earlier than `lastPollAt + interval` is still accepted (clients' timers drift), but
 * never more than half the interval: with a 1 s interval a full second would disable `slow_down` altogether.
 */
export const POLL_JITTER_MS = 1_000;

export function pollTolerance(intervalSeconds: number): number {
  return Math.min(POLL_JITTER_MS, (intervalSeconds * 1000) / 2);
}
/** RFC 8628 §3.5: on `slow_down` the client adds 5 seconds to its interval; the stored one follows. */
export const SLOW_DOWN_STEP_SECONDS = 5;
/** Draws of a new user code after a collision with a live one, before giving up with 503. */
export const USER_CODE_ATTEMPTS = 5;
/** Re-reads after a conditional write lost to a concurrent one (a poll's bookkeeping, usually). */
const WRITE_ATTEMPTS = 4;

export interface LogFields {
  [field: string]: string | number | boolean | undefined;
}
/** Log lines carry event names, client ids and outcomes: never a code, token, secret, header or cookie. */
export interface ServiceLogger {
  info(fields: LogFields): void;
  warn(fields: LogFields): void;
  error(fields: LogFields): void;
}

/* eslint-disable no-console -- the Lambda's log sink */
export const consoleServiceLogger: ServiceLogger = {
  info: (fields) => console.info(fields),
  warn: (fields) => console.warn(fields),
  error: (fields) => console.error(fields),
};
/* eslint-enable no-console */

export interface DeviceGrantServiceOptions {
  config: DeviceGrantConfig;
  store: Store;
  upstream: UpstreamIdp;
  clock?: Clock;
  random?: RandomSource;
  /** The secret of a confidential client (from the SSM parameter), `undefined` for unknown or public ones. */
  clientSecrets: (clientId: string) => string | undefined;
  logger?: ServiceLogger;
}

export interface DeviceGrantService {
  /** Answers one request; never throws (an unexpected failure becomes `server_error` or an error page). */
  handle(request: HttpRequest): Promise<HttpResponse>;
}

/** The browser cookie name: `__Host-` (https only, no Domain, Path=/) where the browser honours it. */
export function browserCookieName(publicBaseUrl: string): string {
  return publicBaseUrl.startsWith("https:") ? "__Host-device-grant" : "device-grant";
}

/** The CSRF token of a form: HMAC-SHA256 keyed with the browser's cookie, over the form's purpose. */
export function csrfToken(browserCookie: string, purpose: string): string {
  return createHmac("sha256", browserCookie).update(purpose, "utf8").digest("base64url");
}

/** What the store keeps for an upstream `state`: bound to the browser's cookie. */
export function stateHashFor(state: string, browserCookie: string): string {
  return createHash("sha256").update(`${state}.${browserCookie}`, "utf8").digest("hex");
}

function constantTimeEqual(a: string, b: string): boolean {
  const da = createHash("sha256").update(a, "utf8").digest();
  const db = createHash("sha256").update(b, "utf8").digest();
  return timingSafeEqual(da, db);
}

const BROWSER_COOKIE_VALUE = /^[A-Za-z0-9_-]{43}$/;

class OAuthError {
  constructor(
    readonly error: string,
    readonly description: string,
    readonly status = 400,
    readonly headers: Record<string, string> = {},
  ) {}
  response(): HttpResponse {
    return jsonResponse(this.status, { error: this.error, error_description: this.description }, { headers: this.headers });
  }
}

interface AuthenticatedClient {
  client: ClientRegistration;
  /** The secret the device presented (forwarded to the IdP; never stored). */
  secret?: string;
  method: "client_secret_basic" | "client_secret_post" | "none";
}

export function createDeviceGrantService(options: DeviceGrantServiceOptions): DeviceGrantService {
  const { config, store, upstream, clientSecrets } = options;
  const { settings } = config;
  const clock = options.clock ?? { now: () => Date.now() };
  const random = options.random ?? cryptoRandom;
  const logger = options.logger ?? consoleServiceLogger;
  const clients = new Map(config.clients.map((c) => [c.clientId, c]));
  const upstreamOrigin = new URL(config.upstream.authorizationEndpoint).origin;
  const cookieName = browserCookieName(config.publicBaseUrl);
  const secureCookie = config.publicBaseUrl.startsWith("https:");

  const page = (p: Page, extra: { cookies?: string[] } = {}) => pageResponse(p, upstreamOrigin, extra);

  // ---- client authentication (RFC 6749 §2.3.1, §3.2.1) ----

  function invalidClient(viaHeader: boolean, description: string): OAuthError {
    return viaHeader
      ? new OAuthError("invalid_client", description, 401, { "www-authenticate": 'Basic realm="oauth2", charset="UTF-8"' })
      : new OAuthError("invalid_client", description, 400);
  }

  function authenticateClient(request: HttpRequest, params: ReadonlyMap<string, string>): AuthenticatedClient | OAuthError {
    const basic = parseBasicAuthorization(request.headers.authorization);
    const bodyId = params.get("client_id");
    const bodySecret = params.get("client_secret");
    if (basic === "malformed") return invalidClient(true, "the Authorization header is not usable client_secret_basic credentials");
    if (basic !== undefined) {
      if (bodySecret !== undefined) return new OAuthError("invalid_request", "use one client authentication method, not two");
      if (bodyId !== undefined && bodyId !== basic.clientId) return new OAuthError("invalid_request", "client_id differs from the Authorization header");
      return checkSecret(basic.clientId, basic.clientSecret, "client_secret_basic", true);
    }
    if (bodyId === undefined) return invalidClient(false, "client authentication is required (client_id)");
    if (bodySecret !== undefined) return checkSecret(bodyId, bodySecret, "client_secret_post", false);
    const client = clients.get(bodyId);
    if (!client) return invalidClient(false, "unknown client");
    if (client.type !== "public") return invalidClient(false, "this client must authenticate with its secret");
    return { client, method: "none" };
  }

  function checkSecret(clientId: string, secret: string, method: AuthenticatedClient["method"], viaHeader: boolean): AuthenticatedClient | OAuthError {
    const client = clients.get(clientId);
    if (!client) return invalidClient(viaHeader, "unknown client");
    if (client.type === "public") return invalidClient(viaHeader, "this client is public and has no secret");
    const expected = clientSecrets(clientId);
    if (expected === undefined) {
      logger.error({ event: "client-secret-missing", clientId });
      return invalidClient(viaHeader, "client authentication failed");
    }
    if (!constantTimeEqual(secret, expected)) return invalidClient(viaHeader, "client authentication failed");
    return { client, secret, method };
  }

  function readForm(request: HttpRequest): ReadonlyMap<string, string> | OAuthError {
    if (request.method !== "POST") return new OAuthError("invalid_request", "use POST", 405, { allow: "POST" });
    if (!isFormRequest(request)) return new OAuthError("invalid_request", "the body must be application/x-www-form-urlencoded");
    const parsed = parseParameters(request.body);
    if (!parsed) return new OAuthError("invalid_request", "the form body is malformed");
    if (parsed.repeated.length > 0) return new OAuthError("invalid_request", `parameter(s) given more than once: ${parsed.repeated.map(safeName).join(", ")}`);
    return parsed.params;
  }

  function requestedScopes(client: ClientRegistration, scope: string | undefined): string[] | OAuthError {
    if (scope === undefined) return [...client.scopes];
    const wanted = [...new Set(scope.split(" ").filter((s) => s !== ""))];
    if (wanted.length === 0) return [...client.scopes];
    const refused = wanted.filter((s) => !client.scopes.includes(s));
    if (refused.length > 0) return new OAuthError("invalid_scope", "a requested scope is not allowed for this client");
    return wanted;
  }

  // ---- POST /oauth2/device_authorization (RFC 8628 §3.1, §3.2) ----

  async function deviceAuthorization(request: HttpRequest): Promise<HttpResponse> {
    const params = readForm(request);
    if (params instanceof OAuthError) return params.response();
    const auth = authenticateClient(request, params);
    if (auth instanceof OAuthError) return auth.response();
    const scopes = requestedScopes(auth.client, params.get("scope"));
    if (scopes instanceof OAuthError) return scopes.response();

    const nowSeconds = Math.floor(clock.now() / 1000);
    for (let attempt = 1; attempt <= USER_CODE_ATTEMPTS; attempt++) {
      const deviceCode = generateCode(settings.deviceCodeFormat, settings.deviceCodeLength, random);
      const userCode = normalizeUserCode(generateCode(settings.userCodeFormat, settings.userCodeLength, random));
      const record: DeviceRequest = {
        deviceCodeHash: hashDeviceCode(deviceCode),
        userCode,
        clientId: auth.client.clientId,
        scopes,
        status: "pending",
        createdAt: nowSeconds,
        expiresAt: nowSeconds + settings.codeExpirySeconds,
        interval: settings.pollingIntervalSeconds,
        deviceIp: request.sourceIp,
        deviceUserAgent: request.userAgent.slice(0, 256),
        failedAttempts: 0,
        version: 1,
      };
      const outcome = await store.create(record, nowSeconds);
      if (outcome !== "ok") continue;
      const displayed = formatUserCode(userCode, settings.userCodeMask);
      logger.info({ event: "device-authorization", clientId: auth.client.clientId, method: auth.method, attempt });
      return jsonResponse(200, {
        device_code: deviceCode,
        user_code: displayed,
        verification_uri: `${config.publicBaseUrl}${ROUTES.device}`,
        verification_uri_complete: `${config.publicBaseUrl}${ROUTES.device}?user_code=${encodeURIComponent(displayed)}`,
        expires_in: settings.codeExpirySeconds,
        interval: settings.pollingIntervalSeconds,
      });
    }
    logger.error({ event: "device-authorization", clientId: auth.client.clientId, outcome: "user-code-collisions" });
    return new OAuthError("temporarily_unavailable", "could not allocate a user code; try again", 503).response();
  }

  // ---- POST /oauth2/token ----

  async function token(request: HttpRequest): Promise<HttpResponse> {
    const params = readForm(request);
    if (params instanceof OAuthError) return params.response();
    const auth = authenticateClient(request, params);
    if (auth instanceof OAuthError) {
      logger.warn({ event: "token", outcome: auth.error });
      return auth.response();
    }
    const grantType = params.get("grant_type");
    let result: HttpResponse | OAuthError;
    if (grantType === undefined) result = new OAuthError("invalid_request", "grant_type is required");
    else if (grantType === DEVICE_CODE_GRANT) result = await deviceCodeGrant(auth, params, request.headers.authorization !== undefined);
    else if (grantType === "refresh_token" && settings.resultTokenSet.includes("REFRESH")) result = await refreshGrant(auth, params, request.headers.authorization !== undefined);
    else result = new OAuthError("unsupported_grant_type", "this server offers the device_code grant" + (settings.resultTokenSet.includes("REFRESH") ? " and refresh_token" : ""));
    if (result instanceof OAuthError) {
      logger.info({ event: "token", grantType: safeName(grantType ?? ""), clientId: auth.client.clientId, outcome: result.error });
      return result.response();
    }
    return result;
  }

  async function deviceCodeGrant(auth: AuthenticatedClient, params: ReadonlyMap<string, string>, viaHeader: boolean): Promise<HttpResponse | OAuthError> {
    const deviceCode = params.get("device_code");
    if (deviceCode === undefined) return new OAuthError("invalid_request", "device_code is required");
    const hash = hashDeviceCode(deviceCode);
    let current = await store.getByDeviceCodeHash(hash);
    for (let attempt = 1; attempt <= WRITE_ATTEMPTS; attempt++) {
      // Unknown and another client's codes look the same to the caller: a code is bound to its client.
      if (!current || current.clientId !== auth.client.clientId) return new OAuthError("invalid_grant", "unknown device_code");
      if (current.status === "redeemed") return new OAuthError("invalid_grant", "this device_code was already used");
      const nowMs = clock.now();
      if (nowMs >= current.expiresAt * 1000) return new OAuthError("expired_token", "the device_code has expired; start again");
      if (current.status === "denied") return new OAuthError("access_denied", "the user denied the request");

      if (current.status === "approved") {
        const outcome = await store.update(hash, { version: current.version, status: "approved" }, { status: "redeemed" });
        if (outcome === "ok") return redeem(auth, current, viaHeader);
      } else {
        // pending or approving: poll-rate bookkeeping, then authorization_pending or slow_down.
        const tooSoon = current.lastPollAt !== undefined && nowMs < current.lastPollAt + current.interval * 1000 - pollTolerance(current.interval);
        const changes = tooSoon ? { lastPollAt: nowMs, interval: current.interval + SLOW_DOWN_STEP_SECONDS } : { lastPollAt: nowMs };
        const outcome = await store.update(hash, { version: current.version, status: current.status }, changes);
        if (outcome === "ok") {
          return tooSoon
            ? new OAuthError("slow_down", `poll at most every ${current.interval + SLOW_DOWN_STEP_SECONDS} seconds`)
            : new OAuthError("authorization_pending", "the user has not answered yet");
        }
      }
      current = await store.getByDeviceCodeHash(hash);
    }
    // Lost every race: another poll is writing at the same moment, which is polling too fast.
    return new OAuthError("slow_down", "concurrent polls for one device_code");
  }

  async function redeem(auth: AuthenticatedClient, record: DeviceRequest, viaHeader: boolean): Promise<HttpResponse | OAuthError> {
    if (record.authorizationCode === undefined || record.pkceVerifier === undefined) {
      logger.error({ event: "redeem", clientId: record.clientId, outcome: "approved-without-code" });
      return new OAuthError("invalid_grant", "the approval is incomplete; start again");
    }
    const result = await upstream.exchangeCode({
      clientId: auth.client.clientId,
      ...(auth.secret !== undefined && { clientSecret: auth.secret }),
      code: record.authorizationCode,
      redirectUri: config.upstream.redirectUri,
      codeVerifier: record.pkceVerifier,
    });
    if (!result.ok && result.status >= 500) {
      // The IdP was not reached or failed: give the approval back so the next poll retries.
      const back = await store.update(record.deviceCodeHash, { version: record.version + 1, status: "redeemed" }, { status: "approved" });
      logger.warn({ event: "redeem", clientId: record.clientId, outcome: "upstream-unavailable", restored: back === "ok" });
      return new OAuthError("authorization_pending", "the identity provider is unavailable; keep polling");
    }
    logger.info({ event: "redeem", clientId: record.clientId, outcome: result.ok ? "tokens" : result.error });
    return tokenResponse(result, viaHeader);
  }

  async function refreshGrant(auth: AuthenticatedClient, params: ReadonlyMap<string, string>, viaHeader: boolean): Promise<HttpResponse | OAuthError> {
    const refreshToken = params.get("refresh_token");
    if (refreshToken === undefined) return new OAuthError("invalid_request", "refresh_token is required");
    const scope = params.get("scope");
    const scopes = scope === undefined ? undefined : requestedScopes(auth.client, scope);
    if (scopes instanceof OAuthError) return scopes;
    const result = await upstream.refresh({
      clientId: auth.client.clientId,
      ...(auth.secret !== undefined && { clientSecret: auth.secret }),
      refreshToken,
      ...(scopes && { scopes }),
    });
    if (!result.ok && result.status >= 500) return new OAuthError("temporarily_unavailable", "the identity provider is unavailable; try again", 503);
    logger.info({ event: "refresh", clientId: auth.client.clientId, outcome: result.ok ? "tokens" : result.error });
    return tokenResponse(result, viaHeader);
  }

  /** The IdP's answer, filtered by the configured token set; its OAuth errors are passed on. */
  function tokenResponse(result: UpstreamResult, viaHeader: boolean): HttpResponse | OAuthError {
    if (!result.ok) {
      if (result.error === "invalid_client") return invalidClient(viaHeader, "the identity provider refused the client's credentials");
      return new OAuthError(result.error, result.description ?? "refused by the identity provider");
    }
    const t = result.tokens;
    const set = settings.resultTokenSet;
    return jsonResponse(200, {
      access_token: t.access_token,
      token_type: t.token_type,
      ...(t.expires_in !== undefined && { expires_in: t.expires_in }),
      ...(set.includes("ID") && t.id_token !== undefined && { id_token: t.id_token }),
      ...(set.includes("REFRESH") && t.refresh_token !== undefined && { refresh_token: t.refresh_token }),
      ...(t.scope !== undefined && { scope: t.scope }),
    });
  }

  // ---- GET /.well-known/oauth-authorization-server (RFC 8414) ----

  function metadata(): HttpResponse {
    const methods = new Set<string>();
    for (const c of config.clients) {
      if (c.type === "public") methods.add("none");
      else {
        methods.add("client_secret_basic");
        methods.add("client_secret_post");
      }
    }
    const base = config.publicBaseUrl;
    // No authorization endpoint is offered, so `response_types_supported` is left out: RFC 8414 §3.2
    // says empty claims are omitted (erratum 7793 makes it required only with an authorization endpoint).
    return jsonResponse(
      200,
      {
        issuer: base,
        token_endpoint: `${base}${ROUTES.token}`,
        device_authorization_endpoint: `${base}${ROUTES.deviceAuthorization}`,
        grant_types_supported: [DEVICE_CODE_GRANT, ...(settings.resultTokenSet.includes("REFRESH") ? ["refresh_token"] : [])],
        token_endpoint_auth_methods_supported: [...methods],
        scopes_supported: config.scopes,
      },
      { noStore: false, headers: { "cache-control": "public, max-age=300" } },
    );
  }

  // ---- the verification pages: GET/POST /device, GET /callback ----

  /** The browser's cookie, and a `Set-Cookie` when it had none (or an unusable one). */
  function browserCookie(request: HttpRequest): { value: string; setCookie?: string } {
    const existing = request.cookies[cookieName];
    if (existing !== undefined && BROWSER_COOKIE_VALUE.test(existing)) return { value: existing };
    const value = random.bytes(32).toString("base64url");
    const attributes = ["Path=/", "HttpOnly", "SameSite=Lax", `Max-Age=${Math.max(3_600, settings.codeExpirySeconds * 2)}`, ...(secureCookie ? ["Secure"] : [])];
    return { value, setCookie: `${cookieName}=${value}; ${attributes.join("; ")}` };
  }

  function rateWindow(nowSeconds: number): { start: number; expiresAt: number; minutesLeft: number } {
    const w = settings.attemptWindowSeconds;
    const start = Math.floor(nowSeconds / w) * w;
    return { start, expiresAt: start + 2 * w, minutesLeft: Math.max(1, Math.ceil((start + w - nowSeconds) / 60)) };
  }

  const ipKey = (ip: string) => `ip#${ip}`;
  const codeKey = (userCode: string) => `code#${createHash("sha256").update(userCode, "utf8").digest("hex")}`;

  async function isRateLimited(ip: string, userCode: string | undefined, windowStart: number): Promise<boolean> {
    const [ipCount, codeCount] = await Promise.all([
      store.failureCount(ipKey(ip), windowStart),
      userCode === undefined ? Promise.resolve(0) : store.failureCount(codeKey(userCode), windowStart),
    ]);
    return ipCount >= settings.maxFailedEntriesPerIp || codeCount >= settings.maxFailedAttemptsPerCode;
  }

  async function countFailure(keys: string[], window: { start: number; expiresAt: number }): Promise<void> {
    await Promise.all(keys.map((key) => store.countFailure(key, window.start, window.expiresAt)));
  }

  function statusPage(record: DeviceRequest, nowMs: number): Page | undefined {
    if (nowMs >= record.expiresAt * 1000) return PAGES.expired();
    if (record.status === "denied") return PAGES.denied();
    if (record.status === "approved" || record.status === "redeemed") return PAGES.alreadyUsed();
    return undefined;
  }

  function getDevice(request: HttpRequest): HttpResponse {
    const cookie = browserCookie(request);
    const query = parseParameters(request.rawQuery);
    // A malformed or repeated `user_code` pre-fills nothing; the form works all the same.
    const raw = query && !query.repeated.includes("user_code") ? (query.params.get("user_code") ?? "") : "";
    const prefill = raw.length <= 64 ? raw : "";
    return page(entryPage({ csrf: csrfToken(cookie.value, "enter"), prefill }), { cookies: cookie.setCookie ? [cookie.setCookie] : [] });
  }

  async function postDevice(request: HttpRequest): Promise<HttpResponse> {
    const cookie = browserCookie(request);
    const cookies = cookie.setCookie ? [cookie.setCookie] : [];
    const respond = (p: Page) => page(p, { cookies });
    if (!isFormRequest(request)) return respond(PAGES.badRequest());
    const parsed = parseParameters(request.body);
    if (!parsed || parsed.repeated.length > 0) return respond(PAGES.badRequest());
    const params = parsed.params;
    // A browser without our cookie cannot have received the form from us.
    if (cookie.setCookie) return respond(PAGES.badCsrf());
    const action = params.get("action") ?? "enter";
    const presented = params.get("csrf") ?? "";
    const nowMs = clock.now();
    const window = rateWindow(Math.floor(nowMs / 1000));
    const ip = request.sourceIp;

    if (action === "enter") {
      if (!constantTimeEqual(presented, csrfToken(cookie.value, "enter"))) return respond(PAGES.badCsrf());
      const typed = params.get("user_code") ?? "";
      const userCode = normalizeUserCode(typed);
      if (userCode === "") return respond(PAGES.emptyCode(csrfToken(cookie.value, "enter")));
      if (await isRateLimited(ip, userCode, window.start)) {
        logger.warn({ event: "code-entry", outcome: "rate-limited" });
        return respond(PAGES.rateLimited(window.minutesLeft));
      }
      const record = userCode.length <= 64 ? await store.getByUserCode(userCode) : undefined;
      if (!record) {
        await countFailure([ipKey(ip), codeKey(userCode)], window);
        logger.info({ event: "code-entry", outcome: "unknown-code" });
        return respond(PAGES.unknownCode(csrfToken(cookie.value, "enter"), typed.slice(0, 64)));
      }
      const outcomePage = statusPage(record, nowMs);
      if (outcomePage) return respond(outcomePage);
      return respond(confirmation(record, cookie.value, nowMs));
    }

    if (action !== "approve" && action !== "deny") return respond(PAGES.badRequest());
    const userCode = normalizeUserCode(params.get("user_code") ?? "");
    if (userCode === "" || userCode.length > 64) return respond(PAGES.badRequest());
    if (await isRateLimited(ip, userCode, window.start)) return respond(PAGES.rateLimited(window.minutesLeft));
    let record = await store.getByUserCode(userCode);
    if (!record) {
      await countFailure([ipKey(ip), codeKey(userCode)], window);
      return respond(PAGES.unknownCode(csrfToken(cookie.value, "enter"), ""));
    }
    if (!constantTimeEqual(presented, csrfToken(cookie.value, `decide:${record.deviceCodeHash}`))) {
      await countFailure([codeKey(userCode)], window);
      logger.warn({ event: "decision", outcome: "bad-csrf", clientId: record.clientId });
      return respond(PAGES.badCsrf());
    }
    for (let attempt = 1; attempt <= WRITE_ATTEMPTS && record; attempt++) {
      const outcomePage = statusPage(record, clock.now());
      if (outcomePage) return respond(outcomePage);
      if (action === "deny") {
        if (record.status !== "pending") return respond(PAGES.alreadyUsed());
        const outcome = await store.update(record.deviceCodeHash, { version: record.version, status: "pending" }, { status: "denied" });
        if (outcome === "ok") {
          logger.info({ event: "decision", outcome: "denied", clientId: record.clientId });
          return respond(PAGES.deniedNow());
        }
      } else {
        const state = random.bytes(32).toString("base64url");
        const verifier = random.bytes(32).toString("base64url");
        const outcome = await store.update(
          record.deviceCodeHash,
          { version: record.version, status: record.status },
          { status: "approving", stateHash: stateHashFor(state, cookie.value), pkceVerifier: verifier },
        );
        if (outcome === "ok") {
          logger.info({ event: "decision", outcome: "approving", clientId: record.clientId });
          const location = upstream.authorizationUrl({
            clientId: record.clientId,
            redirectUri: config.upstream.redirectUri,
            state,
            codeChallenge: createHash("sha256").update(verifier, "ascii").digest("base64url"),
            scopes: record.scopes,
          });
          return { status: 303, headers: { ...pageHeaders(upstreamOrigin), location }, body: "" };
        }
      }
      // Lost to a concurrent write (a poll, or another decision): look again.
      record = await store.getByDeviceCodeHash(record.deviceCodeHash);
    }
    return respond(record ? PAGES.alreadyUsed() : PAGES.unavailable());
  }

  function confirmation(record: DeviceRequest, cookie: string, nowMs: number): Page {
    const client = clients.get(record.clientId);
    return confirmationPage({
      csrf: csrfToken(cookie, `decide:${record.deviceCodeHash}`),
      userCode: record.userCode,
      displayCode: safeFormat(record.userCode),
      clientName: client?.name ?? record.clientId,
      scopes: record.scopes,
      deviceIp: record.deviceIp,
      deviceUserAgent: record.deviceUserAgent,
      minutesLeft: Math.max(1, Math.ceil((record.expiresAt * 1000 - nowMs) / 60_000)),
    });
  }

  function safeFormat(userCode: string): string {
    try {
      return formatUserCode(userCode, settings.userCodeMask);
    } catch {
      return userCode; // a record created under another mask setting
    }
  }

  async function callback(request: HttpRequest): Promise<HttpResponse> {
    const respond = (p: Page) => page(p);
    const query = parseParameters(request.rawQuery);
    if (!query || query.repeated.length > 0) return respond(PAGES.invalidCallback());
    const state = query.params.get("state");
    const cookie = request.cookies[cookieName];
    if (state === undefined || cookie === undefined || !BROWSER_COOKIE_VALUE.test(cookie)) return respond(PAGES.invalidCallback());
    let record = await store.getByStateHash(stateHashFor(state, cookie));
    const code = query.params.get("code");
    const idpError = query.params.get("error");
    for (let attempt = 1; attempt <= WRITE_ATTEMPTS && record; attempt++) {
      if (clock.now() >= record.expiresAt * 1000) return respond(PAGES.expired());
      if (record.status !== "approving" || record.stateHash !== stateHashFor(state, cookie)) return respond(PAGES.alreadyUsed());
      const expected = { version: record.version, status: "approving" as const };
      if (idpError !== undefined || code === undefined) {
        const denied = idpError === "access_denied";
        const outcome = await store.update(record.deviceCodeHash, expected, { status: denied ? "denied" : "pending" });
        if (outcome === "ok") {
          logger.warn({ event: "callback", outcome: denied ? "idp-denied" : "idp-error", clientId: record.clientId });
          return respond(denied ? PAGES.idpDenied() : PAGES.idpError(safeName(idpError ?? "no code returned")));
        }
      } else {
        const outcome = await store.update(record.deviceCodeHash, expected, { status: "approved", authorizationCode: code });
        if (outcome === "ok") {
          logger.info({ event: "callback", outcome: "approved", clientId: record.clientId });
          return respond(PAGES.approved());
        }
      }
      record = await store.getByDeviceCodeHash(record.deviceCodeHash);
    }
    return respond(record ? PAGES.alreadyUsed() : PAGES.invalidCallback());
  }

  // ---- routing ----

  async function route(request: HttpRequest): Promise<HttpResponse> {
    switch (request.path) {
      case ROUTES.deviceAuthorization:
        return deviceAuthorization(request);
      case ROUTES.token:
        return token(request);
      case ROUTES.metadata:
        return request.method === "GET" ? metadata() : new OAuthError("invalid_request", "use GET", 405, { allow: "GET" }).response();
      case ROUTES.device:
        if (request.method === "GET") return getDevice(request);
        if (request.method === "POST") return postDevice(request);
        return page(PAGES.methodNotAllowed());
      case ROUTES.callback:
        return request.method === "GET" ? callback(request) : page(PAGES.methodNotAllowed());
      default:
        return page(PAGES.notFound());
    }
  }

  return {
    async handle(request) {
      try {
        return await route(request);
      } catch (err) {
        logger.error({ event: "unexpected-failure", path: safeName(request.path), error: (err as Error)?.name ?? typeof err });
        return request.path.startsWith("/oauth2/")
          ? new OAuthError("server_error", "the request could not be completed; try again", 500).response()
          : page(PAGES.unavailable());
      }
    },
  };
}

/** Attacker-supplied names in logs and error descriptions: printable ASCII only, short. */
function safeName(value: string): string {
  const cleaned = value.replace(/[^\x20-\x7e]/g, "?").replace(/["\\]/g, "?");
  return cleaned.length > 64 ? `${cleaned.slice(0, 64)}…` : cleaned;
}
