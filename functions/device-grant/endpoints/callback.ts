/**
 * `GET /callback`: where the IdP sends the browser back after Approve. The request is found by the hash of
 * `state` and this browser's cookie, so only the browser that pressed Approve can finish it, once (the
 * request leaves approving). A code makes it approved; the IdP's `access_denied` ends it as denied; any
 * other IdP error puts it back to pending, so the user can retry with the same code until it expires.
 */
import { isBrowserCookieValue, stateHashFor } from "../browser-binding";
import { type GrantContext, renderPage, WRITE_ATTEMPTS } from "../context";
import { safeName } from "../errors";
import { type HttpRequest, type HttpResponse, parseParameters } from "../http";
import { type Page, PAGES } from "../pages";

export async function callback(context: GrantContext, request: HttpRequest): Promise<HttpResponse> {
  const { store, clock, logger } = context;
  const respond = (p: Page) => renderPage(context, p);
  const query = parseParameters(request.rawQuery);
  if (!query || query.repeated.length > 0) return respond(PAGES.invalidCallback());
  const state = query.params.get("state");
  const cookie = request.cookies[context.cookieName];
  if (state === undefined || !isBrowserCookieValue(cookie)) return respond(PAGES.invalidCallback());
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
