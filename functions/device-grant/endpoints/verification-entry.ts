/**
 * The code entry form (`POST /device`, `action=enter`): the confirmation screen for a live request, or the
 * page that says why there is none. The address is charged before the look-up (one atomic `ADD`, refused
 * unlooked-at over the limit; given back if the sign-in completes, `rate-limit.ts`); then one `GetItem` by
 * the code. A request another browser is approving (its lock still held) gets the page that
 * says so instead of a confirmation (RFC 8628 §5.5).
 */
import { approverId, CODE_ENTRY_PURPOSE, csrfToken, csrfTokenMatches, decisionPurpose } from "../browser-binding";
import { formatUserCode, normalizeUserCode } from "../codes";
import { type GrantContext } from "../context";
import { type HttpResponse } from "../http";
import { type DeviceRequest } from "../model";
import { confirmationPage, type Page, PAGES } from "../pages";
import { chargeAddress } from "../rate-limit";
import { type Submission } from "./verification-submit";

/** Longer input than this is no code (and is not normalised at all). */
const MAX_TYPED_LENGTH = 256;

export async function enterCode(context: GrantContext, s: Submission): Promise<HttpResponse> {
  const { store, logger } = context;
  const { respond } = s;
  if (!csrfTokenMatches(s.presented, s.cookie, CODE_ENTRY_PURPOSE)) return respond(PAGES.badCsrf());
  const typed = s.params.get("user_code") ?? "";
  const userCode = typed.length <= MAX_TYPED_LENGTH ? normalizeUserCode(typed) : typed;
  if (userCode === "") return respond(PAGES.emptyCode(csrfToken(s.cookie, CODE_ENTRY_PURPOSE)));
  if ((await chargeAddress(context, s.ip, s.window)) === undefined) {
    logger.warn({ event: "code-entry", outcome: "rate-limited" });
    return respond(PAGES.rateLimited(s.window.minutesLeft));
  }
  const record = typed.length <= MAX_TYPED_LENGTH ? await store.getByUserCode(userCode) : undefined;
  if (!record) {
    logger.info({ event: "code-entry", outcome: "unknown-code" });
    return respond(PAGES.unknownCode(csrfToken(s.cookie, CODE_ENTRY_PURPOSE), typed.slice(0, 64)));
  }
  if (s.nowMs >= record.expiresAt * 1000) return respond(PAGES.expired());
  return respond(entryOutcome(context, record, s));
}

/** What a browser sees for a live request it looked up. */
function entryOutcome(context: GrantContext, record: DeviceRequest, s: Submission): Page {
  const done = decidedPage(record);
  if (done) return done;
  const mine = record.approver === approverId(s.cookie);
  if (record.status === "approving" && !mine && (record.approvalUntil ?? 0) > s.nowMs)
    return PAGES.approvalInProgress(minutesUntil(record.approvalUntil ?? 0, s.nowMs));
  if (record.approvals >= context.config.settings.maxFailedAttemptsPerCode) return PAGES.tooManyApprovals();
  return confirmation(context, record, s.cookie, s.nowMs, record.status === "approving" && mine);
}

/** The page for a request that has been decided (denied, approved, redeemed), or `undefined` while it can be. */
export function decidedPage(record: DeviceRequest): Page | undefined {
  if (record.status === "denied") return PAGES.denied();
  if (record.status === "approved" || record.status === "redeemed") return PAGES.alreadyUsed();
  return undefined;
}

export function minutesUntil(epochMs: number, nowMs: number): number {
  return Math.max(1, Math.ceil((epochMs - nowMs) / 60_000));
}

function confirmation(context: GrantContext, record: DeviceRequest, cookie: string, nowMs: number, approvingHere: boolean): Page {
  const client = context.clients.get(record.clientId);
  return confirmationPage({
    csrf: csrfToken(cookie, decisionPurpose(record.userCode, record.createdAt)),
    userCode: record.userCode,
    issued: record.createdAt,
    displayCode: safeFormat(context, record.userCode),
    clientName: client?.name ?? record.clientId,
    scopes: record.scopes,
    deviceIp: record.deviceIp,
    deviceSoftware: record.deviceSoftware,
    minutesLeft: minutesUntil(record.expiresAt * 1000, nowMs),
    approvingHere,
  });
}

function safeFormat(context: GrantContext, userCode: string): string {
  try {
    return formatUserCode(userCode, context.config.settings.userCodeMask);
  } catch {
    return userCode; // a record created under another mask setting
  }
}
