/**
 * `POST /device`: the forms of the verification page. `enter` looks the typed code up and shows the
 * confirmation screen (`verification-entry.ts`); `approve`, `deny` and `cancel` decide on the request the
 * confirmation showed (`verification-decision.ts`).
 *
 * Every form carries the CSRF token of this browser's cookie; a browser without the cookie cannot have
 * received a form from us. A form whose token does not match is refused before anything is charged or
 * looked up, so forged forms cost neither a code nor its victim's address anything (`rate-limit.ts`).
 */
import { browserCookie } from "../browser-binding";
import { type GrantContext, renderPage } from "../context";
import { type HttpRequest, type HttpResponse, isFormRequest, parseParameters } from "../http";
import { type Page, PAGES } from "../pages";
import { rateWindow, type RateWindow } from "../rate-limit";
import { decide } from "./verification-decision";
import { enterCode } from "./verification-entry";

/** One submitted form, checked as far as every action needs. */
export interface Submission {
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

const DECISIONS = ["approve", "deny", "cancel"] as const;

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
  const decision = DECISIONS.find((d) => d === action);
  return decision ? decide(context, submission, decision) : respond(PAGES.badRequest());
}
