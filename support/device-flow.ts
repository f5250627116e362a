/**
 * The device's side of the device authorization grant as raw HTTP, the way a TV sends it: form POSTs with
 * `client_id` (public clients) or `client_secret_basic`, and every answer's status, headers and JSON body kept
 * for the caller to assert on. Used by the device grant's tests, `npm run bench` and `npm run demo`; the device client
 * library (device/) is the friendly version, and the tests drive standard clients (openid-client,
 * oauth4webapi) besides.
 */
import { basicAuthorizationHeader, DEVICE_CODE_GRANT } from "../functions/shared/oauth";

/** An app client as the device knows it: a confidential one has its secret. */
export interface DeviceClientCredentials {
  clientId: string;
  clientSecret?: string;
}

export interface FormAnswer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/** A raw form POST, as a device sends it; `basic` authenticates with client_secret_basic. */
export async function postForm(
  url: string,
  fields: Record<string, string> | [string, string][],
  options: { basic?: { clientId: string; clientSecret: string }; headers?: Record<string, string> } = {},
): Promise<FormAnswer> {
  const headers: Record<string, string> = {
    "content-type": "application/x-www-form-urlencoded",
    accept: "application/json",
    ...options.headers,
  };
  if (options.basic) headers.authorization = basicAuthorizationHeader(options.basic.clientId, options.basic.clientSecret);
  const response = await fetch(url, {
    method: "POST",
    headers,
    body: new URLSearchParams(Array.isArray(fields) ? fields : Object.entries(fields)).toString(),
  });
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { raw: text };
  }
  return { status: response.status, headers: response.headers, body };
}

export interface DeviceAuthorization {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

/** Starts a device authorization at the service at `baseUrl`; a client with a secret authenticates by Basic. */
export async function authorizeDevice(baseUrl: string, client: DeviceClientCredentials, scope?: string): Promise<DeviceAuthorization> {
  const fields: Record<string, string> = { ...(scope !== undefined && { scope }) };
  const answer =
    client.clientSecret === undefined
      ? await postForm(`${baseUrl}/oauth2/device_authorization`, { client_id: client.clientId, ...fields })
      : await postForm(`${baseUrl}/oauth2/device_authorization`, fields, {
          basic: { clientId: client.clientId, clientSecret: client.clientSecret },
        });
  if (answer.status !== 200) throw new Error(`device authorization failed: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body as unknown as DeviceAuthorization;
}

/** A token request for the device code grant, authenticated as `client`. */
export function pollToken(baseUrl: string, deviceCode: string, client: DeviceClientCredentials): Promise<FormAnswer> {
  const fields = { grant_type: DEVICE_CODE_GRANT, device_code: deviceCode };
  return client.clientSecret === undefined
    ? postForm(`${baseUrl}/oauth2/token`, { ...fields, client_id: client.clientId })
    : postForm(`${baseUrl}/oauth2/token`, fields, { basic: { clientId: client.clientId, clientSecret: client.clientSecret } });
}
