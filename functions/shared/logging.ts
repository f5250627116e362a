/**
 * The functions' logging port: structured fields in, one JSON line out (Lambda's JSON log format turns the
 * object passed to `console.*` into a structured line, with the level Lambda filters on). Each function takes
 * the levels it uses; tests and the sandbox pass their own sinks. What goes into the fields is the caller's
 * responsibility: never a token, code, secret, header or cookie, and anything an attacker chose truncated.
 */

export interface LogFields {
  [field: string]: string | number | boolean | undefined;
}

export interface LogSink {
  debug(fields: LogFields): void;
  info(fields: LogFields): void;
  warn(fields: LogFields): void;
  error(fields: LogFields): void;
}

/* eslint-disable no-console -- the Lambda's log sink */
export const consoleLogSink: LogSink = {
  debug: (fields) => console.debug(fields),
  info: (fields) => console.info(fields),
  warn: (fields) => console.warn(fields),
  error: (fields) => console.error(fields),
};
/* eslint-enable no-console */

/**
 * A value someone else chose (a thing name a device sent, a client id), made fit for a log line: printable
 * ASCII only, quotes and backslashes replaced, at most `max` characters.
 */
export function loggable(value: unknown, max = 64): string | undefined {
  if (typeof value !== "string") return undefined;
  const cleaned = value.replace(/[^\x20-\x7e]/g, "?").replace(/["\\]/g, "?");
  return cleaned.length > max ? `${cleaned.slice(0, max)}…` : cleaned;
}
