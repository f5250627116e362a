/**
 * The HTTP vocabulary of the device grant's core: a request and a response reduced to what the protocol
 * needs, whatever carried them (API Gateway payload 2.0 in Lambda, node:http in tests and the sandbox),
 * and the parsers the endpoints share. Every parser is strict where leniency would be a hole: a repeated
 * parameter is reported, never silently first- or last-wins (RFC 6749 §3.1, §3.2: "Request and response
 * parameters MUST NOT be included more than once").
 */

export interface HttpRequest {
  /** Upper case. */
  method: string;
  /** Path without the query, e.g. `/oauth2/token`. */
  path: string;
  /** The raw query string without `?` (API Gateway's `rawQueryString`): repeated parameters stay visible. */
  rawQuery: string;
  /** Header names in lower case; a header sent more than once is joined with `, ` (as API Gateway does). */
  headers: Readonly<Record<string, string>>;
  /** Cookie name → value (the first of a repeated name, as browsers send the most specific first). */
  cookies: Readonly<Record<string, string>>;
  /** The body as text (decoded from base64 by the adapter when needed). */
  body: string;
  /** The caller's IP as the edge saw it (API Gateway `requestContext.http.sourceIp`). */
  sourceIp: string;
  userAgent: string;
}

export interface HttpResponse {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  /** Full `Set-Cookie` values. */
  cookies?: string[];
  body: string;
}

/** Parameters of a form body or query string, with the names that appeared more than once. */
export interface ParsedParameters {
  params: ReadonlyMap<string, string>;
  /** Names given more than once (RFC 6749 §3.1 forbids it; the endpoints answer `invalid_request`). */
  repeated: string[];
}

/**
 * Parses `application/x-www-form-urlencoded` text (a POST body or a raw query string). A parameter with an
 * empty value counts as absent, as RFC 6749 §3.1 says ("Parameters sent without a value MUST be treated
 * as if they were omitted"), but still counts for repetition. Malformed percent-escapes make the whole
 * input `undefined`: a half-decoded parameter is worse than a refusal.
 */
export function parseParameters(text: string): ParsedParameters | undefined {
  const params = new Map<string, string>();
  const seen = new Set<string>();
  const repeated = new Set<string>();
  if (text === "") return { params, repeated: [] };
  for (const pair of text.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const rawName = eq < 0 ? pair : pair.slice(0, eq);
    const rawValue = eq < 0 ? "" : pair.slice(eq + 1);
    let name: string;
    let value: string;
    try {
      name = decodeURIComponent(rawName.replace(/\+/g, " "));
      value = decodeURIComponent(rawValue.replace(/\+/g, " "));
    } catch {
      return undefined;
    }
    if (seen.has(name)) repeated.add(name);
    seen.add(name);
    if (value !== "" && !params.has(name)) params.set(name, value);
  }
  return { params, repeated: [...repeated] };
}

/** Whether the request says its body is a form (parameters such as `; charset=UTF-8` allowed). */
export function isFormRequest(request: HttpRequest): boolean {
  const type = request.headers["content-type"] ?? "";
  return type.split(";")[0].trim().toLowerCase() === "application/x-www-form-urlencoded";
}

export type BasicCredentials = { clientId: string; clientSecret: string };

/**
 * Reads `client_secret_basic` credentials (RFC 6749 §2.3.1): `Basic base64(urlencode(id) ":" urlencode(secret))`.
 * The id and secret are form-urlencoded before base64, so both are decoded after the split: a secret
 * containing `:` or `%` arrives intact. Returns `undefined` when the header is absent and `"malformed"`
 * when it is present but is not usable Basic credentials (another scheme, bad base64, no colon, a bad
 * escape, an empty id).
 */
export function parseBasicAuthorization(header: string | undefined): BasicCredentials | "malformed" | undefined {
  if (header === undefined) return undefined;
  const match = /^Basic +([A-Za-z0-9+/]+=*) *$/i.exec(header);
  if (!match) return "malformed";
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  // Round-trip check: Node's decoder skips invalid characters silently.
  if (Buffer.from(decoded, "utf8").toString("base64").replace(/=+$/, "") !== match[1].replace(/=+$/, "")) return "malformed";
  const colon = decoded.indexOf(":");
  if (colon < 0) return "malformed";
  try {
    const clientId = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, " "));
    const clientSecret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, " "));
    if (clientId === "") return "malformed";
    return { clientId, clientSecret };
  } catch {
    return "malformed";
  }
}

/**
 * Parses `Cookie` header values (API Gateway payload 2.0 gives them as an array, node:http as one
 * `; `-separated string). The first occurrence of a name wins; values are percent-decoded when they can be.
 */
export function parseCookies(values: readonly string[] | string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  const list = values === undefined ? [] : typeof values === "string" ? [values] : values;
  for (const value of list) {
    for (const part of value.split(";")) {
      const eq = part.indexOf("=");
      if (eq < 0) continue;
      const name = part.slice(0, eq).trim();
      let v = part.slice(eq + 1).trim();
      if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1);
      if (name === "" || Object.hasOwn(cookies, name)) continue;
      try {
        cookies[name] = decodeURIComponent(v);
      } catch {
        cookies[name] = v;
      }
    }
  }
  return cookies;
}

/** A JSON response; `noStore` adds the headers RFC 6749 §5.1 / RFC 8628 §3.2 require on codes and tokens. */
export function jsonResponse(
  status: number,
  body: unknown,
  options: { noStore?: boolean; headers?: Record<string, string> } = {},
): HttpResponse {
  return {
    status,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "x-content-type-options": "nosniff",
      ...(options.noStore !== false && { "cache-control": "no-store", pragma: "no-cache" }),
      ...options.headers,
    },
    body: JSON.stringify(body),
  };
}

/** RFC 9110 §5.6.2 `tchar`, as a character class. */
const TCHAR = "[!#$%&'*+.^_`|~0-9A-Za-z-]";
/** RFC 9110 §10.1.5: a User-Agent starts with a product, `token ["/" product-version]`. */
const LEADING_PRODUCT = new RegExp(`^${TCHAR}+(?:/${TCHAR}+)?`);
/** Longest product the confirmation page shows. */
export const MAX_DEVICE_SOFTWARE_LENGTH = 48;

/**
 * What a device says it runs, for the confirmation page: the first product of its User-Agent
 * (`AcmeThermostat/2.4.1` of `AcmeThermostat/2.4.1 (firmware 7; +https://…)`), at most
 * `MAX_DEVICE_SOFTWARE_LENGTH` characters, or "" when the header does not start with one. A device can claim
 * anything here, so the page shows it as the device's claim, short, never as a verified fact; comments,
 * URLs and anything after the first product are dropped.
 */
export function deviceSoftware(userAgent: string): string {
  const product = LEADING_PRODUCT.exec(userAgent)?.[0] ?? "";
  return product.length > MAX_DEVICE_SOFTWARE_LENGTH ? `${product.slice(0, MAX_DEVICE_SOFTWARE_LENGTH - 1)}…` : product;
}
