/**
 * The DynamoDB store against dynalite: the real wire protocol, conditions and all. Concurrency tests
 * fire real simultaneous requests at one server and count winners.
 */
import { GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { DynamoStore, StoreError } from "../../functions/device-grant/dynamo-store";
import { type DeviceRequest } from "../../functions/device-grant/model";
import { KEY_PREFIX, RETENTION_AFTER_EXPIRY_SECONDS } from "../../functions/device-grant/table";
import { type LocalDynamo, startDynalite } from "../../sandbox/dynalite";

const NOW = 1_700_000_000;

let dynamo: LocalDynamo;
let store: DynamoStore;
let tableNumber = 0;
let hashNumber = 0;

beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo.stop();
});
beforeEach(async () => {
  const tableName = await dynamo.createTable(`device-grant-${++tableNumber}`);
  store = new DynamoStore({ client: dynamo.client, tableName });
});

function request(overrides: Partial<DeviceRequest> = {}): DeviceRequest {
  hashNumber++;
  return {
    deviceCodeHash: hashNumber.toString(16).padStart(64, "0"),
    userCode: `BCDF${hashNumber.toString().padStart(4, "0")}`,
    clientId: "tv-client",
    scopes: ["openid", "iot/device"],
    status: "pending",
    createdAt: NOW,
    expiresAt: NOW + 1_800,
    interval: 5,
    deviceIp: "203.0.113.7",
    deviceUserAgent: "LivingRoomTV/1.0",
    failedAttempts: 0,
    version: 1,
    ...overrides,
  };
}

function tableName(): string {
  return `device-grant-${tableNumber}`;
}

describe("create and read", () => {
  it("stores a request and reads it back by device code hash and by user code, unchanged", async () => {
    const r = request();
    expect(await store.create(r, NOW)).toBe("ok");
    expect(await store.getByDeviceCodeHash(r.deviceCodeHash)).toEqual(r);
    expect(await store.getByUserCode(r.userCode)).toEqual(r);
  });

  it("keeps optional fields, empty lists and empty user agents", async () => {
    const r = request({
      scopes: [],
      deviceUserAgent: "",
      lastPollAt: NOW * 1000 + 123,
      stateHash: "ab".repeat(32),
      pkceVerifier: "v",
      authorizationCode: "c",
    });
    expect(await store.create(r, NOW)).toBe("ok");
    expect(await store.getByDeviceCodeHash(r.deviceCodeHash)).toEqual(r);
  });

  it("answers undefined for unknown device codes, user codes and states", async () => {
    expect(await store.getByDeviceCodeHash("f".repeat(64))).toBeUndefined();
    expect(await store.getByUserCode("ZZZZZZZZ")).toBeUndefined();
    expect(await store.getByStateHash("e".repeat(64))).toBeUndefined();
  });

  it("finds nothing, rather than failing, for a user code longer than any key", async () => {
    expect(await store.getByUserCode("B".repeat(5_000))).toBeUndefined();
    expect(await store.getByUserCode("Ж".repeat(1_100))).toBeUndefined();
  });

  it("sets the TTL to expiry plus the retention, and stores the device code only as the hash it is given", async () => {
    const r = request();
    await store.create(r, NOW);
    const { Item } = await dynamo.client.send(
      new GetItemCommand({ TableName: tableName(), Key: { pk: { S: KEY_PREFIX.request + r.deviceCodeHash } } }),
    );
    expect(Item?.ttl).toEqual({ N: String(r.expiresAt + RETENTION_AFTER_EXPIRY_SECONDS) });
    expect(Object.keys(Item ?? {}).sort()).toEqual(
      [
        "pk",
        "ttl",
        "deviceCodeHash",
        "userCode",
        "clientId",
        "scopes",
        "status",
        "createdAt",
        "expiresAt",
        "interval",
        "deviceIp",
        "deviceUserAgent",
        "failedAttempts",
        "version",
      ].sort(),
    );
  });

  it("refuses a second request with the same device code hash, and leaves the first one's user code alone", async () => {
    const first = request();
    expect(await store.create(first, NOW)).toBe("ok");
    const clash = request({ deviceCodeHash: first.deviceCodeHash });
    expect(await store.create(clash, NOW)).toBe("conflict");
    expect(await store.getByUserCode(first.userCode)).toEqual(first);
    // The clashing request's user code pointer was released again: the code is free.
    expect(await store.getByUserCode(clash.userCode)).toBeUndefined();
    expect(await store.create(request({ userCode: clash.userCode }), NOW)).toBe("ok");
  });
});

describe("user code uniqueness", () => {
  it("refuses a second live request with the same user code", async () => {
    const first = request({ userCode: "BCDFGHJK" });
    expect(await store.create(first, NOW)).toBe("ok");
    const second = request({ userCode: "BCDFGHJK" });
    expect(await store.create(second, NOW + 10)).toBe("conflict");
    expect(await store.getByDeviceCodeHash(second.deviceCodeHash)).toBeUndefined();
    expect(await store.getByUserCode("BCDFGHJK")).toEqual(first);
  });

  it("still holds the code at its exact expiry second, and gives it out after", async () => {
    const first = request({ userCode: "BCDFGHJK", expiresAt: NOW + 100 });
    await store.create(first, NOW);
    expect(await store.create(request({ userCode: "BCDFGHJK" }), NOW + 100)).toBe("conflict");
    const second = request({ userCode: "BCDFGHJK", createdAt: NOW + 101, expiresAt: NOW + 1_901 });
    expect(await store.create(second, NOW + 101)).toBe("ok");
    expect(await store.getByUserCode("BCDFGHJK")).toEqual(second);
    // The expired request is still there for its device's late poll (expired_token, not invalid_grant).
    expect(await store.getByDeviceCodeHash(first.deviceCodeHash)).toEqual(first);
  });

  it("lets exactly one of 20 simultaneous requests take the same code", async () => {
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => store.create(request({ userCode: "MMMMMMMM" }), NOW)));
    expect(outcomes.filter((o) => o === "ok")).toHaveLength(1);
    expect(outcomes.filter((o) => o === "conflict")).toHaveLength(19);
  });

  it("ignores a pointer whose request was never written", async () => {
    await dynamo.client.send(
      new PutItemCommand({
        TableName: tableName(),
        Item: { pk: { S: `${KEY_PREFIX.userCode}QQQQQQQQ` }, deviceCodeHash: { S: "0".repeat(64) }, expiresAt: { N: String(NOW + 60) } },
      }),
    );
    expect(await store.getByUserCode("QQQQQQQQ")).toBeUndefined();
  });
});

describe("conditional updates", () => {
  it("applies changes when version and status match, increments the version, and refuses stale writers", async () => {
    const r = request();
    await store.create(r, NOW);
    expect(await store.update(r.deviceCodeHash, { version: 1, status: "pending" }, { status: "denied" })).toBe("ok");
    expect(await store.getByDeviceCodeHash(r.deviceCodeHash)).toEqual({ ...r, status: "denied", version: 2 });
    expect(await store.update(r.deviceCodeHash, { version: 1 }, { status: "approved" })).toBe("conflict");
    expect(await store.update(r.deviceCodeHash, { version: 2, status: "pending" }, { status: "approved" })).toBe("conflict");
    expect(await store.update(r.deviceCodeHash, { version: 2 }, { lastPollAt: NOW * 1000 })).toBe("ok");
    expect((await store.getByDeviceCodeHash(r.deviceCodeHash))?.status).toBe("denied");
  });

  it("answers not-found for a request that does not exist, and creates nothing", async () => {
    expect(await store.update("a".repeat(64), { version: 1 }, { status: "approved" })).toBe("not-found");
    expect(await store.getByDeviceCodeHash("a".repeat(64))).toBeUndefined();
  });

  it("removes optional fields given as undefined, and refuses to remove required ones or change keys", async () => {
    const r = request({ pkceVerifier: "verifier", authorizationCode: "code" });
    await store.create(r, NOW);
    expect(
      await store.update(r.deviceCodeHash, { version: 1 }, { status: "redeemed", pkceVerifier: undefined, authorizationCode: undefined }),
    ).toBe("ok");
    const { pkceVerifier: _v, authorizationCode: _c, ...rest } = r;
    expect(await store.getByDeviceCodeHash(r.deviceCodeHash)).toEqual({ ...rest, status: "redeemed", version: 2 });
    await expect(store.update(r.deviceCodeHash, { version: 2 }, { clientId: undefined })).rejects.toThrow(/required/);
    await expect(store.update(r.deviceCodeHash, { version: 2 }, { userCode: "XXXXXXXX" })).rejects.toThrow(/user code/);
    await expect(store.update(r.deviceCodeHash, { version: 2 }, { version: 9 } as never)).rejects.toThrow(/cannot be changed/);
  });

  it("moves the TTL with the expiry", async () => {
    const r = request();
    await store.create(r, NOW);
    await store.update(r.deviceCodeHash, { version: 1 }, { expiresAt: NOW + 60 });
    const { Item } = await dynamo.client.send(
      new GetItemCommand({ TableName: tableName(), Key: { pk: { S: KEY_PREFIX.request + r.deviceCodeHash } } }),
    );
    expect(Item?.ttl).toEqual({ N: String(NOW + 60 + RETENTION_AFTER_EXPIRY_SECONDS) });
  });

  it("makes a state findable once set, and unfindable once cleared or replaced", async () => {
    const r = request();
    await store.create(r, NOW);
    const state1 = "1".repeat(64);
    const state2 = "2".repeat(64);
    expect(await store.getByStateHash(state1)).toBeUndefined();
    expect(
      await store.update(
        r.deviceCodeHash,
        { version: 1, status: "pending" },
        { status: "approving", stateHash: state1, pkceVerifier: "v" },
      ),
    ).toBe("ok");
    expect(await store.getByStateHash(state1)).toMatchObject({ deviceCodeHash: r.deviceCodeHash, status: "approving", version: 2 });
    expect(await store.update(r.deviceCodeHash, { version: 2 }, { stateHash: state2 })).toBe("ok");
    expect(await store.getByStateHash(state1)).toBeUndefined();
    expect(await store.getByStateHash(state2)).toMatchObject({ deviceCodeHash: r.deviceCodeHash });
    expect(await store.update(r.deviceCodeHash, { version: 3 }, { stateHash: undefined })).toBe("ok");
    expect(await store.getByStateHash(state2)).toBeUndefined();
  });

  it("does not write a state pointer when the update itself loses", async () => {
    const r = request();
    await store.create(r, NOW);
    expect(await store.update(r.deviceCodeHash, { version: 7 }, { stateHash: "3".repeat(64) })).toBe("conflict");
    const { Item } = await dynamo.client.send(
      new GetItemCommand({ TableName: tableName(), Key: { pk: { S: KEY_PREFIX.state + "3".repeat(64) } } }),
    );
    expect(Item).toBeUndefined();
  });

  it("refuses a state another request already holds", async () => {
    const a = request();
    const b = request();
    await store.create(a, NOW);
    await store.create(b, NOW);
    const state = "4".repeat(64);
    expect(await store.update(a.deviceCodeHash, { version: 1 }, { stateHash: state })).toBe("ok");
    await expect(store.update(b.deviceCodeHash, { version: 1 }, { stateHash: state })).rejects.toThrow(StoreError);
    expect(await store.getByStateHash(state)).toMatchObject({ deviceCodeHash: a.deviceCodeHash });
  });
});

describe("races", () => {
  it("lets exactly one of 50 simultaneous redemptions of an approved request win", async () => {
    const r = request({ status: "approved", version: 3, authorizationCode: "code" });
    await store.create(r, NOW);
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, () => store.update(r.deviceCodeHash, { version: 3, status: "approved" }, { status: "redeemed" })),
    );
    expect(outcomes.filter((o) => o === "ok")).toHaveLength(1);
    expect(outcomes.filter((o) => o === "conflict")).toHaveLength(49);
    expect(await store.getByDeviceCodeHash(r.deviceCodeHash)).toMatchObject({ status: "redeemed", version: 4 });
  });

  it("leaves exactly one outcome when approve and deny race", async () => {
    for (let round = 0; round < 10; round++) {
      const r = request();
      await store.create(r, NOW);
      const [approve, deny] = await Promise.all([
        store.update(
          r.deviceCodeHash,
          { version: 1, status: "pending" },
          { status: "approving", stateHash: (round + 10).toString(16).padStart(64, "5") },
        ),
        store.update(r.deviceCodeHash, { version: 1, status: "pending" }, { status: "denied" }),
      ]);
      expect([approve, deny].sort()).toEqual(["conflict", "ok"]);
      const stored = await store.getByDeviceCodeHash(r.deviceCodeHash);
      expect(stored?.status).toBe(approve === "ok" ? "approving" : "denied");
      expect(stored?.version).toBe(2);
    }
  });
});

describe("rate-limit counters", () => {
  it("counts 30 simultaneous failures exactly, per key and per window", async () => {
    const counts = await Promise.all(Array.from({ length: 30 }, () => store.countFailure("ip#203.0.113.7", NOW, NOW + 900)));
    expect([...counts].sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(await store.failureCount("ip#203.0.113.7", NOW)).toBe(30);
    expect(await store.failureCount("ip#203.0.113.7", NOW + 900)).toBe(0);
    expect(await store.failureCount("ip#198.51.100.1", NOW)).toBe(0);
    expect(await store.countFailure("ip#203.0.113.7", NOW + 900, NOW + 1_800)).toBe(1);
  });

  it("sets the counter's TTL to the window's end", async () => {
    await store.countFailure("code#BCDFGHJK", NOW, NOW + 900);
    const { Item } = await dynamo.client.send(
      new GetItemCommand({ TableName: tableName(), Key: { pk: { S: `${KEY_PREFIX.rateLimit}code#BCDFGHJK#${NOW}` } } }),
    );
    expect(Item).toEqual({ pk: { S: `${KEY_PREFIX.rateLimit}code#BCDFGHJK#${NOW}` }, count: { N: "1" }, ttl: { N: String(NOW + 900) } });
  });
});

describe("failures", () => {
  it("reports DynamoDB errors by operation and error name, without keys or codes", async () => {
    const lost = new DynamoStore({ client: dynamo.client, tableName: "no-such-table" });
    const r = request({ userCode: "SECRETCD" });
    const err: unknown = await lost.create(r, NOW).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).errorName).toBe("ResourceNotFoundException");
    expect((err as Error).message).toMatch(/^DynamoDB PutItem\(user code\) failed: ResourceNotFoundException/);
    expect((err as Error).message).not.toContain("SECRETCD");
    expect((err as Error).message).not.toContain(r.deviceCodeHash);
    await expect(lost.getByUserCode("SECRETCD")).rejects.toThrow(/^DynamoDB GetItem failed: ResourceNotFoundException/);
    await expect(lost.countFailure("ip#x", NOW, NOW + 1)).rejects.toThrow(StoreError);
  });

  it("refuses a malformed request instead of writing half of it", async () => {
    const r = request();
    await expect(store.create({ ...r, interval: Number.NaN }, NOW)).rejects.toThrow(/interval/);
    await expect(store.create({ ...r, clientId: undefined } as unknown as DeviceRequest, NOW)).rejects.toThrow(/clientId/);
    expect(await store.getByUserCode(r.userCode)).toBeUndefined();
  });
});
