/**
 * The device grant table's layout, in one place: the store writes it, the tests create it in dynalite
 * from `TABLE_DEFINITION`, and the `DeviceGrant` component declares it from the same names.
 *
 * One table, one string partition key `pk`, no sort key, no secondary index, no scan. Two kinds of item:
 *
 * | item                          | holds                                                            |
 * |-------------------------------|------------------------------------------------------------------|
 * | `USER#<normalised user code>` | one authorization request (`DeviceRequest`, plus `ttl`)          |
 * | `RL#<key>#<windowStart>`      | `count`: charged attempts of one client IP in one window (`ttl`) |
 *
 * Why the request is keyed by its user code: every party that acts on a request names it with one key
 * lookup. The user types the code; the device presents a device code `<user code>-<secret>`, and the
 * browser comes back from the IdP with a `state` `<user code>-<secret>` (`codes.ts#joinCredential`); only
 * the secrets' SHA-256 hashes are stored and compared. So each step is a single strongly consistent
 * `GetItem` or a single conditional `UpdateItem`, with no pointer items and no eventually consistent index
 * (a GSI would answer "unknown state" to a callback that arrives ~100 ms after Approve wrote it).
 *
 * A user code stays reserved for its request until the record's retention ends (`expiresAt +
 * RETENTION_AFTER_EXPIRY_SECONDS`): a device polling late still finds its own record and hears
 * `expired_token`, never `invalid_grant`. A new request may take over a code whose retention has ended even
 * if TTL has not deleted the item yet (`create` is conditioned on it).
 *
 * What a completed flow costs (the bench counts it, `bench/device-grant.ts`): authorization 1 `PutItem`; a
 * pending poll 1 `UpdateItem`; code entry 1 `UpdateItem` (charge the address) + 1 `GetItem` + 1 `UpdateItem`
 * (refund, the code was live); Approve 1 `UpdateItem` (charge) + 1 `UpdateItem`; the callback 1
 * `UpdateItem`; the final poll 1 `UpdateItem` + 1 `UpdateItem` (redeem): 10 requests.
 */
import { type TableDefinition } from "../shared/table-definition";

/** The partition key: the only key attribute. */
export const PARTITION_KEY = "pk";

/**
 * The TTL attribute (epoch seconds). Items carry it for clean-up only: DynamoDB deletes expired items
 * lazily (up to days later) and dynalite never does, so code always compares `expiresAt` with its clock.
 */
export const TTL_ATTRIBUTE = "ttl";

/** Prefixes of `pk`, one per item kind (see the table above). */
export const KEY_PREFIX = {
  request: "USER#",
  rateLimit: "RL#",
} as const;

/**
 * How long records outlive their `expiresAt` before TTL may remove them (and before their user code may be
 * drawn again): a device polling late must get `expired_token` rather than `invalid_grant`
 * (docs/device-grant.md#device-code-rules), and a day covers any sane client back-off.
 */
export const RETENTION_AFTER_EXPIRY_SECONDS = 86_400;

/** Table definition without `TableName`, shaped for `CreateTableCommand` (tests) and read by the component. */
export const TABLE_DEFINITION: TableDefinition = {
  AttributeDefinitions: [{ AttributeName: PARTITION_KEY, AttributeType: "S" }],
  KeySchema: [{ AttributeName: PARTITION_KEY, KeyType: "HASH" }],
  BillingMode: "PAY_PER_REQUEST",
};
