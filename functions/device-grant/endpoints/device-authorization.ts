/**
 * `POST /oauth2/device_authorization` (RFC 8628 §3.1, §3.2): an authenticated client asks for a device
 * code and a user code. The request is stored under its normalised user code (one conditional `PutItem`);
 * the device code is `<user code>-<secret>`, the secret drawn in the configured format and length and
 * stored only as its SHA-256 (`codes.ts#joinCredential`). The user code is shown with the configured mask.
 * A user code still reserved by another request is drawn again, a few times, before the answer is 503.
 */
import { authenticateClient, readForm, requestedScopes } from "../client-auth";
import { formatUserCode, generateCode, hashSecret, joinCredential, normalizeUserCode } from "../codes";
import { type GrantContext } from "../context";
import { OAuthError } from "../errors";
import { deviceSoftware, type HttpRequest, type HttpResponse, jsonResponse } from "../http";
import { type DeviceRequest } from "../model";
import { pollSpacingMs } from "../polling";
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
    const secret = generateCode(settings.deviceCodeFormat, settings.deviceCodeLength, random);
    const userCode = normalizeUserCode(generateCode(settings.userCodeFormat, settings.userCodeLength, random));
    const record: DeviceRequest = {
      userCode,
      deviceSecretHash: hashSecret(secret),
      clientId: auth.client.clientId,
      scopes,
      status: "pending",
      createdAt: nowSeconds,
      expiresAt: nowSeconds + settings.codeExpirySeconds,
      interval: settings.pollingIntervalSeconds,
      pollSpacingMs: pollSpacingMs(settings.pollingIntervalSeconds),
      deviceIp: request.sourceIp,
      deviceSoftware: deviceSoftware(request.userAgent),
      approvals: 0,
    };
    const outcome = await store.create(record, nowSeconds);
    if (outcome !== "ok") continue;
    const displayed = formatUserCode(userCode, settings.userCodeMask);
    logger.info({ event: "device-authorization", clientId: auth.client.clientId, method: auth.method, attempt });
    return jsonResponse(200, {
      device_code: joinCredential(userCode, secret),
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
