/**
 * `POST /oauth2/token`: the device's polls with the device_code grant (RFC 8628 §3.4, §3.5), and, when the
 * configured token set includes REFRESH, the refresh_token grant (RFC 6749 §6), both passed through to the
 * upstream IdP. Its answers are the IdP's tokens filtered by `resultTokenSet`, or an OAuth error.
 *
 * A poll of a pending (or approving) request writes `lastPollAt` with the record's version and answers
 * `authorization_pending`, or `slow_down` (and a longer interval) when it came too early. On approved, the
 * redeem step writes approved → redeemed first and exchanges the IdP's code after: of many concurrent polls
 * only one wins the write, so tokens leave once; an IdP that cannot be reached gets the approval back, so
 * the next poll retries (the decisions in `service.ts`).
 */
import { type AuthenticatedClient, authenticateClient, invalidClient, readForm, requestedScopes } from "../client-auth";
import { hashDeviceCode } from "../codes";
import { type GrantContext, WRITE_ATTEMPTS } from "../context";
import { OAuthError, safeName } from "../errors";
import { type HttpRequest, type HttpResponse, jsonResponse } from "../http";
import { type DeviceRequest, type UpstreamResult } from "../model";
import { DEVICE_CODE_GRANT, SLOW_DOWN_STEP_SECONDS } from "../../shared/oauth";

/**
 * A poll this much earlier than `lastPollAt + interval` is still accepted (clients' timers drift), but
 * never more than half the interval: with a 1 s interval a full second would disable `slow_down` altogether.
 */
export const POLL_JITTER_MS = 1_000;

export function pollTolerance(intervalSeconds: number): number {
  return Math.min(POLL_JITTER_MS, (intervalSeconds * 1000) / 2);
}

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
  const { store, clock } = context;
  const deviceCode = params.get("device_code");
  if (deviceCode === undefined) return new OAuthError("invalid_request", "device_code is required");
  const hash = hashDeviceCode(deviceCode);
  let current = await store.getByDeviceCodeHash(hash);
  for (let attempt = 1; attempt <= WRITE_ATTEMPTS; attempt++) {
    // Unknown and another client's codes look the same to the caller: a code is bound to its client.
    if (!current || current.clientId !== auth.client.clientId) return new OAuthError("invalid_grant", "unknown device_code");
    if (current.status === "redeemed") return new OAuthError("invalid_grant", "this device_code was already used");
    const nowMs = clock.now();
    if (nowMs >= current.expiresAt * 1000) return new OAuthError("expired_token", "the device_code has expired; start again");
    if (current.status === "denied") return new OAuthError("access_denied", "the user denied the request");

    if (current.status === "approved") {
      const outcome = await store.update(hash, { version: current.version, status: "approved" }, { status: "redeemed" });
      if (outcome === "ok") return redeem(context, auth, current, viaHeader);
    } else {
      // pending or approving: poll-rate bookkeeping, then authorization_pending or slow_down.
      const tooSoon =
        current.lastPollAt !== undefined && nowMs < current.lastPollAt + current.interval * 1000 - pollTolerance(current.interval);
      const changes = tooSoon ? { lastPollAt: nowMs, interval: current.interval + SLOW_DOWN_STEP_SECONDS } : { lastPollAt: nowMs };
      const outcome = await store.update(hash, { version: current.version, status: current.status }, changes);
      if (outcome === "ok") {
        return tooSoon
          ? new OAuthError("slow_down", `poll at most every ${current.interval + SLOW_DOWN_STEP_SECONDS} seconds`)
          : new OAuthError("authorization_pending", "the user has not answered yet");
      }
    }
    current = await store.getByDeviceCodeHash(hash);
  }
  // Lost every race: another poll is writing at the same moment, which is polling too fast.
  return new OAuthError("slow_down", "concurrent polls for one device_code");
}

/** The poll that won approved → redeemed exchanges the IdP's authorization code for the tokens. */
async function redeem(
  context: GrantContext,
  auth: AuthenticatedClient,
  record: DeviceRequest,
  viaHeader: boolean,
): Promise<HttpResponse | OAuthError> {
  const { config, store, upstream, logger } = context;
  if (record.authorizationCode === undefined || record.pkceVerifier === undefined) {
    logger.error({ event: "redeem", clientId: record.clientId, outcome: "approved-without-code" });
    return new OAuthError("invalid_grant", "the approval is incomplete; start again");
  }
  const result = await upstream.exchangeCode({
    clientId: auth.client.clientId,
    ...(auth.secret !== undefined && { clientSecret: auth.secret }),
    code: record.authorizationCode,
    redirectUri: config.upstream.redirectUri,
    codeVerifier: record.pkceVerifier,
  });
  if (!result.ok && result.status >= 500) {
    // The IdP was not reached or failed: give the approval back so the next poll retries.
    const back = await store.update(record.deviceCodeHash, { version: record.version + 1, status: "redeemed" }, { status: "approved" });
    logger.warn({ event: "redeem", clientId: record.clientId, outcome: "upstream-unavailable", restored: back === "ok" });
    return new OAuthError("authorization_pending", "the identity provider is unavailable; keep polling");
  }
  logger.info({ event: "redeem", clientId: record.clientId, outcome: result.ok ? "tokens" : result.error });
  return tokenResponse(context, result, viaHeader);
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
  return tokenResponse(context, result, viaHeader);
}

/** The IdP's answer, filtered by the configured token set; its OAuth errors are passed on. */
function tokenResponse(context: GrantContext, result: UpstreamResult, viaHeader: boolean): HttpResponse | OAuthError {
  if (!result.ok) {
    if (result.error === "invalid_client") return invalidClient(viaHeader, "the identity provider refused the client's credentials");
    return new OAuthError(result.error, result.description ?? "refused by the identity provider");
  }
  const t = result.tokens;
  const set = context.config.settings.resultTokenSet;
  return jsonResponse(200, {
    access_token: t.access_token,
    token_type: t.token_type,
    ...(t.expires_in !== undefined && { expires_in: t.expires_in }),
    ...(set.includes("ID") && t.id_token !== undefined && { id_token: t.id_token }),
    ...(set.includes("REFRESH") && t.refresh_token !== undefined && { refresh_token: t.refresh_token }),
    ...(t.scope !== undefined && { scope: t.scope }),
  });
}
