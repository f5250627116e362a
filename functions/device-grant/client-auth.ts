/**
 * The front door of the two OAuth endpoints (device authorization and token): the form body, the client's
 * authentication (RFC 6749 §2.3.1: `client_secret_basic`, `client_secret_post`, or a public client's bare
 * `client_id`, §3.2.1), and the scopes that client may request. Each refusal is an `OAuthError` value the
 * endpoint returns as it is.
 *
 * `invalid_client` is 401 with a `WWW-Authenticate` challenge when the client tried the Authorization header,
 * 400 otherwise (RFC 6749 §5.2). Its description is the same whatever failed (an unknown client id, a wrong
 * secret, a secret for a public client, none for a confidential one), so the answer never tells a caller
 * which client ids exist; the reason goes to the log. Secrets are compared in constant time (an unknown
 * client's too, against a stand-in); the one a device presented travels on to the IdP with the exchange and
 * is never stored.
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

/** The one description of every failed client authentication. */
export const CLIENT_AUTHENTICATION_FAILED = "client authentication failed";

/** A stand-in secret to compare with when the client is unknown, so that case takes as long as a wrong secret. */
const STAND_IN_SECRET = "unknown-client-stand-in-secret";

export function invalidClient(viaHeader: boolean, description: string = CLIENT_AUTHENTICATION_FAILED): OAuthError {
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
  if (basic === "malformed") return refused(context, true, "malformed-basic");
  if (basic !== undefined) {
    if (bodySecret !== undefined) return new OAuthError("invalid_request", "use one client authentication method, not two");
    if (bodyId !== undefined && bodyId !== basic.clientId)
      return new OAuthError("invalid_request", "client_id differs from the Authorization header");
    return checkSecret(context, basic.clientId, basic.clientSecret, "client_secret_basic", true);
  }
  if (bodyId === undefined) return refused(context, false, "no-client-authentication");
  if (bodySecret !== undefined) return checkSecret(context, bodyId, bodySecret, "client_secret_post", false);
  const client = context.clients.get(bodyId);
  if (!client) return refused(context, false, "unknown-client", bodyId);
  if (client.type !== "public") return refused(context, false, "secret-missing", bodyId);
  return { client, method: "none" };
}

/** `invalid_client`, the same for every reason; the reason (and the client id, made safe) goes to the log. */
function refused(context: GrantContext, viaHeader: boolean, reason: string, clientId?: string): OAuthError {
  context.logger.info({
    event: "client-authentication",
    outcome: "refused",
    reason,
    ...(clientId !== undefined && { clientId: safeName(clientId) }),
  });
  return invalidClient(viaHeader);
}

function checkSecret(
  context: GrantContext,
  clientId: string,
  secret: string,
  method: AuthenticatedClient["method"],
  viaHeader: boolean,
): AuthenticatedClient | OAuthError {
  const client = context.clients.get(clientId);
  const expected = client?.type === "confidential" ? context.clientSecrets(clientId) : undefined;
  // Compared whatever the client: an unknown id costs what a wrong secret costs.
  const matches = constantTimeEqual(secret, expected ?? STAND_IN_SECRET) && expected !== undefined;
  if (!client) return refused(context, viaHeader, "unknown-client", clientId);
  if (client.type === "public") return refused(context, viaHeader, "secret-for-public-client", clientId);
  if (expected === undefined) {
    context.logger.error({ event: "client-secret-missing", clientId });
    return invalidClient(viaHeader);
  }
  if (!matches) return refused(context, viaHeader, "wrong-secret", clientId);
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
