/**
 * What the device grant tells the caller when a request fails, and what it tells the operator: the OAuth
 * error answer of the JSON endpoints (RFC 6749 §5.2, RFC 8628 §3.5), the logger port, and the one filter
 * that keeps attacker-supplied names printable and short wherever they are echoed. Log lines carry event
 * names, client ids and outcomes: never a code, token, secret, header or cookie.
 */
import { consoleLogSink, type LogFields, type LogSink } from "../shared/logging";
import { type HttpResponse, jsonResponse } from "./http";

/** An OAuth error: a value, not a throw, so every endpoint returns its refusals like its answers. */
export class OAuthError {
  constructor(
    readonly error: string,
    readonly description: string,
    readonly status = 400,
    readonly headers: Record<string, string> = {},
  ) {}
  response(): HttpResponse {
    return jsonResponse(this.status, { error: this.error, error_description: this.description }, { headers: this.headers });
  }
}

export { type LogFields };

/** The levels the device grant writes. Lines carry event names, client ids and outcomes: never a code, token, secret, header or cookie. */
export type ServiceLogger = Pick<LogSink, "info" | "warn" | "error">;

export const consoleServiceLogger: ServiceLogger = consoleLogSink;

/** Attacker-supplied names in logs and error descriptions: printable ASCII only, short. */
export function safeName(value: string): string {
  const cleaned = value.replace(/[^\x20-\x7e]/g, "?").replace(/["\\]/g, "?");
  return cleaned.length > 64 ? `${cleaned.slice(0, 64)}…` : cleaned;
}
