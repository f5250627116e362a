/**
 * The DynamoDB store against dynalite: the real wire protocol, conditions and all. Every transition is one
 * conditional write; concurrency tests fire real simultaneous requests at one server and count winners. One
 * test runs the store on a mocked client instead, for the one DynamoDB feature dynalite lacks (the item
 * returned with a refused condition).
 */
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { DynamoStore, StoreError } from "../../functions/device-grant/dynamo-store";
import { requestItem } from "../../functions/device-grant/dynamo-items";
import { type DeviceCredential, type DeviceRequest } from "../../functions/device-grant/model";
import { KEY_PREFIX, RETENTION_AFTER_EXPIRY_SECONDS } from "../../functions/device-grant/table";
import { type LocalDynamo, startDynalite } from "../../sandbox/dynalite";

const NOW = 1_700_000_000;
const NOW_MS = NOW * 1000;

let dynamo: LocalDynamo;
let store: DynamoStore;
let tableNumber = 0;
let codeNumber = 0;

beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo.stop();
});
beforeEach(async () => {
  const tableName = await dynamo.createTable(`device-grant-${++tableNumber}`);
  store = new DynamoStore({ client: dynamo.client, tableName, itemOnRefusal: "read" });
});

function request(overrides: Partial<DeviceRequest> = {}): DeviceRequest {
  codeNumber++;
  return {
    userCode: `BCDF${codeNumber.toString().padStart(4, "0")}`,
    deviceSecretHash: codeNumber.toString(16).padStart(64, "0"),
    clientId: "tv-client",
    scopes: ["openid", "iot/device"],
    status: "pending",
    createdAt: NOW,
    expiresAt: NOW + 1_800,
    interval: 5,
    pollSpacingMs: 4_000,
    deviceIp: "203.0.113.7",
    deviceSoftware: "LivingRoomTV/1.0",
    approvals: 0,
    ...overrides,
  };
}

function credentialOf(r: DeviceRequest): DeviceCredential {
  return { userCode: r.userCode, clientId: r.clientId, deviceSecretHash: r.deviceSecretHash };
}

const now = { ms: NOW_MS, seconds: NOW };
const approval = (r: DeviceRequest, overrides: Partial<Parameters<DynamoStore["approve"]>[1]> = {}) => ({
  createdAt: r.createdAt,
  approver: "browser-a",
  approvalUntil: NOW_MS + 300_000,
  stateHash: "s".repeat(64),
  pkceVerifier: "verifier",
  maxApprovals: 5,
  charge: `ip#203.0.113.7#${NOW}`,
  ...overrides,
});

async function rawItem(userCode: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await dynamo.client.send(
    new GetItemCommand({ TableName: `device-grant-${tableNumber}`, Key: { pk: { S: KEY_PREFIX.request + userCode } } }),
  );
  return Item;
}

/** Created, approved by `browser-a` and called back with code `code-1`. */
async function approvedRequest(): Promise<DeviceRequest> {
  const r = request();
  await store.create(r, NOW);
  expect((await store.approve(r.userCode, approval(r), now)).written).toBe(true);
  expect((await store.completeApproval(r.userCode, "s".repeat(64), "code-1", NOW)).written).toBe(true);
  return r;
}

describe("create and read", () => {
  it("stores a request under its user code and reads it back unchanged, with the TTL at expiry plus the retention", async () => {
    const r = request();
    expect(await store.create(r, NOW)).toBe("ok");
    expect(await store.getByUserCode(r.userCode)).toEqual(r);
    const item = await rawItem(r.userCode);
    expect(item?.ttl).toEqual({ N: String(r.expiresAt + RETENTION_AFTER_EXPIRY_SECONDS) });
    expect(item?.pk).toEqual({ S: `USER#${r.userCode}` });
  });

  it("keeps optional fields and empty lists", async () => {
    const r = request({
      scopes: [],
      deviceSoftware: "",
      nextPollAt: NOW_MS + 123,
      approver: "x",
      approvalUntil: 1,
      stateHash: "ab",
      pkceVerifier: "v",
    });
    expect(await store.create(r, NOW)).toBe("ok");
    expect(await store.getByUserCode(r.userCode)).toEqual(r);
  });

  it("answers undefined for unknown codes, and for a code longer than any key without asking DynamoDB", async () => {
    expect(await store.getByUserCode("ZZZZZZZZ")).toBeUndefined();
    expect(await store.getByUserCode("B".repeat(5_000))).toBeUndefined();
  });

  it("reserves a user code until its record's retention ends, then gives it out again", async () => {
    const first = request({ userCode: "BCDFGHJK", expiresAt: NOW + 100 });
    expect(await store.create(first, NOW)).toBe("ok");
    // Expired, but a late poll must still find it: the code stays reserved.
    expect(await store.create(request({ userCode: "BCDFGHJK" }), NOW + 101)).toBe("conflict");
    expect(await store.create(request({ userCode: "BCDFGHJK" }), NOW + 100 + RETENTION_AFTER_EXPIRY_SECONDS)).toBe("conflict");
    const second = request({ userCode: "BCDFGHJK", createdAt: NOW + 200_000, expiresAt: NOW + 201_800 });
    expect(await store.create(second, NOW + 101 + RETENTION_AFTER_EXPIRY_SECONDS)).toBe("ok");
    expect(await store.getByUserCode("BCDFGHJK")).toEqual(second);
  });

  it("lets exactly one of 20 simultaneous requests take the same code", async () => {
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => store.create(request({ userCode: "MMMMMMMM" }), NOW)));
    expect(outcomes.filter((o) => o === "ok")).toHaveLength(1);
    expect(outcomes.filter((o) => o === "conflict")).toHaveLength(19);
  });
});

describe("polls", () => {
  it("writes only nextPollAt, never earlier than the spacing, and a first poll is never too early", async () => {
    const r = request();
    await store.create(r, NOW);
    const first = await store.poll(credentialOf(r), NOW_MS);
    expect(first).toEqual({ written: true, request: { ...r, nextPollAt: NOW_MS + 4_000 } });
    const early = await store.poll(credentialOf(r), NOW_MS + 3_999);
    expect(early).toEqual({ written: false, current: { ...r, nextPollAt: NOW_MS + 4_000 } });
    expect((await store.poll(credentialOf(r), NOW_MS + 4_000)).written).toBe(true);
  });

  it("refuses another client, a wrong secret, an expired request, and a denied one, and changes nothing", async () => {
    const r = request({ expiresAt: NOW + 10 });
    await store.create(r, NOW);
    expect((await store.poll({ ...credentialOf(r), clientId: "other" }, NOW_MS)).written).toBe(false);
    expect((await store.poll({ ...credentialOf(r), deviceSecretHash: "f".repeat(64) }, NOW_MS)).written).toBe(false);
    expect((await store.poll(credentialOf(r), (NOW + 10) * 1000)).written).toBe(false);
    expect(await store.getByUserCode(r.userCode)).toEqual(r);
    expect((await store.deny(r.userCode, { createdAt: NOW, approver: "a" }, now)).written).toBe(true);
    expect((await store.poll(credentialOf(r), NOW_MS)).written).toBe(false);
    expect((await store.poll({ ...credentialOf(r), userCode: "NONEXIST" }, NOW_MS)).written).toBe(false);
  });

  it("collects an approved request whenever it is polled, however early", async () => {
    const r = await approvedRequest();
    expect((await store.poll(credentialOf(r), NOW_MS)).written).toBe(true);
    expect((await store.poll(credentialOf(r), NOW_MS + 1)).written).toBe(true);
  });

  it("raises the interval once, however many early polls ask at the same moment", async () => {
    const r = request();
    await store.create(r, NOW);
    const change = { fromInterval: 5, interval: 10, pollSpacingMs: 9_000, nowMs: NOW_MS };
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => store.slowDown(credentialOf(r), change)));
    expect(outcomes.filter(Boolean)).toHaveLength(1);
    expect(await store.getByUserCode(r.userCode)).toMatchObject({ interval: 10, pollSpacingMs: 9_000, nextPollAt: NOW_MS + 9_000 });
  });
});

describe("approval, lock and callback", () => {
  it("takes the lock for one browser: another is refused until it runs out, the holder may approve again", async () => {
    const r = request();
    await store.create(r, NOW);
    const taken = await store.approve(r.userCode, approval(r), now);
    expect(taken).toMatchObject({
      written: true,
      request: { status: "approving", approver: "browser-a", approvals: 1, approvalCharge: `ip#203.0.113.7#${NOW}` },
    });
    const other = await store.approve(r.userCode, approval(r, { approver: "browser-b", stateHash: "b".repeat(64) }), now);
    expect(other).toMatchObject({ written: false, current: { approver: "browser-a", stateHash: "s".repeat(64) } });
    expect((await store.deny(r.userCode, { createdAt: NOW, approver: "browser-b" }, now)).written).toBe(false);
    // The holder approves again: a new state.
    expect((await store.approve(r.userCode, approval(r, { stateHash: "t".repeat(64) }), now)).written).toBe(true);
    // Once the lock has run out, another browser may take it.
    const later = { ms: NOW_MS + 300_000, seconds: NOW + 300 };
    expect((await store.approve(r.userCode, approval(r, { approver: "browser-b" }), later)).written).toBe(true);
    expect(await store.getByUserCode(r.userCode)).toMatchObject({ approver: "browser-b", approvals: 3 });
  });

  it("cancels only for the lock holder, which frees the code for another browser", async () => {
    const r = request();
    await store.create(r, NOW);
    await store.approve(r.userCode, approval(r), now);
    expect((await store.cancelApproval(r.userCode, { createdAt: NOW, approver: "browser-b" })).written).toBe(false);
    const cancelled = await store.cancelApproval(r.userCode, { createdAt: NOW, approver: "browser-a" });
    expect(cancelled).toMatchObject({ written: true, request: { status: "pending", approvals: 1 } });
    expect(cancelled.written && cancelled.request).not.toHaveProperty("stateHash");
    expect((await store.approve(r.userCode, approval(r, { approver: "browser-b" }), now)).written).toBe(true);
  });

  it("refuses a decision on a later request than the one shown, on an expired one, and past the approvals cap", async () => {
    const r = request({ approvals: 5 });
    await store.create(r, NOW);
    expect((await store.approve(r.userCode, approval(r, { createdAt: NOW - 1 }), now)).written).toBe(false);
    expect((await store.approve(r.userCode, approval(r), now)).written).toBe(false);
    const fresh = request({ expiresAt: NOW + 1 });
    await store.create(fresh, NOW);
    expect((await store.approve(fresh.userCode, approval(fresh), { ms: NOW_MS + 1000, seconds: NOW + 1 })).written).toBe(false);
  });

  it("completes only with the state of the approval, once; an IdP error releases the lock and the state", async () => {
    const r = request();
    await store.create(r, NOW);
    await store.approve(r.userCode, approval(r), now);
    expect((await store.completeApproval(r.userCode, "x".repeat(64), "code", NOW)).written).toBe(false);
    const done = await store.completeApproval(r.userCode, "s".repeat(64), "code-1", NOW);
    expect(done).toMatchObject({ written: true, request: { status: "approved", authorizationCode: "code-1", stateHash: "s".repeat(64) } });
    expect(done.written && done.request).not.toHaveProperty("approver");
    expect((await store.completeApproval(r.userCode, "s".repeat(64), "code-2", NOW)).written).toBe(false);

    const other = request();
    await store.create(other, NOW);
    await store.approve(other.userCode, approval(other), now);
    const failed = await store.failApproval(other.userCode, "s".repeat(64), "pending");
    expect(failed.written && failed.request).toEqual({
      ...other,
      status: "pending",
      approvals: 1,
      approvalCharge: `ip#203.0.113.7#${NOW}`,
    });
  });
});

describe("redemption", () => {
  it("takes the upstream code and verifier out of the table, once; a restore puts them back", async () => {
    const r = await approvedRequest();
    const secrets = await store.redeem(credentialOf(r));
    expect(secrets).toEqual({ authorizationCode: "code-1", pkceVerifier: "verifier" });
    const item = await rawItem(r.userCode);
    expect(item).toMatchObject({ status: { S: "redeemed" } });
    expect(item).not.toHaveProperty("authorizationCode");
    expect(item).not.toHaveProperty("pkceVerifier");
    expect(await store.redeem(credentialOf(r))).toBeUndefined();
    expect(await store.restoreApproval(r.userCode, secrets as { authorizationCode: string; pkceVerifier: string })).toBe(true);
    expect(await store.restoreApproval(r.userCode, { authorizationCode: "other", pkceVerifier: "v" })).toBe(false);
    expect(await store.getByUserCode(r.userCode)).toMatchObject({ status: "approved", authorizationCode: "code-1" });
  });

  it("lets exactly one of 50 simultaneous redemptions win, and not for another client's credential", async () => {
    const r = await approvedRequest();
    expect(await store.redeem({ ...credentialOf(r), clientId: "other" })).toBeUndefined();
    const outcomes = await Promise.all(Array.from({ length: 50 }, () => store.redeem(credentialOf(r))));
    expect(outcomes.filter((o) => o !== undefined)).toHaveLength(1);
  });
});

describe("races", () => {
  it("leaves exactly one outcome when approve and deny race", async () => {
    for (let round = 0; round < 10; round++) {
      const r = request();
      await store.create(r, NOW);
      const [approve, deny] = await Promise.all([
        store.approve(r.userCode, approval(r), now),
        store.deny(r.userCode, { createdAt: NOW, approver: "browser-b" }, now),
      ]);
      expect([approve.written, deny.written].filter(Boolean)).toHaveLength(1);
      expect((await store.getByUserCode(r.userCode))?.status).toBe(approve.written ? "approving" : "denied");
    }
  });

  it("polls in a storm never refuse an approval or a callback", async () => {
    const r = request();
    await store.create(r, NOW);
    let polling = true;
    const storm = Array.from({ length: 8 }, async () => {
      for (let ms = NOW_MS; polling; ms += 5_000) await store.poll(credentialOf(r), ms);
    });
    const approved = await store.approve(r.userCode, approval(r), now);
    const completed = await store.completeApproval(r.userCode, "s".repeat(64), "code-1", NOW);
    polling = false;
    await Promise.all(storm);
    expect([approved.written, completed.written]).toEqual([true, true]);
  });
});

describe("rate-limit counters", () => {
  it("counts 30 simultaneous attempts exactly, per key and per window", async () => {
    const counts = await Promise.all(Array.from({ length: 30 }, () => store.countAttempt("ip#203.0.113.7", NOW, NOW + 900)));
    expect([...counts].sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(await store.countAttempt("ip#203.0.113.7", NOW + 900, NOW + 1_800)).toBe(1);
    expect(await store.countAttempt("ip#198.51.100.1", NOW, NOW + 900)).toBe(1);
  });

  it("refunds what a counter holds, one when it holds fewer, never below zero, never a counter that does not exist", async () => {
    for (let i = 0; i < 3; i++) await store.countAttempt("ip#a", NOW, NOW + 900);
    await store.refundAttempts("ip#a", NOW, 2);
    expect(await store.countAttempt("ip#a", NOW, NOW + 900)).toBe(2);
    await store.countAttempt("ip#b", NOW, NOW + 900);
    await store.refundAttempts("ip#b", NOW, 2);
    await store.refundAttempts("ip#b", NOW, 2);
    expect(await store.countAttempt("ip#b", NOW, NOW + 900)).toBe(1);
    await store.refundAttempts("ip#c", NOW, 2);
    expect(await store.countAttempt("ip#c", NOW, NOW + 900)).toBe(1);
  });
});

describe("on AWS", () => {
  it("takes a refused write's item from the refusal (ReturnValuesOnConditionCheckFailure) and reads nothing", async () => {
    const r = request();
    const mock = mockClient(DynamoDBClient);
    try {
      mock.on(UpdateItemCommand).rejects(new ConditionalCheckFailedException({ message: "refused", $metadata: {}, Item: requestItem(r) }));
      const aws = new DynamoStore({ client: new DynamoDBClient({ region: "eu-west-1" }), tableName: "t" });
      expect(await aws.poll(credentialOf(r), NOW_MS)).toEqual({ written: false, current: r });
      // No item with the refusal: there is none, and nothing is read to find that out.
      mock.on(UpdateItemCommand).rejects(new ConditionalCheckFailedException({ message: "refused", $metadata: {} }));
      expect(await aws.poll({ ...credentialOf(r), userCode: "NONEXIST" }, NOW_MS)).toEqual({ written: false, current: undefined });
      expect(mock.commandCalls(GetItemCommand)).toHaveLength(0);
      expect(mock.commandCalls(UpdateItemCommand)[0].args[0].input).toMatchObject({
        Key: { pk: { S: `USER#${r.userCode}` } },
        ReturnValues: "ALL_NEW",
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      });
    } finally {
      mock.restore();
    }
  });
});

describe("failures", () => {
  it("reports DynamoDB errors by operation and error name, without keys or codes", async () => {
    const lost = new DynamoStore({ client: dynamo.client, tableName: "no-such-table", itemOnRefusal: "read" });
    const r = request({ userCode: "SECRETCD" });
    const err: unknown = await lost.create(r, NOW).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).errorName).toBe("ResourceNotFoundException");
    expect((err as Error).message).toMatch(/^DynamoDB PutItem\(request\) failed: ResourceNotFoundException/);
    expect((err as Error).message).not.toContain("SECRETCD");
    await expect(lost.getByUserCode("SECRETCD")).rejects.toThrow(/^DynamoDB GetItem failed: ResourceNotFoundException/);
    await expect(lost.poll(credentialOf(r), NOW_MS)).rejects.toThrow(/^DynamoDB UpdateItem\(poll\) failed/);
    await expect(lost.countAttempt("ip#x", NOW, NOW + 1)).rejects.toThrow(StoreError);
  });

  it("refuses a malformed request instead of writing half of it, and a malformed item instead of guessing", async () => {
    const r = request();
    await expect(store.create({ ...r, interval: Number.NaN }, NOW)).rejects.toThrow(/interval/);
    await expect(store.create({ ...r, clientId: undefined } as unknown as DeviceRequest, NOW)).rejects.toThrow(/clientId/);
    expect(await store.getByUserCode(r.userCode)).toBeUndefined();
    await dynamo.client.send(
      new PutItemCommand({
        TableName: `device-grant-${tableNumber}`,
        Item: { pk: { S: `${KEY_PREFIX.request}QQQQQQQQ` }, userCode: { S: "QQQQQQQQ" } },
      }),
    );
    await expect(store.getByUserCode("QQQQQQQQ")).rejects.toThrow(/MalformedItem/);
  });
});
