/**
 * Publishing one message over HTTPS (`POST /topics/{topic}`), the transport for a device that does not keep
 * a connection: the custom-auth credentials travel as headers, and IoT's 401/403 become `IotDeniedError`s.
 */
import { type CustomAuthCredentials, customAuthHeaders } from "../functions/authorizer/custom-auth";
import { httpPublishUrl } from "./endpoints";
import { DeviceClientError, IotConnectionError, IotDeniedError } from "./errors";
import { HTTP_TIMEOUT_MS, networkReason } from "./http";

export interface HttpsPublisher {
  /** The configured HTTPS endpoint; checked before the credentials are fetched. */
  httpUrl: string | undefined;
  fetch: typeof fetch;
  credentials: () => Promise<CustomAuthCredentials>;
}

export async function publishOverHttps(publisher: HttpsPublisher, topic: string, payload: string | Buffer, qos: 0 | 1): Promise<void> {
  const { httpUrl } = publisher;
  if (!httpUrl) throw new DeviceClientError("No HTTPS endpoint is configured for IoT (an AWS data endpoint host or an http(s) URL)");
  const credentials = await publisher.credentials();
  let response: Response;
  try {
    response = await publisher.fetch(httpPublishUrl(httpUrl, topic, qos), {
      method: "POST",
      headers: { ...customAuthHeaders(credentials), "content-type": "application/octet-stream" },
      body: typeof payload === "string" ? payload : new Uint8Array(payload),
      signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
    });
  } catch (err) {
    throw new IotConnectionError(`Publishing over https failed: ${httpUrl} is unreachable (${networkReason(err)})`);
  }
  const text = (await response.text()).slice(0, 500);
  if (response.ok) return;
  const message = errorMessageOf(text);
  if (response.status === 401 || response.status === 403) {
    throw new IotDeniedError("publish", "https", `HTTP ${response.status} for topic ${topic}${message ? ` (${message})` : ""}`);
  }
  throw new IotConnectionError(`Publishing over https to ${topic} failed: HTTP ${response.status}${message ? ` (${message})` : ""}`);
}

/** IoT answers errors as JSON with a `message`; anything else (a proxy's page) is shown as it came. */
function errorMessageOf(text: string): string {
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === "string") return parsed.message;
  } catch {
    // not JSON: the text itself
  }
  return text;
}
