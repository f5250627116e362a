/**
 * `GET /.well-known/jwks.json` (RFC 7517 §5; the metadata's `jwks_uri`, RFC 8414 §2): the public key the
 * service's own ID tokens are signed with, so clients verify them without trusting the transport alone.
 * Without `ID` in the token set the service signs nothing and the set is empty. Derived from the
 * configuration alone, so it may be cached for a few minutes, as the metadata is.
 */
import { type GrantContext } from "../context";
import { type HttpResponse, jsonResponse } from "../http";

export function jwks(context: GrantContext): HttpResponse {
  const keys = context.idTokens ? [context.idTokens.signer.publicJwk] : [];
  return jsonResponse(200, { keys }, { noStore: false, headers: { "cache-control": "public, max-age=300" } });
}
