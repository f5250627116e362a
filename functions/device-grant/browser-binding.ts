/**
 * What ties the verification pages to one browser, with no session table and no server-side secret: the
 * browser cookie (32 random bytes), the CSRF token of each form (an HMAC keyed with that cookie over the
 * form's purpose), the hash under which the store keeps an upstream `state` (bound to the cookie too), and
 * the id of a browser holding an approval lock.
 * Why each is shaped so: the CSRF and `state` decisions in `service.ts`.
 */
import { createHash, createHmac } from "node:crypto";
import { constantTimeEqual } from "./codes";
import { type GrantContext } from "./context";
import { type HttpRequest } from "./http";

const BROWSER_COOKIE_VALUE = /^[A-Za-z0-9_-]{43}$/;

/** The browser cookie name: `__Host-` (https only, no Domain, Path=/) where the browser honours it. */
export function browserCookieName(publicBaseUrl: string): string {
  return publicBaseUrl.startsWith("https:") ? "__Host-device-grant" : "device-grant";
}

/** Whether a cookie value is one this service could have set (anything else is treated as no cookie). */
export function isBrowserCookieValue(value: string | undefined): value is string {
  return value !== undefined && BROWSER_COOKIE_VALUE.test(value);
}

/** The browser's cookie, and a `Set-Cookie` when it had none (or an unusable one). */
export function browserCookie(context: GrantContext, request: HttpRequest): { value: string; setCookie?: string } {
  const existing = request.cookies[context.cookieName];
  if (isBrowserCookieValue(existing)) return { value: existing };
  const value = context.random.bytes(32).toString("base64url");
  const attributes = [
    "Path=/",
    "HttpOnly",
    "SameSite=Lax",
    `Max-Age=${Math.max(3_600, context.config.settings.codeExpirySeconds * 2)}`,
    ...(context.secureCookie ? ["Secure"] : []),
  ];
  return { value, setCookie: `${context.cookieName}=${value}; ${attributes.join("; ")}` };
}

/** The CSRF token of a form: HMAC-SHA256 keyed with the browser's cookie, over the form's purpose. */
export function csrfToken(browserCookie: string, purpose: string): string {
  return createHmac("sha256", browserCookie).update(purpose, "utf8").digest("base64url");
}

/** Whether a form's presented CSRF token is the one for this browser and purpose (in constant time). */
export function csrfTokenMatches(presented: string, browserCookie: string, purpose: string): boolean {
  return constantTimeEqual(presented, csrfToken(browserCookie, purpose));
}

/** The purpose the code entry form's token is bound to (any request: the code is not known yet). */
export const CODE_ENTRY_PURPOSE = "enter";

/**
 * The purpose an Approve/Deny/Cancel form's token is bound to: the decision on this one request, named by
 * its user code and creation time (a code reused after its retention is another request, with another token).
 */
export function decisionPurpose(userCode: string, createdAt: number): string {
  return `decide:${userCode}:${createdAt}`;
}

/** Who holds an approval lock: the browser, by a hash of its cookie (the cookie itself is never stored). */
export function approverId(browserCookie: string): string {
  return createHash("sha256").update(`approver.${browserCookie}`, "utf8").digest("hex");
}

/** What the store keeps for an upstream `state`: the hash of its secret part, bound to the browser's cookie. */
export function stateHashFor(stateSecret: string, browserCookie: string): string {
  return createHash("sha256").update(`${stateSecret}.${browserCookie}`, "utf8").digest("hex");
}
