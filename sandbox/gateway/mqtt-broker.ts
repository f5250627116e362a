/**
 * The MQTT broker behind the gateway's listeners: aedes with the policy hooks (mqtt-hooks.ts), and the
 * registry of live connections. Each accepted stream's CONNECT is read first: a protocol level IoT Core does
 * not speak (MQTT 3.1, "MQIsdp") is refused with CONNACK 1 and logged; an MQTT 5 client is put behind the
 * MQTT 5 bridge (mqtt5.ts, since aedes 1.x speaks 3.1.1 only), an MQTT 3.1.1 client behind the 3.1.1 link
 * (mqtt311.ts); both apply IoT's protocol rules (iot-mqtt-rules.ts) before aedes sees a packet.
 */
import nodeModule from "node:module";
import { type Duplex } from "node:stream";
import * as mqttPacket from "mqtt-packet";
import type * as AedesModule from "aedes";
import { clearTimers, type ConnectAttribute, type Connection } from "./connection";
import { IOT_MQTT, willTooLarge } from "./iot-mqtt-rules";
import { Mqtt311Link } from "./mqtt311";
import { Mqtt5Bridge } from "./mqtt5";
import { linkHooks, type PolicyEnforcement, policyHooks } from "./mqtt-hooks";

type AedesClient = AedesModule.Client;

/** How long a new stream may take to send its CONNECT. */
const CONNECT_TIMEOUT_MS = 30_000;

/**
 * aedes 1.x is an ES module. Node 20.19+ can `require()` it, but under jest `require` is jest's own loader,
 * which cannot; Node's loader (`Module._load`) works in both (see sandbox/esm.ts).
 */
function loadAedes(): typeof AedesModule {
  const load = (nodeModule as unknown as { _load(request: string, parent: unknown, isMain: boolean): unknown })._load;
  return load(require.resolve("aedes"), null, false) as typeof AedesModule;
}

export type MqttBrokerOptions = Omit<PolicyEnforcement, "connectionOf" | "messageProperties">;

export class MqttBroker {
  /** Every connection still open, so that stopping the gateway can stop their timers. */
  private readonly live = new Set<Connection>();

  private constructor(
    /** The connection registry: each aedes client to the connection it was accepted on. */
    private readonly connections: WeakMap<AedesClient, Connection>,
    private readonly enforcement: PolicyEnforcement,
    private readonly aedes: AedesModule.Aedes,
  ) {}

  static async start(options: MqttBrokerOptions): Promise<MqttBroker> {
    const connections = new WeakMap<AedesClient, Connection>();
    const enforcement: PolicyEnforcement = {
      ...options,
      connectionOf: (client) => connections.get(client),
      messageProperties: new WeakMap(),
    };
    const aedes = await loadAedes().Aedes.createBroker(policyHooks(enforcement));
    return new MqttBroker(connections, enforcement, aedes);
  }

  /** Peeks at the CONNECT to learn the protocol version, then hands the stream to aedes (through the MQTT 5 bridge if needed). */
  accept(stream: Duplex, conn: Connection): void {
    this.live.add(conn);
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
      this.live.delete(conn);
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
      if (!IOT_MQTT.protocolLevels.includes(packet.protocolVersion ?? 0)) {
        this.refuseProtocol(stream, conn, packet);
        return;
      }
      this.handOver(stream, Buffer.concat(chunks), packet, conn);
    });
    stream.on("data", onData);
  }

  /**
   * A protocol level IoT does not speak: CONNACK 1 (unacceptable protocol version, the answer MQTT 3.1 and
   * 3.1.1 both define) and the connection closed, with a log line saying why.
   */
  private refuseProtocol(stream: Duplex, conn: Connection, packet: mqttPacket.IConnectPacket): void {
    this.enforcement.log.refused({
      transport: conn.transport,
      stage: "connect",
      reason: "protocol-unsupported",
      connectionId: conn.id,
      clientId: packet.clientId,
      protocolLevel: packet.protocolVersion,
    });
    stream.end(mqttPacket.generate({ cmd: "connack", returnCode: 1, sessionPresent: false }));
  }

  private handOver(stream: Duplex, buffered: Buffer, packet: mqttPacket.IConnectPacket, conn: Connection): void {
    const version = packet.protocolVersion as 4 | 5;
    const attributes: ConnectAttribute[] = [
      ...(packet.will ? ["LastWill" as const] : []),
      ...(!packet.clean ? ["PersistentConnect" as const] : []),
    ];
    conn.connect = {
      protocolVersion: version,
      ...(packet.will && { will: { topic: packet.will.topic, retain: packet.will.retain === true, tooLarge: willTooLarge(packet) } }),
      attributes,
    };
    const hooks = linkHooks(this.enforcement, conn);
    conn.link = version === 5 ? new Mqtt5Bridge(stream, buffered, hooks) : new Mqtt311Link(stream, buffered, hooks);
    conn.client = this.aedes.handle(conn.link.brokerEnd);
    this.connections.set(conn.client, conn);
  }

  /** Publishes as the gateway itself (an HTTP publish, already checked): aedes's publish hook lets it through. */
  publish(packet: AedesModule.PublishPacket): Promise<void> {
    return new Promise<void>((resolve, reject) => this.aedes.publish(packet, (err) => (err ? reject(err) : resolve())));
  }

  /** Stops the session timers of every live connection, so that none fires while the gateway stops. */
  stopSessionTimers(): void {
    for (const conn of this.live) clearTimers(conn);
  }

  close(): Promise<void> {
    return new Promise<void>((resolve) => this.aedes.close(() => resolve()));
  }
}
