/**
 * The shape of a DynamoDB table definition (what `CreateTableCommand` takes, less the name), written out here so
 * that the table layouts, which the Pulumi components read, carry no AWS SDK types: a team installing the
 * components needs the SDK neither to run nor to type-check them. It stays assignable to the SDK's input, which the
 * tests and the sandbox pass it to.
 */
export interface TableDefinition {
  AttributeDefinitions: { AttributeName: string; AttributeType: "S" | "N" | "B" }[];
  KeySchema: { AttributeName: string; KeyType: "HASH" | "RANGE" }[];
  BillingMode: "PAY_PER_REQUEST";
  GlobalSecondaryIndexes?: {
    IndexName: string;
    KeySchema: { AttributeName: string; KeyType: "HASH" | "RANGE" }[];
    Projection: { ProjectionType: "ALL" | "KEYS_ONLY" | "INCLUDE"; NonKeyAttributes?: string[] };
  }[];
}
