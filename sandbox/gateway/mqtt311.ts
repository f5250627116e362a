/**
 * An MQTT 3.1.1 client in front of aedes: its packets go to aedes as they are, except those IoT Core's
 * broker would not take (iot-mqtt-rules.ts). A QoS 2 PUBLISH or a SUBSCRIBE asking for QoS 2 gets no answer
 * at all, as the IoT guide says of QoS 2, and goes nowhere; a payload over IoT's quota ends the connection
 * (3.1.1 has no reason code to carry). Each refusal is logged. aedes's answers reach the client unchanged.
 */
import type * as mqttPacket from "mqtt-packet";
import { asksForQos2, checkPublish } from "./iot-mqtt-rules";
import { type LinkHooks, PacketLink } from "./packet-link";

export class Mqtt311Link extends PacketLink {
  constructor(client: ConstructorParameters<typeof PacketLink>[0], buffered: Buffer, hooks: LinkHooks) {
    super(client, buffered, hooks, false);
  }

  protected fromClient(packet: mqttPacket.Packet): void {
    if (packet.cmd === "publish") {
      const verdict = checkPublish(packet, 4);
      if (verdict.action !== "pass") {
        this.hooks.onViolation(verdict.reason, "publish", packet.topic);
        if (verdict.action === "disconnect") this.brokerEnd.destroy();
        return;
      }
      this.publishToBroker(packet, undefined);
      return;
    }
    if (packet.cmd === "subscribe" && asksForQos2(packet)) {
      for (const s of packet.subscriptions) if (s.qos > 1) this.hooks.onViolation("qos-unsupported", "subscribe", s.topic);
      return;
    }
    this.toBroker(packet);
  }
}
