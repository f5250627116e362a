/**
 * API Gateway HTTP API, payload format 2.0, for functions that answer one JSON route behind a JWT authorizer
 * (the provisioning claim today; the device grant keeps its own adapter with cookies and forms). Only what a
 * JSON endpoint needs is read, and anything missing or odd becomes an empty value rather than an exception,
 * so a strange event gets a JSON error, never a crash.
 *
 * What API Gateway passes (docs/fleet-provisioning.md#the-claim-route): header names in lower case, repeated
 * headers joined by commas; a body that may be base64 (`isBase64Encoded`); and, after its JWT authorizer has
 * checked the token, the token's claims at `requestContext.authorizer.jwt.claims` (values as API Gateway
 * serialises them) and the route's matched scopes at `requestContext.authorizer.jwt.scopes`.
 */
import { isObject } from "./checks";

/** A request as a JSON endpoint sees it. */
export interface JsonApiRequest {
  /** Upper case. */
  method: string;
  path: string;
  /** Header names in lower case. */
  headers: Readonly<Record<string, string>>;
  /** The body as text (decoded from base64 when API Gateway encoded it). */
  body: string;
  sourceIp: string;
  /** The JWT authorizer's claims, or undefined when the route had no JWT authorizer. */
  claims: Readonly<Record<string, unknown>> | undefined;
  /** The scopes API Gateway matched for the route (empty when none were reported). */
  scopes: readonly string[];
}

/** What a payload 2.0 integration returns. */
export interface HttpApiResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded: false;
}

function record(value: unknown): Record<string, unknown> {
  return isObject(value) ? value : {};
}

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/** Reads a payload 2.0 event; never throws. */
export function readHttpApiEvent(event: unknown): JsonApiRequest {
  const e = record(event);
  const context = record(e.requestContext);
  const http = record(context.http);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(record(e.headers))) if (typeof value === "string") headers[name.toLowerCase()] = value;
  const rawBody = text(e.body);
  const body = e.isBase64Encoded === true ? Buffer.from(rawBody, "base64").toString("utf8") : rawBody;
  const jwt = record(record(context.authorizer).jwt);
  const claims = isObject(jwt.claims) ? jwt.claims : undefined;
  const scopes = Array.isArray(jwt.scopes) ? jwt.scopes.filter((s): s is string => typeof s === "string") : [];
  return {
    method: text(http.method).toUpperCase(),
    path: text(e.rawPath) || text(http.path),
    headers,
    body,
    sourceIp: text(http.sourceIp),
    claims,
    scopes,
  };
}

/**
 * A JSON answer. Every answer of these endpoints may carry credentials or say something about them, so none
 * may be cached (`no-store`, and `Pragma` for HTTP/1.0 caches).
 */
export function jsonResult(status: number, body: unknown, headers: Record<string, string> = {}): HttpApiResult {
  return {
    statusCode: status,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store",
      pragma: "no-cache",
      "x-content-type-options": "nosniff",
      ...headers,
    },
    body: JSON.stringify(body),
    isBase64Encoded: false,
  };
}
