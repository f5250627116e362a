/**
 * The gateway's MQTT side with the real `mqtt` client, MQTT 3.1.1 and 5, over TCP and WebSocket (headers
 * and the browser's query string), against the real authorizer core: connect, publish, subscribe and
 * receive, allowed and refused, and the refresh and disconnect timers (with a test time scale).
 */
import { type MqttClient } from "mqtt";
import {
  connect,
  endClient,
  type Harness,
  SECRET,
  signature,
  startHarness,
  type Transport,
  until,
  wrongSignature,
} from "./gateway-fixtures";
import { randomBytes } from "node:crypto";

const OTHER_SECRET = randomBytes(32).toString("base64");

/** The SUBACK's return codes in request order; mqtt.js rejects a SUBACK with any failure, packet attached. */
async function suback(client: MqttClient, filters: Record<string, { qos: 0 | 1 }>): Promise<number[]> {
  try {
    await client.subscribeAsync(filters);
  } catch (err) {
    const packet = (err as { packet?: { granted?: number[] } }).packet;
    if (packet?.granted) return packet.granted;
    throw err;
  }
  return Object.values(filters).map((f) => f.qos);
}

function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => {
    if (client.disconnected || !client.connected) return resolve();
    client.once("close", () => resolve());
  });
}

describe.each<[Transport, 4 | 5]>([
  ["tcp", 4],
  ["tcp", 5],
  ["ws-headers", 4],
  ["ws-headers", 5],
  ["ws-query", 4],
  ["ws-query", 5],
])("over %s, MQTT version %i", (transport, version) => {
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
    expect(JSON.stringify(h.logs)).not.toContain(SECRET);
  });

  async function as(sub: string, clientId = sub): Promise<MqttClient> {
    const token = h.tokenFor(sub);
    const client = await connect(h.gateway, transport, version, clientId, { token, signature: signature(token) });
    clients.push(client);
    return client;
  }

  const refusedCode = version === 5 ? 135 : 5;

  test("a device connects, subscribes to its own tree, publishes to it and receives its message", async () => {
    const before = h.gateway.authorizerInvocations();
    const alice = await as("alice", "alice-tv");
    expect(h.gateway.authorizerInvocations()).toBe(before + 1);
    const granted = await alice.subscribeAsync("devices/alice/#", { qos: 1 });
    expect(granted).toEqual([expect.objectContaining({ topic: "devices/alice/#", qos: 1 })]);
    const received = new Promise<[string, string]>((resolve) =>
      alice.once("message", (topic, payload) => resolve([topic, payload.toString()])),
    );
    await alice.publishAsync("devices/alice/temp", "21.5", { qos: 1 });
    await expect(received).resolves.toEqual(["devices/alice/temp", "21.5"]);
  });

  test("a subscription to another device's tree gets a SUBACK failure; the allowed one in the same SUBSCRIBE succeeds", async () => {
    const alice = await as("alice");
    const granted = await suback(alice, { "devices/bob/#": { qos: 1 }, "devices/alice/+/x": { qos: 1 } });
    expect(granted).toEqual([version === 5 ? 0x87 : 128, 1]);
    expect(h.logs).toContainEqual(
      expect.objectContaining({ outcome: "refused", stage: "subscribe", reason: "policy-denied", topic: "devices/bob/#" }),
    );
    expect(alice.connected).toBe(true);
  });

  test("a filter wider than the device's tree is refused", async () => {
    const alice = await as("alice");
    expect(await suback(alice, { "devices/#": { qos: 0 } })).toEqual([version === 5 ? 0x87 : 128]);
    expect(await suback(alice, { "devices/+/temp": { qos: 0 } })).toEqual([version === 5 ? 0x87 : 128]);
  });

  if (version === 4) {
    test("a publish to another device's topic disconnects an MQTT 3.1.1 client, as IoT does, and reaches no one", async () => {
      const bob = await as("bob");
      const bobGot: string[] = [];
      bob.on("message", (topic) => bobGot.push(topic));
      await bob.subscribeAsync("devices/bob/#", { qos: 1 });
      const alice = await as("alice");
      const gone = closed(alice);
      alice.publish("devices/bob/cmd", "open the door", { qos: 0 });
      await gone;
      // Bob's own publish arrives after where Alice's would have: nothing of hers came first.
      await bob.publishAsync("devices/bob/echo", "x", { qos: 1 });
      await until(() => bobGot.length > 0);
      expect(bobGot).toEqual(["devices/bob/echo"]);
      expect(h.logs).toContainEqual(expect.objectContaining({ stage: "publish", reason: "policy-denied", topic: "devices/bob/cmd" }));
    });
  } else {
    test("a publish to another device's topic gets PUBACK 0x87 on MQTT 5; the connection stays usable", async () => {
      const alice = await as("alice");
      await expect(alice.publishAsync("devices/bob/cmd", "open the door", { qos: 1 })).rejects.toMatchObject({ code: 0x87 });
      expect(alice.connected).toBe(true);
      await alice.subscribeAsync("devices/alice/#", { qos: 1 });
      const received = new Promise<string>((resolve) => alice.once("message", (topic) => resolve(topic)));
      await alice.publishAsync("devices/alice/ok", "fine", { qos: 1 });
      await expect(received).resolves.toBe("devices/alice/ok");
    });
  }

  test("a retained publish needs iot:RetainPublish, which the default grants do not give", async () => {
    const alice = await as("alice");
    if (version === 5) {
      await expect(alice.publishAsync("devices/alice/state", "on", { qos: 1, retain: true })).rejects.toMatchObject({ code: 0x87 });
    } else {
      const gone = closed(alice);
      alice.publish("devices/alice/state", "on", { qos: 0, retain: true });
      await gone;
    }
  });

  test("a subscriber does not receive messages its policy gives no iot:Receive for", async () => {
    const alice = await as("alice");
    const bob = await as("bob");
    const aliceGot: string[] = [];
    alice.on("message", (topic) => aliceGot.push(topic));
    // Both may subscribe to the whole shared tree; each may receive only its own part of it.
    expect((await alice.subscribeAsync("shared/#", { qos: 1 }))[0].qos).toBe(1);
    await bob.publishAsync("shared/bob/news", "for bob only", { qos: 1 });
    await alice.publishAsync("shared/alice/news", "for alice", { qos: 1 });
    await until(() => aliceGot.length > 0);
    expect(aliceGot).toEqual(["shared/alice/news"]);
    expect(h.logs).toContainEqual(expect.objectContaining({ stage: "receive", reason: "policy-denied", topic: "shared/bob/news" }));
  });

  test("a client id outside the principal's own is refused after the authorizer ran", async () => {
    const before = h.gateway.authorizerInvocations();
    const token = h.tokenFor("alice");
    await expect(connect(h.gateway, transport, version, "bob", { token, signature: signature(token) })).rejects.toMatchObject({
      code: refusedCode,
    });
    expect(h.gateway.authorizerInvocations()).toBe(before + 1);
    expect(h.logs).toContainEqual(expect.objectContaining({ stage: "connect", reason: "policy-denied", clientId: "bob" }));
  });

  test("a token from another key is refused by the authorizer", async () => {
    const before = h.gateway.authorizerInvocations();
    const token = h.tokenFor("alice", { secret: OTHER_SECRET });
    await expect(connect(h.gateway, transport, version, "alice", { token, signature: signature(token) })).rejects.toMatchObject({
      code: refusedCode,
    });
    expect(h.gateway.authorizerInvocations()).toBe(before + 1);
    expect(h.logs).toContainEqual(expect.objectContaining({ stage: "connect", reason: "not-authenticated" }));
  });

  test("a wrong token signature is refused without invoking the authorizer", async () => {
    const before = h.gateway.authorizerInvocations();
    const rejections = h.gateway.signatureRejections();
    const token = h.tokenFor("alice");
    await expect(connect(h.gateway, transport, version, "alice", { token, signature: wrongSignature(token) })).rejects.toMatchObject({
      code: refusedCode,
    });
    // The signature of another token does not do either.
    const other = h.tokenFor("bob");
    await expect(connect(h.gateway, transport, version, "alice", { token, signature: signature(other) })).rejects.toMatchObject({
      code: refusedCode,
    });
    await expect(connect(h.gateway, transport, version, "alice", { token })).rejects.toMatchObject({ code: refusedCode });
    expect(h.gateway.authorizerInvocations()).toBe(before);
    expect(h.gateway.signatureRejections()).toBe(rejections + 3);
  });

  test("an unknown authorizer name is refused without invoking the authorizer", async () => {
    const before = h.gateway.authorizerInvocations();
    const token = h.tokenFor("alice");
    await expect(
      connect(h.gateway, transport, version, "alice", { token, signature: signature(token), authorizerName: "someone-else" }),
    ).rejects.toMatchObject({ code: refusedCode });
    expect(h.gateway.authorizerInvocations()).toBe(before);
    expect(h.logs).toContainEqual(expect.objectContaining({ stage: "connect", reason: "authorizer-name-unknown" }));
  });
});

describe("where IoT reads credentials", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.stop();
  });

  test("the AWS SDKs' own parameters in the MQTT username are ignored", async () => {
    const token = h.tokenFor("alice");
    const { username } = await import("./gateway-fixtures");
    const mqtt = (await import("mqtt")).default;
    const client = mqtt.connect(h.gateway.mqttUrl, {
      clientId: "alice",
      reconnectPeriod: 0,
      username: `device?SDK=JavaScript&Version=2.1.0&${username({ token, signature: signature(token) }).split("?")[1]}&Platform=node`,
    });
    await new Promise<void>((resolve, reject) => {
      client.once("connect", () => resolve());
      client.once("error", reject);
    });
    await endClient(client);
  });

  test("over TCP, credentials in the password instead of the username do not pass signature validation", async () => {
    const before = h.gateway.authorizerInvocations();
    const token = h.tokenFor("alice");
    const mqtt = (await import("mqtt")).default;
    const client = mqtt.connect(h.gateway.mqttUrl, { clientId: "alice", reconnectPeriod: 0, username: "alice", password: token });
    await expect(
      new Promise<void>((resolve, reject) => {
        client.once("connect", () => resolve());
        client.once("error", reject);
      }),
    ).rejects.toMatchObject({ code: 5 });
    client.end(true);
    expect(h.gateway.authorizerInvocations()).toBe(before);
  });
});

describe("with token signing disabled", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ signing: false });
  });
  afterAll(async () => {
    await h.stop();
  });

  test("a token with no signature reaches the authorizer and connects", async () => {
    const token = h.tokenFor("alice");
    const client = await connect(h.gateway, "tcp", 4, "alice", { token });
    expect(h.gateway.authorizerInvocations()).toBe(1);
    await endClient(client);
  });

  test("the token may travel in the MQTT password, which the authorizer reads", async () => {
    const token = h.tokenFor("alice");
    const mqtt = (await import("mqtt")).default;
    const { AUTHORIZER_NAME } = await import("./gateway-fixtures");
    const client = mqtt.connect(h.gateway.mqttUrl, {
      clientId: "alice",
      reconnectPeriod: 0,
      username: `alice?x-amz-customauthorizer-name=${AUTHORIZER_NAME}`,
      password: token,
    });
    await new Promise<void>((resolve, reject) => {
      client.once("connect", () => resolve());
      client.once("error", reject);
    });
    await endClient(client);
  });
});

describe("refresh and disconnect timers (time scale 0.002: 300 s of IoT time is 600 ms)", () => {
  const harnesses: Harness[] = [];
  afterEach(async () => {
    await Promise.all(harnesses.splice(0).map((h) => h.stop()));
  });

  async function harness(refreshAfterSeconds: number, disconnectAfterSeconds: number): Promise<Harness> {
    const h = await startHarness({ refreshAfterSeconds, disconnectAfterSeconds, timeScale: 0.002 });
    harnesses.push(h);
    return h;
  }

  test.each([4, 5] as const)(
    "MQTT %i: the authorizer is called again at refreshAfterInSeconds and the connection lives on",
    async (version) => {
      const h = await harness(300, 86_400);
      const token = h.tokenFor("alice", { expiresInSeconds: 86_400 });
      const alice = await connect(h.gateway, "tcp", version, "alice", { token, signature: signature(token) });
      await until(() => h.gateway.authorizerInvocations() >= 3);
      expect(alice.connected).toBe(true);
      await alice.subscribeAsync("devices/alice/#", { qos: 1 });
      const received = new Promise<string>((resolve) => alice.once("message", (topic) => resolve(topic)));
      await alice.publishAsync("devices/alice/after-refresh", "x", { qos: 1 });
      await expect(received).resolves.toBe("devices/alice/after-refresh");
      await endClient(alice);
    },
  );

  test.each([4, 5] as const)("MQTT %i: a refresh the authorizer denies (the token expired meanwhile) disconnects", async (version) => {
    const h = await harness(300, 86_400);
    const token = h.tokenFor("alice", { expiresInSeconds: 3_600 });
    const alice = await connect(h.gateway, "tcp", version, "alice", { token, signature: signature(token) });
    const disconnectPacket = new Promise<number | undefined>((resolve) => alice.once("disconnect", (packet) => resolve(packet.reasonCode)));
    const gone = closed(alice);
    h.clock.now += 2 * 3_600_000; // the authorizer's clock moves past the token's exp
    await gone;
    expect(h.gateway.authorizerInvocations()).toBe(2);
    expect(h.logs).toContainEqual(expect.objectContaining({ stage: "refresh", reason: "not-authenticated", clientId: "alice" }));
    if (version === 5) await expect(disconnectPacket).resolves.toBe(0x87);
    alice.end(true);
  });

  test.each([4, 5] as const)("MQTT %i: the connection is closed at disconnectAfterInSeconds", async (version) => {
    const h = await harness(600, 300);
    const token = h.tokenFor("alice");
    const alice = await connect(h.gateway, "ws-query", version, "alice", { token, signature: signature(token) });
    const disconnectPacket = new Promise<number | undefined>((resolve) => alice.once("disconnect", (packet) => resolve(packet.reasonCode)));
    await closed(alice);
    expect(h.gateway.authorizerInvocations()).toBe(1); // refresh (600) comes after disconnect (300): never called
    expect(h.logs).toContainEqual(
      expect.objectContaining({ outcome: "disconnected", reason: "disconnectAfterInSeconds", clientId: "alice" }),
    );
    if (version === 5) await expect(disconnectPacket).resolves.toBe(0xa0);
    alice.end(true);
  });
});
