/**
 * Claim bindings on DynamoDB (layout in claim-binding-table.ts). Every state change is one conditional write, so
 * a claim is recorded once, consumed once, and a thing name is reserved by one claim at a time, however many
 * requests race: the losers get `"conflict"`. dynalite has no transactions, so no operation needs one.
 *
 * Every call takes the caller's abort signal (a deadline inside IoT's or the installer's budget). Errors other
 * than a failed condition become a `StoreError` naming the operation and DynamoDB's error name only.
 */
import { type AttributeValue, type DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { awsErrorName } from "./aws-errors";
import { KEY_PREFIX, PARTITION_KEY, RETENTION_AFTER_EXPIRY_SECONDS, TTL_ATTRIBUTE } from "./claim-binding-table";

/** A claim certificate's record: who asked for it, for which thing, until when, and whether it was used. */
export interface ClaimBinding {
  /** The claim certificate's id (64 hex digits, as IoT reports it). */
  certificateId: string;
  /** The installer's `sub`; `""` for a claim recorded by the hook without a binding (the direct path). */
  installerSub: string;
  /** The thing name the installer entered; `""` without a binding. */
  thingName: string;
  /** Epoch seconds. */
  createdAt: number;
  /** Epoch seconds: the claim certificate's own expiry. */
  expiresAt: number;
  status: "bound" | "used";
  /** Epoch seconds, once used. */
  usedAt?: number;
  /** The device's new certificate, once used. */
  deviceCertificateId?: string;
  /** True for a claim that was never bound (made outside the claim function) and used through the direct path. */
  unbound?: boolean;
}

export type WriteOutcome = "ok" | "conflict";

export interface CallOptions {
  abortSignal?: AbortSignal;
}

/** A DynamoDB failure other than a failed condition. Says which call failed and how, nothing more. */
export class StoreError extends Error {
  constructor(
    readonly operation: string,
    readonly errorName: string,
  ) {
    super(`DynamoDB ${operation} failed: ${errorName}`);
    this.name = "StoreError";
  }
}

type Item = Record<string, AttributeValue>;

function isConditionFailure(err: unknown): boolean {
  return awsErrorName(err) === "ConditionalCheckFailedException";
}

function bindingItem(b: ClaimBinding): Item {
  const item: Item = {
    [PARTITION_KEY]: { S: KEY_PREFIX.claim + b.certificateId },
    [TTL_ATTRIBUTE]: { N: String(b.expiresAt + RETENTION_AFTER_EXPIRY_SECONDS) },
    certificateId: { S: b.certificateId },
    installerSub: { S: b.installerSub },
    thingName: { S: b.thingName },
    createdAt: { N: String(b.createdAt) },
    expiresAt: { N: String(b.expiresAt) },
    status: { S: b.status },
  };
  if (b.usedAt !== undefined) item.usedAt = { N: String(b.usedAt) };
  if (b.deviceCertificateId !== undefined) item.deviceCertificateId = { S: b.deviceCertificateId };
  if (b.unbound === true) item.unbound = { BOOL: true };
  return item;
}

function bindingFromItem(item: Item): ClaimBinding {
  const s = (name: string) => item[name]?.S;
  const n = (name: string) => (item[name]?.N === undefined ? undefined : Number(item[name]?.N));
  const status = s("status");
  const [certificateId, installerSub, thingName, createdAt, expiresAt] = [
    s("certificateId"),
    s("installerSub"),
    s("thingName"),
    n("createdAt"),
    n("expiresAt"),
  ];
  if (certificateId === undefined || installerSub === undefined || thingName === undefined || (status !== "bound" && status !== "used")) {
    throw new StoreError("GetItem(claim)", "MalformedItem");
  }
  if (createdAt === undefined || expiresAt === undefined || !Number.isFinite(createdAt) || !Number.isFinite(expiresAt)) {
    throw new StoreError("GetItem(claim)", "MalformedItem");
  }
  const usedAt = n("usedAt");
  const deviceCertificateId = s("deviceCertificateId");
  return {
    certificateId,
    installerSub,
    thingName,
    createdAt,
    expiresAt,
    status,
    ...(usedAt !== undefined && { usedAt }),
    ...(deviceCertificateId !== undefined && { deviceCertificateId }),
    ...(item.unbound?.BOOL === true && { unbound: true }),
  };
}

export class ClaimBindingStore {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;

  constructor(options: { client: DynamoDBClient; tableName: string }) {
    this.client = options.client;
    this.tableName = options.tableName;
  }

  /** Records a new binding (`status: "bound"`), only if this certificate id has no record yet. */
  async record(binding: ClaimBinding, options: CallOptions = {}): Promise<WriteOutcome> {
    return this.conditionalPut("PutItem(claim)", bindingItem(binding), "attribute_not_exists(#pk)", {}, options);
  }

  /** The binding of a claim certificate, read consistently; undefined when there is none. */
  async get(certificateId: string, options: CallOptions = {}): Promise<ClaimBinding | undefined> {
    try {
      const result = await this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: { [PARTITION_KEY]: { S: KEY_PREFIX.claim + certificateId } },
          ConsistentRead: true,
        }),
        { abortSignal: options.abortSignal },
      );
      return result.Item && bindingFromItem(result.Item);
    } catch (err) {
      if (err instanceof StoreError) throw err;
      throw new StoreError("GetItem(claim)", awsErrorName(err));
    }
  }

  /**
   * Marks a bound claim used: one `UpdateItem` that succeeds only while the record is still bound and unexpired
   * at `nowSeconds`, so of any number of concurrent uses exactly one wins.
   */
  async consume(
    certificateId: string,
    use: { nowSeconds: number; deviceCertificateId: string },
    options: CallOptions = {},
  ): Promise<WriteOutcome> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { [PARTITION_KEY]: { S: KEY_PREFIX.claim + certificateId } },
          UpdateExpression: "SET #status = :used, usedAt = :now, deviceCertificateId = :device",
          ConditionExpression: "attribute_exists(#pk) AND #status = :bound AND expiresAt > :now",
          ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#status": "status" },
          ExpressionAttributeValues: {
            ":used": { S: "used" },
            ":bound": { S: "bound" },
            ":now": { N: String(use.nowSeconds) },
            ":device": { S: use.deviceCertificateId },
          },
        }),
        { abortSignal: options.abortSignal },
      );
      return "ok";
    } catch (err) {
      if (isConditionFailure(err)) return "conflict";
      throw new StoreError("UpdateItem(claim)", awsErrorName(err));
    }
  }

  /** Records the one use of a claim that has no binding (the direct path), only if the claim has no record yet. */
  async recordUnboundUse(
    certificateId: string,
    use: { nowSeconds: number; expiresAt: number; deviceCertificateId: string },
    options: CallOptions = {},
  ): Promise<WriteOutcome> {
    const item = bindingItem({
      certificateId,
      installerSub: "",
      thingName: "",
      createdAt: use.nowSeconds,
      expiresAt: use.expiresAt,
      status: "used",
      usedAt: use.nowSeconds,
      deviceCertificateId: use.deviceCertificateId,
      unbound: true,
    });
    return this.conditionalPut("PutItem(claim)", item, "attribute_not_exists(#pk)", {}, options);
  }

  /**
   * Reserves a thing name for one claim until `untilSeconds`: succeeds when nobody holds it, or the holder's
   * reservation has lapsed. It closes the window between the hook's registry check and IoT creating the thing.
   */
  async reserveThingName(
    thingName: string,
    reservation: { certificateId: string; nowSeconds: number; untilSeconds: number },
    options: CallOptions = {},
  ): Promise<WriteOutcome> {
    const item: Item = {
      [PARTITION_KEY]: { S: KEY_PREFIX.thing + thingName },
      [TTL_ATTRIBUTE]: { N: String(reservation.untilSeconds + RETENTION_AFTER_EXPIRY_SECONDS) },
      certificateId: { S: reservation.certificateId },
      reservedUntil: { N: String(reservation.untilSeconds) },
    };
    return this.conditionalPut(
      "PutItem(thing)",
      item,
      "attribute_not_exists(#pk) OR reservedUntil < :now",
      {
        ":now": { N: String(reservation.nowSeconds) },
      },
      options,
    );
  }

  private async conditionalPut(
    operation: string,
    item: Item,
    condition: string,
    values: Item,
    options: CallOptions,
  ): Promise<WriteOutcome> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: condition,
          ExpressionAttributeNames: { "#pk": PARTITION_KEY },
          ...(Object.keys(values).length > 0 && { ExpressionAttributeValues: values }),
        }),
        { abortSignal: options.abortSignal },
      );
      return "ok";
    } catch (err) {
      if (isConditionFailure(err)) return "conflict";
      throw new StoreError(operation, awsErrorName(err));
    }
  }
}
