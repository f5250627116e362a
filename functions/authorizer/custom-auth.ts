/**
 * Where AWS IoT Core carries custom-authorizer credentials (docs/aws-iot-custom-auth.md#where-the-token-arrives), for both sides:
 * the authorizer
 * reads a token from wherever IoT delivers it, and a device uses the same names to send one.
 */
import { createPrivateKey, sign, type KeyObject } from "node:crypto";

export const AUTHORIZER_NAME_KEY = "x-amz-customauthorizer-name";
export const SIGNATURE_KEY = "x-amz-customauthorizer-signature";

export interface CustomAuthCredentials {
  /** The IoT authorizer's name. */
  authorizerName: string;
  /** The name the authorizer declares for its token (`tokenKeyName`, `token` by default). */
  tokenKeyName: string;
  /** The JWT itself. */
  token: string;
  /** `signToken(token, privateKey)`; omit when the authorizer has signing disabled. */
  signature?: string;
}

/**
 * Signs a token for IoT's token-signature validation: RSA-SHA256 over the exact token string, in standard
 * base64 — the same bytes as `echo -n "$TOKEN" | openssl dgst -sha256 -sign private.pem | base64`.
 */
export function signToken(token: string, privateKey: string | KeyObject): string {
  const key = typeof privateKey === "string" ? createPrivateKey(privateKey) : privateKey;
  return sign("sha256", Buffer.from(token, "utf8"), key).toString("base64");
}

/** Headers for an HTTPS publish (`POST /topics/…`) or a WebSocket upgrade. */
export function customAuthHeaders(credentials: CustomAuthCredentials): Record<string, string> {
  return {
    [AUTHORIZER_NAME_KEY]: credentials.authorizerName,
    ...(credentials.signature !== undefined && { [SIGNATURE_KEY]: credentials.signature }),
    [credentials.tokenKeyName]: credentials.token,
  };
}

/** The query string form, for browsers (which cannot set WebSocket headers) and MQTT usernames. */
export function customAuthQuery(credentials: CustomAuthCredentials): string {
  return Object.entries(customAuthHeaders(credentials))
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join("&");
}

/**
 * The MQTT CONNECT username: `<username>?x-amz-customauthorizer-name=…&x-amz-customauthorizer-signature=…&token=…`
 * with URL-encoded values (the base64 signature's `+`, `/` and `=` must not reach IoT raw).
 */
export function customAuthMqttUsername(credentials: CustomAuthCredentials & { username?: string }): string {
  return `${credentials.username ?? ""}?${customAuthQuery(credentials)}`;
}

export type TokenLocation = "event.token" | "http-header" | "http-query" | "mqtt-username" | "mqtt-password";

export type TokenSearch =
  { found: true; token: string; location: TokenLocation } | { found: false; ambiguous: boolean; location?: TokenLocation };

interface EventShape {
  token?: unknown;
  protocolData?: {
    http?: { headers?: unknown; queryString?: unknown };
    mqtt?: { username?: unknown; password?: unknown };
  };
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** application/x-www-form-urlencoded decoding of one name or value, exactly as `URLSearchParams` does it. */
function formDecode(text: string): string {
  if (!/[%+]/.test(text)) return text;
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    // A malformed percent sequence: URLSearchParams keeps it as it is; let it say so.
    return new URLSearchParams(`x=${text}`).get("x") as string;
  }
}

/**
 * A query parameter's single value; a repeated parameter makes the credential ambiguous. Same answer as
 * `URLSearchParams.getAll` (a property test holds it to that), but only the wanted parameter is decoded:
 * the signature next to the token is long and percent-encoded, and this runs on every connection.
 */
export function queryValue(query: string, name: string): { value?: string; ambiguous: boolean } {
  let value: string | undefined;
  let count = 0;
  for (const pair of (query.startsWith("?") ? query.slice(1) : query).split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    if (formDecode(eq === -1 ? pair : pair.slice(0, eq)) !== name) continue;
    count++;
    value = eq === -1 ? "" : formDecode(pair.slice(eq + 1));
  }
  if (count > 1) return { ambiguous: true };
  return { value, ambiguous: false };
}

/**
 * Finds the token wherever IoT delivers it: `event.token` (what IoT validated the signature over, so it
 * wins), an HTTP header or query parameter named `tokenKeyName`, the MQTT username's query part (AWS SDKs
 * append their own metrics parameters there, so the query is parsed, never compared whole), or the MQTT
 * password (base64, as IoT hands it over).
 */
export function findToken(event: unknown, tokenKeyName: string): TokenSearch {
  const e = (asRecord(event) ?? {}) as EventShape;
  if (typeof e.token === "string" && e.token.length > 0) return { found: true, token: e.token, location: "event.token" };

  const protocolData = asRecord(e.protocolData);
  const http = asRecord(protocolData?.http);
  if (http) {
    const headers = asRecord(http.headers);
    if (headers) {
      const wanted = tokenKeyName.toLowerCase();
      const matches = Object.keys(headers).filter((k) => k.toLowerCase() === wanted);
      if (matches.length > 1) return { found: false, ambiguous: true, location: "http-header" };
      const value = matches.length === 1 ? headers[matches[0]] : undefined;
      if (typeof value === "string" && value.length > 0) return { found: true, token: value, location: "http-header" };
    }
    if (typeof http.queryString === "string") {
      const { value, ambiguous } = queryValue(http.queryString, tokenKeyName);
      if (ambiguous) return { found: false, ambiguous: true, location: "http-query" };
      if (value) return { found: true, token: value, location: "http-query" };
    }
  }

  const mqtt = asRecord(protocolData?.mqtt);
  if (mqtt) {
    if (typeof mqtt.username === "string") {
      const q = mqtt.username.indexOf("?");
      if (q !== -1) {
        const { value, ambiguous } = queryValue(mqtt.username.slice(q + 1), tokenKeyName);
        if (ambiguous) return { found: false, ambiguous: true, location: "mqtt-username" };
        if (value) return { found: true, token: value, location: "mqtt-username" };
      }
    }
    if (typeof mqtt.password === "string" && mqtt.password.length > 0) {
      const password = Buffer.from(mqtt.password, "base64").toString("utf8");
      if (password.length > 0) return { found: true, token: password, location: "mqtt-password" };
    }
  }
  return { found: false, ambiguous: false };
}
