/**
 * The gateway's HTTPS-style publish endpoint (`POST /topics/{topic}`) with plain fetch, against the real
 * authorizer core: 200 and delivery on an allowed publish, 403 on every refusal (as in the OpenAM walkthrough), the
 * authorizer invoked once per request and never for a bad signature or an unknown authorizer name.
 */
import { randomBytes } from "node:crypto";
import { type MqttClient } from "mqtt";
import {
  connect,
  endClient,
  type Harness,
  headers,
  query,
  SECRET,
  signature,
  startHarness,
  until,
  wrongSignature,
} from "./gateway-fixtures";

let h: Harness;
let subscriber: MqttClient;
const received: { topic: string; payload: string }[] = [];

beforeAll(async () => {
  h = await startHarness();
  const token = h.tokenFor("alice");
  subscriber = await connect(h.gateway, "tcp", 4, "alice-listener", { token, signature: signature(token) });
  subscriber.on("message", (topic, payload) => received.push({ topic, payload: payload.toString() }));
  await subscriber.subscribeAsync("devices/alice/#", { qos: 1 });
});
afterAll(async () => {
  await endClient(subscriber);
  await h.stop();
});

function post(path: string, init: { headers?: Record<string, string>; body?: string; method?: string } = {}): Promise<Response> {
  return fetch(`${h.gateway.httpUrl}${path}`, { method: init.method ?? "POST", headers: init.headers, body: init.body });
}

function signedHeaders(sub: string): Record<string, string> {
  const token = h.tokenFor(sub);
  return headers({ token, signature: signature(token) });
}

test("an allowed publish answers 200 and reaches the subscriber; the authorizer runs once per request", async () => {
  const before = h.gateway.authorizerInvocations();
  const response = await post("/topics/devices/alice/temp?qos=1", { headers: signedHeaders("alice"), body: "22.0" });
  expect(response.status).toBe(200);
  expect(await response.json()).toMatchObject({ message: "OK", traceId: expect.any(String) });
  await until(() => received.some((m) => m.topic === "devices/alice/temp"));
  expect(received).toContainEqual({ topic: "devices/alice/temp", payload: "22.0" });
  expect(h.gateway.authorizerInvocations()).toBe(before + 1);
  await post("/topics/devices/alice/temp", { headers: signedHeaders("alice"), body: "22.5" });
  expect(h.gateway.authorizerInvocations()).toBe(before + 2);
});

test("credentials in the query string work too, and an encoded topic is decoded", async () => {
  const token = h.tokenFor("alice");
  const response = await post(`/topics/devices%2Falice%2Fquery?qos=0&${query({ token, signature: signature(token) })}`, { body: "q" });
  expect(response.status).toBe(200);
  await until(() => received.some((m) => m.topic === "devices/alice/query"));
});

test("a publish to another device's topic answers 403", async () => {
  const before = h.gateway.authorizerInvocations();
  const response = await post("/topics/devices/bob/cmd?qos=1", { headers: signedHeaders("alice"), body: "x" });
  expect(response.status).toBe(403);
  expect(await response.json()).toMatchObject({ message: "Forbidden" });
  expect(h.gateway.authorizerInvocations()).toBe(before + 1);
  expect(h.logs).toContainEqual(expect.objectContaining({ transport: "https", reason: "policy-denied", topic: "devices/bob/cmd" }));
});

test("a retained publish needs iot:RetainPublish: 403", async () => {
  const response = await post("/topics/devices/alice/state?qos=1&retain=true", { headers: signedHeaders("alice"), body: "on" });
  expect(response.status).toBe(403);
});

test("a token the authorizer refuses answers 403", async () => {
  const token = h.tokenFor("alice", { secret: randomBytes(32).toString("base64") });
  const response = await post("/topics/devices/alice/x", { headers: headers({ token, signature: signature(token) }), body: "x" });
  expect(response.status).toBe(403);
  expect(h.logs).toContainEqual(expect.objectContaining({ transport: "https", reason: "not-authenticated" }));
});

test("a bad, missing or misplaced signature answers 403 without invoking the authorizer", async () => {
  const before = h.gateway.authorizerInvocations();
  const rejections = h.gateway.signatureRejections();
  const token = h.tokenFor("alice");
  const wrongKey = await post("/topics/devices/alice/x", { headers: headers({ token, signature: wrongSignature(token) }), body: "x" });
  const otherToken = await post("/topics/devices/alice/x", {
    headers: headers({ token, signature: signature(h.tokenFor("bob")) }),
    body: "x",
  });
  const missing = await post("/topics/devices/alice/x", { headers: headers({ token }), body: "x" });
  // base64url instead of standard base64 is not the same signature to IoT
  const base64url = Buffer.from(signature(token), "base64").toString("base64url");
  const wrongEncoding = await post("/topics/devices/alice/x", { headers: headers({ token, signature: base64url }), body: "x" });
  expect([wrongKey.status, otherToken.status, missing.status, wrongEncoding.status]).toEqual([403, 403, 403, 403]);
  expect(h.gateway.authorizerInvocations()).toBe(before);
  expect(h.gateway.signatureRejections()).toBe(rejections + 4);
});

test("a missing or unknown authorizer name answers 403 without invoking the authorizer", async () => {
  const before = h.gateway.authorizerInvocations();
  const token = h.tokenFor("alice");
  const unknown = await post("/topics/devices/alice/x", {
    headers: headers({ token, signature: signature(token), authorizerName: "other" }),
    body: "x",
  });
  const { "x-amz-customauthorizer-name": _name, ...withoutName } = headers({ token, signature: signature(token) });
  const missing = await post("/topics/devices/alice/x", { headers: withoutName, body: "x" });
  expect([unknown.status, missing.status]).toEqual([403, 403]);
  expect(h.gateway.authorizerInvocations()).toBe(before);
});

test("malformed requests are answered before authentication", async () => {
  const before = h.gateway.authorizerInvocations();
  expect((await post("/topics/devices/alice/x?qos=2", { headers: signedHeaders("alice"), body: "x" })).status).toBe(400);
  expect((await post("/topics/devices/alice/%23", { headers: signedHeaders("alice"), body: "x" })).status).toBe(400);
  expect((await post("/topics/", { headers: signedHeaders("alice"), body: "x" })).status).toBe(400);
  expect((await post("/other", { headers: signedHeaders("alice"), body: "x" })).status).toBe(404);
  expect((await post("/topics/devices/alice/x", { method: "GET", headers: signedHeaders("alice") })).status).toBe(405);
  expect((await post("/topics/devices/alice/x", { headers: signedHeaders("alice"), body: "x".repeat(128 * 1024 + 1) })).status).toBe(413);
  expect(h.gateway.authorizerInvocations()).toBe(before);
});

test("refusal log lines carry no token, signature or secret", () => {
  const text = JSON.stringify(h.logs);
  expect(h.logs.length).toBeGreaterThan(0);
  expect(text).not.toContain(SECRET);
  expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]+\./); // a JWT header
  for (const line of h.logs) {
    expect(Object.keys(line)).not.toEqual(expect.arrayContaining(["token"]));
  }
});
