/**
 * Where IoT Core reads a custom authorizer's credentials (the authorizer name, the token signature and the
 * token) on each transport, and nowhere else:
 *
 * - MQTT over TCP: the username's query part
 * (`anything?x-amz-customauthorizer-name=…&x-amz-customauthorizer-signature=…&<tokenKeyName>=…`),
 *   other parameters such as the AWS SDKs' metrics ignored;
 * - MQTT over WebSocket: the upgrade request's headers or query string;
 * - HTTP publish: the request's headers or query string.
 *
 * A parameter given twice in a query is reported (`repeated`) rather than guessed at.
 */
import { type IncomingMessage } from "node:http";
import { AUTHORIZER_NAME_KEY, SIGNATURE_KEY } from "../../functions/authorizer/custom-auth";

export interface Credentials {
  authorizerName?: string;
  signature?: string;
  token?: string;
  /** The name of a parameter given more than once. */
  repeated?: string;
}

/** An HTTP request as IoT shows it to the authorizer (`protocolData.http`). */
export interface HttpData {
  headers: Record<string, string>;
  queryString: string;
}

export function httpData(req: IncomingMessage, url: URL): HttpData {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(",") : value;
  }
  return { headers, queryString: url.search };
}

/** The TLS server name IoT would see: the sandbox has no TLS, so the `Host` header stands in for SNI. */
export function serverName(req: IncomingMessage, fallback: string): string {
  return req.headers.host?.replace(/:\d+$/, "") ?? fallback;
}

function fromQuery(query: string, tokenKeyName: string): Credentials {
  const params = new URLSearchParams(query.startsWith("?") ? query.slice(1) : query);
  const credentials: Credentials = {};
  const names: [keyof Credentials, string][] = [
    ["authorizerName", AUTHORIZER_NAME_KEY],
    ["signature", SIGNATURE_KEY],
    ["token", tokenKeyName],
  ];
  for (const [field, name] of names) {
    const values = params.getAll(name);
    if (values.length > 1) credentials.repeated = name;
    else if (values.length === 1 && values[0].length > 0) credentials[field] = values[0];
  }
  return credentials;
}

/** Headers first, the query string for what the headers lack (browsers cannot set WebSocket headers). */
export function fromHttp(http: HttpData, tokenKeyName: string): Credentials {
  const query = fromQuery(http.queryString, tokenKeyName);
  const header = (name: string) => {
    const value = http.headers[name.toLowerCase()];
    return value !== undefined && value.length > 0 ? value : undefined;
  };
  return {
    authorizerName: header(AUTHORIZER_NAME_KEY) ?? query.authorizerName,
    signature: header(SIGNATURE_KEY) ?? query.signature,
    token: header(tokenKeyName) ?? query.token,
    ...(query.repeated !== undefined && { repeated: query.repeated }),
  };
}

/** The MQTT username's query part; the part before `?` and any other parameter are not IoT's business. */
export function fromUsername(username: string | undefined, tokenKeyName: string): Credentials {
  const q = username?.indexOf("?") ?? -1;
  return username !== undefined && q !== -1 ? fromQuery(username.slice(q + 1), tokenKeyName) : {};
}

/**
 * Whether a raw request (as far as Node's parser read it) carries the token signature broken over several
 * lines, as `openssl base64` without `-A` writes it: the signature header or query parameter followed by a
 * line break and more base64.
 */
export function signatureHasLineBreaks(raw: string): boolean {
  return new RegExp(`${SIGNATURE_KEY}[:=][ \\t]*[A-Za-z0-9+/=%]*\\r?\\n[A-Za-z0-9+/=]`, "i").test(raw);
}
