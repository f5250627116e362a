/**
 * The gateway's three listeners, as IoT Core's endpoint offers them: MQTT over TCP, MQTT over WebSocket at
 * IoT's path `/mqtt`, and the HTTP publish endpoint. Both MQTT listeners hand each new stream to the
 * broker with a fresh `Connection`; closing them ends every open connection at once.
 *
 * An HTTP request Node's parser refuses before any handler runs (a header value with a line break, which is
 * what a signature from `openssl base64` without `-A` pasted into a header is) gets a real answer, 400 with a
 * JSON body, and a log line that says why, instead of an empty response.
 */
import { randomUUID } from "node:crypto";
import { createServer as createHttpServer, type IncomingMessage, type RequestListener, type Server as HttpServer } from "node:http";
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import { type Duplex } from "node:stream";
import { createWebSocketStream, WebSocketServer } from "ws";
import { closeServer, listen, urlHost } from "../servers";
import { type Connection } from "./connection";
import { httpData, serverName, signatureHasLineBreaks } from "./credentials";
import { type GatewayLog, SIGNATURE_LINE_BREAKS } from "./log";

export interface ListenerOptions {
  host: string;
  /** Takes a new MQTT stream (TCP or WebSocket) and the connection it opens. */
  accept(stream: Duplex, conn: Connection): void;
  handleHttp: RequestListener;
  log: GatewayLog;
}

/** Ports; 0 picks a free one. */
export interface ListenerPorts {
  mqtt: number;
  ws: number;
  http: number;
}

export interface ListenerUrls {
  mqttUrl: string;
  wsUrl: string;
  httpUrl: string;
}

/** Listens, saying which of the gateway's ports is taken when it is. */
function listenAs(server: NetServer | HttpServer, port: number, host: string, what: string): Promise<number> {
  return listen(server, port, host).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "EADDRINUSE") throw err;
    throw Object.assign(new Error(`The IoT gateway's ${what} port ${host}:${port} is in use; choose another port or stop what holds it`), {
      code: err.code,
      port,
    });
  });
}

export class Listeners {
  private readonly sockets = new Set<Socket>();
  private readonly mqttServer: NetServer;
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly wsServer: HttpServer;
  private readonly httpServer: HttpServer;

  constructor(private readonly options: ListenerOptions) {
    const { host, accept } = options;
    this.mqttServer = createNetServer((socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
      accept(socket, { id: randomUUID(), transport: "mqtt", serverName: host, closed: false });
    });
    this.wsServer = createHttpServer((_req, res) => {
      res.writeHead(426, { "content-type": "text/plain" }).end("Use a WebSocket (MQTT) connection to /mqtt\n");
    });
    this.wsServer.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
    this.httpServer = createHttpServer(options.handleHttp);
    this.wsServer.on("clientError", (err: Error & { rawPacket?: Buffer }, socket: Duplex) => this.badRequest("wss", err, socket));
    this.httpServer.on("clientError", (err: Error & { rawPacket?: Buffer }, socket: Duplex) => this.badRequest("https", err, socket));
  }

  /** A request the HTTP parser refused: 400 with a JSON body, and a log line naming a wrapped signature when it is one. */
  private badRequest(transport: "https" | "wss", err: Error & { rawPacket?: Buffer }, socket: Duplex): void {
    const wrapped = err.rawPacket !== undefined && signatureHasLineBreaks(err.rawPacket.toString("latin1"));
    const connectionId = randomUUID();
    const detail = wrapped ? SIGNATURE_LINE_BREAKS : "the HTTP request is malformed";
    this.options.log.refused({ transport, stage: "request", reason: "bad-request", connectionId, detail });
    if (!socket.writable) return void socket.destroy();
    const body = JSON.stringify({ message: wrapped ? `Bad Request: ${SIGNATURE_LINE_BREAKS}` : "Bad Request", traceId: connectionId });
    socket.end(
      `HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
        `x-amzn-requestid: ${connectionId}\r\nconnection: close\r\n\r\n${body}`,
    );
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? "/", "http://gateway");
    if (url.pathname !== "/mqtt") {
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n");
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.options.accept(createWebSocketStream(ws), {
        id: randomUUID(),
        transport: "wss",
        serverName: serverName(req, this.options.host),
        http: httpData(req, url),
        closed: false,
      });
    });
  }

  /** Listens on each port in turn; on failure the caller must still `close()`. */
  async listen(ports: ListenerPorts): Promise<ListenerUrls> {
    const host = this.options.host;
    const mqttPort = await listenAs(this.mqttServer, ports.mqtt, host, "MQTT");
    const wsPort = await listenAs(this.wsServer, ports.ws, host, "MQTT over WebSocket");
    const httpPort = await listenAs(this.httpServer, ports.http, host, "HTTP publish");
    return {
      mqttUrl: `mqtt://${urlHost(host)}:${mqttPort}`,
      wsUrl: `ws://${urlHost(host)}:${wsPort}/mqtt`,
      httpUrl: `http://${urlHost(host)}:${httpPort}`,
    };
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    for (const socket of this.sockets) socket.destroy();
    this.wsServer.closeAllConnections();
    this.httpServer.closeAllConnections();
    await Promise.all([this.mqttServer, this.wsServer, this.httpServer].map(closeServer));
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
