/**
 * `--issuer <url>`: the device flow's endpoints from the identity provider's own metadata, so that a device can
 * sign in at any IdP with the device flow knowing only its issuer. OpenID Connect Discovery 1.0 §4 publishes it at
 * `<issuer>/.well-known/openid-configuration`; an OAuth-only server (RFC 8414 §3) at
 * `/.well-known/oauth-authorization-server<issuer path>`; the first that answers is used. The document's `issuer`
 * must be exactly the one asked for (Discovery §4.3, RFC 8414 §3.3), which keeps a document served elsewhere
 * from sending the device's tokens to another server, and it must name a `device_authorization_endpoint`
 * (RFC 8628 §4) and a `token_endpoint`.
 */
import { DeviceClientError } from "./errors";
import { HTTP_TIMEOUT_MS, networkReason } from "./http";

export interface DiscoveredEndpoints {
  deviceAuthorizationEndpoint: string;
  tokenEndpoint: string;
}

/** The metadata URLs to try, in order. */
export function metadataUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/+$/, "");
  return [`${url.origin}${path}/.well-known/openid-configuration`, `${url.origin}/.well-known/oauth-authorization-server${path}`];
}

async function fetchMetadata(url: string, fetchFn: typeof fetch): Promise<Record<string, unknown> | undefined> {
  const response = await fetchFn(url, { headers: { accept: "application/json" }, signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
  const text = await response.text();
  if (response.status === 404) return undefined;
  if (response.status !== 200) throw new DeviceClientError(`The IdP's metadata at ${url} answered HTTP ${response.status}`);
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new DeviceClientError(`The IdP's metadata at ${url} is not a JSON object`);
}

/** Discovers the device flow's endpoints of `issuer`, or throws a `DeviceClientError` saying what is missing. */
export async function discoverEndpoints(issuer: string, fetchFn: typeof fetch = fetch): Promise<DiscoveredEndpoints> {
  if (!URL.canParse(issuer)) throw new DeviceClientError(`The issuer ${JSON.stringify(issuer)} is not a URL`);
  for (const url of metadataUrls(issuer)) {
    let metadata: Record<string, unknown> | undefined;
    try {
      metadata = await fetchMetadata(url, fetchFn);
    } catch (err) {
      if (err instanceof DeviceClientError) throw err;
      throw new DeviceClientError(`Cannot reach the IdP's metadata at ${url}: ${networkReason(err)}`);
    }
    if (metadata === undefined) continue;
    if (metadata.issuer !== issuer) {
      throw new DeviceClientError(`The metadata at ${url} is for issuer ${JSON.stringify(metadata.issuer)}, not ${issuer}: refusing it`);
    }
    const device = metadata.device_authorization_endpoint;
    const token = metadata.token_endpoint;
    if (typeof device !== "string" || !URL.canParse(device) || typeof token !== "string" || !URL.canParse(token)) {
      throw new DeviceClientError(`The IdP ${issuer} publishes no device_authorization_endpoint and token_endpoint: it has no device flow`);
    }
    return { deviceAuthorizationEndpoint: device, tokenEndpoint: token };
  }
  throw new DeviceClientError(`The IdP ${issuer} publishes no metadata (tried ${metadataUrls(issuer).join(" and ")})`);
}
