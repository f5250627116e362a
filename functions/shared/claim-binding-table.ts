/**
 * The claim binding table's layout, in one place: the claim function writes bindings, the pre-provisioning hook
 * reads and consumes them, the tests create the table in dynalite from `CLAIM_BINDING_TABLE_DEFINITION`, and the
 * `FleetProvisioning` component declares it from the same names and grants each function exactly its actions.
 *
 * One table, one string partition key `pk` (the device grant's layout, so the local tools create either), no
 * sort key, no index; every read is a strongly consistent `GetItem`.
 *
 * | item                       | holds                                                                     |
 * |----------------------------|---------------------------------------------------------------------------|
 * | `CLAIM#<certificate id>`   | the binding: installer `sub`, thing name, expiry, `status` bound or used  |
 * | `THING#<thing name>`       | which claim is provisioning this thing name, until when                   |
 */
import { type TableDefinition } from "./table-definition";

export const PARTITION_KEY = "pk";

/** Epoch seconds after which DynamoDB may delete an item (lazily; code always compares times itself). */
export const TTL_ATTRIBUTE = "ttl";

export const KEY_PREFIX = { claim: "CLAIM#", thing: "THING#" } as const;

/**
 * How long records outlive their expiry: long enough to tell "used" and "expired" from "unknown" in the hook's
 * log when a device retries late, and to answer who provisioned what for a day.
 */
export const RETENTION_AFTER_EXPIRY_SECONDS = 86_400;

/** Table definition without `TableName`, shaped for `CreateTableCommand` (tests) and read by the component. */
export const CLAIM_BINDING_TABLE_DEFINITION: TableDefinition = {
  AttributeDefinitions: [{ AttributeName: PARTITION_KEY, AttributeType: "S" }],
  KeySchema: [{ AttributeName: PARTITION_KEY, KeyType: "HASH" }],
  BillingMode: "PAY_PER_REQUEST",
};

/** The item operations the claim function performs: one conditional `PutItem` per claim. */
export const CLAIM_FUNCTION_TABLE_ACTIONS = ["dynamodb:PutItem"] as const;

/**
 * The item operations the hook performs: read a binding (`GetItem`), consume it (`UpdateItem` conditioned on it
 * being bound and unexpired), record an unbound claim as used and reserve a thing name (conditional `PutItem`).
 */
export const HOOK_FUNCTION_TABLE_ACTIONS = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"] as const;
