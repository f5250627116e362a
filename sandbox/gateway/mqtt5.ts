/**
 * MQTT 5 in front of aedes 1.x, which speaks MQTT 3.1/3.1.1 only: a per-connection translator that parses
 * the client's MQTT 5 packets, hands aedes their 3.1.1 equivalents, and turns aedes's answers back into
 * MQTT 5 with the reason codes IoT Core uses (CONNACK 0x87 "Not authorized", SUBACK 0x87 per refused
 * filter, PUBACK 0x87 for a refused QoS 1 publish). Properties the sandbox has no use for (session expiry,
 * user properties, subscription options) are dropped; topic aliases from the client are resolved.
 *
 * Refusing a publish needs a reason code only MQTT 5 has, so the bridge asks the gateway before handing
 * a PUBLISH on (`mayPublish`). An MQTT 3.1.1 client has no such code: IoT Core disconnects it, and so does
 * aedes when the gateway's `authorizePublish` hook refuses.
 */
import { Duplex } from "node:stream";
import * as mqttPacket from "mqtt-packet";

/** MQTT 3.1.1 CONNACK return codes to their MQTT 5 reason codes. */
const CONNACK_REASON: Record<number, number> = { 0: 0x00, 1: 0x84, 2: 0x85, 3: 0x88, 4: 0x86, 5: 0x87 };
export const NOT_AUTHORIZED = 0x87;
export const MAXIMUM_CONNECT_TIME = 0xa0;

export interface Mqtt5BridgeHooks {
  /**
   * Whether the connection may publish to `topic`: true or false once the connection is authenticated,
   * undefined before (aedes's own hook decides then).
   */
  mayPublish(topic: string, retain: boolean): boolean | undefined;
  /** A refused publish, for the gateway's log. */
  onPublishRefused(topic: string): void;
}

export class Mqtt5Bridge {
  /** The stream aedes reads the translated MQTT 3.1.1 packets from and writes its answers to. */
  readonly brokerEnd: Duplex;
  private readonly clientParser = mqttPacket.parser();
  private readonly brokerParser = mqttPacket.parser();
  private readonly pendingUnsubscribes = new Map<number, number>();
  private readonly topicAliases = new Map<number, string>();
  private closed = false;

  constructor(
    private readonly client: Duplex,
    buffered: Buffer,
    private readonly hooks: Mqtt5BridgeHooks,
  ) {
    this.brokerEnd = new Duplex({
      read: () => {
        if (this.client.isPaused()) this.client.resume();
      },
      write: (chunk: Buffer, _encoding, callback) => {
        this.brokerParser.parse(chunk);
        callback();
      },
      final: (callback) => {
        this.client.end();
        callback();
      },
      destroy: (error, callback) => {
        this.closed = true;
        this.client.destroy();
        callback(error);
      },
    });
    this.clientParser.on("packet", (packet: mqttPacket.Packet) => this.fromClient(packet));
    this.clientParser.on("error", () => this.brokerEnd.destroy());
    this.brokerParser.on("packet", (packet: mqttPacket.Packet) => this.fromBroker(packet));
    this.brokerParser.on("error", () => this.brokerEnd.destroy());
    client.on("data", (chunk: Buffer) => this.clientParser.parse(chunk));
    client.on("end", () => this.brokerEnd.push(null));
    client.on("close", () => {
      if (!this.brokerEnd.destroyed) this.brokerEnd.destroy();
    });
    client.on("error", () => this.brokerEnd.destroy());
    if (buffered.length > 0) this.clientParser.parse(buffered);
    client.resume();
  }

  /** Sends an MQTT 5 DISCONNECT with a reason code; the caller then closes the connection. */
  disconnect(reasonCode: number): void {
    this.toClient({ cmd: "disconnect", reasonCode });
  }

  private toBroker(packet: mqttPacket.Packet): void {
    if (!this.closed) this.brokerEnd.push(mqttPacket.generate(packet));
  }

  private toClient(packet: mqttPacket.Packet): void {
    if (!this.closed && !this.client.destroyed && this.client.writable) {
      this.client.write(mqttPacket.generate(packet, { protocolVersion: 5 }));
    }
  }

  private fromClient(packet: mqttPacket.Packet): void {
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
      case "publish": {
        let topic = packet.topic;
        const alias = packet.properties?.topicAlias;
        if (alias !== undefined) {
          if (topic.length > 0) this.topicAliases.set(alias, topic);
          else topic = this.topicAliases.get(alias) ?? "";
        }
        const may = this.hooks.mayPublish(topic, packet.retain);
        if (may === false) {
          this.hooks.onPublishRefused(topic);
          if (packet.qos === 1) this.toClient({ cmd: "puback", messageId: packet.messageId, reasonCode: NOT_AUTHORIZED });
          if (packet.qos === 2) this.toClient({ cmd: "pubrec", messageId: packet.messageId, reasonCode: NOT_AUTHORIZED });
          return;
        }
        this.toBroker(plainPublish(packet, topic));
        return;
      }
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
          subscriptions: packet.subscriptions.map((s) => ({ topic: s.topic, qos: s.qos })),
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

  private fromBroker(packet: mqttPacket.Packet): void {
    switch (packet.cmd) {
      case "connack":
        this.toClient({
          cmd: "connack",
          sessionPresent: packet.sessionPresent,
          reasonCode: CONNACK_REASON[packet.returnCode ?? 0] ?? 0x80,
        });
        return;
      case "publish":
        this.toClient(plainPublish(packet, packet.topic));
        return;
      case "puback":
      case "pubrec":
      case "pubrel":
      case "pubcomp":
        this.toClient({ cmd: packet.cmd, messageId: packet.messageId, reasonCode: 0 } as mqttPacket.Packet);
        return;
      case "suback":
        this.toClient({
          cmd: "suback",
          messageId: packet.messageId,
          granted: (packet.granted as number[]).map((g) => (g === 128 ? NOT_AUTHORIZED : g)),
        });
        return;
      case "unsuback": {
        const count = packet.messageId !== undefined ? (this.pendingUnsubscribes.get(packet.messageId) ?? 1) : 1;
        if (packet.messageId !== undefined) this.pendingUnsubscribes.delete(packet.messageId);
        this.toClient({ cmd: "unsuback", messageId: packet.messageId, granted: new Array<number>(count).fill(0) });
        return;
      }
      case "pingresp":
        this.toClient({ cmd: "pingresp" });
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
