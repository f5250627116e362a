/**
 * API Gateway HTTP API (payload format 2.0) ⇄ the core's `HttpRequest`/`HttpResponse`. Only what the
 * core needs is read; anything missing or odd becomes an empty value rather than an exception, so a
 * strange event yields a protocol error or an error page, never a crash.
 *
 * Payload 2.0 details that matter here: header names arrive lower-cased with repeated headers joined by
 * commas; cookies arrive in their own `cookies` array and must be sent back in the response's `cookies`
 * array (API Gateway turns each into a `Set-Cookie`); `rawQueryString` keeps repeated parameters that
 * `queryStringParameters` would join; a body may be base64 (`isBase64Encoded`).
 */
import { type HttpRequest, type HttpResponse, parseCookies } from "./http";

/** The parts of a payload 2.0 event the adapter reads (the full type lives in @types/aws-lambda). */
export interface ApiGatewayV2Event {
  version?: string;
  rawPath?: string;
  rawQueryString?: string;
  cookies?: string[];
  headers?: Record<string, string | undefined>;
  body?: string;
  isBase64Encoded?: boolean;
  requestContext?: {
    http?: { method?: string; path?: string; sourceIp?: string; userAgent?: string };
  };
}

export interface ApiGatewayV2Result {
  statusCode: number;
  headers: Record<string, string>;
  cookies?: string[];
  body: string;
  isBase64Encoded: false;
}

function asString(value: unknown): string {
  return typeof value === "string" ? value : "";
}

export function fromApiGatewayEvent(event: unknown): HttpRequest {
  const e = (event !== null && typeof event === "object" ? event : {}) as ApiGatewayV2Event;
  const http = e.requestContext?.http ?? {};
  const headers: Record<string, string> = {};
  if (e.headers && typeof e.headers === "object") {
    for (const [name, value] of Object.entries(e.headers)) if (typeof value === "string") headers[name.toLowerCase()] = value;
  }
  const rawBody = asString(e.body);
  const body = e.isBase64Encoded === true ? Buffer.from(rawBody, "base64").toString("utf8") : rawBody;
  const cookieList = Array.isArray(e.cookies)
    ? e.cookies.filter((c): c is string => typeof c === "string")
    : headers.cookie !== undefined
      ? [headers.cookie]
      : [];
  return {
    method: asString(http.method).toUpperCase(),
    path: asString(e.rawPath) || asString(http.path),
    rawQuery: asString(e.rawQueryString),
    headers,
    cookies: parseCookies(cookieList),
    body,
    sourceIp: asString(http.sourceIp),
    userAgent: asString(http.userAgent) || (headers["user-agent"] ?? ""),
  };
}

export function toApiGatewayResult(response: HttpResponse): ApiGatewayV2Result {
  return {
    statusCode: response.status,
    headers: response.headers,
    ...(response.cookies && response.cookies.length > 0 && { cookies: response.cookies }),
    body: response.body,
    isBase64Encoded: false,
  };
}
