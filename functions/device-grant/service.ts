/**
 * The device authorization grant's core (RFC 8628): six endpoints from a normalised HTTP request to a
 * normalised response, with storage, time, randomness and the upstream IdP as ports. The same core runs in
 * Lambda (`index.ts` + `apigw.ts`), in the tests against dynalite and cognito-local, and in the local
 * sandbox (`local-server.ts`).
 *
 * This module is the entry: it builds the one context every endpoint receives (`context.ts`) and
 * dispatches from the route table (`routes.ts`), never throwing. The endpoints, one module each, as
 * node-oidc-provider keeps its device flow:
 *
 *     endpoints/device-authorization.ts   POST /oauth2/device_authorization
 *     endpoints/token.ts                  POST /oauth2/token (device_code, refresh_token; the redeem step)
 *     endpoints/metadata.ts               GET  /.well-known/oauth-authorization-server
 *     endpoints/verification-page.ts      GET  /device
 *     endpoints/verification-submit.ts    POST /device (enter a code; approve or deny)
 *     endpoints/callback.ts               GET  /callback
 *
 * and what they share: `client-auth.ts` (form body, client authentication, scopes), `browser-binding.ts`
 * (browser cookie, CSRF tokens, state hash), `rate-limit.ts` (failed code entries), `errors.ts`
 * (`OAuthError`, the logger).
 *
 * State machine of one request (every arrow one conditional write on status and version):
 *
 *     pending ──Approve──▶ approving ──callback──▶ approved ──poll──▶ redeemed
 *        │  ▲                 │  │
 *        │  └──IdP error──────┘  └──IdP access_denied──▶ denied
 *        └──Deny──────────────────────────────────────▶ denied
 *
 * Decisions the core makes, and why:
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
import { browserCookieName } from "./browser-binding";
import { cryptoRandom } from "./codes";
import { type DeviceGrantConfig } from "./config";
import { type Endpoint, type GrantContext, renderPage } from "./context";
import { callback } from "./endpoints/callback";
import { deviceAuthorization } from "./endpoints/device-authorization";
import { metadata } from "./endpoints/metadata";
import { token } from "./endpoints/token";
import { verificationPage } from "./endpoints/verification-page";
import { verificationSubmit } from "./endpoints/verification-submit";
import { consoleServiceLogger, OAuthError, safeName, type ServiceLogger } from "./errors";
import { type HttpRequest, type HttpResponse } from "./http";
import { type Clock, type RandomSource, type Store, type UpstreamIdp } from "./model";
import { PAGES } from "./pages";
import { type EndpointName, matchRoute } from "./routes";

// The logger's types are part of the service's options; the sandbox and the test harness import them here.
export { type LogFields, type ServiceLogger } from "./errors";

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

/** Every route's endpoint: a route table entry without one here does not compile. */
const ENDPOINTS: Record<EndpointName, Endpoint> = {
  deviceAuthorization,
  token,
  metadata,
  verificationPage,
  verificationSubmit,
  callback,
};

export function createDeviceGrantService(options: DeviceGrantServiceOptions): DeviceGrantService {
  const { config } = options;
  const context: GrantContext = {
    config,
    store: options.store,
    upstream: options.upstream,
    clock: options.clock ?? { now: () => Date.now() },
    random: options.random ?? cryptoRandom,
    logger: options.logger ?? consoleServiceLogger,
    clients: new Map(config.clients.map((c) => [c.clientId, c])),
    clientSecrets: options.clientSecrets,
    upstreamOrigin: new URL(config.upstream.authorizationEndpoint).origin,
    cookieName: browserCookieName(config.publicBaseUrl),
    secureCookie: config.publicBaseUrl.startsWith("https:"),
  };

  return {
    async handle(request) {
      try {
        return await dispatch(context, request);
      } catch (err) {
        context.logger.error({ event: "unexpected-failure", path: safeName(request.path), error: (err as Error)?.name ?? typeof err });
        return request.path.startsWith("/oauth2/")
          ? new OAuthError("server_error", "the request could not be completed; try again", 500).response()
          : renderPage(context, PAGES.unavailable());
      }
    },
  };
}

/**
 * The route's endpoint answers. A known path asked with another method gets 405: JSON with `allow` from the
 * JSON endpoints, the 405 page from the pages; an unknown path gets the 404 page.
 */
async function dispatch(context: GrantContext, request: HttpRequest): Promise<HttpResponse> {
  const match = matchRoute(request.method, request.path);
  switch (match.found) {
    case "route":
      return ENDPOINTS[match.route.endpoint](context, request);
    case "wrong-method": {
      const allow = match.allow.join(", ");
      return match.answers === "json"
        ? new OAuthError("invalid_request", `use ${allow}`, 405, { allow }).response()
        : renderPage(context, PAGES.methodNotAllowed());
    }
    case "nothing":
      return renderPage(context, PAGES.notFound());
  }
}
