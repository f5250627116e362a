/**
 * Connections authenticated by an X.509 client certificate (MQTT over TLS, tls-listener.ts), as IoT
 * authenticates them on port 8883: the TLS handshake has already refused a certificate the CA did not sign or
 * that has expired; at CONNECT the gateway asks the certificate authority (the sandbox's registry,
 * sandbox/provisioning/) for the session that certificate gives this client id:
 *
 * - a claim certificate: the claim's policy (the fleet provisioning topics of its template only), and the
 *   connection ends five minutes after it was made (the device must have its own certificate by then);
 * - an active device certificate: the policies attached to it, with the thing policy variables of the thing
 *   named by the client id (`iot:Connection.Thing.ThingName` when that thing exists, the condition key
 *   `iot:Connection.Thing.IsAttached` true only when this certificate is attached to it);
 * - anything else (unknown, pending activation, inactive) connects to nothing.
 *
 * The policies are then enforced by the same evaluator as custom authentication's (permissions.ts).
 */
import { type Session } from "./authorizer-response";
import { type Connection, forceDisconnect } from "./connection";
import { REASON } from "./iot-mqtt-rules";
import { type GatewayLog } from "./log";

export type CertificateDecision =
  | { ok: true; session: Session; kind: "claim" | "device"; endsAt?: number }
  | { ok: false; reason: "certificate-unknown" | "certificate-inactive" };

/** What the gateway asks about a client certificate at CONNECT. */
export interface CertificateAuthority {
  authenticate(certificateId: string, clientId: string): CertificateDecision;
}

/** Starts an authenticated certificate session; a claim's connection is ended when its time is up. */
export function startCertificateSession(conn: Connection, decision: Extract<CertificateDecision, { ok: true }>, log: GatewayLog): void {
  conn.session = decision.session;
  if (decision.endsAt === undefined || conn.closed) return;
  conn.disconnectAt = decision.endsAt;
  conn.disconnectTimer = setTimeout(
    () => {
      log.disconnected(
        { transport: conn.transport, connectionId: conn.id, clientId: conn.clientId, principalId: conn.session?.principalId },
        "claim-connection-time",
      );
      forceDisconnect(conn, REASON.maximumConnectTime);
    },
    Math.max(0, decision.endsAt - Date.now()),
  );
  conn.disconnectTimer.unref();
}
