/**
 * IoT Core's HTTPS publish endpoint, `POST /topics/{topic}?qos=0|1&retain=true|false` (plain HTTP on
 * loopback here): each request is authenticated on its own through the custom authorizer (credentials in
 * its headers or query string), checked for `iot:Publish` (and `iot:RetainPublish`) on the topic, and
 * published to the MQTT subscribers. On refusal, HTTP answers 403 `{"message":"Forbidden"}`
 * (docs/aws-iot-custom-auth.md#refused-publish, as in the OpenAM device-flow article).
 */
import { randomUUID } from "node:crypto";
import { type IncomingMessage, type RequestListener, type ServerResponse } from "node:http";
import { fromHttp, httpData, serverName } from "./credentials";
import { type CustomAuthorizer } from "./custom-authorizer";
import { type GatewayLog } from "./log";
import { type MqttBroker } from "./mqtt-broker";
import { type Permissions } from "./permissions";

/** IoT's limit for a message payload. */
const MAX_PAYLOAD_BYTES = 128 * 1024;

export interface HttpPublishOptions {
  /** The gateway's host, the TLS server name when a request has no `Host` header. */
  host: string;
  tokenKeyName: string;
  authorizer: CustomAuthorizer;
  permissions: Permissions;
  broker: MqttBroker;
  log: GatewayLog;
}

type Answer = (status: number, message: string) => void;

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_PAYLOAD_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function publishOverHttp(options: HttpPublishOptions, req: IncomingMessage, answer: Answer): Promise<void> {
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

  const payload = await readBody(req);
  if (payload === undefined) return answer(413, "Payload Too Large");
  const http = httpData(req, url);
  const connectionId = randomUUID();
  const decision = await options.authorizer.authenticate(fromHttp(http, options.tokenKeyName), {
    protocols: ["tls", "http"],
    protocolData: { tls: { serverName: serverName(req, options.host) }, http },
    connectionMetadata: { id: connectionId },
  });
  const base = { transport: "https" as const, stage: "publish" as const, connectionId, topic };
  if (!decision.ok) {
    options.log.refused({ ...base, reason: decision.reason, principalId: decision.principalId, detail: decision.detail });
    return answer(403, "Forbidden");
  }
  if (!options.permissions.mayPublish(decision.session, topic, retain, undefined)) {
    options.log.refused({ ...base, reason: "policy-denied", principalId: decision.session.principalId });
    return answer(403, "Forbidden");
  }
  await options.broker.publish({ cmd: "publish", topic, payload, qos: qosParam === "1" ? 1 : 0, retain, dup: false });
  answer(200, "OK");
}

export function httpPublishHandler(options: HttpPublishOptions): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    const traceId = randomUUID();
    const answer: Answer = (status, message) => {
      res.writeHead(status, { "content-type": "application/json", "x-amzn-requestid": traceId }).end(JSON.stringify({ message, traceId }));
    };
    publishOverHttp(options, req, answer).catch(() => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ message: "Internal Error" }));
    });
  };
}
