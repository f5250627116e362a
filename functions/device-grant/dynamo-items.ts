/**
 * How a `DeviceRequest` becomes a DynamoDB item and back (low-level client, marshalled by hand:
 * `@aws-sdk/util-dynamodb` is not a dependency, and an explicit field table keeps stray properties out of
 * the table), and the store's one error type. Layout: functions/device-grant/table.ts.
 */
import { type AttributeValue } from "@aws-sdk/client-dynamodb";
import { type DeviceRequest } from "./model";
import { KEY_PREFIX, PARTITION_KEY, RETENTION_AFTER_EXPIRY_SECONDS, TTL_ATTRIBUTE } from "./table";

export type Item = Record<string, AttributeValue>;

/** How each request field is stored. Optional fields are absent until set, and may be removed again. */
export const FIELDS = {
  userCode: { type: "S", optional: false },
  deviceSecretHash: { type: "S", optional: false },
  clientId: { type: "S", optional: false },
  scopes: { type: "L", optional: false },
  status: { type: "S", optional: false },
  createdAt: { type: "N", optional: false },
  expiresAt: { type: "N", optional: false },
  interval: { type: "N", optional: false },
  pollSpacingMs: { type: "N", optional: false },
  nextPollAt: { type: "N", optional: true },
  deviceIp: { type: "S", optional: false },
  deviceSoftware: { type: "S", optional: false },
  approver: { type: "S", optional: true },
  approvalUntil: { type: "N", optional: true },
  stateHash: { type: "S", optional: true },
  pkceVerifier: { type: "S", optional: true },
  authorizationCode: { type: "S", optional: true },
  approvals: { type: "N", optional: false },
  approvalCharge: { type: "S", optional: true },
} as const satisfies Record<keyof DeviceRequest, { type: "S" | "N" | "L"; optional: boolean }>;

export type Field = keyof typeof FIELDS;

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

export function isConditionFailure(err: unknown): err is { name: "ConditionalCheckFailedException"; Item?: Item } {
  return (err as { name?: unknown } | null)?.name === "ConditionalCheckFailedException";
}

/** A `StoreError` naming the operation and DynamoDB's error name only: the SDK's message can quote keys (user codes). */
export function storeError(operation: string, err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const e = err as { name?: unknown; $metadata?: { requestId?: string } } | null;
  return new StoreError(operation, typeof e?.name === "string" ? e.name : "UnknownError", e?.$metadata?.requestId);
}

export function requestKey(userCode: string): Item {
  return { [PARTITION_KEY]: { S: KEY_PREFIX.request + userCode } };
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

/** A number or string value for an expression. */
export function attribute(value: string | number): AttributeValue {
  return typeof value === "number" ? { N: String(value) } : { S: value };
}

/** The whole item of a new request: every field, its key, and its TTL (expiry plus the retention). */
export function requestItem(request: DeviceRequest): Item {
  const item: Item = {
    ...requestKey(request.userCode),
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

export function requestFromItem(item: Item): DeviceRequest {
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
