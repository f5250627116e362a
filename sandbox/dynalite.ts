/**
 * A real DynamoDB endpoint on this machine: dynalite (DynamoDB's wire protocol; in memory, or LevelDB files
 * under a data directory) on 127.0.0.1 at a free port, a client pointed at it, and device grant tables created
 * from the one layout in functions/device-grant/table.ts. The sandbox, the tests and the bench all start it here.
 *
 * dynalite has no TTL and no transactions, which is why the store uses neither for correctness.
 */
import { type Server } from "node:http";
import path from "node:path";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
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
   * Creates a device grant table with this name (ACTIVE at once) and returns the name. With `existingOk`, a table
   * kept in the data directory from an earlier start is used as it is.
   */
  createTable(name: string, options?: { existingOk?: boolean }): Promise<string>;
  stop(): Promise<void>;
}

export interface LocalDynamoOptions {
  /** Keep the data in LevelDB files under `<dataDir>/dynamodb`; in memory when absent. */
  dataDir?: string;
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
        await client.send(new CreateTableCommand({ ...TABLE_DEFINITION, TableName: name }));
      } catch (err) {
        if (!(createOptions.existingOk && (err as Error).name === "ResourceInUseException")) throw err;
      }
      return name;
    },
    async stop() {
      client.destroy();
      // dynalite's close() also closes its database (and its files, on disk).
      await closeServer(server);
    },
  };
}
