/**
 * The verification pages a person sees on a phone or laptop: the code form, the confirmation screen, and
 * one page for every outcome and error they can meet. Each page is one self-contained HTML document: no
 * script at all, one inline stylesheet allowed by its hash in a strict Content-Security-Policy, no external
 * assets, every interpolated value escaped. Separate from the protocol (as node-oidc-provider keeps its
 * views), so wording and layout change without touching a state transition.
 */
import { createHash } from "node:crypto";
import { type HttpResponse } from "./http";

/** Escapes text for HTML element content and double- or single-quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => ESCAPES[ch]);
}
const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Readable on a 320 px phone and a desktop; large touch targets; respects dark mode. */
const STYLE = [
  ":root{color-scheme:light dark;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;line-height:1.5}",
  "body{margin:0;padding:1rem;display:flex;justify-content:center}",
  "main{width:100%;max-width:28rem}",
  "h1{font-size:1.5rem;margin:.5rem 0 1rem}",
  "label{display:block;font-weight:600;margin-bottom:.25rem}",
  "input[type=text]{box-sizing:border-box;width:100%;font-size:1.5rem;padding:.5rem;letter-spacing:.1em;text-transform:uppercase;font-family:ui-monospace,monospace}",
  "button{font-size:1.1rem;padding:.75rem 1.25rem;margin:.75rem .5rem 0 0;min-width:8rem;border-radius:.4rem;border:1px solid currentColor;cursor:pointer}",
  "button.primary{background:#0b5fff;color:#fff;border-color:#0b5fff}",
  ".code{font-family:ui-monospace,monospace;font-size:1.75rem;letter-spacing:.1em}",
  ".error{border-left:.3rem solid #c00;padding:.25rem .75rem}",
  "dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}",
].join("");

/** The stylesheet's CSP source (`'sha256-…'`), so no `'unsafe-inline'` is needed. */
export const STYLE_HASH = `'sha256-${createHash("sha256").update(STYLE, "utf8").digest("base64")}'`;

/**
 * The page CSP. `form-action` must name the IdP's origin as well: browsers apply it to the redirect that
 * follows the Approve form. No `script-src`: `default-src 'none'` forbids every script.
 */
export function contentSecurityPolicy(upstreamOrigin: string): string {
  return [
    "default-src 'none'",
    `style-src ${STYLE_HASH}`,
    `form-action 'self' ${upstreamOrigin}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join("; ");
}

/** Headers every page carries (and the redirect to the IdP). */
export function pageHeaders(upstreamOrigin: string): Record<string, string> {
  return {
    "content-type": "text/html; charset=utf-8",
    "content-security-policy": contentSecurityPolicy(upstreamOrigin),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
    pragma: "no-cache",
    "x-frame-options": "DENY",
  };
}

function document(title: string, content: string): string {
  return (
    "<!DOCTYPE html>\n" +
    '<html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    '<meta name="referrer" content="no-referrer">' +
    `<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>` +
    `<body><main><h1>${escapeHtml(title)}</h1>${content}</main></body></html>\n`
  );
}

function paragraph(text: string): string {
  return `<p>${escapeHtml(text)}</p>`;
}

function hidden(name: string, value: string): string {
  return `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`;
}

/** What a page renders into: status, HTML, and the cookies to set. */
export interface Page {
  status: number;
  title: string;
  html: string;
}

/** The code entry form. `prefill` comes from `verification_uri_complete`: shown, never submitted for the user. */
export function entryPage(options: { csrf: string; prefill?: string; error?: string; status?: number }): Page {
  const title = "Connect a device";
  const error = options.error ? `<p class="error" role="alert" id="code-error">${escapeHtml(options.error)}</p>` : "";
  const describedBy = options.error ? ' aria-describedby="code-error code-help"' : ' aria-describedby="code-help"';
  const html = document(
    title,
    error +
      '<form method="post" action="device">' +
      hidden("csrf", options.csrf) +
      hidden("action", "enter") +
      '<label for="user_code">Code shown on your device</label>' +
      `<input type="text" id="user_code" name="user_code" value="${escapeHtml(options.prefill ?? "")}" ` +
      `autocomplete="off" autocapitalize="characters" spellcheck="false" required${describedBy}>` +
      '<p id="code-help">Dashes and spaces are optional; upper or lower case both work.</p>' +
      '<button type="submit" class="primary">Continue</button>' +
      "</form>",
  );
  return { status: options.status ?? 200, title, html };
}

export interface ConfirmationDetails {
  csrf: string;
  /** Normalised user code (sent back with the decision). */
  userCode: string;
  /** The request's creation time (sent back with the decision: it names this request, not a later one with the code). */
  issued: number;
  /** The code as the device shows it (masked). */
  displayCode: string;
  clientName: string;
  scopes: string[];
  deviceIp: string;
  /** What the device says it runs (`http.ts#deviceSoftware`), or "" when it says nothing usable. */
  deviceSoftware: string;
  /** Minutes until the code expires, rounded up. */
  minutesLeft: number;
  /** This browser holds the approval lock: it started approving and may approve again or cancel. */
  approvingHere: boolean;
}

/**
 * RFC 8628 §5.4 (remote phishing): the user compares the code with the one on their device and sees which
 * application and which device asked, before deciding. Both decisions are POSTs with the CSRF token. What
 * the device says about its software is shown as its claim, short: a device can claim to be anything.
 */
export function confirmationPage(details: ConfirmationDetails): Page {
  const title = "Allow this device?";
  const scopes = details.scopes.length > 0 ? details.scopes.map((s) => `<li>${escapeHtml(s)}</li>`).join("") : "<li>(no scopes)</li>";
  const software = details.deviceSoftware
    ? `<dt>Device says it runs</dt><dd>${escapeHtml(details.deviceSoftware)}</dd>`
    : "<dt>Device says it runs</dt><dd>(nothing)</dd>";
  const html = document(
    title,
    paragraph("Only continue if you started this on your own device and the code matches the one it shows.") +
      (details.approvingHere
        ? paragraph("You started approving this device in this browser. Approve again to restart the sign-in, or cancel.")
        : "") +
      `<p>Code: <span class="code">${escapeHtml(details.displayCode)}</span></p>` +
      "<dl>" +
      `<dt>Application</dt><dd>${escapeHtml(details.clientName)}</dd>` +
      `<dt>Device address</dt><dd>${escapeHtml(details.deviceIp)}</dd>` +
      software +
      `<dt>Expires in</dt><dd>${details.minutesLeft} minute${details.minutesLeft === 1 ? "" : "s"}</dd>` +
      "</dl>" +
      `<h2>It asks for</h2><ul>${scopes}</ul>` +
      '<form method="post" action="device">' +
      hidden("csrf", details.csrf) +
      hidden("user_code", details.userCode) +
      hidden("issued", String(details.issued)) +
      '<button type="submit" name="action" value="approve" class="primary">Approve</button>' +
      '<button type="submit" name="action" value="deny">Deny</button>' +
      (details.approvingHere ? '<button type="submit" name="action" value="cancel">Cancel approval</button>' : "") +
      "</form>",
  );
  return { status: 200, title, html };
}

/** A page that says what happened and what to do next, with a link back to the code form where useful. */
export function messagePage(options: { status: number; title: string; message: string; next?: string; startAgainLink?: boolean }): Page {
  const link = options.startAgainLink ? '<p><a href="device">Enter a code</a></p>' : "";
  const html = document(
    options.title,
    `<p${options.status >= 400 ? ' class="error" role="alert"' : ""}>${escapeHtml(options.message)}</p>` +
      (options.next ? paragraph(options.next) : "") +
      link,
  );
  return { status: options.status, title: options.title, html };
}

/** Every page a user can meet besides the form and the confirmation. */
export const PAGES = {
  unknownCode: (csrf: string, prefill: string) =>
    entryPage({ csrf, prefill, status: 400, error: "That code was not found. Check the code on your device and type it again." }),
  emptyCode: (csrf: string) => entryPage({ csrf, status: 400, error: "Type the code your device shows." }),
  expired: () =>
    messagePage({
      status: 400,
      title: "This code has expired",
      message: "The code is no longer valid.",
      next: "Start again on your device to get a new code.",
    }),
  alreadyUsed: () =>
    messagePage({
      status: 400,
      title: "This code was already used",
      message: "Someone already answered this request.",
      next: "If that was not you, start again on your device to get a new code.",
    }),
  denied: () =>
    messagePage({
      status: 400,
      title: "This request was denied",
      message: "The request for this code was denied, so it cannot be approved any more.",
      next: "Start again on your device if you want to connect it.",
    }),
  deniedNow: () =>
    messagePage({
      status: 200,
      title: "Request denied",
      message: "You denied the request. The device will not be signed in.",
      next: "You can close this page.",
    }),
  approved: () =>
    messagePage({
      status: 200,
      title: "Device connected",
      message: "You can return to your device. It will finish signing in by itself.",
      next: "You can close this page.",
    }),
  rateLimited: (minutes: number) =>
    messagePage({
      status: 429,
      title: "Too many attempts",
      message: "Too many codes were tried from this network address.",
      next: `Wait ${minutes} minute${minutes === 1 ? "" : "s"} and try again, checking the code on your device carefully.`,
    }),
  badCsrf: () =>
    messagePage({
      status: 403,
      title: "This form has expired",
      message: "The form was not sent from this page in this browser, or its session has ended. Nothing was changed.",
      next: "Enter the code again to continue. Cookies must be allowed for this site.",
      startAgainLink: true,
    }),
  invalidCallback: () =>
    messagePage({
      status: 400,
      title: "This sign-in could not be matched",
      message: "The answer from the sign-in page does not belong to a request started in this browser, or it was already used.",
      next: "Enter the code from your device again to start over.",
      startAgainLink: true,
    }),
  idpDenied: () =>
    messagePage({
      status: 400,
      title: "Sign-in was cancelled",
      message: "The sign-in page reported that access was denied, so the device will not be signed in.",
      next: "Start again on your device if you want to connect it.",
    }),
  idpError: (error: string) =>
    messagePage({
      status: 502,
      title: "Sign-in failed",
      message: `The sign-in page reported an error (${error}).`,
      next: "Enter the code from your device again to retry; the code stays valid until it expires.",
      startAgainLink: true,
    }),
  invalidDecision: () =>
    messagePage({
      status: 400,
      title: "That code was not found",
      message: "There is no request with this code. Nothing was changed.",
      next: "Check the code on your device and enter it again.",
      startAgainLink: true,
    }),
  approvalInProgress: (minutes: number) =>
    messagePage({
      status: 409,
      title: "Someone is already approving this device",
      message: "Another browser started approving this code and is signing in now. Nothing was changed.",
      next:
        "If that was you, finish or cancel in that browser. If it was not you, do not continue: someone who saw the code " +
        `is trying to connect your device, so start again on your device to get a new code. (This code is held for up to ${minutes} more minute${minutes === 1 ? "" : "s"}.)`,
    }),
  tooManyApprovals: () =>
    messagePage({
      status: 429,
      title: "Too many sign-in attempts",
      message: "This code was sent to the sign-in page too many times without finishing, so it cannot be approved any more.",
      next: "Start again on your device to get a new code.",
    }),
  approvalCancelled: () =>
    messagePage({
      status: 200,
      title: "Approval cancelled",
      message: "You cancelled the approval you started in this browser. Nothing was connected.",
      next: "The code stays valid until it expires: it can be approved again, here or in another browser.",
      startAgainLink: true,
    }),
  badRequest: () =>
    messagePage({ status: 400, title: "Bad request", message: "The request could not be understood.", startAgainLink: true }),
  notFound: () => messagePage({ status: 404, title: "Not found", message: "There is no page at this address.", startAgainLink: true }),
  methodNotAllowed: () =>
    messagePage({ status: 405, title: "Not allowed", message: "This page cannot be used this way.", startAgainLink: true }),
  unavailable: () =>
    messagePage({
      status: 503,
      title: "Temporarily unavailable",
      message: "The service could not complete the request. Nothing was changed.",
      next: "Try again in a minute.",
      startAgainLink: true,
    }),
};

/** Renders a page into a response. */
export function pageResponse(
  page: Page,
  upstreamOrigin: string,
  extra: { cookies?: string[]; headers?: Record<string, string> } = {},
): HttpResponse {
  return {
    status: page.status,
    headers: { ...pageHeaders(upstreamOrigin), ...extra.headers },
    ...(extra.cookies && extra.cookies.length > 0 && { cookies: extra.cookies }),
    body: page.html,
  };
}
