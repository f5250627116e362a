/**
 * `GET /.well-known/oauth-authorization-server` (RFC 8414): what a client can discover about this server,
 * derived from the configuration alone (so it may be cached for a few minutes): the endpoints, the grant
 * types, the client authentication methods the registered clients use, and the offered scopes.
 */
import { type GrantContext } from "../context";
import { type HttpResponse, jsonResponse } from "../http";
import { PATHS } from "../routes";
import { DEVICE_CODE_GRANT } from "../../shared/oauth";

export function metadata(context: GrantContext): HttpResponse {
  const { config } = context;
  const methods = new Set<string>();
  for (const c of config.clients) {
    if (c.type === "public") methods.add("none");
    else {
      methods.add("client_secret_basic");
      methods.add("client_secret_post");
    }
  }
  const base = config.publicBaseUrl;
  // No authorization endpoint is offered, so `response_types_supported` is left out: RFC 8414 §3.2
  // says empty claims are omitted (erratum 7793 makes it required only with an authorization endpoint).
  return jsonResponse(
    200,
    {
      issuer: base,
      token_endpoint: `${base}${PATHS.token}`,
      device_authorization_endpoint: `${base}${PATHS.deviceAuthorization}`,
      grant_types_supported: [DEVICE_CODE_GRANT, ...(config.settings.resultTokenSet.includes("REFRESH") ? ["refresh_token"] : [])],
      token_endpoint_auth_methods_supported: [...methods],
      scopes_supported: config.scopes,
    },
    { noStore: false, headers: { "cache-control": "public, max-age=300" } },
  );
}
