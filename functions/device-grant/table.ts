/**
 * The device grant table's layout, in one place: the store writes it, the tests create it in dynalite
 * from `TABLE_DEFINITION`, and the `DeviceGrant` component declares it from the same names.
 *
 * One table, one string partition key `pk`, no sort key and no secondary index. Every lookup is a
 * strongly consistent `GetItem` by key, through small pointer items:
 *
 * | item                          | holds                                           |
 * |-------------------------------|-------------------------------------------------|
 * | `DEV#<sha256(device code)>`   | the request (`DeviceRequest`, plus `ttl`)        |
 * | `USER#<normalised user code>` | `deviceCodeHash`, `expiresAt`: who holds a user code |
 * | `STATE#<sha256(state)>`       | `deviceCodeHash`: which request an upstream `state` belongs to |
 * | `RL#<key>#<windowStart>`      | `count`: failures in one rate-limit window        |
 *
 * Why a pointer item for `state` and not a GSI: a GSI is eventually consistent, and a user whose IdP
 * session is still live comes back to `/callback` some 100 ms after Approve wrote the state; a lagging
 * index would answer "unknown state" to a perfectly good callback. The pointer costs the same requests
 * as a GSI query plus a consistent read, and keeps the PKCE verifier out of a second copy of the data.
 */
import { type CreateTableCommandInput } from "@aws-sdk/client-dynamodb";

/** The partition key: the only key attribute. */
export const PARTITION_KEY = "pk";

/**
 * The TTL attribute (epoch seconds). Items carry it for clean-up only: DynamoDB deletes expired items
 * lazily (up to days later) and dynalite never does, so code always compares `expiresAt` with its clock.
 */
export const TTL_ATTRIBUTE = "ttl";

/** Prefixes of `pk`, one per item kind (see the table above). */
export const KEY_PREFIX = {
  request: "DEV#",
  userCode: "USER#",
  state: "STATE#",
  rateLimit: "RL#",
} as const;

/**
 * How long records outlive their `expiresAt` before TTL may remove them: a device polling late must get
 * `expired_token` rather than `invalid_grant` (docs/device-grant.md#device-code-rules), and a day covers any sane client back-off.
 */
export const RETENTION_AFTER_EXPIRY_SECONDS = 86_400;

/** Table definition without `TableName`, shaped for `CreateTableCommand` (tests) and read by the component. */
export const TABLE_DEFINITION: Omit<CreateTableCommandInput, "TableName"> = {
  AttributeDefinitions: [{ AttributeName: PARTITION_KEY, AttributeType: "S" }],
  KeySchema: [{ AttributeName: PARTITION_KEY, KeyType: "HASH" }],
  BillingMode: "PAY_PER_REQUEST",
};
