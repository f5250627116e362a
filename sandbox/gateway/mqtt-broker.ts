/**
 * The MQTT broker behind the gateway's listeners: aedes with the policy hooks (mqtt-hooks.ts), and the
 * registry of live connections. aedes 1.x speaks MQTT 3.1.1 only, so each accepted stream's CONNECT is
 * read first: an MQTT 5 client is put behind the MQTT 5 bridge (mqtt5.ts), anything else goes straight on.
 */
import nodeModule from "node:module";
import { type Duplex } from "node:stream";
import * as mqttPacket from "mqtt-packet";
import type * as AedesModule from "aedes";
import { clearTimers, type Connection } from "./connection";
import { Mqtt5Bridge } from "./mqtt5";
import { bridgeHooks, type PolicyEnforcement, policyHooks } from "./mqtt-hooks";

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

export type MqttBrokerOptions = Omit<PolicyEnforcement, "connectionOf">;

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
    const enforcement: PolicyEnforcement = { ...options, connectionOf: (client) => connections.get(client) };
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
      this.handOver(stream, Buffer.concat(chunks), packet.protocolVersion === 5, conn);
    });
    stream.on("data", onData);
  }

  private handOver(stream: Duplex, buffered: Buffer, mqtt5: boolean, conn: Connection): void {
    if (mqtt5) {
      const bridge = new Mqtt5Bridge(stream, buffered, bridgeHooks(this.enforcement, conn));
      conn.bridge = bridge;
      conn.client = this.aedes.handle(bridge.brokerEnd);
    } else {
      stream.unshift(buffered);
      conn.client = this.aedes.handle(stream);
    }
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
