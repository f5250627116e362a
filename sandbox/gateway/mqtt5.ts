/**
 * MQTT 5 in front of aedes 1.x, which speaks MQTT 3.1/3.1.1 only: a per-connection translator that parses
 * the client's MQTT 5 packets, hands aedes their 3.1.1 equivalents, and turns aedes's answers back into
 * MQTT 5 with what IoT Core says: CONNACK with IoT's properties (maximum QoS 1, topic alias maximum, retain
 * and wildcards available, no subscription identifiers; iot-mqtt-rules.ts) or 0x87 "Not authorized", SUBACK
 * 0x87 per refused filter, PUBACK 0x87 for a refused QoS 1 publish. The MQTT 5 properties IoT forwards (user
 * properties, content type, response topic, correlation data, payload format) travel with the message to
 * MQTT 5 subscribers (packet-link.ts); the others (session expiry, subscription options…) are dropped.
 *
 * IoT's protocol rules end the connection with a DISCONNECT reason code: 0x9B for a QoS 2 PUBLISH (the CONNACK
 * said QoS 1 is the maximum), 0x95 for a payload over the quota, 0x94 for a topic alias of 0 or over the
 * maximum, 0x82 for an alias never set. A SUBSCRIBE asking for QoS 2 is granted QoS 1 (MQTT 5.0 §3.9.3).
 *
 * Refusing a publish needs a reason code only MQTT 5 has, so the bridge asks the gateway before handing
 * a PUBLISH on (`mayPublish`). An MQTT 3.1.1 client has no such code: IoT Core disconnects it, and so does
 * aedes when the gateway's `authorizePublish` hook refuses.
 */
import type * as mqttPacket from "mqtt-packet";
import { CONNACK_PROPERTIES, checkPublish, forwardedProperties, IOT_MQTT, REASON } from "./iot-mqtt-rules";
import { type LinkHooks, PacketLink } from "./packet-link";

/** MQTT 3.1.1 CONNACK return codes to their MQTT 5 reason codes. */
const CONNACK_REASON: Record<number, number> = { 0: 0x00, 1: 0x84, 2: 0x85, 3: 0x88, 4: 0x86, 5: 0x87 };
export const NOT_AUTHORIZED = REASON.notAuthorized;

export class Mqtt5Bridge extends PacketLink {
  private readonly pendingUnsubscribes = new Map<number, number>();
  private readonly topicAliases = new Map<number, string>();

  constructor(client: ConstructorParameters<typeof PacketLink>[0], buffered: Buffer, hooks: LinkHooks) {
    super(client, buffered, hooks, true);
  }

  override disconnect(reasonCode: number): void {
    this.toClient({ cmd: "disconnect", reasonCode }, 5);
  }

  protected fromClient(packet: mqttPacket.Packet): void {
    switch (packet.cmd) {
      case "connect":
        this.toBroker({
          cmd: "connect",
          protocolId: "MQTT",
          protocolVersion: 4,
          clean: packet.clean,
          clientId: packet.clientId,
          keepalive: packet.keepalive,
          ...(packet.username !== undefined && { username: packet.username }),
          ...(packet.password !== undefined && { password: packet.password }),
          ...(packet.will && {
            will: { topic: packet.will.topic, payload: packet.will.payload, qos: packet.will.qos, retain: packet.will.retain },
          }),
        });
        return;
      case "publish":
        return this.publishFromClient(packet);
      case "puback":
      case "pubrec":
      case "pubrel":
      case "pubcomp":
        this.toBroker({ cmd: packet.cmd, messageId: packet.messageId } as mqttPacket.Packet);
        return;
      case "subscribe":
        this.toBroker({
          cmd: "subscribe",
          messageId: packet.messageId,
          subscriptions: packet.subscriptions.map((s) => ({ topic: s.topic, qos: Math.min(s.qos, IOT_MQTT.maximumQos) as 0 | 1 })),
        });
        return;
      case "unsubscribe":
        if (packet.messageId !== undefined) this.pendingUnsubscribes.set(packet.messageId, packet.unsubscriptions.length);
        this.toBroker({ cmd: "unsubscribe", messageId: packet.messageId, unsubscriptions: packet.unsubscriptions });
        return;
      case "pingreq":
        this.toBroker({ cmd: "pingreq" });
        return;
      case "disconnect":
        this.toBroker({ cmd: "disconnect" });
        return;
      default:
        // AUTH (enhanced authentication) and anything a client must not send: IoT closes the connection.
        this.brokerEnd.destroy();
    }
  }

  /** The topic a PUBLISH names, through its topic alias; undefined after ending the connection for a bad alias. */
  private topicOf(packet: mqttPacket.IPublishPacket): string | undefined {
    const alias = packet.properties?.topicAlias;
    if (alias === undefined) return packet.topic;
    if (alias === 0 || alias > IOT_MQTT.topicAliasMaximum) {
      this.hooks.onViolation("topic-alias-invalid", "publish", packet.topic || undefined);
      this.end(REASON.topicAliasInvalid);
      return undefined;
    }
    if (packet.topic.length > 0) {
      this.topicAliases.set(alias, packet.topic);
      return packet.topic;
    }
    const topic = this.topicAliases.get(alias);
    if (topic === undefined) {
      this.hooks.onViolation("topic-alias-invalid", "publish");
      this.end(REASON.protocolError);
    }
    return topic;
  }

  private publishFromClient(packet: mqttPacket.IPublishPacket): void {
    const topic = this.topicOf(packet);
    if (topic === undefined) return;
    const verdict = checkPublish(packet, 5);
    if (verdict.action !== "pass") {
      this.hooks.onViolation(verdict.reason, "publish", topic);
      if (verdict.action === "disconnect") this.end(verdict.reasonCode);
      return;
    }
    const may = this.hooks.mayPublish(topic, packet.retain);
    if (may === false) {
      this.hooks.onPublishRefused(topic);
      if (packet.qos === 1) this.toClient({ cmd: "puback", messageId: packet.messageId, reasonCode: NOT_AUTHORIZED }, 5);
      return;
    }
    this.publishToBroker(plainPublish(packet, topic), forwardedProperties(packet));
  }

  protected override fromBroker(packet: mqttPacket.Packet): void {
    switch (packet.cmd) {
      case "connack": {
        const reasonCode = CONNACK_REASON[packet.returnCode ?? 0] ?? 0x80;
        this.toClient(
          {
            cmd: "connack",
            sessionPresent: packet.sessionPresent,
            reasonCode,
            ...(reasonCode === 0 && { properties: CONNACK_PROPERTIES }),
          },
          5,
        );
        return;
      }
      case "publish":
        this.toClient(
          { ...plainPublish(packet, packet.topic), ...(this.incomingProperties && { properties: this.incomingProperties }) },
          5,
        );
        return;
      case "puback":
      case "pubrec":
      case "pubrel":
      case "pubcomp":
        this.toClient({ cmd: packet.cmd, messageId: packet.messageId, reasonCode: 0 } as mqttPacket.Packet, 5);
        return;
      case "suback":
        this.toClient(
          {
            cmd: "suback",
            messageId: packet.messageId,
            granted: (packet.granted as number[]).map((g) => (g === 128 ? NOT_AUTHORIZED : g)),
          },
          5,
        );
        return;
      case "unsuback": {
        const count = packet.messageId !== undefined ? (this.pendingUnsubscribes.get(packet.messageId) ?? 1) : 1;
        if (packet.messageId !== undefined) this.pendingUnsubscribes.delete(packet.messageId);
        this.toClient({ cmd: "unsuback", messageId: packet.messageId, granted: new Array<number>(count).fill(0) }, 5);
        return;
      }
      case "pingresp":
        this.toClient({ cmd: "pingresp" }, 5);
        return;
      default:
        return;
    }
  }
}

/** A PUBLISH carried across with only what both protocol versions share (no MQTT 5 properties). */
function plainPublish(packet: mqttPacket.IPublishPacket, topic: string): mqttPacket.IPublishPacket {
  return {
    cmd: "publish",
    topic,
    payload: packet.payload,
    qos: packet.qos,
    retain: packet.retain,
    dup: packet.dup,
    ...(packet.messageId !== undefined && { messageId: packet.messageId }),
  };
}
