/**
 * The device authorization grant's core (RFC 8628): seven endpoints from a normalised HTTP request to a
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
 *     endpoints/jwks.ts                   GET  /.well-known/jwks.json (the key of the service's ID tokens)
 *     endpoints/verification-page.ts      GET  /device
 *     endpoints/verification-submit.ts    POST /device (enter a code: verification-entry.ts; decide: verification-decision.ts)
 *     endpoints/callback.ts               GET  /callback
 *
 * and what they share: `client-auth.ts` (form body, client authentication, scopes), `browser-binding.ts`
 * (browser cookie, CSRF tokens, state hash, approver id), `rate-limit.ts` (the per-address budget),
 * `id-token.ts` with `upstream-id-token.ts` and the signers (the service's own ID tokens), `errors.ts`
 * (`OAuthError`, the logger).
 *
 * State machine of one request (one item keyed by its user code; every arrow ONE conditional write on the
 * fields it depends on, never on a version):
 *
 *     pending ──Approve──▶ approving ──callback──▶ approved ──poll──▶ redeemed
 *        │  ▲                 │  │ │
 *        │  └─IdP error/Cancel┘  │ └──IdP access_denied──▶ denied
 *        └──Deny───────────────────┴──Deny (lock holder, or lock expired)──▶ denied
 *
 * Decisions the core makes, and why:
 * - Keys: the device code is `<user code>-<secret>` and the upstream `state` `<user code>-<secret>`
 *   (`codes.ts#joinCredential`), so every step finds its request with one key lookup; only the secrets'
 *   SHA-256 hashes are stored, and a presented one is compared in constant time.
 * - CSRF: a per-browser cookie (32 random bytes, `HttpOnly`, `SameSite=Lax`, `__Host-` and `Secure` on
 *   https) and, in every form, `HMAC-SHA256(key = cookie, purpose)` where the purpose names the step and,
 *   for Approve/Deny/Cancel, the request (its user code and creation time). A forged form needs the cookie,
 *   which another site can neither read nor set; no server-side secret or session table is needed. A form
 *   with a bad token is refused before anything is counted or looked up (see rate limits).
 * - Rate limits (RFC 8628 §5.1, `rate-limit.ts`): each code entry and each decision charges its address
 *   first, atomically, and is refused unlooked-at over `maxFailedEntriesPerIp`; an entry that finds a live
 *   request is refunded. Per code, at most `maxFailedAttemptsPerCode` approvals may be started and fail.
 * - Session spying (RFC 8628 §5.5): Approve takes an approval lock bound to the approving browser for
 *   `approvalLockSeconds`. Until it runs out (or that browser cancels, or the IdP sends it back with an
 *   error) no other browser can approve or deny the code, and a second browser gets a page saying so; the
 *   browser holding it can approve again (a new state) after abandoning the IdP's login.
 * - `state` is bound to the request and to the browser: the store keeps `SHA-256(secret "." cookie)`, so a
 *   callback matches only with the very state and the cookie of the browser that pressed Approve, and
 *   works once (the request leaves `approving`).
 * - IdP errors at the callback: `access_denied` (the user refused at the IdP) ends the request as denied;
 *   any other error puts it back to pending, so the user can retry with the same code until it expires.
 * - Polls write only `nextPollAt` (and, on `slow_down`, the interval); user actions never condition on
 *   either, so however fast a device polls, no click and no callback can lose a write to it.
 * - On approved, the poll that wins approved → redeemed takes the upstream code and PKCE verifier out of the
 *   table in the same write, and exchanges them: of 50 concurrent polls only one can win, tokens leave once,
 *   and no secret stays stored. If the IdP cannot be reached (network, timeout, 5xx) the secrets are put back
 *   (redeemed → approved) and the device hears `authorization_pending`, so its next poll retries; the IdP's
 *   codes are single-use, so a retry after a lost answer cannot mint a second token set.
 * - ID tokens: the upstream's is verified and the service issues its own, under its own issuer
 *   (`id-token.ts`), so standard clients accept the response.
 */
import { browserCookieName } from "./browser-binding";
import { cryptoRandom } from "./codes";
import { type DeviceGrantConfig } from "./config";
import { type Endpoint, type GrantContext, renderPage } from "./context";
import { callback } from "./endpoints/callback";
import { jwks } from "./endpoints/jwks";
import { deviceAuthorization } from "./endpoints/device-authorization";
import { metadata } from "./endpoints/metadata";
import { token } from "./endpoints/token";
import { verificationPage } from "./endpoints/verification-page";
import { verificationSubmit } from "./endpoints/verification-submit";
import { consoleServiceLogger, OAuthError, safeName, type ServiceLogger } from "./errors";
import { type HttpRequest, type HttpResponse } from "./http";
import { type Clock, type RandomSource, type Store, type TokenSigner, type UpstreamIdp } from "./model";
import { PAGES } from "./pages";
import { type EndpointName, matchRoute } from "./routes";
import { createUpstreamIdTokenVerifier, type UpstreamIdTokenVerifier } from "./upstream-id-token";

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
  /** Signs the service's own ID tokens; required with `ID` in `resultTokenSet`. */
  signer?: TokenSigner;
  /** Verifies the upstream's ID tokens; by default against `upstream.jwksUri` over `fetch`. */
  upstreamIdTokens?: UpstreamIdTokenVerifier;
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
  jwks,
};

export function createDeviceGrantService(options: DeviceGrantServiceOptions): DeviceGrantService {
  const { config } = options;
  const context: GrantContext = {
    ...idTokenParts(options),
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

/** With `ID` in the token set: the signer (required) and the upstream ID token verifier. */
function idTokenParts(options: DeviceGrantServiceOptions): Pick<GrantContext, "idTokens"> {
  const { config } = options;
  if (!config.settings.resultTokenSet.includes("ID")) return {};
  if (!options.signer) throw new Error("ID in resultTokenSet needs a token signer (the idTokenKey of the configuration)");
  const upstream =
    options.upstreamIdTokens ??
    createUpstreamIdTokenVerifier({ issuer: config.upstream.issuer, jwksUri: config.upstream.jwksUri as string });
  return { idTokens: { signer: options.signer, upstream } };
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
