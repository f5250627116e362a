/**
 * The plumbing between one client's stream and aedes: every packet the client sends is parsed and handed to
 * a subclass (`fromClient`), which passes it on to aedes as MQTT 3.1.1 (`toBroker`), answers it itself, or
 * ends the connection; what aedes writes back reaches the client either unchanged (an MQTT 3.1.1 client,
 * mqtt311.ts) or parsed and translated (`fromBroker`, the MQTT 5 bridge, mqtt5.ts). This is where the gateway
 * applies IoT Core's protocol rules (iot-mqtt-rules.ts) before aedes sees a packet.
 *
 * It also carries the MQTT 5 properties IoT forwards, which an MQTT 3.1.1 broker cannot: the gateway tells a
 * link which payload buffer aedes is about to write for a message that had properties (`expectProperties`),
 * and the link attaches them to the PUBLISH it parses from that write (aedes writes a payload as its own chunk).
 */
import { Duplex } from "node:stream";
import * as mqttPacket from "mqtt-packet";
import { type ForwardedProperties } from "./iot-mqtt-rules";
import { type Refusal } from "./log";

export interface LinkHooks {
  /**
   * Whether the connection may publish to `topic`: true or false once the connection is authenticated,
   * undefined before (aedes's own hook decides then). Used by links that can refuse a PUBLISH themselves.
   */
  mayPublish(topic: string, retain: boolean): boolean | undefined;
  /** A publish the policy refused, for the gateway's log. */
  onPublishRefused(topic: string): void;
  /** A packet IoT's protocol rules refused (QoS 2, payload too large, a bad topic alias…), for the gateway's log. */
  onViolation(reason: Refusal, stage: "publish" | "subscribe", topic?: string): void;
}

export abstract class PacketLink {
  /** The stream aedes reads the client's packets (as MQTT 3.1.1) from and writes its answers to. */
  readonly brokerEnd: Duplex;
  protected readonly clientParser = mqttPacket.parser();
  private readonly brokerParser = mqttPacket.parser();
  /** Payload buffers aedes is about to write, with the properties of their message. */
  private readonly expected = new WeakMap<Buffer, ForwardedProperties>();
  /** The properties of the PUBLISH the broker parser is parsing now. */
  protected incomingProperties: ForwardedProperties | undefined;
  /** Properties of the client's publishes handed to aedes, oldest first (see `takePublishedProperties`). */
  private readonly publishedProperties: (ForwardedProperties | undefined)[] = [];
  protected closed = false;

  constructor(
    protected readonly client: Duplex,
    buffered: Buffer,
    protected readonly hooks: LinkHooks,
    translateBroker: boolean,
  ) {
    this.brokerEnd = new Duplex({
      read: () => {
        if (this.client.isPaused()) this.client.resume();
      },
      write: (chunk: Buffer, _encoding, callback) => {
        if (translateBroker) {
          const properties = this.expected.get(chunk);
          if (properties !== undefined) this.incomingProperties = properties;
          this.brokerParser.parse(chunk);
        } else if (!this.closed && this.client.writable) {
          this.client.write(chunk);
        }
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
    this.brokerParser.on("packet", (packet: mqttPacket.Packet) => {
      this.fromBroker(packet);
      this.incomingProperties = undefined;
    });
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

  /** Sends an MQTT 5 DISCONNECT with a reason code where the protocol has one; the caller then closes the connection. */
  disconnect(reasonCode: number): void {
    void reasonCode; // MQTT 3.1.1 has no DISCONNECT from the server: the connection just closes
  }

  /** Ends the connection now, telling an MQTT 5 client why. */
  end(reasonCode: number): void {
    this.disconnect(reasonCode);
    this.brokerEnd.destroy();
  }

  /** The properties of the next publish of this client that aedes authorizes (in the order they were handed on). */
  takePublishedProperties(): ForwardedProperties | undefined {
    return this.publishedProperties.shift();
  }

  /** Aedes will write `payload` to this client as a PUBLISH that carries `properties`. */
  expectProperties(payload: Buffer, properties: ForwardedProperties): void {
    this.expected.set(payload, properties);
  }

  protected abstract fromClient(packet: mqttPacket.Packet): void;

  protected fromBroker(packet: mqttPacket.Packet): void {
    void packet; // only links that translate aedes's answers parse them
  }

  /** Hands a PUBLISH to aedes, remembering the properties IoT would forward with it. */
  protected publishToBroker(packet: mqttPacket.IPublishPacket, properties: ForwardedProperties | undefined): void {
    this.publishedProperties.push(properties);
    this.toBroker(packet);
  }

  protected toBroker(packet: mqttPacket.Packet): void {
    if (!this.closed) this.brokerEnd.push(mqttPacket.generate(packet));
  }

  protected toClient(packet: mqttPacket.Packet, protocolVersion: number): void {
    if (!this.closed && !this.client.destroyed && this.client.writable) {
      this.client.write(mqttPacket.generate(packet, { protocolVersion }));
    }
  }
}
