/**
 * A real JWKS endpoint on loopback whose answers a test or benchmark steers (keys, delay, status, raw body), and
 * a URI where nothing listens. Used by the authorizer's tests and by `npm run bench`.
 */
import http from "node:http";
import { type AddressInfo, type Socket } from "node:net";

/** What the JWKS server does on its next requests. */
export interface JwksBehaviour {
  keys: Record<string, unknown>[];
  /** Delay before answering, ms. */
  delayMs: number;
  /** Answer with this status instead of the document. */
  status: number;
  /** Raw body instead of the JSON document. */
  body?: string;
}

export class JwksServer {
  readonly behaviour: JwksBehaviour = { keys: [], delayMs: 0, status: 200 };
  requests = 0;
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();

  private constructor() {
    this.server = http.createServer((_req, res) => {
      this.requests++;
      const { delayMs, status, keys, body } = this.behaviour;
      const answer = (): void => {
        if (res.destroyed) return;
        res.writeHead(status, { "content-type": "application/json" });
        res.end(body ?? JSON.stringify({ keys }));
      };
      if (delayMs > 0) setTimeout(answer, delayMs).unref();
      else answer();
    });
    this.server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
  }

  static async start(): Promise<JwksServer> {
    const s = new JwksServer();
    await new Promise<void>((resolve) => s.server.listen(0, "127.0.0.1", resolve));
    return s;
  }

  get uri(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/.well-known/jwks.json`;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A port nothing listens on (bound, then released). */
export async function closedPortUri(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/jwks.json`;
}
