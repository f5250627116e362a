/**
 * What AWS IoT Core's message broker accepts from an MQTT client, apart from the policy: the protocol
 * versions, QoS levels, payload size, topic aliases and the MQTT 5 properties it forwards
 * (docs/aws-iot-custom-auth.md#iot-core-mqtt-as-firmware-meets-it). aedes knows none of these limits, so the
 * gateway applies them to each client packet before aedes sees it (mqtt311.ts, mqtt5.ts). Pure functions and
 * constants only: what to do with a packet, never how.
 */
import type * as mqttPacket from "mqtt-packet";
import { type Refusal } from "./log";

/** IoT Core's limits as the gateway enforces them. */
export const IOT_MQTT = {
  /** MQTT 3.1.1 (protocol level 4) and MQTT 5 only: MQTT 3.1 (level 3, "MQIsdp") is refused. */
  protocolLevels: [4, 5] as readonly number[],
  /** QoS 0 and 1; QoS 2 is not supported. */
  maximumQos: 1,
  /** The payload of one PUBLISH (and of a Will), bytes: IoT's 128 KB message size quota. */
  maxPayloadBytes: 128 * 1024,
  /** Topic aliases an MQTT 5 client may use (the gateway's CONNACK says so). */
  topicAliasMaximum: 8,
} as const;

/** MQTT 5 reason codes the gateway sends (MQTT 5.0 §2.4). */
export const REASON = {
  protocolError: 0x82,
  unsupportedProtocolVersion: 0x84,
  notAuthorized: 0x87,
  topicAliasInvalid: 0x94,
  packetTooLarge: 0x95,
  qosNotSupported: 0x9b,
  maximumConnectTime: 0xa0,
} as const;

/**
 * What the gateway tells an MQTT 5 client in a successful CONNACK: what IoT Core supports (QoS 0 and 1,
 * retained messages, wildcards, topic aliases; no subscription identifiers). Shared subscriptions exist on
 * IoT Core but not in aedes, so the sandbox says it has none (sandbox/README.md lists the difference).
 */
export const CONNACK_PROPERTIES: NonNullable<mqttPacket.IConnackPacket["properties"]> = {
  maximumQoS: IOT_MQTT.maximumQos as 0 | 1,
  retainAvailable: true,
  topicAliasMaximum: IOT_MQTT.topicAliasMaximum,
  wildcardSubscriptionAvailable: true,
  subscriptionIdentifiersAvailable: false,
  sharedSubscriptionAvailable: false,
};

/** What to do with a client's PUBLISH: pass it on, drop it unanswered, or end the connection. */
export type PublishVerdict =
  { action: "pass" } | { action: "drop"; reason: Refusal } | { action: "disconnect"; reason: Refusal; reasonCode: number };

/**
 * IoT's rules for a PUBLISH from a client of `protocolVersion` (4 or 5). QoS 2: MQTT 3.1.1 gets no answer at
 * all (the guide: no PUBACK when QoS 2 is requested) and the message goes nowhere; MQTT 5 was told QoS 1 is
 * the maximum, so QoS 2 is a protocol violation ending the connection with 0x9B (MQTT 5.0 §3.2.2.3.4). A
 * payload over the quota ends the connection (IoT: `CLIENT_ERROR`, `PAYLOAD_LIMIT_EXCEEDED`), with 0x95 on MQTT 5.
 */
export function checkPublish(packet: mqttPacket.IPublishPacket, protocolVersion: number): PublishVerdict {
  if (packet.payload.length > IOT_MQTT.maxPayloadBytes) {
    return { action: "disconnect", reason: "payload-too-large", reasonCode: REASON.packetTooLarge };
  }
  if (packet.qos > IOT_MQTT.maximumQos) {
    return protocolVersion === 5
      ? { action: "disconnect", reason: "qos-unsupported", reasonCode: REASON.qosNotSupported }
      : { action: "drop", reason: "qos-unsupported" };
  }
  return { action: "pass" };
}

/** A SUBSCRIBE asking for QoS 2 anywhere: MQTT 3.1.1 gets no SUBACK (the guide), MQTT 5 is granted QoS 1. */
export function asksForQos2(packet: mqttPacket.ISubscribePacket): boolean {
  return packet.subscriptions.some((s) => s.qos > IOT_MQTT.maximumQos);
}

/** A Will over the payload quota, which IoT refuses with the CONNECT. */
export function willTooLarge(packet: mqttPacket.IConnectPacket): boolean {
  const payload = packet.will?.payload;
  return payload !== undefined && payload.length > IOT_MQTT.maxPayloadBytes;
}

/** The MQTT 5 properties of a PUBLISH that IoT Core passes on to subscribers (MQTT 5 subscribers only). */
export type ForwardedProperties = Pick<
  NonNullable<mqttPacket.IPublishPacket["properties"]>,
  "userProperties" | "contentType" | "payloadFormatIndicator" | "responseTopic" | "correlationData"
>;

export function forwardedProperties(packet: mqttPacket.IPublishPacket): ForwardedProperties | undefined {
  const p = packet.properties;
  if (p === undefined) return undefined;
  const kept: ForwardedProperties = {
    ...(p.userProperties !== undefined && { userProperties: p.userProperties }),
    ...(p.contentType !== undefined && { contentType: p.contentType }),
    ...(p.payloadFormatIndicator !== undefined && { payloadFormatIndicator: p.payloadFormatIndicator }),
    ...(p.responseTopic !== undefined && { responseTopic: p.responseTopic }),
    ...(p.correlationData !== undefined && { correlationData: p.correlationData }),
  };
  return Object.keys(kept).length > 0 ? kept : undefined;
}
