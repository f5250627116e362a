/**
 * The front door of the two OAuth endpoints (device authorization and token): the form body, the client's
 * authentication (RFC 6749 §2.3.1: `client_secret_basic`, `client_secret_post`, or a public client's bare
 * `client_id`, §3.2.1), and the scopes that client may request. Each refusal is an `OAuthError` value the
 * endpoint returns as it is.
 *
 * `invalid_client` is 401 with a `WWW-Authenticate` challenge when the client tried the Authorization header,
 * 400 otherwise (RFC 6749 §5.2). Secrets are compared in constant time; the one a device presented travels
 * on to the IdP with the exchange and is never stored.
 */
import { constantTimeEqual } from "./codes";
import { type GrantContext } from "./context";
import { OAuthError, safeName } from "./errors";
import { type HttpRequest, isFormRequest, parseBasicAuthorization, parseParameters } from "./http";
import { type ClientRegistration } from "./model";

export interface AuthenticatedClient {
  client: ClientRegistration;
  /** The secret the device presented (forwarded to the IdP; never stored). */
  secret?: string;
  method: "client_secret_basic" | "client_secret_post" | "none";
}

/** The parameters of a POST form (the router has already checked the method). */
export function readForm(request: HttpRequest): ReadonlyMap<string, string> | OAuthError {
  if (!isFormRequest(request)) return new OAuthError("invalid_request", "the body must be application/x-www-form-urlencoded");
  const parsed = parseParameters(request.body);
  if (!parsed) return new OAuthError("invalid_request", "the form body is malformed");
  if (parsed.repeated.length > 0)
    return new OAuthError("invalid_request", `parameter(s) given more than once: ${parsed.repeated.map(safeName).join(", ")}`);
  return parsed.params;
}

export function invalidClient(viaHeader: boolean, description: string): OAuthError {
  return viaHeader
    ? new OAuthError("invalid_client", description, 401, { "www-authenticate": 'Basic realm="oauth2", charset="UTF-8"' })
    : new OAuthError("invalid_client", description, 400);
}

export function authenticateClient(
  context: GrantContext,
  request: HttpRequest,
  params: ReadonlyMap<string, string>,
): AuthenticatedClient | OAuthError {
  const basic = parseBasicAuthorization(request.headers.authorization);
  const bodyId = params.get("client_id");
  const bodySecret = params.get("client_secret");
  if (basic === "malformed") return invalidClient(true, "the Authorization header is not usable client_secret_basic credentials");
  if (basic !== undefined) {
    if (bodySecret !== undefined) return new OAuthError("invalid_request", "use one client authentication method, not two");
    if (bodyId !== undefined && bodyId !== basic.clientId)
      return new OAuthError("invalid_request", "client_id differs from the Authorization header");
    return checkSecret(context, basic.clientId, basic.clientSecret, "client_secret_basic", true);
  }
  if (bodyId === undefined) return invalidClient(false, "client authentication is required (client_id)");
  if (bodySecret !== undefined) return checkSecret(context, bodyId, bodySecret, "client_secret_post", false);
  const client = context.clients.get(bodyId);
  if (!client) return invalidClient(false, "unknown client");
  if (client.type !== "public") return invalidClient(false, "this client must authenticate with its secret");
  return { client, method: "none" };
}

function checkSecret(
  context: GrantContext,
  clientId: string,
  secret: string,
  method: AuthenticatedClient["method"],
  viaHeader: boolean,
): AuthenticatedClient | OAuthError {
  const client = context.clients.get(clientId);
  if (!client) return invalidClient(viaHeader, "unknown client");
  if (client.type === "public") return invalidClient(viaHeader, "this client is public and has no secret");
  const expected = context.clientSecrets(clientId);
  if (expected === undefined) {
    context.logger.error({ event: "client-secret-missing", clientId });
    return invalidClient(viaHeader, "client authentication failed");
  }
  if (!constantTimeEqual(secret, expected)) return invalidClient(viaHeader, "client authentication failed");
  return { client, secret, method };
}

/** The scopes asked for (all of the client's when none are named), each one allowed for the client. */
export function requestedScopes(client: ClientRegistration, scope: string | undefined): string[] | OAuthError {
  if (scope === undefined) return [...client.scopes];
  const wanted = [...new Set(scope.split(" ").filter((s) => s !== ""))];
  if (wanted.length === 0) return [...client.scopes];
  const refused = wanted.filter((s) => !client.scopes.includes(s));
  if (refused.length > 0) return new OAuthError("invalid_scope", "a requested scope is not allowed for this client");
  return wanted;
}
