/**
 * `GET /device` (RFC 8628 `verification_uri`): the code entry form, pre-filled from `?user_code=` when the
 * user came by `verification_uri_complete`. A browser without our cookie gets one here, so the form's CSRF
 * token is bound to it from the first page on.
 */
import { browserCookie, CODE_ENTRY_PURPOSE, csrfToken } from "../browser-binding";
import { type GrantContext, renderPage } from "../context";
import { type HttpRequest, type HttpResponse, parseParameters } from "../http";
import { entryPage } from "../pages";

export function verificationPage(context: GrantContext, request: HttpRequest): HttpResponse {
  const cookie = browserCookie(context, request);
  const query = parseParameters(request.rawQuery);
  // A malformed or repeated `user_code` pre-fills nothing; the form works all the same.
  const raw = query && !query.repeated.includes("user_code") ? (query.params.get("user_code") ?? "") : "";
  const prefill = raw.length <= 64 ? raw : "";
  return renderPage(context, entryPage({ csrf: csrfToken(cookie.value, CODE_ENTRY_PURPOSE), prefill }), {
    cookies: cookie.setCookie ? [cookie.setCookie] : [],
  });
}
