/**
 * MQTT over TLS with client certificates (mutual TLS), as IoT Core serves it on port 8883
 * (docs/fleet-provisioning.md#mqtt-over-tls-with-a-client-certificate): the server presents a certificate the
 * sandbox's CA signed for its host, and requires a client certificate signed by that CA and within its validity
 * (TLS 1.2 or later). A connection whose certificate does not verify (none, another CA, an expired claim) never
 * reaches MQTT: it is closed as soon as the handshake ends, with one log line naming OpenSSL's reason
 * (`CERT_HAS_EXPIRED`…). The listener checks `authorized` itself rather than letting Node refuse the handshake,
 * because Node then reports only the reset that follows, not the reason; with TLS 1.3 a client sees the same in
 * both cases, a closed connection right after its handshake. An accepted stream goes to the broker like any other, with
 * the certificate's id (SHA-256 of its DER) on its connection, which authenticates it at CONNECT
 * (certificate-auth.ts).
 */
import { createHash, randomUUID } from "node:crypto";
import { type Socket } from "node:net";
import { createServer, type Server, type TLSSocket } from "node:tls";
import { closeServer, listen, urlHost } from "../servers";
import { type Connection } from "./connection";
import { type GatewayLog } from "./log";

export interface TlsListenerOptions {
  host: string;
  /** The CA whose certificates the listener accepts (PEM). */
  caPem: string;
  /** The server's certificate and key (PEM). */
  certificatePem: string;
  privateKeyPem: string;
  accept(stream: TLSSocket, conn: Connection): void;
  log: GatewayLog;
}

/** OpenSSL's and Node's reasons are fixed words (`CERT_HAS_EXPIRED`), still cut short for the log. */
function reasonOf(err: Error & { code?: unknown }): string {
  const code = typeof err.code === "string" ? err.code : err.message;
  return code.slice(0, 120);
}

export class TlsListener {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly options: TlsListenerOptions) {
    this.server = createServer(
      {
        key: options.privateKeyPem,
        cert: options.certificatePem,
        ca: [options.caPem],
        requestCert: true,
        rejectUnauthorized: false, // checked in `secured`, to log why

        minVersion: "TLSv1.2",
      },
      (socket) => this.secured(socket),
    );
    this.server.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    this.server.on("tlsClientError", (err: Error & { code?: unknown }, socket: TLSSocket) => this.refuse(socket, err));
  }

  private refuse(socket: TLSSocket, err: Error & { code?: unknown }): void {
    this.options.log.refused({
      transport: "mqtts",
      stage: "tls",
      reason: "tls-refused",
      connectionId: randomUUID(),
      detail: reasonOf(err),
    });
    socket.destroy();
  }

  private secured(socket: TLSSocket): void {
    const peer = socket.getPeerCertificate();
    if (!socket.authorized || peer.raw === undefined) {
      const reason = socket.authorizationError ?? "no client certificate";
      this.refuse(socket, Object.assign(new Error(String(reason)), { code: String(reason) }));
      return;
    }
    const certificateId = createHash("sha256").update(peer.raw).digest("hex");
    const serverName = typeof socket.servername === "string" && socket.servername !== "" ? socket.servername : this.options.host;
    this.options.accept(socket, { id: randomUUID(), transport: "mqtts", serverName, certificate: { certificateId }, closed: false });
  }

  /** Listens; the URL devices connect to (`mqtts://host:port`). */
  async listen(port: number): Promise<string> {
    const bound = await listen(this.server, port, this.options.host).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "EADDRINUSE") throw err;
      throw Object.assign(new Error(`The IoT gateway's MQTT over TLS port ${this.options.host}:${port} is in use`), {
        code: err.code,
        port,
      });
    });
    return `mqtts://${urlHost(this.options.host)}:${bound}`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await closeServer(this.server);
  }
}
