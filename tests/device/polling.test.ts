/**
 * The polling schedule alone, against a scripted token endpoint and a recording `sleep`: the timing rules
 * of RFC 8628 §3.5 that the real server cannot be made to exercise in a test without waiting minutes
 * (several slow_downs, the default interval, back-off on connection failures and 5xx answers).
 * Everything else about login runs against the real service in login.test.ts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DeviceClient, type DeviceClientOptions, ProtocolError } from "../../device/client";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "device-poll-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
type Scripted = { status: number; body: Record<string, unknown> } | "network-error";

const AUTHORIZATION = {
  device_code: "dc",
  user_code: "BCDF-GHJK",
  verification_uri: "https://example.test/device",
  verification_uri_complete: "https://example.test/device?user_code=BCDF-GHJK",
  expires_in: 600,
  interval: 2,
};
const TOKENS = { status: 200, body: { access_token: "a.b.c", token_type: "Bearer", expires_in: 3600, refresh_token: "r" } };
const pending = { status: 400, body: { error: "authorization_pending" } };
const slowDown = { status: 400, body: { error: "slow_down" } };

function scripted(authorization: Record<string, unknown>, answers: Scripted[], extra: Partial<DeviceClientOptions> = {}) {
  const waits: number[] = [];
  let now = 1_000_000;
  let polls = 0;
  const fetchStub: typeof fetch = async (input) => {
    const url = String(input);
    if (url.endsWith("/device_authorization")) return Response.json(authorization);
    const answer = answers[polls++];
    if (answer === undefined) throw new Error("polled more often than scripted");
    if (answer === "network-error") throw new TypeError("fetch failed");
    return Response.json(answer.body, { status: answer.status });
  };
  const device = new DeviceClient({
    baseUrl: "https://grant.example.test",
    clientId: "tv",
    tokenFile: path.join(dir, `tokens-${++files}.json`),
    fetch: fetchStub,
    now: () => now,
    sleep: async (ms) => {
      waits.push(ms);
      now += ms;
    },
    ...extra,
  });
  return { device, waits, polls: () => polls };
}

test("slow_down adds 5 s to this and every later interval; authorization_pending keeps it", async () => {
  const { device, waits } = scripted(AUTHORIZATION, [pending, slowDown, pending, slowDown, pending, TOKENS]);
  await device.login({ onCode: () => undefined });
  expect(waits).toEqual([2, 2, 7, 7, 12, 12].map((s) => s * 1000));
});

test("without an interval the device waits 5 s (RFC 8628 §3.2)", async () => {
  const { interval: _none, ...withoutInterval } = AUTHORIZATION;
  const { device, waits } = scripted(withoutInterval, [pending, TOKENS]);
  await device.login({ onCode: () => undefined });
  expect(waits).toEqual([5000, 5000]);
});

test("connection failures and 5xx answers back off exponentially up to a minute, then the interval returns", async () => {
  const unavailable = { status: 503, body: { error: "temporarily_unavailable" } };
  const { device, waits } = scripted(AUTHORIZATION, [
    "network-error",
    "network-error",
    unavailable,
    "network-error",
    "network-error",
    "network-error",
    pending,
    pending,
    TOKENS,
  ]);
  await device.login({ onCode: () => undefined });
  expect(waits).toEqual([2, 4, 8, 16, 32, 60, 60, 2, 2].map((s) => s * 1000));
});

test("onPoll sees the interval in force before each poll", async () => {
  const seen: number[] = [];
  const { device } = scripted(AUTHORIZATION, [slowDown, TOKENS]);
  await device.login({ onCode: () => undefined, onPoll: ({ intervalSeconds }) => seen.push(intervalSeconds) });
  expect(seen).toEqual([2, 7]);
});

test("an incomplete device authorization response is a protocol error naming what is missing", async () => {
  const { device, polls } = scripted({ device_code: "dc", verification_uri: "https://x.test/device" }, []);
  await expect(device.login({ onCode: () => undefined })).rejects.toBeInstanceOf(ProtocolError);
  await expect(device.login({ onCode: () => undefined })).rejects.toThrow("user_code, expires_in");
  expect(polls()).toBe(0);
});

test("an unknown error from the token endpoint ends the login with that error code", async () => {
  const { device } = scripted(AUTHORIZATION, [{ status: 400, body: { error: "invalid_grant", error_description: "spent" } }]);
  await expect(device.login({ onCode: () => undefined })).rejects.toMatchObject({
    error: "invalid_grant",
    message: expect.stringContaining("spent"),
  });
});

test("a non-Bearer token type is refused", async () => {
  const { device } = scripted(AUTHORIZATION, [{ status: 200, body: { access_token: "x", token_type: "DPoP" } }]);
  await expect(device.login({ onCode: () => undefined })).rejects.toThrow(/token_type DPoP/);
});

test("an aborted login stops waiting", async () => {
  const controller = new AbortController();
  const { device } = scripted(AUTHORIZATION, [pending, pending], {
    sleep: async (_ms, signal) => {
      controller.abort();
      signal?.throwIfAborted();
    },
  });
  await expect(device.login({ onCode: () => undefined, signal: controller.signal })).rejects.toMatchObject({ name: "AbortError" });
});
