/**
 * IoT Core's policy enforcement on an MQTT connection, as aedes hooks (and, for MQTT 5, the bridge's
 * publish check): authenticate at CONNECT through the custom authorizer (or, over TLS, by the client
 * certificate: certificate-auth.ts), check `iot:Connect` with the
 * CONNECT's connect attributes and, for a Will, `iot:Publish` (and `iot:RetainPublish`) on its topic, then
 * every PUBLISH, subscription and delivered message against the session's policies (permissions.ts).
 *
 * What each protocol sees on refusal: MQTT 3.1.1 CONNACK return code 5 and MQTT 5 reason 0x87 at connect;
 * SUBACK 128 (3.1.1) or 0x87 (5) per refused filter; a refused PUBLISH disconnects an MQTT 3.1.1 client
 * (as IoT does: 3.1.1 has no way to say no) and gets PUBACK 0x87 (QoS 1) or is dropped (QoS 0) on MQTT 5;
 * a message the subscriber may not receive is silently dropped. Every refusal is logged (log.ts). A Will
 * the policy does not allow refuses the CONNECT (connect policy examples: a Will is a condition of `iot:Connect`
 * plus a publish permission on its topic), rather than being accepted and dropped at disconnect.
 *
 * A permitted publish on a fleet provisioning request topic also goes to the provisioning API
 * (provisioning-topics.ts), and such a request is never delivered to subscribers.
 *
 * The hooks also carry a message's MQTT 5 properties from its publisher's link to its MQTT 5 subscribers'
 * links (packet-link.ts): keyed by the payload buffer aedes hands from `authorizePublish` to `authorizeForward`.
 */
import type * as AedesModule from "aedes";
import { type CertificateAuthority, startCertificateSession } from "./certificate-auth";
import { type Connection } from "./connection";
import { fromHttp, fromUsername } from "./credentials";
import { type CustomAuthorizer } from "./custom-authorizer";
import { type GatewayLog } from "./log";
import { type ForwardedProperties } from "./iot-mqtt-rules";
import { type LinkHooks } from "./packet-link";
import { type Permissions } from "./permissions";
import { provisioningRequest, type ProvisioningTopics } from "./provisioning-topics";
import { type SessionTimers } from "./session-timers";

type AedesClient = AedesModule.Client;
type PolicyHooks = Required<
  Pick<AedesModule.AedesOptions, "authenticate" | "authorizePublish" | "authorizeSubscribe" | "authorizeForward">
>;

export interface PolicyEnforcement {
  /** The connection an aedes client was accepted on (the connection registry, mqtt-broker.ts). */
  connectionOf(client: AedesClient): Connection | undefined;
  tokenKeyName: string;
  authorizer: CustomAuthorizer;
  permissions: Permissions;
  timers: SessionTimers;
  log: GatewayLog;
  /** The forwarded MQTT 5 properties of messages in flight, by payload buffer (see the file comment). */
  messageProperties: WeakMap<Buffer, ForwardedProperties>;
  /** Who a client certificate is, for connections over TLS (certificate-auth.ts); absent without that listener. */
  certificates?: CertificateAuthority;
  /** The device provisioning MQTT API (provisioning-topics.ts); absent without fleet provisioning. */
  provisioning?: ProvisioningTopics;
}

const notAuthorized = (message: string) => Object.assign(new Error(message), { returnCode: 5 as const });

/** IoT's authorizer event for an MQTT CONNECT (the gateway adds the token and `signatureVerified`). */
function connectEvent(
  conn: Connection,
  clientId: string,
  username: string | undefined,
  password: Buffer | undefined,
): Record<string, unknown> {
  return {
    protocols: conn.transport === "wss" ? ["tls", "http", "mqtt"] : ["tls", "mqtt"],
    protocolData: {
      tls: { serverName: conn.serverName },
      ...(conn.http && { http: conn.http }),
      mqtt: {
        ...(username !== undefined && { username }),
        ...(password !== undefined && { password: Buffer.from(password).toString("base64") }),
        clientId,
      },
    },
    connectionMetadata: { id: conn.id },
  };
}

/** Authenticates a CONNECT and, when it is allowed to connect, starts the connection's session. */
async function connect(
  enforcement: PolicyEnforcement,
  conn: Connection,
  client: AedesClient,
  username: string | undefined,
  password: Buffer | undefined,
): Promise<boolean> {
  const { tokenKeyName, log } = enforcement;
  if (conn.certificate !== undefined) return connectWithCertificate(enforcement, conn, client);
  const credentials = conn.transport === "wss" && conn.http ? fromHttp(conn.http, tokenKeyName) : fromUsername(username, tokenKeyName);
  const decision = await enforcement.authorizer.authenticate(credentials, connectEvent(conn, client.id, username, password));
  const base = { transport: conn.transport, stage: "connect" as const, connectionId: conn.id, clientId: conn.clientId };
  if (!decision.ok) {
    log.refused({ ...base, reason: decision.reason, principalId: decision.principalId, detail: decision.detail });
    return false;
  }
  const principalId = decision.session.principalId;
  const will = conn.connect?.will;
  if (!enforcement.permissions.mayConnect(decision.session, client.id, conn.connect?.attributes ?? [])) {
    log.refused({ ...base, reason: "policy-denied", principalId });
    return false;
  }
  if (will !== undefined && will.tooLarge) {
    log.refused({ ...base, reason: "payload-too-large", principalId, topic: will.topic });
    return false;
  }
  if (will !== undefined && !enforcement.permissions.mayPublish(decision.session, will.topic, will.retain, client.id)) {
    log.refused({ ...base, reason: "policy-denied", principalId, topic: will.topic, detail: "last will" });
    return false;
  }
  conn.session = decision.session;
  conn.event = decision.event;
  if (!conn.closed) enforcement.timers.schedule(conn, decision);
  return true;
}

/** A CONNECT over TLS: the certificate's session (certificate-auth.ts), then the same checks as custom auth. */
function connectWithCertificate(enforcement: PolicyEnforcement, conn: Connection, client: AedesClient): boolean {
  const { log, permissions } = enforcement;
  const base = { transport: conn.transport, stage: "connect" as const, connectionId: conn.id, clientId: conn.clientId };
  const decision = enforcement.certificates?.authenticate(conn.certificate?.certificateId ?? "", client.id) ?? {
    ok: false as const,
    reason: "certificate-unknown" as const,
  };
  if (!decision.ok) {
    log.refused({ ...base, reason: decision.reason });
    return false;
  }
  const principalId = decision.session.principalId;
  const will = conn.connect?.will;
  const willRefused =
    will !== undefined && (will.tooLarge || !permissions.mayPublish(decision.session, will.topic, will.retain, client.id));
  if (!permissions.mayConnect(decision.session, client.id, conn.connect?.attributes ?? []) || willRefused) {
    log.refused({ ...base, reason: "policy-denied", principalId, ...(willRefused && { topic: will.topic, detail: "last will" }) });
    return false;
  }
  startCertificateSession(conn, decision, log);
  return true;
}

export function policyHooks(enforcement: PolicyEnforcement): PolicyHooks {
  const { connectionOf, permissions, log } = enforcement;
  return {
    authenticate: (client, username, password, done) => {
      const conn = connectionOf(client);
      if (conn === undefined) return done(notAuthorized("unknown connection"), false);
      conn.clientId = client.id;
      void connect(enforcement, conn, client, username, password).then((allowed) => {
        if (allowed) done(null, true);
        else done(notAuthorized("not authorized"), false);
      });
    },
    authorizePublish: (client, packet, callback) => {
      if (client === null) return callback(null); // the gateway's own publishes (HTTP) are checked already
      const conn = connectionOf(client);
      const topic = packet.topic;
      if (conn !== undefined && permissions.mayPublish(conn.session, topic, packet.retain, conn.clientId)) {
        const properties = conn.link?.takePublishedProperties();
        if (properties !== undefined) enforcement.messageProperties.set(packet.payload as Buffer, properties);
        enforcement.provisioning?.handle(conn, client, topic, packet.payload as Buffer);
        return callback(null);
      }
      log.policyDenied(conn, "publish", topic);
      // MQTT 3.1.1 cannot refuse a PUBLISH: IoT Core, like aedes on this error, closes the connection.
      callback(new Error("not authorized to publish"));
    },
    authorizeSubscribe: (client, subscription, callback) => {
      const conn = connectionOf(client);
      if (conn !== undefined && permissions.maySubscribe(conn.session, subscription.topic, conn.clientId)) {
        return callback(null, subscription);
      }
      log.policyDenied(conn, "subscribe", subscription.topic);
      callback(null, null); // SUBACK 128 (0x87 on MQTT 5) for this filter; the others go on
    },
    authorizeForward: (client, packet) => {
      // A provisioning request goes to the control plane only, never to subscribers (provisioning-topics.ts).
      if (provisioningRequest(packet.topic) !== undefined) return null;
      const conn = connectionOf(client);
      if (conn !== undefined && permissions.mayReceive(conn.session, packet.topic, conn.clientId)) {
        const properties = enforcement.messageProperties.get(packet.payload as Buffer);
        if (properties === undefined || conn.connect?.protocolVersion !== 5 || conn.link === undefined) return packet;
        // A payload buffer of this delivery's own, by which the subscriber's link knows the message.
        const payload = Buffer.from(packet.payload as Buffer);
        conn.link.expectProperties(payload, properties);
        return { ...packet, payload };
      }
      if (!packet.topic.startsWith("$SYS/")) {
        log.policyDenied(conn, "receive", packet.topic);
      }
      return null;
    },
  };
}

/**
 * What a connection's link asks the gateway: the MQTT 5 bridge's publish check (MQTT 5 can refuse a PUBLISH
 * with a reason code instead of disconnecting), and where to log what IoT's rules refused.
 */
export function linkHooks(enforcement: Pick<PolicyEnforcement, "permissions" | "log">, conn: Connection): LinkHooks {
  return {
    mayPublish: (topic, retain) => {
      if (conn.session === undefined) return undefined;
      return enforcement.permissions.mayPublish(conn.session, topic, retain, conn.clientId);
    },
    onPublishRefused: (topic) => enforcement.log.policyDenied(conn, "publish", topic),
    onViolation: (reason, stage, topic) => enforcement.log.connectionRefused(conn, stage, reason, topic),
  };
}
