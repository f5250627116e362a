/**
 * The `Store` port on DynamoDB: one item per request keyed by its user code, and per-address rate-limit
 * counters (layout and costs: functions/device-grant/table.ts; items: `dynamo-items.ts`).
 *
 * Every transition is ONE conditional `UpdateItem` whose condition names exactly the fields the transition
 * depends on (status, lock, expiry, the credential's hash), never a version: a poll writes only its own
 * bookkeeping (`nextPollAt`), so it can never make a user's Approve or callback lose a write, while
 * concurrent polls, approve-versus-deny races and replays still resolve to exactly one winner. A refused
 * write comes back with the item as it stood (`ReturnValuesOnConditionCheckFailure`, no extra read on AWS;
 * dynalite ignores that parameter, so there the store is told to read the item instead), so the caller can
 * say why.
 *
 * Errors: a failed condition is a refusal, never an exception; anything else is a `StoreError` naming the
 * operation and DynamoDB's error name only, never the SDK's message (it can quote keys, and keys hold user codes).
 */
import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  type ReturnValue,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { MAX_USER_CODE_LENGTH } from "./codes";
import { attribute, type Item, isConditionFailure, requestFromItem, requestItem, requestKey, storeError } from "./dynamo-items";
import { type DeviceCredential, type DeviceRequest, type Store, type Transition } from "./model";
import { KEY_PREFIX, PARTITION_KEY, TTL_ATTRIBUTE } from "./table";

export { StoreError } from "./dynamo-items";

const MAX_PARTITION_KEY_BYTES = 2_048;

/** What may still be polled: a decision is pending, under way, or made and not yet collected. */
const POLLABLE = "#status IN (:pending, :approving, :approved)";
/** Open to a decision by `:approver`: pending, or approving under its own lock or a lock that has run out. */
const DECIDABLE = "(#status = :pending OR (#status = :approving AND (#approver = :approver OR #approvalUntil <= :nowMs)))";
const STATUS_VALUES: Record<string, AttributeValue> = {
  ":pending": { S: "pending" },
  ":approving": { S: "approving" },
  ":approved": { S: "approved" },
  ":denied": { S: "denied" },
  ":redeemed": { S: "redeemed" },
};
/** What an ended approval leaves behind: no lock, no state, no verifier. */
const RELEASE = "REMOVE #approver, #approvalUntil, #stateHash, #pkceVerifier";

/** One conditional write: its update and condition, with `#name` and `:value` placeholders. */
interface Write {
  update: string;
  condition: string;
  values: Record<string, string | number | AttributeValue>;
}

/** The `#name` → name map and the values an expression actually uses (DynamoDB refuses unused ones). */
function expressionParts(text: string, values: Write["values"]): { names: Record<string, string>; values: Item } {
  const names = Object.fromEntries([...new Set(text.match(/#\w+/g) ?? [])].map((n) => [n, n.slice(1)]));
  const all: Record<string, string | number | AttributeValue> = { ...STATUS_VALUES, ...values };
  const used = new Set(text.match(/:\w+/g) ?? []);
  const picked: Item = {};
  for (const [key, value] of Object.entries(all)) {
    if (used.has(key)) picked[key] = typeof value === "object" ? value : attribute(value);
  }
  return { names, values: picked };
}

/** The identity part of a device's writes: its request, its client, its secret. */
function credentialCondition(credential: DeviceCredential): { condition: string; values: Write["values"] } {
  return {
    condition: "#clientId = :clientId AND #deviceSecretHash = :deviceSecretHash",
    values: { ":clientId": credential.clientId, ":deviceSecretHash": credential.deviceSecretHash },
  };
}

export interface DynamoStoreOptions {
  client: DynamoDBClient;
  tableName: string;
  /**
   * How a refused write learns how the item stood: "returned" (DynamoDB: the item comes with the refusal, and
   * none means there is none) or "read" (a `GetItem` after the refusal: dynalite ignores
   * `ReturnValuesOnConditionCheckFailure`). "returned" by default.
   */
  itemOnRefusal?: "returned" | "read";
}

export class DynamoStore implements Store {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly readOnRefusal: boolean;

  constructor(options: DynamoStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.readOnRefusal = options.itemOnRefusal === "read";
  }

  /** One conditional `PutItem`: the code must be free, or its previous holder's retention over (TTL is lazy). */
  async create(request: DeviceRequest, nowSeconds: number): Promise<"ok" | "conflict"> {
    const item = requestItem(request); // a malformed request throws here, before anything is written
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: "attribute_not_exists(#pk) OR #ttl < :now",
          ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#ttl": TTL_ATTRIBUTE },
          ExpressionAttributeValues: { ":now": { N: String(nowSeconds) } },
        }),
      );
      return "ok";
    } catch (err) {
      if (isConditionFailure(err)) return "conflict";
      throw storeError("PutItem(request)", err);
    }
  }

  async getByUserCode(userCode: string): Promise<DeviceRequest | undefined> {
    if (userCode.length > MAX_USER_CODE_LENGTH) return undefined;
    const item = await this.getItem(KEY_PREFIX.request + userCode);
    return item && requestFromItem(item);
  }

  poll(credential: DeviceCredential, nowMs: number): Promise<Transition> {
    const identity = credentialCondition(credential);
    return this.transition(credential.userCode, "poll", {
      update: "SET #nextPollAt = :nowMs + #pollSpacingMs",
      // Too early is `slow_down` only while the decision is pending (RFC 8628 §3.5): an approved request is collected at once.
      condition: `${identity.condition} AND ${POLLABLE} AND #expiresAt > :nowSeconds AND (#status = :approved OR attribute_not_exists(#nextPollAt) OR #nextPollAt <= :nowMs)`,
      values: { ...identity.values, ":nowMs": nowMs, ":nowSeconds": Math.floor(nowMs / 1000) },
    });
  }

  slowDown(
    credential: DeviceCredential,
    change: { fromInterval: number; interval: number; pollSpacingMs: number; nowMs: number },
  ): Promise<boolean> {
    const identity = credentialCondition(credential);
    return this.tryWrite(credential.userCode, "slowDown", {
      update: "SET #interval = :interval, #pollSpacingMs = :spacing, #nextPollAt = :next",
      condition: `${identity.condition} AND ${POLLABLE} AND #interval = :fromInterval`,
      values: {
        ...identity.values,
        ":interval": change.interval,
        ":spacing": change.pollSpacingMs,
        ":next": change.nowMs + change.pollSpacingMs,
        ":fromInterval": change.fromInterval,
      },
    });
  }

  async redeem(credential: DeviceCredential): Promise<{ authorizationCode: string; pkceVerifier: string } | undefined> {
    const identity = credentialCondition(credential);
    const write: Write = {
      update: "SET #status = :redeemed REMOVE #authorizationCode, #pkceVerifier",
      condition: `${identity.condition} AND #status = :approved AND attribute_exists(#authorizationCode) AND attribute_exists(#pkceVerifier)`,
      values: identity.values,
    };
    const outcome = await this.update(credential.userCode, "redeem", write, "ALL_OLD", false);
    if (!outcome.written || !outcome.item) return undefined;
    const request = requestFromItem(outcome.item);
    return { authorizationCode: request.authorizationCode as string, pkceVerifier: request.pkceVerifier as string };
  }

  restoreApproval(userCode: string, secrets: { authorizationCode: string; pkceVerifier: string }): Promise<boolean> {
    return this.tryWrite(userCode, "restoreApproval", {
      update: "SET #status = :approved, #authorizationCode = :code, #pkceVerifier = :verifier",
      condition: "#status = :redeemed AND attribute_not_exists(#authorizationCode)",
      values: { ":code": secrets.authorizationCode, ":verifier": secrets.pkceVerifier },
    });
  }

  approve(userCode: string, approval: Parameters<Store["approve"]>[1], now: { ms: number; seconds: number }): Promise<Transition> {
    return this.transition(userCode, "approve", {
      update:
        "SET #status = :approving, #approver = :approver, #approvalUntil = :until, #stateHash = :stateHash, #pkceVerifier = :verifier, " +
        "#approvalCharge = :charge ADD #approvals :one",
      condition: `#createdAt = :createdAt AND #expiresAt > :nowSeconds AND #approvals < :max AND ${DECIDABLE}`,
      values: {
        ":approver": approval.approver,
        ":until": approval.approvalUntil,
        ":stateHash": approval.stateHash,
        ":verifier": approval.pkceVerifier,
        ":one": 1,
        ":createdAt": approval.createdAt,
        ":nowSeconds": now.seconds,
        ":nowMs": now.ms,
        ":max": approval.maxApprovals,
        ":charge": approval.charge,
      },
    });
  }

  deny(userCode: string, decision: { createdAt: number; approver: string }, now: { ms: number; seconds: number }): Promise<Transition> {
    return this.transition(userCode, "deny", {
      update: `SET #status = :denied ${RELEASE}`,
      condition: `#createdAt = :createdAt AND #expiresAt > :nowSeconds AND ${DECIDABLE}`,
      values: { ":createdAt": decision.createdAt, ":approver": decision.approver, ":nowSeconds": now.seconds, ":nowMs": now.ms },
    });
  }

  cancelApproval(userCode: string, decision: { createdAt: number; approver: string }): Promise<Transition> {
    return this.transition(userCode, "cancelApproval", {
      update: `SET #status = :pending ${RELEASE}`,
      condition: "#createdAt = :createdAt AND #status = :approving AND #approver = :approver",
      values: { ":createdAt": decision.createdAt, ":approver": decision.approver },
    });
  }

  completeApproval(userCode: string, stateHash: string, authorizationCode: string, nowSeconds: number): Promise<Transition> {
    // The state hash stays, so a replayed callback is recognised as this browser's ("already used").
    return this.transition(userCode, "completeApproval", {
      update: "SET #status = :approved, #authorizationCode = :code REMOVE #approver, #approvalUntil",
      condition: "#status = :approving AND #stateHash = :stateHash AND #expiresAt > :nowSeconds",
      values: { ":code": authorizationCode, ":stateHash": stateHash, ":nowSeconds": nowSeconds },
    });
  }

  failApproval(userCode: string, stateHash: string, status: "pending" | "denied"): Promise<Transition> {
    return this.transition(userCode, "failApproval", {
      update: `SET #status = :${status} ${RELEASE}`,
      condition: "#status = :approving AND #stateHash = :stateHash",
      values: { ":stateHash": stateHash },
    });
  }

  async countAttempt(key: string, windowStart: number, expiresAt: number): Promise<number> {
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

  async refundAttempts(key: string, windowStart: number, units: number): Promise<void> {
    // Never below zero, and never a counter that does not exist: all `units` if the counter holds them, else one.
    for (const amount of units > 1 ? [units, 1] : [units]) {
      try {
        await this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: { [PARTITION_KEY]: { S: rateLimitKey(key, windowStart) } },
            UpdateExpression: "ADD #count :minus",
            ConditionExpression: "#count >= :amount",
            ExpressionAttributeNames: { "#count": "count" },
            ExpressionAttributeValues: { ":minus": { N: String(-amount) }, ":amount": { N: String(amount) } },
          }),
        );
        return;
      } catch (err) {
        if (!isConditionFailure(err)) throw storeError("UpdateItem(rate limit refund)", err);
      }
    }
  }

  /** One conditional write returning the request after it, or as it stood when the condition refused it. */
  private async transition(userCode: string, operation: string, write: Write): Promise<Transition> {
    const outcome = await this.update(userCode, operation, write, "ALL_NEW", true);
    if (outcome.written) return { written: true, request: requestFromItem(outcome.item ?? {}) };
    const current = this.readOnRefusal ? await this.getItem(KEY_PREFIX.request + userCode) : outcome.item;
    return { written: false, current: current && requestFromItem(current) };
  }

  /** One conditional write whose refusal needs no explaining: whether it happened. */
  private async tryWrite(userCode: string, operation: string, write: Write): Promise<boolean> {
    return (await this.update(userCode, operation, write, "NONE", false)).written;
  }

  /**
   * Sends one conditional `UpdateItem` on a request (never creating one: the condition requires the item).
   * Returns the item (`returnValues`) when written; when refused, the item as it stood if `explain` asked
   * DynamoDB for it (AWS returns it with the refusal; dynalite does not).
   */
  private async update(
    userCode: string,
    operation: string,
    write: Write,
    returnValues: ReturnValue,
    explain: boolean,
  ): Promise<{ written: boolean; item?: Item }> {
    const condition = `attribute_exists(#pk) AND ${write.condition}`;
    const { names, values } = expressionParts(`${write.update} ${condition}`, write.values);
    try {
      const result = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: requestKey(userCode),
          UpdateExpression: write.update,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: returnValues,
          ...(explain && { ReturnValuesOnConditionCheckFailure: "ALL_OLD" }),
        }),
      );
      return { written: true, ...(result.Attributes && { item: result.Attributes }) };
    } catch (err) {
      if (!isConditionFailure(err)) throw storeError(`UpdateItem(${operation})`, err);
      return { written: false, ...(explain && err.Item && { item: err.Item }) };
    }
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
}

/** `RL#<key>#<windowStart>`: unambiguous, since the window start is an integer and ends the key. */
function rateLimitKey(key: string, windowStart: number): string {
  if (!Number.isInteger(windowStart)) throw new TypeError("a rate-limit window start must be integer epoch seconds");
  return `${KEY_PREFIX.rateLimit}${key}#${windowStart}`;
}
