/**
 * A local stand-in for API Gateway's HTTP API: a node:http server that turns each real HTTP request into a
 * payload format 2.0 event, calls the Lambda handler with it, and writes the handler's result back. The
 * tests drive the device grant through it with real HTTP clients (openid-client, oauth4webapi, a scripted
 * browser), and the local sandbox serves the same handler with it, so the adapter in `apigw.ts` is
 * exercised exactly as on AWS.
 *
 * What it reproduces from API Gateway: lower-cased header names with repeated headers joined by commas;
 * cookies moved from the `Cookie` header into the `cookies` array; `rawPath` and `rawQueryString` as
 * sent; bodies base64-encoded (`isBase64Encoded`) unless their type is textual (text/*, JSON); the
 * response's `cookies` written as `Set-Cookie` headers. What it does not: routes (the handler answers
 * every path, as every route of the HTTP API goes to one function), throttling, size limits, TLS.
 */
import { randomUUID } from "node:crypto";
import http from "node:http";
import { closeServer, listen, urlHost } from "./servers";

export interface LocalResult {
  statusCode: number;
  headers?: Record<string, string>;
  cookies?: string[];
  body?: string;
  isBase64Encoded?: boolean;
}

export type LocalHandler = (event: unknown) => Promise<LocalResult>;

export interface LocalServerOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** 127.0.0.1 by default. */
  host?: string;
  /**
   * The `sourceIp` of each event: the TCP peer by default (IPv4-mapped IPv6 reduced to IPv4), as API
   * Gateway reports the client's address. Tests that need several client addresses pass their own.
   */
  sourceIp?: (request: http.IncomingMessage) => string;
  /** Largest accepted body, bytes (API Gateway's limit is 10 MB; the device grant needs a few KB). */
  maxBodyBytes?: number;
}

export interface LocalServer {
  /** `http://HOST:PORT`, no trailing slash. */
  url: string;
  stop(): Promise<void>;
}

const TEXTUAL = /^(text\/|application\/json\b)/i;

function peerAddress(request: http.IncomingMessage): string {
  const address = request.socket.remoteAddress ?? "";
  return address.startsWith("::ffff:") ? address.slice(7) : address;
}

/** Builds the payload 2.0 event API Gateway would send for this request. */
export function toPayloadV2Event(request: http.IncomingMessage, body: Buffer, sourceIp: string): Record<string, unknown> {
  const url = new URL(request.url ?? "/", "http://local");
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (let i = 0; i < request.rawHeaders.length; i += 2) {
    const name = request.rawHeaders[i].toLowerCase();
    const value = request.rawHeaders[i + 1];
    if (name === "cookie") {
      cookies.push(
        ...value
          .split(";")
          .map((c) => c.trim())
          .filter((c) => c !== ""),
      );
      continue;
    }
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  const rawQueryString = (request.url ?? "").includes("?") ? (request.url ?? "").slice((request.url ?? "").indexOf("?") + 1) : "";
  const textual = TEXTUAL.test(headers["content-type"] ?? "");
  const now = Date.now();
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: url.pathname,
    rawQueryString,
    ...(cookies.length > 0 && { cookies }),
    headers,
    ...(rawQueryString !== "" && { queryStringParameters: Object.fromEntries(url.searchParams) }),
    requestContext: {
      accountId: "000000000000",
      apiId: "local",
      domainName: headers.host ?? "localhost",
      http: {
        method: request.method ?? "GET",
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp,
        userAgent: headers["user-agent"] ?? "",
      },
      requestId: randomUUID(),
      routeKey: "$default",
      stage: "$default",
      time: new Date(now).toUTCString(),
      timeEpoch: now,
    },
    ...(body.length > 0 && { body: textual ? body.toString("utf8") : body.toString("base64"), isBase64Encoded: !textual }),
    ...(body.length === 0 && { isBase64Encoded: false }),
  };
}

/** Starts the server; `stop()` closes it and every open connection. */
export async function startLocalServer(handler: LocalHandler, options: LocalServerOptions = {}): Promise<LocalServer> {
  const host = options.host ?? "127.0.0.1";
  const maxBody = options.maxBodyBytes ?? 1024 * 1024;
  const sourceIpOf = options.sourceIp ?? peerAddress;

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBody) tooLarge = true;
      else chunks.push(chunk);
    });
    request.on("end", () => {
      if (tooLarge) {
        response.writeHead(413, { "content-type": "application/json" }).end('{"message":"Request Entity Too Large"}');
        return;
      }
      const event = toPayloadV2Event(request, Buffer.concat(chunks), sourceIpOf(request));
      handler(event).then(
        (result) => {
          const headers: http.OutgoingHttpHeaders = { ...result.headers };
          if (result.cookies && result.cookies.length > 0) headers["set-cookie"] = result.cookies;
          const body = result.body === undefined ? Buffer.alloc(0) : Buffer.from(result.body, result.isBase64Encoded ? "base64" : "utf8");
          headers["content-length"] = body.length;
          response.writeHead(result.statusCode, headers).end(body);
        },
        // API Gateway answers a failed invocation with 500 and this body.
        () => response.writeHead(500, { "content-type": "application/json" }).end('{"message":"Internal Server Error"}'),
      );
    });
  });
  const port = await listen(server, options.port ?? 0, host);
  return { url: `http://${urlHost(host)}:${port}`, stop: () => closeServer(server) };
}
