/**
 * How the client talks to the device grant service's endpoints (device authorization and token): one form
 * POST with the client's authentication, and the readings of an answer that both the device flow and the
 * refresh need: the error in words, a refused client, a token response checked before it is stored.
 */
import { basicAuthorizationHeader } from "../functions/shared/oauth";
import { LoginError, ProtocolError } from "./errors";
import { HTTP_TIMEOUT_MS } from "./http";
import { type ClientContext } from "./options";

export interface OAuthAnswer {
  status: number;
  body?: Record<string, unknown>;
}

export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in?: number;
  refresh_token?: string;
  scope?: string;
}

type OAuthCaller = Pick<ClientContext, "options" | "fetch">;

/** Client authentication: client_secret_basic for a confidential client, `client_id` in the form for a public one. */
export async function postForm(
  caller: OAuthCaller,
  url: string,
  fields: Record<string, string>,
  signal?: AbortSignal,
): Promise<OAuthAnswer> {
  const { clientId, clientSecret } = caller.options;
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded", accept: "application/json" };
  const form = new URLSearchParams(fields);
  if (clientSecret !== undefined) headers.authorization = basicAuthorizationHeader(clientId, clientSecret);
  else form.set("client_id", clientId);
  const timeout = AbortSignal.timeout(HTTP_TIMEOUT_MS);
  const response = await caller.fetch(url, {
    method: "POST",
    headers,
    body: form.toString(),
    signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
  });
  const text = await response.text();
  let body: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
  } catch {
    body = undefined;
  }
  return { status: response.status, body };
}

/** The answer's error code and description, or its status when it carries none. */
export function describeAnswer(answer: OAuthAnswer): string {
  const error = typeof answer.body?.error === "string" ? answer.body.error : undefined;
  const description = typeof answer.body?.error_description === "string" ? answer.body.error_description : undefined;
  if (error) return `${error}${description ? `: ${description}` : ""}`;
  return `HTTP ${answer.status}${answer.body ? "" : " without a JSON body"}`;
}

/** A refused client is a configuration mistake, whatever the request: say which setting to check. */
export function clientProblem(options: ClientContext["options"], answer: OAuthAnswer, where: string): LoginError | undefined {
  const error = answer.body?.error;
  if (error === "invalid_client" || error === "unauthorized_client") {
    return new LoginError(
      error,
      `The device grant service at ${where} refused client ${options.clientId} (${describeAnswer(answer)}): check the client id` +
        (options.clientSecret !== undefined ? " and secret" : " (a confidential client also needs its secret)"),
    );
  }
  return undefined;
}

/** A successful token answer, checked: an access token the client can store and present as a Bearer token. */
export function readTokenResponse(answer: OAuthAnswer, grant: string): TokenResponse {
  const b = answer.body ?? {};
  if (typeof b.access_token !== "string" || b.access_token === "" || typeof b.token_type !== "string") {
    throw new ProtocolError(`The ${grant} token response lacks access_token or token_type`);
  }
  if (b.token_type.toLowerCase() !== "bearer")
    throw new ProtocolError(`The ${grant} token response has token_type ${b.token_type}, not Bearer`);
  return {
    access_token: b.access_token,
    token_type: b.token_type,
    ...(typeof b.expires_in === "number" && { expires_in: b.expires_in }),
    ...(typeof b.refresh_token === "string" && { refresh_token: b.refresh_token }),
    ...(typeof b.scope === "string" && { scope: b.scope }),
  };
}
