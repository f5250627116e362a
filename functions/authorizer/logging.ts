/**
 * What the authorizer logs, and through what. One structured line per decision, never the token: a denial
 * says which check failed, so an operator can tell why without seeing credentials. Anything taken from the
 * request is truncated first, since an attacker chooses it.
 */

export interface LogFields {
  [field: string]: string | number | boolean | undefined;
}
export interface Logger {
  /** A denial: one line per refused request, saying which check failed. */
  warn(fields: LogFields): void;
  /** An allowed request; off by default in the Lambda (application log level INFO). */
  debug(fields: LogFields): void;
  /** Something the operator must fix (configuration, an unexpected failure). */
  error(fields: LogFields): void;
}

/* eslint-disable no-console -- the Lambda's JSON log format turns these objects into structured lines. */
export const consoleLogger: Logger = {
  warn: (fields) => console.warn(fields),
  debug: (fields) => console.debug(fields),
  error: (fields) => console.error(fields),
};
/* eslint-enable no-console */

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
