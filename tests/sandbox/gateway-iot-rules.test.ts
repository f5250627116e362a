/**
 * The gateway holds MQTT clients to IoT Core's own rules (docs/aws-iot-custom-auth.md#iot-core-mqtt-as-firmware-meets-it),
 * driven with the real `mqtt` client at protocol levels 3, 4 and 5: MQTT 3.1 refused and logged, QoS 2 not
 * served, payloads over 128 KB refused, a Will the policy does not allow refused at CONNECT, and MQTT 5's
 * CONNACK properties, topic aliases and forwarded user properties.
 */
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { connect, endClient, type Harness, signature, startHarness, until, username } from "./gateway-fixtures";

const KIB = 1024;

describe("IoT Core's MQTT rules at the gateway", () => {
  let h: Harness;
  const clients: MqttClient[] = [];
  beforeAll(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map(endClient));
  });
  afterAll(async () => {
    await h.stop();
  });

  async function as(sub: string, version: 4 | 5, clientId = sub, extra: Partial<IClientOptions> = {}): Promise<MqttClient> {
    const token = h.tokenFor(sub);
    const client = await connect(h.gateway, "tcp", version, clientId, { token, signature: signature(token) }, extra);
    clients.push(client);
    return client;
  }

  /** A client of `sub` that connected and subscribed to its own tree; it records what it receives. */
  async function listener(
    sub: string,
    version: 4 | 5,
  ): Promise<{ client: MqttClient; got: { topic: string; payload: Buffer; packet: unknown }[] }> {
    const client = await as(sub, version, `${sub}-listener`);
    const got: { topic: string; payload: Buffer; packet: unknown }[] = [];
    client.on("message", (topic, payload, packet) => got.push({ topic, payload, packet }));
    await client.subscribeAsync(`devices/${sub}/#`, { qos: 1 });
    return { client, got };
  }

  const closed = (client: MqttClient) =>
    new Promise<void>((resolve) => (client.disconnected ? resolve() : client.once("close", () => resolve())));
  const disconnectReason = (client: MqttClient) =>
    new Promise<number | undefined>((resolve) => client.once("disconnect", (packet) => resolve(packet.reasonCode)));

  describe("MQTT 3.1 (protocol level 3, MQIsdp)", () => {
    test("is refused with CONNACK 1 before the authorizer runs, and the refusal is logged", async () => {
      const before = h.gateway.authorizerInvocations();
      const token = h.tokenFor("alice");
      const client = mqtt.connect(h.gateway.mqttUrl, {
        protocolId: "MQIsdp",
        protocolVersion: 3,
        clientId: "alice",
        username: username({ token, signature: signature(token) }),
        reconnectPeriod: 0,
      });
      await expect(
        new Promise((resolve, reject) => {
          client.once("connect", resolve);
          client.once("error", reject);
        }),
      ).rejects.toMatchObject({ code: 1 });
      client.end(true);
      expect(h.gateway.authorizerInvocations()).toBe(before);
      expect(h.logs).toContainEqual(
        expect.objectContaining({ stage: "connect", reason: "protocol-unsupported", protocolLevel: 3, clientId: "alice" }),
      );
    });
  });

  describe("QoS 2", () => {
    test("MQTT 3.1.1: a QoS 2 publish gets no PUBREC and reaches no one; the connection stays", async () => {
      const bob = await listener("bob", 4);
      const device = await as("bob", 4, "bob-device");
      let acknowledged = false;
      device.publish("devices/bob/exactly-once", "x", { qos: 2 }, () => (acknowledged = true));
      await until(() => h.logs.some((l) => l.reason === "qos-unsupported" && l.topic === "devices/bob/exactly-once"));
      await device.publishAsync("devices/bob/after", "y", { qos: 1 });
      await until(() => bob.got.length > 0);
      expect(bob.got.map((m) => m.topic)).toEqual(["devices/bob/after"]);
      expect(acknowledged).toBe(false);
      expect(device.connected).toBe(true);
    });

    test("MQTT 3.1.1: a SUBSCRIBE asking for QoS 2 gets no SUBACK and subscribes to nothing", async () => {
      const alice = await as("alice", 4);
      const got: string[] = [];
      alice.on("message", (topic) => got.push(topic));
      let subacked = false;
      alice.subscribe("devices/alice/q2/#", { qos: 2 }, () => (subacked = true));
      await until(() => h.logs.some((l) => l.stage === "subscribe" && l.reason === "qos-unsupported" && l.topic === "devices/alice/q2/#"));
      await alice.subscribeAsync("devices/alice/q1/#", { qos: 1 });
      await alice.publishAsync("devices/alice/q2/x", "lost", { qos: 1 });
      await alice.publishAsync("devices/alice/q1/x", "kept", { qos: 1 });
      await until(() => got.length > 0);
      expect(got).toEqual(["devices/alice/q1/x"]);
      expect(subacked).toBe(false);
    });

    test("MQTT 5: CONNACK says maximum QoS 1; a QoS 2 publish ends the connection with 0x9B; QoS 2 subscriptions are granted QoS 1", async () => {
      const alice = await as("alice", 5);
      expect(alice.connected).toBe(true);
      const granted = await alice.subscribeAsync("devices/alice/#", { qos: 2 });
      expect(granted[0].qos).toBe(1);
      const reason = disconnectReason(alice);
      alice.publish("devices/alice/exactly-once", "x", { qos: 2 });
      await expect(reason).resolves.toBe(0x9b);
      await closed(alice);
      expect(h.logs).toContainEqual(
        expect.objectContaining({ stage: "publish", reason: "qos-unsupported", topic: "devices/alice/exactly-once" }),
      );
    });
  });

  describe.each([4, 5] as const)("payload size, MQTT %i", (version) => {
    test("128 KiB is delivered; 200 KiB and 1 MiB end the publisher's connection and reach no one", async () => {
      const bob = await listener("bob", 4);
      const largest = Buffer.alloc(128 * KIB, 1);
      const device = await as("bob", version, "bob-device");
      await device.publishAsync("devices/bob/big", largest, { qos: 1 });
      await until(() => bob.got.length === 1);
      expect(bob.got[0].payload.length).toBe(128 * KIB);
      for (const size of [200 * KIB, 1024 * KIB]) {
        const sender = await as("bob", version, `bob-sender-${size}`);
        const reason = version === 5 ? disconnectReason(sender) : undefined;
        sender.publish("devices/bob/too-big", Buffer.alloc(size, 2), { qos: 0 });
        await closed(sender);
        if (reason) await expect(reason).resolves.toBe(0x95);
      }
      await device.publishAsync("devices/bob/after", "small", { qos: 1 });
      await until(() => bob.got.length === 2);
      expect(bob.got.map((m) => m.topic)).toEqual(["devices/bob/big", "devices/bob/after"]);
      expect(h.logs.filter((l) => l.reason === "payload-too-large" && l.topic === "devices/bob/too-big")).toHaveLength(
        2 * (version === 4 ? 1 : 1),
      );
      h.logs.splice(0);
    });
  });

  describe.each([4, 5] as const)("a Last Will, MQTT %i", (version) => {
    test("on another user's topic is refused at CONNECT, with a log line naming the topic", async () => {
      const token = h.tokenFor("alice");
      const refused = version === 5 ? 0x87 : 5;
      await expect(
        connect(
          h.gateway,
          "tcp",
          version,
          "alice",
          { token, signature: signature(token) },
          { will: { topic: "devices/bob/status", payload: Buffer.from("alice gone"), qos: 0, retain: false } },
        ),
      ).rejects.toMatchObject({ code: refused });
      expect(h.logs).toContainEqual(
        expect.objectContaining({ stage: "connect", reason: "policy-denied", topic: "devices/bob/status", detail: "last will" }),
      );
    });

    test("on the device's own topic is accepted and published when the connection drops", async () => {
      const alice = await listener("alice", version);
      const device = await as("alice", version, "alice-device", {
        will: { topic: "devices/alice/status", payload: Buffer.from("offline"), qos: 1, retain: false },
      });
      (device.stream as unknown as { destroy(): void }).destroy(); // an abrupt end, not a DISCONNECT
      await until(() => alice.got.length > 0);
      expect(alice.got.map((m) => [m.topic, m.payload.toString()])).toEqual([["devices/alice/status", "offline"]]);
    });

    test("retained needs iot:RetainPublish, which the default grants do not give", async () => {
      const token = h.tokenFor("alice");
      const will = { topic: "devices/alice/status", payload: Buffer.from("offline"), qos: 0 as const, retain: true };
      await expect(connect(h.gateway, "tcp", version, "alice", { token, signature: signature(token) }, { will })).rejects.toMatchObject({
        code: version === 5 ? 0x87 : 5,
      });
    });
  });

  describe("MQTT 5", () => {
    test("CONNACK carries IoT's properties", async () => {
      const token = h.tokenFor("alice");
      const client = mqtt.connect(h.gateway.mqttUrl, {
        protocolVersion: 5,
        clientId: "alice",
        username: username({ token, signature: signature(token) }),
        reconnectPeriod: 0,
      });
      clients.push(client);
      const connack = await new Promise<{ properties?: Record<string, unknown> }>((resolve, reject) => {
        client.once("connect", resolve);
        client.once("error", reject);
      });
      expect(connack.properties).toEqual({
        maximumQoS: 1,
        retainAvailable: true,
        topicAliasMaximum: 8,
        wildcardSubscriptionAvailable: true,
        subscriptionIdentifiersAvailable: false,
        sharedSubscriptionAvailable: false,
      });
    });

    test("topic aliases resolve; alias 0 ends the connection with 0x94, an alias never set with 0x82", async () => {
      const bob = await listener("bob", 5);
      const device = await as("bob", 5, "bob-device");
      await device.publishAsync("devices/bob/aliased", "1", { qos: 1, properties: { topicAlias: 3 } });
      await device.publishAsync("", "2", { qos: 1, properties: { topicAlias: 3 } });
      await until(() => bob.got.length === 2);
      expect(bob.got.map((m) => [m.topic, m.payload.toString()])).toEqual([
        ["devices/bob/aliased", "1"],
        ["devices/bob/aliased", "2"],
      ]);

      const zero = await as("bob", 5, "bob-zero");
      const zeroReason = disconnectReason(zero);
      zero.publish("devices/bob/zero", "x", { qos: 0, properties: { topicAlias: 0 } });
      await expect(zeroReason).resolves.toBe(0x94);

      const unset = await as("bob", 5, "bob-unset");
      const unsetReason = disconnectReason(unset);
      unset.publish("", "x", { qos: 0, properties: { topicAlias: 5 } });
      await expect(unsetReason).resolves.toBe(0x82);
      expect(h.logs.filter((l) => l.reason === "topic-alias-invalid")).toHaveLength(2);
      expect(bob.got).toHaveLength(2);
    });

    test("user properties and the other forwarded properties reach MQTT 5 subscribers; MQTT 3.1.1 ones get the message", async () => {
      const v5 = await listener("bob", 5);
      const v4 = await as("bob", 4, "bob-v4");
      const v4got: string[] = [];
      v4.on("message", (topic) => v4got.push(topic));
      await v4.subscribeAsync("devices/bob/#", { qos: 1 });
      const device = await as("bob", 5, "bob-device");
      const properties = {
        userProperties: { firmware: "1.2.3", tag: ["a", "b"] },
        contentType: "application/json",
        responseTopic: "devices/bob/replies",
        correlationData: Buffer.from("req-7"),
        payloadFormatIndicator: true,
      };
      await device.publishAsync("devices/bob/telemetry", '{"t":21}', { qos: 1, properties });
      await until(() => v5.got.length === 1 && v4got.length === 1);
      expect((v5.got[0].packet as { properties?: unknown }).properties).toEqual(properties);
    });
  });
});
