/**
 * `POST /oauth2/device_authorization` (RFC 8628 §3.1, §3.2): an authenticated client asks for a device
 * code and a user code. The device code is returned once and stored only as its hash; the user code is
 * stored normalised and shown with the configured mask. A new user code that collides with a live one is
 * drawn again, a few times, before the answer is 503.
 */
import { authenticateClient, readForm, requestedScopes } from "../client-auth";
import { formatUserCode, generateCode, hashDeviceCode, normalizeUserCode } from "../codes";
import { type GrantContext } from "../context";
import { OAuthError } from "../errors";
import { type HttpRequest, type HttpResponse, jsonResponse } from "../http";
import { type DeviceRequest } from "../model";
import { PATHS } from "../routes";

/** Draws of a new user code after a collision with a live one, before giving up with 503. */
export const USER_CODE_ATTEMPTS = 5;

export async function deviceAuthorization(context: GrantContext, request: HttpRequest): Promise<HttpResponse> {
  const { config, store, clock, random, logger } = context;
  const { settings } = config;
  const params = readForm(request);
  if (params instanceof OAuthError) return params.response();
  const auth = authenticateClient(context, request, params);
  if (auth instanceof OAuthError) return auth.response();
  const scopes = requestedScopes(auth.client, params.get("scope"));
  if (scopes instanceof OAuthError) return scopes.response();

  const nowSeconds = Math.floor(clock.now() / 1000);
  for (let attempt = 1; attempt <= USER_CODE_ATTEMPTS; attempt++) {
    const deviceCode = generateCode(settings.deviceCodeFormat, settings.deviceCodeLength, random);
    const userCode = normalizeUserCode(generateCode(settings.userCodeFormat, settings.userCodeLength, random));
    const record: DeviceRequest = {
      deviceCodeHash: hashDeviceCode(deviceCode),
      userCode,
      clientId: auth.client.clientId,
      scopes,
      status: "pending",
      createdAt: nowSeconds,
      expiresAt: nowSeconds + settings.codeExpirySeconds,
      interval: settings.pollingIntervalSeconds,
      deviceIp: request.sourceIp,
      deviceUserAgent: request.userAgent.slice(0, 256),
      failedAttempts: 0,
      version: 1,
    };
    const outcome = await store.create(record, nowSeconds);
    if (outcome !== "ok") continue;
    const displayed = formatUserCode(userCode, settings.userCodeMask);
    logger.info({ event: "device-authorization", clientId: auth.client.clientId, method: auth.method, attempt });
    return jsonResponse(200, {
      device_code: deviceCode,
      user_code: displayed,
      verification_uri: `${config.publicBaseUrl}${PATHS.device}`,
      verification_uri_complete: `${config.publicBaseUrl}${PATHS.device}?user_code=${encodeURIComponent(displayed)}`,
      expires_in: settings.codeExpirySeconds,
      interval: settings.pollingIntervalSeconds,
    });
  }
  logger.error({ event: "device-authorization", clientId: auth.client.clientId, outcome: "user-code-collisions" });
  return new OAuthError("temporarily_unavailable", "could not allocate a user code; try again", 503).response();
}
