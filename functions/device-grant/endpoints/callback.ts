/**
 * `GET /callback`: where the IdP sends the browser back after Approve. The `state` is `<user code>-<secret>`;
 * the request is the one under that user code, and it moves only if it is approving with the stored hash
 * of this secret and this browser's cookie: only the browser that pressed Approve can finish it, once (one
 * conditional write). A code makes it approved; the IdP's `access_denied` ends it as denied; any other IdP
 * error puts it back to pending, releasing the approval lock, so the user can retry with the same code
 * until it expires. A completed sign-in gives back what its address was charged (`rate-limit.ts`). A refused
 * callback learns why only if its state is the request's own.
 */
import { isBrowserCookieValue, stateHashFor } from "../browser-binding";
import { constantTimeEqual, splitCredential } from "../codes";
import { type GrantContext, renderPage } from "../context";
import { safeName } from "../errors";
import { type HttpRequest, type HttpResponse, parseParameters } from "../http";
import { type DeviceRequest } from "../model";
import { type Page, PAGES } from "../pages";
import { refundSignIn } from "../rate-limit";

/** An authorization code as the service stores it: printable ASCII, not a whole page of it. */
const AUTHORIZATION_CODE = /^[\x21-\x7e]{1,1024}$/;

export async function callback(context: GrantContext, request: HttpRequest): Promise<HttpResponse> {
  const { store, clock, logger } = context;
  const respond = (p: Page) => renderPage(context, p);
  const query = parseParameters(request.rawQuery);
  if (!query || query.repeated.length > 0) return respond(PAGES.invalidCallback());
  const state = query.params.get("state");
  const cookie = request.cookies[context.cookieName];
  const parts = state === undefined ? undefined : splitCredential(state);
  if (!parts || !isBrowserCookieValue(cookie)) return respond(PAGES.invalidCallback());
  const stateHash = stateHashFor(parts.secret, cookie);
  const code = query.params.get("code");
  const idpError = query.params.get("error");
  const nowMs = clock.now();

  if (idpError !== undefined || code === undefined) {
    const denied = idpError === "access_denied";
    const outcome = await store.failApproval(parts.userCode, stateHash, denied ? "denied" : "pending");
    if (!outcome.written) return respond(refused(outcome.current, stateHash, nowMs));
    logger.warn({ event: "callback", outcome: denied ? "idp-denied" : "idp-error", clientId: outcome.request.clientId });
    return respond(denied ? PAGES.idpDenied() : PAGES.idpError(safeName(idpError ?? "no code returned")));
  }
  if (!AUTHORIZATION_CODE.test(code)) return respond(PAGES.invalidCallback());
  const outcome = await store.completeApproval(parts.userCode, stateHash, code, Math.floor(nowMs / 1000));
  if (!outcome.written) return respond(refused(outcome.current, stateHash, nowMs));
  // A completed sign-in gives its address the units its code entry and Approve were charged.
  await refundSignIn(context, outcome.request.approvalCharge);
  logger.info({ event: "callback", outcome: "approved", clientId: outcome.request.clientId });
  return respond(PAGES.approved());
}

/** Why a callback was refused, told only to the browser whose state it is. */
function refused(current: DeviceRequest | undefined, stateHash: string, nowMs: number): Page {
  if (!current?.stateHash || !constantTimeEqual(current.stateHash, stateHash)) return PAGES.invalidCallback();
  if (nowMs >= current.expiresAt * 1000) return PAGES.expired();
  return PAGES.alreadyUsed();
}
