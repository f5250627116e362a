/**
 * What every endpoint of the device grant works with, in one explicit object that `createDeviceGrantService`
 * builds once: the configuration, the ports (store, upstream IdP, clock, randomness, logger, client
 * secrets) and the values derived from the configuration that several endpoints need. An endpoint is a
 * plain function of this context and one request, so it can be read (and replaced) on its own.
 */
import { type DeviceGrantConfig } from "./config";
import { type ServiceLogger } from "./errors";
import { type HttpRequest, type HttpResponse } from "./http";
import { type ClientRegistration, type Clock, type RandomSource, type Store, type TokenSigner, type UpstreamIdp } from "./model";
import { type Page, pageResponse } from "./pages";
import { type UpstreamIdTokenVerifier } from "./upstream-id-token";

export interface GrantContext {
  config: DeviceGrantConfig;
  store: Store;
  upstream: UpstreamIdp;
  clock: Clock;
  random: RandomSource;
  logger: ServiceLogger;
  /** The registered clients by id. */
  clients: ReadonlyMap<string, ClientRegistration>;
  /** The secret of a confidential client (from the SSM parameter), `undefined` for unknown or public ones. */
  clientSecrets: (clientId: string) => string | undefined;
  /** The IdP's origin: the pages' CSP must allow the Approve form's redirect to it. */
  upstreamOrigin: string;
  /** The browser cookie's name (`browser-binding.ts`). */
  cookieName: string;
  /** Whether the browser cookie is `Secure` (the service is on https). */
  secureCookie: boolean;
  /** With `ID` in the token set: the key the service's own ID tokens are signed with, and the upstream's verifier. */
  idTokens?: { signer: TokenSigner; upstream: UpstreamIdTokenVerifier };
}

/** One endpoint: answers one request; only the service's wrapper catches what it throws. */
export type Endpoint = (context: GrantContext, request: HttpRequest) => Promise<HttpResponse> | HttpResponse;

/** Renders a page with the headers every page carries (its CSP names the IdP's origin). */
export function renderPage(context: GrantContext, page: Page, extra: { cookies?: string[] } = {}): HttpResponse {
  return pageResponse(page, context.upstreamOrigin, extra);
}
