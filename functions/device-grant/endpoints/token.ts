/**
 * `POST /oauth2/token`: the device's polls with the device_code grant (RFC 8628 §3.4, §3.5), and, when the
 * configured token set includes REFRESH, the refresh_token grant (RFC 6749 §6), both passed through to the
 * upstream IdP. Its answers are the IdP's tokens filtered by `resultTokenSet` (with the service's own ID
 * token in place of the IdP's, `id-token.ts`), or an OAuth error.
 *
 * A poll is one conditional write keyed by the device code's user code (`Store.poll`): it moves `nextPollAt`
 * on and returns the request, so a pending poll costs one request and writes nothing a user's click depends
 * on. A refused poll says why from the request as it stood: unknown, expired, denied, used, or too early
 * (`slow_down`, the interval raised once however many early polls arrive together). On approved, the redeem
 * step takes the upstream code and verifier out of the table in one write (`Store.redeem`): of many
 * concurrent polls only one gets them, so tokens leave once; an IdP that cannot be reached gets them back,
 * so the next poll retries (the decisions in `service.ts`).
 */
import { type AuthenticatedClient, authenticateClient, invalidClient, readForm, requestedScopes } from "../client-auth";
import { constantTimeEqual, hashSecret, splitCredential } from "../codes";
import { type GrantContext } from "../context";
import { OAuthError, safeName } from "../errors";
import { type HttpRequest, type HttpResponse, jsonResponse } from "../http";
import { serviceIdToken } from "../id-token";
import { type DeviceCredential, type DeviceRequest, type UpstreamResult } from "../model";
import { pollSpacingMs } from "../polling";
import { DEVICE_CODE_GRANT, SLOW_DOWN_STEP_SECONDS } from "../../shared/oauth";

export async function token(context: GrantContext, request: HttpRequest): Promise<HttpResponse> {
  const { settings } = context.config;
  const params = readForm(request);
  if (params instanceof OAuthError) return params.response();
  const auth = authenticateClient(context, request, params);
  if (auth instanceof OAuthError) {
    context.logger.warn({ event: "token", outcome: auth.error });
    return auth.response();
  }
  const grantType = params.get("grant_type");
  const viaHeader = request.headers.authorization !== undefined;
  const offersRefresh = settings.resultTokenSet.includes("REFRESH");
  let result: HttpResponse | OAuthError;
  if (grantType === undefined) result = new OAuthError("invalid_request", "grant_type is required");
  else if (grantType === DEVICE_CODE_GRANT) result = await deviceCodeGrant(context, auth, params, viaHeader);
  else if (grantType === "refresh_token" && offersRefresh) result = await refreshGrant(context, auth, params, viaHeader);
  else
    result = new OAuthError(
      "unsupported_grant_type",
      "this server offers the device_code grant" + (offersRefresh ? " and refresh_token" : ""),
    );
  if (result instanceof OAuthError) {
    context.logger.info({ event: "token", grantType: safeName(grantType ?? ""), clientId: auth.client.clientId, outcome: result.error });
    return result.response();
  }
  return result;
}

async function deviceCodeGrant(
  context: GrantContext,
  auth: AuthenticatedClient,
  params: ReadonlyMap<string, string>,
  viaHeader: boolean,
): Promise<HttpResponse | OAuthError> {
  const deviceCode = params.get("device_code");
  if (deviceCode === undefined) return new OAuthError("invalid_request", "device_code is required");
  const parts = splitCredential(deviceCode);
  if (!parts) return unknownCode();
  const credential: DeviceCredential = {
    userCode: parts.userCode,
    clientId: auth.client.clientId,
    deviceSecretHash: hashSecret(parts.secret),
  };
  const nowMs = context.clock.now();
  const polled = await context.store.poll(credential, nowMs);
  if (!polled.written) return refusedPoll(context, credential, polled.current, nowMs);
  // The write's condition matched the secret's hash; compare again here, in constant time, before trusting it.
  if (!isTheirs(polled.request, credential)) return unknownCode();
  if (polled.request.status === "approved") return redeem(context, auth, credential, viaHeader);
  return new OAuthError("authorization_pending", "the user has not answered yet");
}

/** Unknown and another client's codes look the same to the caller: a code is bound to its client. */
function unknownCode(): OAuthError {
  return new OAuthError("invalid_grant", "unknown device_code");
}

function isTheirs(request: DeviceRequest | undefined, credential: DeviceCredential): request is DeviceRequest {
  return (
    request !== undefined &&
    request.clientId === credential.clientId &&
    constantTimeEqual(request.deviceSecretHash, credential.deviceSecretHash)
  );
}

/** Why a poll was refused, from the request as it stood; too early (and nothing else) is `slow_down`. */
async function refusedPoll(
  context: GrantContext,
  credential: DeviceCredential,
  current: DeviceRequest | undefined,
  nowMs: number,
): Promise<OAuthError> {
  if (!isTheirs(current, credential)) return unknownCode();
  if (current.status === "redeemed") return new OAuthError("invalid_grant", "this device_code was already used");
  if (nowMs >= current.expiresAt * 1000) return new OAuthError("expired_token", "the device_code has expired; start again");
  if (current.status === "denied") return new OAuthError("access_denied", "the user denied the request");
  // RFC 8628 §3.5: this and every later poll waits 5 s more. Raised once, however many early polls arrive together.
  const interval = current.interval + SLOW_DOWN_STEP_SECONDS;
  await context.store.slowDown(credential, { fromInterval: current.interval, interval, pollSpacingMs: pollSpacingMs(interval), nowMs });
  return new OAuthError("slow_down", `poll at most every ${interval} seconds`);
}

/** The poll that found the request approved redeems it: takes the IdP's code out of the table and exchanges it. */
async function redeem(
  context: GrantContext,
  auth: AuthenticatedClient,
  credential: DeviceCredential,
  viaHeader: boolean,
): Promise<HttpResponse | OAuthError> {
  const { config, store, upstream, logger } = context;
  const secrets = await store.redeem(credential);
  // Another poll won the same approval a moment ago.
  if (!secrets) return new OAuthError("invalid_grant", "this device_code was already used");
  const result = await upstream.exchangeCode({
    clientId: auth.client.clientId,
    ...(auth.secret !== undefined && { clientSecret: auth.secret }),
    code: secrets.authorizationCode,
    redirectUri: config.upstream.redirectUri,
    codeVerifier: secrets.pkceVerifier,
  });
  if (!result.ok && result.status >= 500) {
    // The IdP was not reached or failed: give the approval back so the next poll retries.
    const restored = await store.restoreApproval(credential.userCode, secrets);
    logger.warn({ event: "redeem", clientId: credential.clientId, outcome: "upstream-unavailable", restored });
    return new OAuthError("authorization_pending", "the identity provider is unavailable; keep polling");
  }
  logger.info({ event: "redeem", clientId: credential.clientId, outcome: result.ok ? "tokens" : result.error });
  return tokenResponse(context, auth, result, viaHeader);
}

async function refreshGrant(
  context: GrantContext,
  auth: AuthenticatedClient,
  params: ReadonlyMap<string, string>,
  viaHeader: boolean,
): Promise<HttpResponse | OAuthError> {
  const refreshToken = params.get("refresh_token");
  if (refreshToken === undefined) return new OAuthError("invalid_request", "refresh_token is required");
  const scope = params.get("scope");
  const scopes = scope === undefined ? undefined : requestedScopes(auth.client, scope);
  if (scopes instanceof OAuthError) return scopes;
  const result = await context.upstream.refresh({
    clientId: auth.client.clientId,
    ...(auth.secret !== undefined && { clientSecret: auth.secret }),
    refreshToken,
    ...(scopes && { scopes }),
  });
  if (!result.ok && result.status >= 500)
    return new OAuthError("temporarily_unavailable", "the identity provider is unavailable; try again", 503);
  context.logger.info({ event: "refresh", clientId: auth.client.clientId, outcome: result.ok ? "tokens" : result.error });
  return tokenResponse(context, auth, result, viaHeader);
}

/**
 * The IdP's answer, filtered by the configured token set, with the service's own ID token instead of the
 * IdP's (or none, when the IdP's could not be verified or signing failed: the access and refresh tokens are
 * not held back for it, since the device code is spent by now). The IdP's OAuth errors are passed on.
 */
async function tokenResponse(
  context: GrantContext,
  auth: AuthenticatedClient,
  result: UpstreamResult,
  viaHeader: boolean,
): Promise<HttpResponse | OAuthError> {
  if (!result.ok) {
    if (result.error === "invalid_client") return invalidClient(viaHeader, "the identity provider refused the client's credentials");
    return new OAuthError(result.error, result.description ?? "refused by the identity provider");
  }
  const t = result.tokens;
  const set = context.config.settings.resultTokenSet;
  const idToken =
    set.includes("ID") && t.id_token !== undefined ? await serviceIdToken(context, auth.client.clientId, t.id_token) : undefined;
  return jsonResponse(200, {
    access_token: t.access_token,
    token_type: t.token_type,
    ...(t.expires_in !== undefined && { expires_in: t.expires_in }),
    ...(idToken !== undefined && { id_token: idToken }),
    ...(set.includes("REFRESH") && t.refresh_token !== undefined && { refresh_token: t.refresh_token }),
    ...(t.scope !== undefined && { scope: t.scope }),
  });
}
