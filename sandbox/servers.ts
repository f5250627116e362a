/**
 * Listening and closing, as every server of the sandbox does it: on the given host and port (0 picks a free
 * one), closing open connections too (keep-alive sockets of the AWS SDK or a browser would hold `close()` open),
 * and URLs with an IPv6 host in brackets.
 */
import { type Server as HttpServer } from "node:http";
import { type AddressInfo, type Server as NetServer } from "node:net";

/** Starts listening and resolves with the port, or rejects with Node's own error (its `code` and `port` intact). */
export function listen(server: NetServer | HttpServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.removeListener("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Stops accepting, ends every open connection of an HTTP server, and resolves once closed. */
export function closeServer(server: NetServer | HttpServer): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    if ("closeAllConnections" in server) server.closeAllConnections();
  });
}

/** The host as a URL writes it: an IPv6 address in brackets. */
export function urlHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}
