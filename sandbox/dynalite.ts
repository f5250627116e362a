/**
 * A real DynamoDB endpoint on this machine: dynalite (DynamoDB's wire protocol; in memory, or LevelDB files
 * under a data directory) on 127.0.0.1 at a free port, a client pointed at it, and device grant tables created
 * from the one layout in functions/device-grant/table.ts. The sandbox, the tests and the bench all start it here.
 *
 * dynalite has no TTL and no transactions, which is why the store uses neither for correctness.
 */
import { type Server } from "node:http";
import path from "node:path";
import { CreateTableCommand, type CreateTableCommandInput, DescribeTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { TABLE_DEFINITION } from "../functions/device-grant/table";
import { closeServer, listen } from "./servers";

// dynalite ships no types; this is the part used here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require("dynalite") as (options: {
  path?: string;
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}) => Server;

export interface LocalDynamo {
  endpoint: string;
  client: DynamoDBClient;
  /**
   * Creates a table with this name (the device grant's layout unless `definition` says otherwise) and returns the
   * name once it is ACTIVE. With `existingOk`, a table kept in the data directory from an earlier start is used.
   */
  createTable(name: string, options?: { existingOk?: boolean; definition?: Omit<CreateTableCommandInput, "TableName"> }): Promise<string>;
  stop(): Promise<void>;
}

export interface LocalDynamoOptions {
  /** Keep the data in LevelDB files under `<dataDir>/dynamodb`; in memory when absent. */
  dataDir?: string;
}

/**
 * Waits for a table to be ACTIVE. dynalite moves a new table from CREATING to ACTIVE on a timer, even with
 * `createTableMs: 0`, and refuses item requests (ResourceNotFoundException) until then: on a busy machine a request
 * right after CreateTable can land before the timer.
 */
async function untilActive(client: DynamoDBClient, name: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
    if (Table?.TableStatus === "ACTIVE") return;
    if (attempt >= 200) throw new Error(`dynalite: table ${name} is still ${Table?.TableStatus} after 200 checks`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export async function startDynalite(options: LocalDynamoOptions = {}): Promise<LocalDynamo> {
  // Tables become ACTIVE at once instead of after dynalite's default 500 ms in CREATING.
  const server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.dataDir !== undefined && { path: path.join(options.dataDir, "dynamodb") }),
  });
  const port = await listen(server, 0, "127.0.0.1");
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    maxAttempts: 1,
  });
  return {
    endpoint,
    client,
    async createTable(name, createOptions = {}) {
      try {
        await client.send(new CreateTableCommand({ ...(createOptions.definition ?? TABLE_DEFINITION), TableName: name }));
      } catch (err) {
        if (!(createOptions.existingOk && (err as Error).name === "ResourceInUseException")) throw err;
      }
      await untilActive(client, name);
      return name;
    },
    async stop() {
      client.destroy();
      // dynalite's close() also closes its database (and its files, on disk).
      await closeServer(server);
    },
  };
}
