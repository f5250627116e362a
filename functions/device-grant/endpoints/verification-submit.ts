/**
 * `POST /device`: the forms of the verification page. `enter` looks the typed code up and shows the
 * confirmation screen (who asks, for which scopes, from where); `approve` sends the browser to the IdP's
 * login (authorization code with PKCE, `state` bound to this browser) and `deny` ends the request.
 *
 * Every form carries the CSRF token of this browser's cookie; a browser without the cookie cannot have
 * received a form from us. Failed entries count towards the rate limit (`rate-limit.ts`). Deny is possible
 * only from pending, Approve from pending or approving; a decision that loses a write to a poll re-reads
 * and retries while the status is still the one it expects (the decisions in `service.ts`).
 */
import { createHash } from "node:crypto";
import { browserCookie, CODE_ENTRY_PURPOSE, csrfToken, csrfTokenMatches, decisionPurpose, stateHashFor } from "../browser-binding";
import { formatUserCode, normalizeUserCode } from "../codes";
import { type GrantContext, renderPage, WRITE_ATTEMPTS } from "../context";
import { type HttpRequest, type HttpResponse, isFormRequest, parseParameters } from "../http";
import { type DeviceRequest } from "../model";
import { confirmationPage, type Page, PAGES, pageHeaders } from "../pages";
import { codeKey, countFailure, ipKey, isRateLimited, rateWindow, type RateWindow } from "../rate-limit";

/** One submitted form, checked as far as every action needs. */
interface Submission {
  /** The browser's cookie value (it had one: a form without it is refused before this). */
  cookie: string;
  params: ReadonlyMap<string, string>;
  /** The form's CSRF token as sent. */
  presented: string;
  nowMs: number;
  window: RateWindow;
  ip: string;
  respond: (page: Page) => HttpResponse;
}

export async function verificationSubmit(context: GrantContext, request: HttpRequest): Promise<HttpResponse> {
  const cookie = browserCookie(context, request);
  const cookies = cookie.setCookie ? [cookie.setCookie] : [];
  const respond = (p: Page) => renderPage(context, p, { cookies });
  if (!isFormRequest(request)) return respond(PAGES.badRequest());
  const parsed = parseParameters(request.body);
  if (!parsed || parsed.repeated.length > 0) return respond(PAGES.badRequest());
  const params = parsed.params;
  // A browser without our cookie cannot have received the form from us.
  if (cookie.setCookie) return respond(PAGES.badCsrf());
  const action = params.get("action") ?? "enter";
  const nowMs = context.clock.now();
  const submission: Submission = {
    cookie: cookie.value,
    params,
    presented: params.get("csrf") ?? "",
    nowMs,
    window: rateWindow(context, Math.floor(nowMs / 1000)),
    ip: request.sourceIp,
    respond,
  };
  if (action === "enter") return enterCode(context, submission);
  if (action !== "approve" && action !== "deny") return respond(PAGES.badRequest());
  return decide(context, submission, action);
}

/** The code entry form: the confirmation screen for a live request, or why there is none. */
async function enterCode(context: GrantContext, s: Submission): Promise<HttpResponse> {
  const { store, logger } = context;
  const { respond, window } = s;
  if (!csrfTokenMatches(s.presented, s.cookie, CODE_ENTRY_PURPOSE)) return respond(PAGES.badCsrf());
  const typed = s.params.get("user_code") ?? "";
  const userCode = normalizeUserCode(typed);
  if (userCode === "") return respond(PAGES.emptyCode(csrfToken(s.cookie, CODE_ENTRY_PURPOSE)));
  if (await isRateLimited(context, s.ip, userCode, window.start)) {
    logger.warn({ event: "code-entry", outcome: "rate-limited" });
    return respond(PAGES.rateLimited(window.minutesLeft));
  }
  const record = userCode.length <= 64 ? await store.getByUserCode(userCode) : undefined;
  if (!record) {
    await countFailure(context, [ipKey(s.ip), codeKey(userCode)], window);
    logger.info({ event: "code-entry", outcome: "unknown-code" });
    return respond(PAGES.unknownCode(csrfToken(s.cookie, CODE_ENTRY_PURPOSE), typed.slice(0, 64)));
  }
  const outcomePage = statusPage(record, s.nowMs);
  if (outcomePage) return respond(outcomePage);
  return respond(confirmation(context, record, s.cookie, s.nowMs));
}

/** Approve or Deny on the confirmation screen, for the request its CSRF token was made for. */
async function decide(context: GrantContext, s: Submission, action: "approve" | "deny"): Promise<HttpResponse> {
  const { store, clock, logger } = context;
  const { respond, window } = s;
  const userCode = normalizeUserCode(s.params.get("user_code") ?? "");
  if (userCode === "" || userCode.length > 64) return respond(PAGES.badRequest());
  if (await isRateLimited(context, s.ip, userCode, window.start)) return respond(PAGES.rateLimited(window.minutesLeft));
  let record = await store.getByUserCode(userCode);
  if (!record) {
    await countFailure(context, [ipKey(s.ip), codeKey(userCode)], window);
    return respond(PAGES.unknownCode(csrfToken(s.cookie, CODE_ENTRY_PURPOSE), ""));
  }
  if (!csrfTokenMatches(s.presented, s.cookie, decisionPurpose(record.deviceCodeHash))) {
    await countFailure(context, [codeKey(userCode)], window);
    logger.warn({ event: "decision", outcome: "bad-csrf", clientId: record.clientId });
    return respond(PAGES.badCsrf());
  }
  for (let attempt = 1; attempt <= WRITE_ATTEMPTS && record; attempt++) {
    const outcomePage = statusPage(record, clock.now());
    if (outcomePage) return respond(outcomePage);
    if (action === "deny" && record.status !== "pending") return respond(PAGES.alreadyUsed());
    const answer = action === "deny" ? await deny(context, record, respond) : await approve(context, record, s.cookie);
    if (answer) return answer;
    // Lost to a concurrent write (a poll, or another decision): look again.
    record = await store.getByDeviceCodeHash(record.deviceCodeHash);
  }
  return respond(record ? PAGES.alreadyUsed() : PAGES.unavailable());
}

/** pending → denied; `undefined` when the write lost to a concurrent one. */
async function deny(context: GrantContext, record: DeviceRequest, respond: Submission["respond"]): Promise<HttpResponse | undefined> {
  const outcome = await context.store.update(record.deviceCodeHash, { version: record.version, status: "pending" }, { status: "denied" });
  if (outcome !== "ok") return undefined;
  context.logger.info({ event: "decision", outcome: "denied", clientId: record.clientId });
  return respond(PAGES.deniedNow());
}

/**
 * pending/approving → approving with a new `state` (kept as its hash, bound to this browser's cookie) and
 * PKCE verifier, then the redirect to the IdP's login; `undefined` when the write lost to a concurrent one.
 */
async function approve(context: GrantContext, record: DeviceRequest, cookie: string): Promise<HttpResponse | undefined> {
  const { config, store, upstream, random, logger } = context;
  const state = random.bytes(32).toString("base64url");
  const verifier = random.bytes(32).toString("base64url");
  const outcome = await store.update(
    record.deviceCodeHash,
    { version: record.version, status: record.status },
    { status: "approving", stateHash: stateHashFor(state, cookie), pkceVerifier: verifier },
  );
  if (outcome !== "ok") return undefined;
  logger.info({ event: "decision", outcome: "approving", clientId: record.clientId });
  const location = upstream.authorizationUrl({
    clientId: record.clientId,
    redirectUri: config.upstream.redirectUri,
    state,
    codeChallenge: createHash("sha256").update(verifier, "ascii").digest("base64url"),
    scopes: record.scopes,
  });
  return { status: 303, headers: { ...pageHeaders(context.upstreamOrigin), location }, body: "" };
}

/** The page for a request that can no longer be decided, or `undefined` while it still can. */
function statusPage(record: DeviceRequest, nowMs: number): Page | undefined {
  if (nowMs >= record.expiresAt * 1000) return PAGES.expired();
  if (record.status === "denied") return PAGES.denied();
  if (record.status === "approved" || record.status === "redeemed") return PAGES.alreadyUsed();
  return undefined;
}

function confirmation(context: GrantContext, record: DeviceRequest, cookie: string, nowMs: number): Page {
  const client = context.clients.get(record.clientId);
  return confirmationPage({
    csrf: csrfToken(cookie, decisionPurpose(record.deviceCodeHash)),
    userCode: record.userCode,
    displayCode: safeFormat(context, record.userCode),
    clientName: client?.name ?? record.clientId,
    scopes: record.scopes,
    deviceIp: record.deviceIp,
    deviceUserAgent: record.deviceUserAgent,
    minutesLeft: Math.max(1, Math.ceil((record.expiresAt * 1000 - nowMs) / 60_000)),
  });
}

function safeFormat(context: GrantContext, userCode: string): string {
  try {
    return formatUserCode(userCode, context.config.settings.userCodeMask);
  } catch {
    return userCode; // a record created under another mask setting
  }
}
