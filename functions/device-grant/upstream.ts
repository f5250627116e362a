/**
 * The upstream IdP (Cognito's hosted UI or any OAuth 2.0 / OIDC provider) over `fetch`: the authorization
 * URL the browser is sent to on Approve, the code exchange on the device's next poll, and refresh
 * forwarding. The service never holds a client secret of its own: the exchange and the refresh use the
 * credentials the device presented on that very request (as the AWS device-grant sample does), so the IdP still decides
 * whether that client may have tokens.
 *
 * Every call has a deadline; a transport failure, a timeout or an unusable answer becomes an
 * `UpstreamResult` with `status` ≥ 500, never an exception, so the core can tell "the IdP said no" (pass
 * the OAuth error on) from "the IdP could not be asked" (let the device retry).
 */
import { basicAuthorizationHeader } from "../shared/oauth";
import { type UpstreamIdp, type UpstreamResult, type UpstreamTokens } from "./model";

export interface OidcUpstreamOptions {
  authorizationEndpoint: string;
  tokenEndpoint: string;
  /** Deadline of one token endpoint call, milliseconds (the Lambda's own timeout should be well above it). */
  timeoutMs?: number;
  /** Cap on the IdP's answer, bytes. */
  maxResponseBytes?: number;
  fetch?: typeof fetch;
}

const DEFAULT_TIMEOUT_MS = 5_000;
const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024;

/** An OAuth error code is ASCII without `"` or `\` (RFC 6749 §5.2); anything else is not passed on. */
const ERROR_CODE = /^[\x20\x21\x23-\x5b\x5d-\x7e]{1,64}$/;
const ERROR_TEXT = /^[\x20\x21\x23-\x5b\x5d-\x7e]{1,300}$/;

export function createOidcUpstream(options: OidcUpstreamOptions): UpstreamIdp {
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;

  async function tokenRequest(clientId: string, clientSecret: string | undefined, form: Record<string, string>): Promise<UpstreamResult> {
    const headers: Record<string, string> = {
      "content-type": "application/x-www-form-urlencoded",
      accept: "application/json",
    };
    // client_secret_basic for confidential clients, the id alone for public ones. `client_id` goes in the
    // body in both cases: Cognito documents it there alongside Basic, and cognito-local requires it.
    if (clientSecret !== undefined) headers.authorization = basicAuthorizationHeader(clientId, clientSecret);
    const body = new URLSearchParams({ ...form, client_id: clientId }).toString();
    let response: Response;
    let text: string;
    try {
      response = await doFetch(options.tokenEndpoint, {
        method: "POST",
        headers,
        body,
        redirect: "manual",
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await readCapped(response, maxBytes);
    } catch (err) {
      const name = (err as Error)?.name;
      return {
        ok: false,
        status: 504,
        error: "temporarily_unavailable",
        description:
          name === "TimeoutError" ? "the identity provider did not answer in time" : "the identity provider could not be reached",
      };
    }
    let json: Record<string, unknown> | undefined;
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) json = parsed as Record<string, unknown>;
    } catch {
      json = undefined;
    }
    if (response.status === 200 && json && typeof json.access_token === "string" && typeof json.token_type === "string") {
      const tokens: UpstreamTokens = { access_token: json.access_token, token_type: json.token_type };
      if (typeof json.expires_in === "number" && Number.isFinite(json.expires_in)) tokens.expires_in = json.expires_in;
      if (typeof json.id_token === "string") tokens.id_token = json.id_token;
      if (typeof json.refresh_token === "string") tokens.refresh_token = json.refresh_token;
      if (typeof json.scope === "string") tokens.scope = json.scope;
      return { ok: true, tokens };
    }
    if (response.status >= 400 && response.status < 500 && json && typeof json.error === "string" && ERROR_CODE.test(json.error)) {
      return {
        ok: false,
        status: response.status,
        error: json.error,
        ...(typeof json.error_description === "string" &&
          ERROR_TEXT.test(json.error_description) && { description: json.error_description }),
      };
    }
    return {
      ok: false,
      status: 502,
      error: "temporarily_unavailable",
      description: `the identity provider answered HTTP ${response.status} without a usable body`,
    };
  }

  return {
    authorizationUrl({ clientId, redirectUri, state, codeChallenge, scopes }) {
      const url = new URL(options.authorizationEndpoint);
      url.searchParams.set("response_type", "code");
      url.searchParams.set("client_id", clientId);
      url.searchParams.set("redirect_uri", redirectUri);
      if (scopes.length > 0) url.searchParams.set("scope", scopes.join(" "));
      url.searchParams.set("state", state);
      url.searchParams.set("code_challenge", codeChallenge);
      url.searchParams.set("code_challenge_method", "S256");
      return url.toString();
    },
    exchangeCode({ clientId, clientSecret, code, redirectUri, codeVerifier }) {
      return tokenRequest(clientId, clientSecret, {
        grant_type: "authorization_code",
        code,
        redirect_uri: redirectUri,
        code_verifier: codeVerifier,
      });
    },
    refresh({ clientId, clientSecret, refreshToken, scopes }) {
      return tokenRequest(clientId, clientSecret, {
        grant_type: "refresh_token",
        refresh_token: refreshToken,
        ...(scopes && scopes.length > 0 && { scope: scopes.join(" ") }),
      });
    },
  };
}

/** Reads a body up to `max` bytes; a longer one is cut (it will not parse, and becomes a 502). */
export async function readCapped(response: Response, max: number): Promise<string> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      break;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}
