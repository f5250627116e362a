/**
 * The OAuth 2.0 names and rules that both sides of the device grant use: the service (functions/device-grant),
 * the device client (device/) and the local stand-ins. One definition each, so a client and the server can never
 * disagree about a grant type or a back-off step.
 */

/** RFC 8628 §3.4: the grant type of a device's token request. */
export const DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";

/** RFC 8628 §3.2: the polling interval a client uses when the server names none. */
export const DEFAULT_POLLING_INTERVAL_SECONDS = 5;

/** RFC 8628 §3.5: on `slow_down` the client adds 5 seconds to this and every later interval. */
export const SLOW_DOWN_STEP_SECONDS = 5;

/** Where a Cognito user pool (and cognito-local) publishes its signing keys: under its issuer. */
export function cognitoJwksUri(issuer: string): string {
  return `${issuer}/.well-known/jwks.json`;
}

/** The `iss` of a Cognito user pool's tokens. */
export function cognitoIssuer(region: string, userPoolId: string, dnsSuffix = "amazonaws.com"): string {
  return `https://cognito-idp.${region}.${dnsSuffix}/${userPoolId}`;
}

/**
 * The `Authorization` value for `client_secret_basic` (RFC 6749 §2.3.1): the client id and secret are each
 * form-urlencoded before they are joined and base64-encoded, so a secret with `:` or `%` survives.
 */
export function basicAuthorizationHeader(clientId: string, clientSecret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, "+");
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`, "utf8").toString("base64")}`;
}
