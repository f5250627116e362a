/**
 * One MQTT connection as the gateway tracks it, from the accepted socket to its close: where it came from,
 * who it turned out to be (its session), and the timers that end or renew that session.
 */
import type * as AedesModule from "aedes";
import { type Session } from "./authorizer-response";
import { type HttpData } from "./credentials";
import { type PacketLink } from "./packet-link";

export interface Connection {
  id: string;
  transport: "mqtt" | "mqtts" | "wss";
  /** Over TLS with a client certificate (tls-listener.ts): the certificate's id, which authenticates the connection. */
  certificate?: { certificateId: string };
  serverName: string;
  /** The WebSocket upgrade request; absent over TCP. */
  http?: HttpData;
  clientId?: string;
  session?: Session;
  /** The event of the connection's first authorizer call, sent again at each refresh. */
  event?: Record<string, unknown>;
  client?: AedesModule.Client;
  /** What the CONNECT asked for: its protocol level, a Will, and the connect attributes IoT's policy sees. */
  connect?: { protocolVersion: number; will?: { topic: string; retain: boolean; tooLarge: boolean }; attributes: ConnectAttribute[] };
  /** Between the client and aedes: IoT's protocol rules, and for MQTT 5 the translation (packet-link.ts). */
  link?: PacketLink;
  refreshTimer?: NodeJS.Timeout;
  disconnectTimer?: NodeJS.Timeout;
  /** When the connection must end at the latest; a refresh can bring it forward, never push it back. */
  disconnectAt?: number;
  closed: boolean;
}

/** The `iot:ConnectAttributes` of a CONNECT (DG: Using connectAttributes): a Will, a persistent session. */
export type ConnectAttribute = "LastWill" | "PersistentConnect";

export function clearTimers(conn: Connection): void {
  clearTimeout(conn.refreshTimer);
  clearTimeout(conn.disconnectTimer);
  conn.refreshTimer = undefined;
  conn.disconnectTimer = undefined;
}

/** Ends the connection from the gateway's side; an MQTT 5 client is told why (`reasonCode`) first. */
export function forceDisconnect(conn: Connection, reasonCode: number): void {
  clearTimers(conn);
  if (conn.closed) return;
  conn.link?.disconnect(reasonCode);
  conn.client?.close();
}
