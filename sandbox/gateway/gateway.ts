/**
 * The sandbox's stand-in for AWS IoT Core's device gateway with a custom authorizer (FACTS.md §1): an
 * MQTT broker (aedes) over TCP and over WebSocket, and the HTTPS publish endpoint `POST /topics/{topic}`
 * (plain HTTP on loopback). For every connection and every HTTP request it does what IoT does:
 *
 * 1. reads the authorizer name, the token signature and the token where IoT reads them — the MQTT
 *    username's query part (`anything?x-amz-customauthorizer-name=…&x-amz-customauthorizer-signature=…&<tokenKeyName>=…`,
 *    other parameters such as the AWS SDKs' metrics ignored) over TCP; the upgrade request's headers or
 *    query string over WebSocket; the request's headers or query string over HTTP;
 * 2. refuses a missing or unknown authorizer name;
 * 3. with token signing on, verifies the RSA-SHA256 signature (standard base64) over the exact token with
 *    the authorizer's public key and refuses a bad one WITHOUT invoking the authorizer;
 * 4. builds IoT's authorizer event and calls the authorizer (5 s budget); refuses when it answers
 *    `isAuthenticated: false` or an answer IoT would reject (principal id, document count and size, timers);
 * 5. enforces the returned policy documents per connection: `iot:Connect` on `client/<client id>` at
 *    CONNECT, `iot:Publish` (and `iot:RetainPublish` for retained messages) on `topic/<name>` per PUBLISH,
 *    `iot:Subscribe` on `topicfilter/<filter as sent>` per subscription (SUBACK failure for a refused one),
 *    `iot:Receive` on `topic/<name>` per delivered message (silently dropped when refused), with
 *    `${iot:ClientId}` as a policy variable;
 * 6. calls the authorizer again after `refreshAfterInSeconds` (same token; the new policy replaces the old,
 *    a refusal disconnects) and disconnects after `disconnectAfterInSeconds`.
 *
 * What each protocol sees on refusal: MQTT 3.1.1 CONNACK return code 5 and MQTT 5 reason 0x87 at connect;
 * SUBACK 128 (3.1.1) or 0x87 (5) per refused filter; a refused PUBLISH disconnects an MQTT 3.1.1 client
 * (as IoT does: 3.1.1 has no way to say no) and gets PUBACK 0x87 (QoS 1) or is dropped (QoS 0) on MQTT 5;
 * HTTP answers 403 `{"message":"Forbidden"}` (seed 000 step 12). Every refusal is one JSON log line
 * without token, signature, username or password.
 */
import { createPublicKey, type KeyObject, randomUUID, verify } from "node:crypto";
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import nodeModule from "node:module";
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import { type Duplex } from "node:stream";
import * as mqttPacket from "mqtt-packet";
import { createWebSocketStream, WebSocketServer } from "ws";
import type * as AedesModule from "aedes";
import { type AuthorizerResponse } from "../../functions/authorizer/authorizer";
import { AUTHORIZER_NAME_KEY, SIGNATURE_KEY } from "../../functions/authorizer/custom-auth";
import { MAXIMUM_CONNECT_TIME, Mqtt5Bridge, NOT_AUTHORIZED } from "./mqtt5";
import { evaluatePolicies, iotArn, type IotPolicyAction, type PolicyDocument } from "./policy";

export interface IotGatewayOptions {
  /** The authorizer core, e.g. `createAuthorizer(config)` from functions/authorizer/authorizer.ts. */
  authorizer: (event: unknown) => Promise<AuthorizerResponse>;
  /** The name clients must send in `x-amz-customauthorizer-name`. */
  authorizerName: string;
  /** The header / query parameter holding the token. */
  tokenKeyName: string;
  /** The token signing public key (PEM); absent means signing is disabled. */
  signingPublicKeyPem?: string;
  region: string;
  accountId: string;
  /** `aws` unless told otherwise. */
  partition?: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Ports; 0 (the default) picks a free one. */
  mqttPort?: number;
  wsPort?: number;
  httpPort?: number;
  /** One JSON object per refusal or forced disconnect; JSON lines on stderr by default. */
  logger?: (line: Record<string, unknown>) => void;
  /**
   * TEST ONLY: multiplies the authorizer's refresh and disconnect timers (seconds) into real time, so a
   * test can see `refreshAfterInSeconds: 300` (the minimum IoT allows) happen after 300 ms with 0.001.
   * Never set it in a running sandbox: it changes what "after 300 s" means.
   */
  timeScale?: number;
  /** How long the authorizer may take; IoT allows 5 s. */
  authorizerTimeoutMs?: number;
}

export interface IotGateway {
  mqttUrl: string;
  wsUrl: string;
  httpUrl: string;
  /** How many times the authorizer has been invoked (connections, HTTP requests and refreshes). */
  authorizerInvocations(): number;
  /** How many requests were refused because the token signature did not verify (authorizer not invoked). */
  signatureRejections(): number;
  stop(): Promise<void>;
}

type Aedes = AedesModule.Aedes;
type AedesClient = AedesModule.Client;

/**
 * aedes 1.x is an ES module. Node 20.19+ can `require()` it, but under jest `require` is jest's own loader,
 * which cannot; Node's loader (`Module._load`) works in both (see sandbox/esm.ts).
 */
function loadAedes(): typeof AedesModule {
  const load = (nodeModule as unknown as { _load(request: string, parent: unknown, isMain: boolean): unknown })._load;
  return load(require.resolve("aedes"), null, false) as typeof AedesModule;
}

const IOT_LIMITS = { minTimerSeconds: 300, maxTimerSeconds: 86_400, maxPolicyDocuments: 10, maxPolicyDocumentChars: 2_048 };
const PRINCIPAL_ID = /^[A-Za-z0-9]{1,128}$/;
const STANDARD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** IoT's limit for a message payload. */
const MAX_PAYLOAD_BYTES = 128 * 1024;
const CONNECT_TIMEOUT_MS = 30_000;

type Transport = "mqtt" | "wss" | "https";

interface Credentials {
  authorizerName?: string;
  signature?: string;
  token?: string;
  /** The name of a parameter given more than once. */
  repeated?: string;
}

interface HttpData {
  headers: Record<string, string>;
  queryString: string;
}

/** Why a request was refused: the `reason` of the log line. */
type Refusal =
  | "authorizer-name-missing"
  | "authorizer-name-unknown"
  | "credential-repeated"
  | "signature-missing"
  | "token-missing"
  | "signature-invalid"
  | "not-authenticated"
  | "authorizer-failed"
  | "invalid-authorizer-response"
  | "policy-denied";

interface Session {
  principalId: string;
  policies: PolicyDocument[];
}

interface Connection {
  id: string;
  transport: "mqtt" | "wss";
  serverName: string;
  http?: HttpData;
  clientId?: string;
  session?: Session;
  /** The event of the connection's first authorizer call, sent again at each refresh. */
  event?: Record<string, unknown>;
  client?: AedesClient;
  bridge?: Mqtt5Bridge;
  refreshTimer?: NodeJS.Timeout;
  disconnectTimer?: NodeJS.Timeout;
  disconnectAt?: number;
  closed: boolean;
}

type Decision = { ok: true; session: Session; refreshAfter: number; disconnectAfter: number } | { ok: false; reason: Refusal; principalId?: string };

function firstHeaderValues(headers: IncomingMessage["headers"]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(",") : value;
  }
  return out;
}

function fromQuery(query: string, tokenKeyName: string): Credentials {
  const params = new URLSearchParams(query.startsWith("?") ? query.slice(1) : query);
  const credentials: Credentials = {};
  const names: [keyof Credentials, string][] = [
    ["authorizerName", AUTHORIZER_NAME_KEY],
    ["signature", SIGNATURE_KEY],
    ["token", tokenKeyName],
  ];
  for (const [field, name] of names) {
    const values = params.getAll(name);
    if (values.length > 1) credentials.repeated = name;
    else if (values.length === 1 && values[0].length > 0) credentials[field] = values[0];
  }
  return credentials;
}

/** Headers first, the query string for what the headers lack (browsers cannot set WebSocket headers). */
function fromHttp(http: HttpData, tokenKeyName: string): Credentials {
  const query = fromQuery(http.queryString, tokenKeyName);
  const header = (name: string) => {
    const value = http.headers[name.toLowerCase()];
    return value !== undefined && value.length > 0 ? value : undefined;
  };
  return {
    authorizerName: header(AUTHORIZER_NAME_KEY) ?? query.authorizerName,
    signature: header(SIGNATURE_KEY) ?? query.signature,
    token: header(tokenKeyName) ?? query.token,
    ...(query.repeated !== undefined && { repeated: query.repeated }),
  };
}

/** The MQTT username's query part; the part before `?` and any other parameter are not IoT's business. */
function fromUsername(username: string | undefined, tokenKeyName: string): Credentials {
  const q = username?.indexOf("?") ?? -1;
  return username !== undefined && q !== -1 ? fromQuery(username.slice(q + 1), tokenKeyName) : {};
}

function parseDocument(raw: unknown): PolicyDocument | undefined {
  let value = raw;
  if (typeof raw === "string") {
    if (raw.length > IOT_LIMITS.maxPolicyDocumentChars) return undefined;
    try {
      value = JSON.parse(raw);
    } catch {
      return undefined;
    }
  } else if (JSON.stringify(raw ?? null).length > IOT_LIMITS.maxPolicyDocumentChars) {
    return undefined;
  }
  if (typeof value !== "object" || value === null || !("Statement" in value)) return undefined;
  return value as PolicyDocument;
}

function validTimer(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= IOT_LIMITS.minTimerSeconds && value <= IOT_LIMITS.maxTimerSeconds;
}

/** IoT's checks of an authorizer answer; anything it would reject refuses the connection. */
function checkResponse(response: unknown): Decision {
  const r = response as Partial<AuthorizerResponse> | null;
  if (typeof r !== "object" || r === null) return { ok: false, reason: "invalid-authorizer-response" };
  const principalId = typeof r.principalId === "string" && PRINCIPAL_ID.test(r.principalId) ? r.principalId : undefined;
  if (r.isAuthenticated !== true) return { ok: false, reason: "not-authenticated", principalId };
  if (principalId === undefined || !Array.isArray(r.policyDocuments) || r.policyDocuments.length > IOT_LIMITS.maxPolicyDocuments) {
    return { ok: false, reason: "invalid-authorizer-response", principalId };
  }
  const policies = r.policyDocuments.map(parseDocument);
  if (policies.some((p) => p === undefined) || !validTimer(r.refreshAfterInSeconds) || !validTimer(r.disconnectAfterInSeconds)) {
    return { ok: false, reason: "invalid-authorizer-response", principalId };
  }
  return {
    ok: true,
    session: { principalId, policies: policies as PolicyDocument[] },
    refreshAfter: r.refreshAfterInSeconds,
    disconnectAfter: r.disconnectAfterInSeconds,
  };
}

function listen(server: NetServer | HttpServer, port: number, host: string, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(
        err.code === "EADDRINUSE"
          ? Object.assign(new Error(`The IoT gateway's ${what} port ${host}:${port} is in use; choose another port or stop what holds it`), { code: err.code })
          : err,
      );
    };
    server.once("error", onError);
    server.listen(port, host, () => {
      server.removeListener("error", onError);
      const address = server.address();
      resolve(typeof address === "object" && address !== null ? address.port : port);
    });
  });
}

function closeServer(server: NetServer | HttpServer): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
}

function urlHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

export async function startIotGateway(options: IotGatewayOptions): Promise<IotGateway> {
  const host = options.host ?? "127.0.0.1";
  const partition = options.partition ?? "aws";
  const scale = options.timeScale ?? 1;
  const authorizerTimeoutMs = options.authorizerTimeoutMs ?? 5_000;
  const log = options.logger ?? ((line: Record<string, unknown>) => process.stderr.write(`${JSON.stringify(line)}\n`));
  const signingKey: KeyObject | undefined = options.signingPublicKeyPem !== undefined ? createPublicKey(options.signingPublicKeyPem) : undefined;
  if (!(scale > 0) || !Number.isFinite(scale)) throw new Error(`timeScale must be a positive number; got ${options.timeScale}`);

  let invocations = 0;
  let signatureFailures = 0;
  const connections = new WeakMap<AedesClient, Connection>();
  const live = new Set<Connection>();
  const sockets = new Set<Socket>();

  const arn = (kind: "client" | "topic" | "topicfilter", name: string) => iotArn(partition, options.region, options.accountId, kind, name);

  function refused(fields: {
    transport: Transport;
    stage: "connect" | "refresh" | "publish" | "subscribe" | "receive";
    reason: Refusal;
    connectionId?: string;
    clientId?: string;
    principalId?: string;
    topic?: string;
  }): void {
    log({ component: "iot-gateway", outcome: "refused", ...fields });
  }

  function allows(session: Session | undefined, action: IotPolicyAction, resource: string, clientId: string | undefined): boolean {
    if (session === undefined) return false;
    const variables: Record<string, string> = clientId !== undefined ? { "iot:ClientId": clientId } : {};
    return evaluatePolicies(session.policies, { action, resource }, variables) === "allow";
  }

  /** Steps 2–4: the credentials in, a decision out; the authorizer only runs for a well-signed token. */
  async function authenticate(
    credentials: Credentials,
    event: Record<string, unknown>,
  ): Promise<Decision & { event?: Record<string, unknown> }> {
    if (credentials.repeated !== undefined) return { ok: false, reason: "credential-repeated" };
    if (credentials.authorizerName === undefined) return { ok: false, reason: "authorizer-name-missing" };
    if (credentials.authorizerName !== options.authorizerName) return { ok: false, reason: "authorizer-name-unknown" };
    let signatureVerified = false;
    if (signingKey !== undefined) {
      if (credentials.token === undefined) return { ok: false, reason: "token-missing" };
      if (credentials.signature === undefined) {
        signatureFailures++;
        return { ok: false, reason: "signature-missing" };
      }
      const signature = credentials.signature;
      const valid =
        STANDARD_BASE64.test(signature) &&
        verify("sha256", Buffer.from(credentials.token, "utf8"), signingKey, Buffer.from(signature, "base64"));
      if (!valid) {
        signatureFailures++;
        return { ok: false, reason: "signature-invalid" };
      }
      signatureVerified = true;
    }
    const fullEvent = { ...(credentials.token !== undefined && { token: credentials.token }), signatureVerified, ...event };
    const decision = await invoke(fullEvent);
    return { ...decision, event: fullEvent };
  }

  async function invoke(event: Record<string, unknown>): Promise<Decision> {
    invocations++;
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("the authorizer did not answer in time")), authorizerTimeoutMs);
        timer.unref();
      });
      return checkResponse(await Promise.race([options.authorizer(event), timeout]));
    } catch {
      return { ok: false, reason: "authorizer-failed" };
    } finally {
      clearTimeout(timer);
    }
  }

  function clearTimers(conn: Connection): void {
    clearTimeout(conn.refreshTimer);
    clearTimeout(conn.disconnectTimer);
    conn.refreshTimer = undefined;
    conn.disconnectTimer = undefined;
  }

  function forceDisconnect(conn: Connection, reasonCode: number): void {
    clearTimers(conn);
    if (conn.closed) return;
    conn.bridge?.disconnect(reasonCode);
    conn.client?.close();
  }

  function schedule(conn: Connection, refreshAfter: number, disconnectAfter: number): void {
    clearTimers(conn);
    const now = Date.now();
    const disconnectAt = Math.min(conn.disconnectAt ?? Infinity, now + disconnectAfter * 1000 * scale);
    conn.disconnectAt = disconnectAt;
    conn.disconnectTimer = setTimeout(() => {
      log({ component: "iot-gateway", outcome: "disconnected", reason: "disconnectAfterInSeconds", transport: conn.transport, connectionId: conn.id, clientId: conn.clientId, principalId: conn.session?.principalId });
      forceDisconnect(conn, MAXIMUM_CONNECT_TIME);
    }, Math.max(0, disconnectAt - now));
    conn.disconnectTimer.unref();
    const refreshAt = now + refreshAfter * 1000 * scale;
    if (refreshAt < disconnectAt) {
      conn.refreshTimer = setTimeout(() => void refresh(conn), refreshAt - now);
      conn.refreshTimer.unref();
    }
  }

  async function refresh(conn: Connection): Promise<void> {
    if (conn.closed || conn.event === undefined) return;
    const decision = await invoke(conn.event);
    if (conn.closed) return;
    const base = { transport: conn.transport, stage: "refresh" as const, connectionId: conn.id, clientId: conn.clientId };
    if (!decision.ok) {
      refused({ ...base, reason: decision.reason, principalId: decision.principalId });
      forceDisconnect(conn, NOT_AUTHORIZED);
      return;
    }
    if (!allows(decision.session, "iot:Connect", arn("client", conn.clientId ?? ""), conn.clientId)) {
      refused({ ...base, reason: "policy-denied", principalId: decision.session.principalId });
      forceDisconnect(conn, NOT_AUTHORIZED);
      return;
    }
    conn.session = decision.session;
    schedule(conn, decision.refreshAfter, decision.disconnectAfter);
  }

  const aedesModule = loadAedes();
  const broker: Aedes = await aedesModule.Aedes.createBroker({
    authenticate: (client, username, password, done) => {
      const conn = connections.get(client);
      if (conn === undefined) return done(Object.assign(new Error("unknown connection"), { returnCode: 5 as const }), false);
      conn.clientId = client.id;
      const credentials = conn.transport === "wss" && conn.http ? fromHttp(conn.http, options.tokenKeyName) : fromUsername(username, options.tokenKeyName);
      const event = {
        protocols: conn.transport === "wss" ? ["tls", "http", "mqtt"] : ["tls", "mqtt"],
        protocolData: {
          tls: { serverName: conn.serverName },
          ...(conn.http && { http: conn.http }),
          mqtt: {
            ...(username !== undefined && { username }),
            ...(password !== undefined && { password: Buffer.from(password).toString("base64") }),
            clientId: client.id,
          },
        },
        connectionMetadata: { id: conn.id },
      };
      void authenticate(credentials, event).then((decision) => {
        const base = { transport: conn.transport, stage: "connect" as const, connectionId: conn.id, clientId: conn.clientId };
        let refusal: Refusal | undefined;
        if (!decision.ok) {
          refusal = decision.reason;
          refused({ ...base, reason: decision.reason, principalId: decision.principalId });
        } else if (!allows(decision.session, "iot:Connect", arn("client", client.id), client.id)) {
          refusal = "policy-denied";
          refused({ ...base, reason: refusal, principalId: decision.session.principalId });
        } else {
          conn.session = decision.session;
          conn.event = decision.event;
          if (!conn.closed) schedule(conn, decision.refreshAfter, decision.disconnectAfter);
        }
        if (refusal !== undefined) done(Object.assign(new Error("not authorized"), { returnCode: 5 as const }), false);
        else done(null, true);
      });
    },
    authorizePublish: (client, packet, callback) => {
      if (client === null) return callback(null); // the gateway's own publishes (HTTP) are checked already
      const conn = connections.get(client);
      const topic = packet.topic;
      const ok =
        conn !== undefined &&
        allows(conn.session, "iot:Publish", arn("topic", topic), conn.clientId) &&
        (!packet.retain || allows(conn.session, "iot:RetainPublish", arn("topic", topic), conn.clientId));
      if (ok) return callback(null);
      refused({ transport: conn?.transport ?? "mqtt", stage: "publish", reason: "policy-denied", connectionId: conn?.id, clientId: conn?.clientId, principalId: conn?.session?.principalId, topic });
      // MQTT 3.1.1 cannot refuse a PUBLISH: IoT Core, like aedes on this error, closes the connection.
      callback(new Error("not authorized to publish"));
    },
    authorizeSubscribe: (client, subscription, callback) => {
      const conn = connections.get(client);
      if (conn !== undefined && allows(conn.session, "iot:Subscribe", arn("topicfilter", subscription.topic), conn.clientId)) {
        return callback(null, subscription);
      }
      refused({ transport: conn?.transport ?? "mqtt", stage: "subscribe", reason: "policy-denied", connectionId: conn?.id, clientId: conn?.clientId, principalId: conn?.session?.principalId, topic: subscription.topic });
      callback(null, null); // SUBACK 128 (0x87 on MQTT 5) for this filter; the others go on
    },
    authorizeForward: (client, packet) => {
      const conn = connections.get(client);
      if (conn !== undefined && allows(conn.session, "iot:Receive", arn("topic", packet.topic), conn.clientId)) return packet;
      if (!packet.topic.startsWith("$SYS/")) {
        refused({ transport: conn?.transport ?? "mqtt", stage: "receive", reason: "policy-denied", connectionId: conn?.id, clientId: conn?.clientId, principalId: conn?.session?.principalId, topic: packet.topic });
      }
      return null;
    },
  });

  /** Peeks at the CONNECT to learn the protocol version, then hands the stream to aedes (through the MQTT 5 bridge if needed). */
  function accept(stream: Duplex, conn: Connection): void {
    live.add(conn);
    const parser = mqttPacket.parser();
    const chunks: Buffer[] = [];
    let decided = false;
    const timer = setTimeout(() => stream.destroy(), CONNECT_TIMEOUT_MS);
    timer.unref();
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      parser.parse(chunk);
    };
    stream.on("close", () => {
      clearTimeout(timer);
      conn.closed = true;
      clearTimers(conn);
      live.delete(conn);
    });
    stream.on("error", () => stream.destroy());
    parser.on("error", () => {
      if (!decided) stream.destroy();
    });
    parser.once("packet", (packet: mqttPacket.Packet) => {
      decided = true;
      clearTimeout(timer);
      stream.removeListener("data", onData);
      stream.pause();
      if (packet.cmd !== "connect") {
        stream.destroy();
        return;
      }
      const buffered = Buffer.concat(chunks);
      if (packet.protocolVersion === 5) {
        const bridge = new Mqtt5Bridge(stream, buffered, {
          mayPublish: (topic, retain) => {
            if (conn.session === undefined) return undefined;
            return (
              allows(conn.session, "iot:Publish", arn("topic", topic), conn.clientId) &&
              (!retain || allows(conn.session, "iot:RetainPublish", arn("topic", topic), conn.clientId))
            );
          },
          onPublishRefused: (topic) =>
            refused({ transport: conn.transport, stage: "publish", reason: "policy-denied", connectionId: conn.id, clientId: conn.clientId, principalId: conn.session?.principalId, topic }),
        });
        conn.bridge = bridge;
        conn.client = broker.handle(bridge.brokerEnd);
      } else {
        stream.unshift(buffered);
        conn.client = broker.handle(stream);
      }
      connections.set(conn.client, conn);
    });
    stream.on("data", onData);
  }

  // MQTT over TCP
  const mqttServer = createNetServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    accept(socket, { id: randomUUID(), transport: "mqtt", serverName: host, closed: false });
  });

  // MQTT over WebSocket, at IoT's path /mqtt
  const wss = new WebSocketServer({ noServer: true });
  const wsServer = createHttpServer((_req, res) => {
    res.writeHead(426, { "content-type": "text/plain" }).end("Use a WebSocket (MQTT) connection to /mqtt\n");
  });
  wsServer.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? "/", "http://gateway");
    if (url.pathname !== "/mqtt") {
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n");
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const stream = createWebSocketStream(ws);
      accept(stream, {
        id: randomUUID(),
        transport: "wss",
        serverName: req.headers.host?.replace(/:\d+$/, "") ?? host,
        http: { headers: firstHeaderValues(req.headers), queryString: url.search },
        closed: false,
      });
    });
  });

  // HTTPS-style publish: POST /topics/{topic}?qos=0|1
  async function publishOverHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const traceId = randomUUID();
    const answer = (status: number, message: string) => {
      res.writeHead(status, { "content-type": "application/json", "x-amzn-requestid": traceId }).end(JSON.stringify({ message, traceId }));
    };
    const url = new URL(req.url ?? "/", "http://gateway");
    if (!url.pathname.startsWith("/topics/")) return answer(404, "Not Found");
    if (req.method !== "POST") return answer(405, "Method Not Allowed");
    let topic: string;
    try {
      topic = decodeURIComponent(url.pathname.slice("/topics/".length));
    } catch {
      return answer(400, "Invalid topic");
    }
    if (topic.length === 0 || topic.includes("+") || topic.includes("#")) return answer(400, "Invalid topic");
    const qosParam = url.searchParams.get("qos") ?? "0";
    if (qosParam !== "0" && qosParam !== "1") return answer(400, "qos must be 0 or 1");
    const retainParam = url.searchParams.get("retain") ?? "false";
    if (retainParam !== "true" && retainParam !== "false") return answer(400, "retain must be true or false");
    const retain = retainParam === "true";

    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_PAYLOAD_BYTES) return answer(413, "Payload Too Large");
      chunks.push(chunk);
    }
    const http: HttpData = { headers: firstHeaderValues(req.headers), queryString: url.search };
    const connectionId = randomUUID();
    const decision = await authenticate(fromHttp(http, options.tokenKeyName), {
      protocols: ["tls", "http"],
      protocolData: { tls: { serverName: req.headers.host?.replace(/:\d+$/, "") ?? host }, http },
      connectionMetadata: { id: connectionId },
    });
    const base = { transport: "https" as const, stage: "publish" as const, connectionId, topic };
    if (!decision.ok) {
      refused({ ...base, reason: decision.reason, principalId: decision.principalId });
      return answer(403, "Forbidden");
    }
    const ok =
      allows(decision.session, "iot:Publish", arn("topic", topic), undefined) &&
      (!retain || allows(decision.session, "iot:RetainPublish", arn("topic", topic), undefined));
    if (!ok) {
      refused({ ...base, reason: "policy-denied", principalId: decision.session.principalId });
      return answer(403, "Forbidden");
    }
    await new Promise<void>((resolve, reject) =>
      broker.publish({ cmd: "publish", topic, payload: Buffer.concat(chunks), qos: qosParam === "1" ? 1 : 0, retain, dup: false }, (err) =>
        err ? reject(err) : resolve(),
      ),
    );
    answer(200, "OK");
  }
  const httpServer = createHttpServer((req, res) => {
    publishOverHttp(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ message: "Internal Error" }));
    });
  });

  const servers: (NetServer | HttpServer)[] = [];
  async function stop(): Promise<void> {
    for (const conn of live) clearTimers(conn);
    for (const client of wss.clients) client.terminate();
    for (const socket of sockets) socket.destroy();
    wsServer.closeAllConnections();
    httpServer.closeAllConnections();
    await Promise.all(servers.map(closeServer));
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    await new Promise<void>((resolve) => broker.close(() => resolve()));
  }

  try {
    servers.push(mqttServer);
    const mqttPort = await listen(mqttServer, options.mqttPort ?? 0, host, "MQTT");
    servers.push(wsServer);
    const wsPort = await listen(wsServer, options.wsPort ?? 0, host, "MQTT over WebSocket");
    servers.push(httpServer);
    const httpPort = await listen(httpServer, options.httpPort ?? 0, host, "HTTP publish");
    return {
      mqttUrl: `mqtt://${urlHost(host)}:${mqttPort}`,
      wsUrl: `ws://${urlHost(host)}:${wsPort}/mqtt`,
      httpUrl: `http://${urlHost(host)}:${httpPort}`,
      authorizerInvocations: () => invocations,
      signatureRejections: () => signatureFailures,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
