/**
 * Approve, Deny and Cancel on the confirmation screen (`POST /device`), for the request the confirmation
 * showed (its user code and creation time, both bound into the form's CSRF token). The token is checked
 * first, with no store access; then the address is charged (`rate-limit.ts`: refunded if the sign-in
 * completes, and the Approve records where, for that refund); then the
 * decision is ONE conditional write (`Store.approve`, `deny`, `cancelApproval`), refused when the request
 * moved on, and the page says why.
 *
 * Approve takes the approval lock for this browser (`approvalLockSeconds`, RFC 8628 §5.5): until it runs out,
 * is cancelled here, or the IdP sends this browser back with an error, no other browser can approve or deny
 * the code, and one that tries gets a page saying someone is already approving it. The browser holding the
 * lock may approve again (after abandoning the IdP's login): that replaces the state and verifier. Then the
 * browser goes to the IdP's login with PKCE S256 and a `state` of `<user code>-<secret>`, whose secret is
 * stored only as a hash bound to this browser's cookie.
 */
import { createHash } from "node:crypto";
import { approverId, csrfTokenMatches, decisionPurpose, stateHashFor } from "../browser-binding";
import { joinCredential, MAX_USER_CODE_LENGTH, normalizeUserCode } from "../codes";
import { type GrantContext } from "../context";
import { type HttpResponse } from "../http";
import { type DeviceRequest, type Transition } from "../model";
import { type Page, PAGES, pageHeaders } from "../pages";
import { type Charge, chargeAddress } from "../rate-limit";
import { decidedPage, minutesUntil } from "./verification-entry";
import { type Submission } from "./verification-submit";

type Decision = "approve" | "deny" | "cancel";

export async function decide(context: GrantContext, s: Submission, action: Decision): Promise<HttpResponse> {
  const { store, logger } = context;
  const { respond } = s;
  const userCode = normalizeUserCode((s.params.get("user_code") ?? "").slice(0, MAX_USER_CODE_LENGTH + 1));
  const issued = Number(s.params.get("issued"));
  if (userCode === "" || userCode.length > MAX_USER_CODE_LENGTH || !Number.isSafeInteger(issued)) return respond(PAGES.badRequest());
  if (!csrfTokenMatches(s.presented, s.cookie, decisionPurpose(userCode, issued))) {
    logger.warn({ event: "decision", outcome: "bad-csrf" });
    return respond(PAGES.badCsrf());
  }
  const charge = await chargeAddress(context, s.ip, s.window);
  if (charge === undefined) {
    logger.warn({ event: "decision", outcome: "rate-limited" });
    return respond(PAGES.rateLimited(s.window.minutesLeft));
  }
  const approver = approverId(s.cookie);
  const now = { ms: s.nowMs, seconds: Math.floor(s.nowMs / 1000) };
  if (action === "approve") return approve(context, s, { userCode, issued, charge });
  const decision = { createdAt: issued, approver };
  const outcome: Transition =
    action === "deny" ? await store.deny(userCode, decision, now) : await store.cancelApproval(userCode, decision);
  if (!outcome.written) return respond(refusal(context, outcome.current, { issued, approver, nowMs: s.nowMs, action }));
  logger.info({ event: "decision", outcome: action === "deny" ? "denied" : "cancelled", clientId: outcome.request.clientId });
  return respond(action === "deny" ? PAGES.deniedNow() : PAGES.approvalCancelled());
}

/**
 * pending (or approving under this browser's lock, or a lock run out) → approving, with the lock, a new
 * `state` and PKCE verifier; then the redirect to the IdP's login.
 */
async function approve(
  context: GrantContext,
  s: Submission,
  decision: { userCode: string; issued: number; charge: Charge },
): Promise<HttpResponse> {
  const { userCode, issued } = decision;
  const { config, store, upstream, random, logger } = context;
  const stateSecret = random.bytes(32).toString("base64url");
  const verifier = random.bytes(32).toString("base64url");
  const approver = approverId(s.cookie);
  const outcome = await store.approve(
    userCode,
    {
      createdAt: issued,
      approver,
      approvalUntil: s.nowMs + config.settings.approvalLockSeconds * 1000,
      stateHash: stateHashFor(stateSecret, s.cookie),
      pkceVerifier: verifier,
      maxApprovals: config.settings.maxFailedAttemptsPerCode,
      charge: decision.charge,
    },
    { ms: s.nowMs, seconds: Math.floor(s.nowMs / 1000) },
  );
  if (!outcome.written) return s.respond(refusal(context, outcome.current, { issued, approver, nowMs: s.nowMs, action: "approve" }));
  const record = outcome.request;
  logger.info({ event: "decision", outcome: "approving", clientId: record.clientId, approvals: record.approvals });
  const location = upstream.authorizationUrl({
    clientId: record.clientId,
    redirectUri: config.upstream.redirectUri,
    state: joinCredential(record.userCode, stateSecret),
    codeChallenge: createHash("sha256").update(verifier, "ascii").digest("base64url"),
    scopes: record.scopes,
  });
  return { status: 303, headers: { ...pageHeaders(context.upstreamOrigin), location }, body: "" };
}

/** Why a decision was refused, from the request as it stood. */
function refusal(
  context: GrantContext,
  current: DeviceRequest | undefined,
  attempt: { issued: number; approver: string; nowMs: number; action: Decision },
): Page {
  if (!current) return PAGES.invalidDecision();
  // The code now names a later request than the one this browser was shown.
  if (current.createdAt !== attempt.issued || attempt.nowMs >= current.expiresAt * 1000) return PAGES.expired();
  const decided = decidedPage(current);
  if (decided) return decided;
  const lockedByOther =
    current.status === "approving" && current.approver !== attempt.approver && (current.approvalUntil ?? 0) > attempt.nowMs;
  if (lockedByOther) return PAGES.approvalInProgress(minutesUntil(current.approvalUntil ?? 0, attempt.nowMs));
  if (attempt.action === "cancel") return PAGES.approvalCancelled(); // nothing of this browser's is under way: already cancelled
  if (attempt.action === "approve" && current.approvals >= context.config.settings.maxFailedAttemptsPerCode)
    return PAGES.tooManyApprovals();
  return PAGES.unavailable();
}
