/**
 * The claim binding store against dynalite: every state change is a conditional write, checked here by the
 * outcome of each condition and by races of real simultaneous requests.
 */
import { PutItemCommand } from "@aws-sdk/client-dynamodb";
import { type ClaimBinding, ClaimBindingStore, StoreError } from "../../functions/shared/claim-binding-store";
import { type LocalDynamo, startDynalite } from "../../sandbox/dynalite";
import { certificateId, createBindingTable, INSTALLER_SUB } from "./support";

const NOW = 1_800_000_000;
let dynamo: LocalDynamo;
let tableName: string;
let store: ClaimBindingStore;

beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo.stop();
});
beforeEach(async () => {
  tableName = await createBindingTable(dynamo);
  store = new ClaimBindingStore({ client: dynamo.client, tableName });
});

function binding(overrides: Partial<ClaimBinding> = {}): ClaimBinding {
  return {
    certificateId: certificateId(),
    installerSub: INSTALLER_SUB,
    thingName: "AB-123456",
    createdAt: NOW,
    expiresAt: NOW + 300,
    status: "bound",
    ...overrides,
  };
}

it("reads back exactly what it recorded, and nothing for an unknown claim", async () => {
  const b = binding();
  expect(await store.record(b)).toBe("ok");
  expect(await store.get(b.certificateId)).toEqual(b);
  expect(await store.get(certificateId())).toBeUndefined();
});

it("consumes a bound claim once, and never an expired, used or unknown one", async () => {
  const b = binding();
  await store.record(b);
  const use = { nowSeconds: NOW + 10, deviceCertificateId: certificateId("device") };
  expect(await store.consume(b.certificateId, use)).toBe("ok");
  expect(await store.get(b.certificateId)).toEqual({
    ...b,
    status: "used",
    usedAt: NOW + 10,
    deviceCertificateId: use.deviceCertificateId,
  });
  expect(await store.consume(b.certificateId, use)).toBe("conflict");

  const expired = binding();
  await store.record(expired);
  expect(await store.consume(expired.certificateId, { ...use, nowSeconds: NOW + 300 })).toBe("conflict");
  expect(await store.consume(certificateId(), use)).toBe("conflict");
});

it("lets exactly one of 50 simultaneous consumptions of a claim win", async () => {
  const b = binding();
  await store.record(b);
  const outcomes = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      store.consume(b.certificateId, { nowSeconds: NOW + 1, deviceCertificateId: certificateId(`d${i}`) }),
    ),
  );
  expect(outcomes.filter((o) => o === "ok")).toHaveLength(1);
});

it("records an unbound claim's use once", async () => {
  const id = certificateId();
  const use = { nowSeconds: NOW, expiresAt: NOW + 300, deviceCertificateId: certificateId("device") };
  const outcomes = await Promise.all(Array.from({ length: 10 }, () => store.recordUnboundUse(id, use)));
  expect(outcomes.filter((o) => o === "ok")).toHaveLength(1);
  expect(await store.get(id)).toMatchObject({ status: "used", unbound: true, installerSub: "", thingName: "" });
});

it("reserves a thing name for one claim at a time, and again once the reservation lapsed", async () => {
  const reserve = (claim: string, nowSeconds: number) =>
    store.reserveThingName("AB-123456", { certificateId: claim, nowSeconds, untilSeconds: nowSeconds + 600 });
  const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => reserve(certificateId(`c${i}`), NOW)));
  expect(outcomes.filter((o) => o === "ok")).toHaveLength(1);
  expect(await reserve(certificateId("late"), NOW + 599)).toBe("conflict");
  expect(await reserve(certificateId("later"), NOW + 601)).toBe("ok");
});

it("reports a damaged record as a StoreError, never as a binding", async () => {
  const id = certificateId();
  await dynamo.client.send(new PutItemCommand({ TableName: tableName, Item: { pk: { S: `CLAIM#${id}` }, status: { S: "bound" } } }));
  await expect(store.get(id)).rejects.toEqual(expect.objectContaining({ name: "StoreError", errorName: "MalformedItem" }));
});

it("names only the operation and DynamoDB's error when a call fails", async () => {
  const missing = new ClaimBindingStore({ client: dynamo.client, tableName: "no-such-table" });
  const error = await missing.record(binding()).catch((err: unknown) => err);
  expect(error).toBeInstanceOf(StoreError);
  expect((error as StoreError).message).toBe("DynamoDB PutItem(claim) failed: ResourceNotFoundException");
});
