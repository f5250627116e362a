/**
 * The `Store` port on DynamoDB (low-level client, items marshalled by hand: `@aws-sdk/util-dynamodb` is
 * not a dependency, and an explicit field table keeps stray properties out of the table).
 *
 * Layout (functions/device-grant/table.ts): the request under `DEV#<hash>`, and pointer items for the
 * user code, the upstream `state` and rate-limit counters. Every state change is one conditional write,
 * so concurrent polls, approve-versus-deny races and replays resolve to exactly one winner. dynalite has
 * no transactions, so the two writes of `create` are ordered to be safe without one (see there).
 *
 * Errors: a failed condition becomes the `"conflict"` outcome; anything else is a `StoreError` naming the
 * operation and DynamoDB's error name only, never the SDK's message (it can quote keys, and keys hold user codes).
 */
import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { type DeviceRequest, type RequestStatus, type Store, type WriteOutcome } from "./model";
import { KEY_PREFIX, PARTITION_KEY, RETENTION_AFTER_EXPIRY_SECONDS, TTL_ATTRIBUTE } from "./table";

type Item = Record<string, AttributeValue>;

const MAX_PARTITION_KEY_BYTES = 2_048;

/** How each request field is stored. Optional fields are absent until set, and may be removed again. */
const FIELDS = {
  deviceCodeHash: { type: "S", optional: false },
  userCode: { type: "S", optional: false },
  clientId: { type: "S", optional: false },
  scopes: { type: "L", optional: false },
  status: { type: "S", optional: false },
  createdAt: { type: "N", optional: false },
  expiresAt: { type: "N", optional: false },
  interval: { type: "N", optional: false },
  lastPollAt: { type: "N", optional: true },
  deviceIp: { type: "S", optional: false },
  deviceUserAgent: { type: "S", optional: false },
  stateHash: { type: "S", optional: true },
  pkceVerifier: { type: "S", optional: true },
  authorizationCode: { type: "S", optional: true },
  failedAttempts: { type: "N", optional: false },
  version: { type: "N", optional: false },
} as const satisfies Record<keyof DeviceRequest, { type: "S" | "N" | "L"; optional: boolean }>;

type Field = keyof typeof FIELDS;
type Changes = Partial<Omit<DeviceRequest, "deviceCodeHash" | "version">>;

/** A DynamoDB failure other than a failed condition. Says which call failed and how, nothing more. */
export class StoreError extends Error {
  constructor(
    readonly operation: string,
    readonly errorName: string,
    readonly requestId?: string,
  ) {
    super(`DynamoDB ${operation} failed: ${errorName}${requestId ? ` (request id ${requestId})` : ""}`);
    this.name = "StoreError";
  }
}

function isConditionFailure(err: unknown): boolean {
  return (err as { name?: unknown } | null)?.name === "ConditionalCheckFailedException";
}

function storeError(operation: string, err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const e = err as { name?: unknown; $metadata?: { requestId?: string } } | null;
  return new StoreError(operation, typeof e?.name === "string" ? e.name : "UnknownError", e?.$metadata?.requestId);
}

function marshal(field: Field, value: unknown): AttributeValue {
  const type = FIELDS[field].type;
  if (type === "S" && typeof value === "string") return { S: value };
  if (type === "N" && typeof value === "number" && Number.isFinite(value)) return { N: String(value) };
  if (type === "L" && Array.isArray(value) && value.every((v) => typeof v === "string")) return { L: value.map((v: string) => ({ S: v })) };
  throw new TypeError(
    `request field ${field} must be ${type === "S" ? "a string" : type === "N" ? "a finite number" : "a list of strings"}`,
  );
}

function unmarshal(field: Field, value: AttributeValue | undefined): unknown {
  if (value === undefined) return undefined;
  const type = FIELDS[field].type;
  if (type === "S" && value.S !== undefined) return value.S;
  if (type === "N" && value.N !== undefined) return Number(value.N);
  if (type === "L" && value.L !== undefined && value.L.every((v) => v.S !== undefined)) return value.L.map((v) => v.S as string);
  throw new StoreError("read", `MalformedItem(${field})`);
}

function requestItem(request: DeviceRequest): Item {
  const item: Item = {
    [PARTITION_KEY]: { S: KEY_PREFIX.request + request.deviceCodeHash },
    [TTL_ATTRIBUTE]: { N: String(request.expiresAt + RETENTION_AFTER_EXPIRY_SECONDS) },
  };
  for (const field of Object.keys(FIELDS) as Field[]) {
    const value = request[field];
    if (value === undefined) {
      if (!FIELDS[field].optional) throw new TypeError(`request field ${field} is required`);
      continue;
    }
    item[field] = marshal(field, value);
  }
  return item;
}

function requestFromItem(item: Item): DeviceRequest {
  const request: Record<string, unknown> = {};
  for (const field of Object.keys(FIELDS) as Field[]) {
    const value = unmarshal(field, item[field]);
    if (value === undefined) {
      if (!FIELDS[field].optional) throw new StoreError("read", `MalformedItem(${field})`);
      continue;
    }
    request[field] = value;
  }
  return request as unknown as DeviceRequest;
}

export class DynamoStore implements Store {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;

  constructor(options: { client: DynamoDBClient; tableName: string }) {
    this.client = options.client;
    this.tableName = options.tableName;
  }

  /**
   * Two conditional puts, in this order. First the `USER#` pointer, which succeeds only if no live request
   * holds the code (absent, or its holder expired: an expired code may be drawn again, while its old
   * request stays readable by device code for `expired_token`). Then the request itself, only if its
   * device code hash is new. If the second put fails, the pointer is deleted again, conditionally on
   * still being ours. A crash in between leaves a pointer to a request that does not exist: lookups
   * ignore it, and it blocks only that one user code until it expires.
   */
  async create(request: DeviceRequest, nowSeconds: number): Promise<WriteOutcome> {
    const item = requestItem(request);
    const pointerKey = KEY_PREFIX.userCode + request.userCode;
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            [PARTITION_KEY]: { S: pointerKey },
            deviceCodeHash: { S: request.deviceCodeHash },
            expiresAt: { N: String(request.expiresAt) },
            [TTL_ATTRIBUTE]: item[TTL_ATTRIBUTE],
          },
          ConditionExpression: "attribute_not_exists(#pk) OR #expiresAt < :now",
          ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#expiresAt": "expiresAt" },
          ExpressionAttributeValues: { ":now": { N: String(nowSeconds) } },
        }),
      );
    } catch (err) {
      if (isConditionFailure(err)) return "conflict";
      throw storeError("PutItem(user code)", err);
    }

    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: "attribute_not_exists(#pk)",
          ExpressionAttributeNames: { "#pk": PARTITION_KEY },
        }),
      );
      return "ok";
    } catch (err) {
      await this.releasePointer(pointerKey, request.deviceCodeHash);
      if (isConditionFailure(err)) return "conflict";
      throw storeError("PutItem(request)", err);
    }
  }

  async getByDeviceCodeHash(deviceCodeHash: string): Promise<DeviceRequest | undefined> {
    const item = await this.getItem(KEY_PREFIX.request + deviceCodeHash);
    return item && requestFromItem(item);
  }

  async getByUserCode(userCode: string): Promise<DeviceRequest | undefined> {
    const pointer = await this.getItem(KEY_PREFIX.userCode + userCode);
    const target = pointer?.deviceCodeHash?.S;
    if (target === undefined) return undefined;
    const request = await this.getByDeviceCodeHash(target);
    // A pointer whose request never got written (see `create`) or holds another code leads nowhere.
    return request?.userCode === userCode ? request : undefined;
  }

  async getByStateHash(stateHash: string): Promise<DeviceRequest | undefined> {
    const pointer = await this.getItem(KEY_PREFIX.state + stateHash);
    const target = pointer?.deviceCodeHash?.S;
    if (target === undefined) return undefined;
    const request = await this.getByDeviceCodeHash(target);
    // The request is the truth: once its state is cleared or replaced, the old pointer finds nothing.
    return request?.stateHash === stateHash ? request : undefined;
  }

  /**
   * One `UpdateItem` conditioned on the version (and status), which it increments. A `stateHash` in the
   * changes is then made findable through a `STATE#` pointer, written after the request: nobody can
   * present a state before `update` has returned (it is sent to the browser afterwards), so there is no
   * window in which a valid state is unknown.
   */
  async update(deviceCodeHash: string, expected: { version: number; status?: RequestStatus }, changes: Changes): Promise<WriteOutcome> {
    const names: Record<string, string> = { "#pk": PARTITION_KEY, "#version": "version" };
    const values: Item = { ":expectedVersion": { N: String(expected.version) }, ":one": { N: "1" } };
    const sets = ["#version = #version + :one"];
    const removes: string[] = [];
    let i = 0;
    for (const [key, value] of Object.entries(changes)) {
      if (!Object.hasOwn(FIELDS, key) || key === "deviceCodeHash" || key === "version") {
        throw new TypeError(`request field ${key} cannot be changed`);
      }
      if (key === "userCode") throw new TypeError("a request's user code cannot be changed (its USER# pointer would go stale)");
      const field = key as Field;
      const name = `#f${i}`;
      names[name] = field;
      if (value === undefined) {
        if (!FIELDS[field].optional) throw new TypeError(`request field ${field} is required and cannot be removed`);
        removes.push(name);
      } else {
        values[`:v${i}`] = marshal(field, value);
        sets.push(`${name} = :v${i}`);
        if (field === "expiresAt") {
          names["#ttl"] = TTL_ATTRIBUTE;
          values[":ttl"] = { N: String((value as number) + RETENTION_AFTER_EXPIRY_SECONDS) };
          sets.push("#ttl = :ttl");
        }
      }
      i++;
    }
    let condition = "attribute_exists(#pk) AND #version = :expectedVersion";
    if (expected.status !== undefined) {
      names["#status"] = "status";
      values[":expectedStatus"] = { S: expected.status };
      condition += " AND #status = :expectedStatus";
    }

    let updated: Item | undefined;
    try {
      const result = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { [PARTITION_KEY]: { S: KEY_PREFIX.request + deviceCodeHash } },
          UpdateExpression: `SET ${sets.join(", ")}${removes.length > 0 ? ` REMOVE ${removes.join(", ")}` : ""}`,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: "ALL_NEW",
        }),
      );
      updated = result.Attributes;
    } catch (err) {
      if (!isConditionFailure(err)) throw storeError("UpdateItem(request)", err);
      // Rare path: tell a record that moved on from one that was never there.
      return (await this.getItem(KEY_PREFIX.request + deviceCodeHash)) ? "conflict" : "not-found";
    }

    if (typeof changes.stateHash === "string") {
      try {
        await this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: {
              [PARTITION_KEY]: { S: KEY_PREFIX.state + changes.stateHash },
              deviceCodeHash: { S: deviceCodeHash },
              [TTL_ATTRIBUTE]: updated?.[TTL_ATTRIBUTE] ?? { N: "0" },
            },
            // A state is 256 random bits: another request's pointer here means a broken random source.
            ConditionExpression: "attribute_not_exists(#pk) OR deviceCodeHash = :mine",
            ExpressionAttributeNames: { "#pk": PARTITION_KEY },
            ExpressionAttributeValues: { ":mine": { S: deviceCodeHash } },
          }),
        );
      } catch (err) {
        throw storeError("PutItem(state)", isConditionFailure(err) ? { name: "StateAlreadyInUse" } : err);
      }
    }
    return "ok";
  }

  async countFailure(key: string, windowStart: number, expiresAt: number): Promise<number> {
    try {
      const result = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { [PARTITION_KEY]: { S: rateLimitKey(key, windowStart) } },
          UpdateExpression: "ADD #count :one SET #ttl = :ttl",
          ExpressionAttributeNames: { "#count": "count", "#ttl": TTL_ATTRIBUTE },
          ExpressionAttributeValues: { ":one": { N: "1" }, ":ttl": { N: String(Math.ceil(expiresAt)) } },
          ReturnValues: "UPDATED_NEW",
        }),
      );
      return Number(result.Attributes?.count?.N ?? "0");
    } catch (err) {
      throw storeError("UpdateItem(rate limit)", err);
    }
  }

  async failureCount(key: string, windowStart: number): Promise<number> {
    const item = await this.getItem(rateLimitKey(key, windowStart));
    return Number(item?.count?.N ?? "0");
  }

  private async getItem(pk: string): Promise<Item | undefined> {
    // DynamoDB refuses partition keys over 2,048 bytes; none is ever written, so a longer one (a pasted
    // essay as user code) simply finds nothing instead of failing as a ValidationException.
    if (Buffer.byteLength(pk, "utf8") > MAX_PARTITION_KEY_BYTES) return undefined;
    try {
      const result = await this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: { [PARTITION_KEY]: { S: pk } }, ConsistentRead: true }),
      );
      return result.Item;
    } catch (err) {
      throw storeError("GetItem", err);
    }
  }

  /** Deletes a user-code pointer if it still points at this request; never throws (the pointer expires anyway). */
  private async releasePointer(pointerKey: string, deviceCodeHash: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: { [PARTITION_KEY]: { S: pointerKey } },
          ConditionExpression: "deviceCodeHash = :mine",
          ExpressionAttributeValues: { ":mine": { S: deviceCodeHash } },
        }),
      );
    } catch {
      // Not ours any more, or DynamoDB is failing: either way the pointer only blocks one code until it expires.
    }
  }
}

/** `RL#<key>#<windowStart>`: unambiguous, since the window start is an integer and ends the key. */
function rateLimitKey(key: string, windowStart: number): string {
  if (!Number.isInteger(windowStart)) throw new TypeError("a rate-limit window start must be integer epoch seconds");
  return `${KEY_PREFIX.rateLimit}${key}#${windowStart}`;
}
