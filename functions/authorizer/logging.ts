/**
 * What the authorizer logs, and through what. One structured line per decision, never the token: a denial
 * says which check failed, so an operator can tell why without seeing credentials. Anything taken from the
 * request is truncated first, since an attacker chooses it, and every line the authorizer writes goes through
 * `boundedLogger`, so no path (a `kid` quoted in a reason, an untrusted `iss`, a JWKS error) can make a line
 * longer than `MAX_LOG_LINE_CHARS`.
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

/** The longest line (the fields as JSON) the authorizer writes, whatever a request carries. */
export const MAX_LOG_LINE_CHARS = 1_024;
/** A denial's reason, as JSON text; values quoted inside it are cut shorter where they are quoted. */
const REASON_CHARS = 400;
/** Any other field, as JSON text: an issuer, a connection id, the protocols, an error's name. */
const FIELD_CHARS = 128;

/** Characters JSON writes as more than one: a quote, a backslash, control characters, lone surrogate halves. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const ESCAPED_IN_JSON = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * Truncates attacker-supplied text before it reaches a log line: at most `max` characters once written as JSON
 * (a quote or a control character takes two to six), then `…`.
 */
export function forLog(value: unknown, max = 200): string | undefined {
  if (typeof value !== "string") return undefined;
  if (value.length <= max && !ESCAPED_IN_JSON.test(value)) return value;
  let width = 0;
  let end = 0;
  for (const char of value) {
    width += JSON.stringify(char).length - 2;
    if (width > max) return `${value.slice(0, end)}…`;
    end += char.length;
  }
  return value;
}

/** The fields with every string cut to its bound: what `boundedLogger` writes (the same object when none needs it). */
export function boundedFields(fields: LogFields): LogFields {
  let bounded: LogFields | undefined;
  for (const name in fields) {
    const value = fields[name];
    if (typeof value !== "string") continue;
    const cut = forLog(value, name === "reason" ? REASON_CHARS : FIELD_CHARS);
    if (cut !== value) (bounded ??= { ...fields })[name] = cut;
  }
  return bounded ?? fields;
}

/** A logger that writes every line through `boundedFields`. */
export function boundedLogger(logger: Logger): Logger {
  return {
    warn: (fields) => logger.warn(boundedFields(fields)),
    debug: (fields) => logger.debug(boundedFields(fields)),
    error: (fields) => logger.error(boundedFields(fields)),
  };
}

/** The IoT connection id of an event, to tie a decision's line to the connection's other logs. */
export function connectionIdOf(event: unknown): string | undefined {
  const metadata = (event as { connectionMetadata?: { id?: unknown } } | null)?.connectionMetadata;
  return forLog(typeof metadata === "object" && metadata !== null ? metadata.id : undefined, FIELD_CHARS);
}

/**
 * The MQTT client id the device sent (IoT's `protocolData.mqtt.clientId`), cut to its bound: it is what an operator
 * knows a device by when asked why it was refused (docs/operations.md#why-was-this-device-refused). Chosen by the
 * device, so never trusted for anything but finding log lines.
 */
export function clientIdOf(event: unknown): string | undefined {
  const mqtt = (event as { protocolData?: { mqtt?: { clientId?: unknown } } } | null)?.protocolData?.mqtt;
  return forLog(typeof mqtt === "object" && mqtt !== null ? mqtt.clientId : undefined, FIELD_CHARS);
}

/** The protocols the request came over, as IoT lists them; a denial's line names them. */
export function protocolsOf(event: unknown): string | undefined {
  const protocols = (event as { protocols?: unknown } | null)?.protocols;
  return Array.isArray(protocols) ? forLog(protocols.filter((p) => typeof p === "string").join(","), FIELD_CHARS) : undefined;
}
