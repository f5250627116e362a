/**
 * `GET /.well-known/oauth-authorization-server` (RFC 8414): what a client can discover about this server,
 * derived from the configuration alone (so it may be cached for a few minutes): the endpoints, the grant
 * types, the client authentication methods the registered clients use, the offered scopes, and, when the
 * service issues ID tokens, where their key is and how they are signed.
 *
 * `response_types_supported` is REQUIRED by RFC 8414 §2, and §3.2 forbids an empty array, but this server
 * has no authorization endpoint: the device grant returns nothing through the browser (RFC 8628 §3.4: the
 * tokens come from the token endpoint). So it lists `none`, the registered response type whose meaning is
 * exactly that no credential is returned through the authorization response (OAuth 2.0 Multiple Response
 * Type Encoding Practices §4), and no `authorization_endpoint` is named (docs/device-grant.md#authorization-server-metadata).
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
  const signer = context.idTokens?.signer;
  return jsonResponse(
    200,
    {
      issuer: base,
      token_endpoint: `${base}${PATHS.token}`,
      device_authorization_endpoint: `${base}${PATHS.deviceAuthorization}`,
      response_types_supported: ["none"],
      grant_types_supported: [DEVICE_CODE_GRANT, ...(config.settings.resultTokenSet.includes("REFRESH") ? ["refresh_token"] : [])],
      token_endpoint_auth_methods_supported: [...methods],
      scopes_supported: config.scopes,
      ...(signer && { jwks_uri: `${base}${PATHS.jwks}`, id_token_signing_alg_values_supported: [signer.algorithm] }),
    },
    { noStore: false, headers: { "cache-control": "public, max-age=300" } },
  );
}
