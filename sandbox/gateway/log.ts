/**
 * The gateway's log: one JSON object per refusal or forced disconnect, so that a test or a developer can
 * see why IoT would have said no. Every line is built here from the fields below and nothing else, which
 * is how a line never carries a token, signature, username or password.
 */

/** `mqtts`: MQTT over TLS with a client certificate (tls-listener.ts). */
export type Transport = "mqtt" | "mqtts" | "wss" | "https";

/** Why a request was refused: the `reason` of the log line. */
export type Refusal =
  | "authorizer-name-missing"
  | "authorizer-name-unknown"
  | "credential-repeated"
  | "signature-missing"
  | "token-missing"
  | "signature-invalid"
  | "not-authenticated"
  | "authorizer-failed"
  | "invalid-authorizer-response"
  | "policy-denied"
  | "protocol-unsupported"
  | "qos-unsupported"
  | "payload-too-large"
  | "topic-alias-invalid"
  | "bad-request"
  | "tls-refused"
  | "certificate-unknown"
  | "certificate-inactive"
  | "provisioning-format-unsupported";

/** Topics and client ids are the client's choice: a log line carries at most this many of their characters. */
export const MAX_LOGGED_CHARS = 256;

function clip(text: string): string {
  return text.length > MAX_LOGGED_CHARS ? `${text.slice(0, MAX_LOGGED_CHARS)}…` : text;
}

export type LogWriter = (line: Record<string, unknown>) => void;

/** JSON lines on stderr: the default when the gateway is given no logger. */
export const stderrLogWriter: LogWriter = (line) => process.stderr.write(`${JSON.stringify(line)}\n`);

interface ConnectionFields {
  transport: Transport;
  connectionId?: string;
  clientId?: string;
  principalId?: string;
}

export interface RefusalFields extends ConnectionFields {
  stage: "connect" | "refresh" | "publish" | "subscribe" | "receive" | "request" | "tls";
  reason: Refusal;
  topic?: string;
  /** A fixed explanation chosen by the gateway (never text from the request), e.g. `SIGNATURE_LINE_BREAKS`. */
  detail?: string;
  /** The MQTT protocol level a refused CONNECT asked for. */
  protocolLevel?: number;
}

/** What the log says when a token signature was sent wrapped over several lines (`openssl base64` without `-A`). */
export const SIGNATURE_LINE_BREAKS = "the signature contains line breaks: use `openssl base64 -A`";

/** What a policy refusal's line says of the connection. */
export interface PolicyDeniedConnection {
  transport: Transport;
  id: string;
  clientId?: string;
  session?: { principalId: string };
}

export class GatewayLog {
  constructor(private readonly write: LogWriter) {}

  refused(fields: RefusalFields): void {
    const { topic, clientId } = fields;
    this.write({
      component: "iot-gateway",
      outcome: "refused",
      ...fields,
      ...(topic !== undefined && { topic: clip(topic) }),
      ...(clientId !== undefined && { clientId: clip(clientId) }),
    });
  }

  /** An operation of an MQTT connection the connection's policy refuses (`conn` undefined: a client the gateway never saw). */
  policyDenied(conn: PolicyDeniedConnection | undefined, stage: "publish" | "subscribe" | "receive", topic: string): void {
    this.connectionRefused(conn, stage, "policy-denied", topic);
  }

  /** An operation of an MQTT connection refused for `reason` (the policy, or IoT's protocol rules). */
  connectionRefused(
    conn: PolicyDeniedConnection | undefined,
    stage: "connect" | "publish" | "subscribe" | "receive",
    reason: Refusal,
    topic?: string,
  ): void {
    this.refused({
      transport: conn?.transport ?? "mqtt",
      stage,
      reason,
      connectionId: conn?.id,
      clientId: conn?.clientId,
      principalId: conn?.session?.principalId,
      topic,
    });
  }

  /** A connection closed because the authorizer's `disconnectAfterInSeconds` (or a claim's five minutes) ran out. */
  disconnected(fields: ConnectionFields, reason: "disconnectAfterInSeconds" | "claim-connection-time" = "disconnectAfterInSeconds"): void {
    const { transport, connectionId, clientId, principalId } = fields;
    this.write({
      component: "iot-gateway",
      outcome: "disconnected",
      reason,
      transport,
      connectionId,
      clientId,
      principalId,
    });
  }
}
