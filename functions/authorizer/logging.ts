/**
 * What the authorizer logs, and through what. One structured line per decision, never the token: a denial
 * says which check failed, so an operator can tell why without seeing credentials. Anything taken from the
 * request is truncated first, since an attacker chooses it.
 */
import { consoleLogSink, type LogFields, type LogSink } from "../shared/logging";

export { type LogFields };

/**
 * The levels the authorizer writes: `warn` for a denial (one line per refused request, naming the check that
 * failed), `debug` for an allowed request (off by default in the Lambda, whose application log level is INFO),
 * `error` for what the operator must fix (configuration, an unexpected failure).
 */
export type Logger = Pick<LogSink, "warn" | "debug" | "error">;

export const consoleLogger: Logger = consoleLogSink;

/** Truncates attacker-supplied text before it reaches a log line. */
export function forLog(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  return value.length > 200 ? `${value.slice(0, 200)}…` : value;
}

/** The IoT connection id of an event, to tie a decision's line to the connection's other logs. */
export function connectionIdOf(event: unknown): string | undefined {
  const metadata = (event as { connectionMetadata?: { id?: unknown } } | null)?.connectionMetadata;
  return forLog(typeof metadata === "object" && metadata !== null ? metadata.id : undefined);
}

/** The protocols the request came over, as IoT lists them; a denial's line names them. */
export function protocolsOf(event: unknown): string | undefined {
  const protocols = (event as { protocols?: unknown } | null)?.protocols;
  return Array.isArray(protocols) ? forLog(protocols.filter((p) => typeof p === "string").join(",")) : undefined;
}
