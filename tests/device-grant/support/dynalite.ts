/**
 * A real DynamoDB endpoint for tests: dynalite (the DynamoDB wire protocol, in memory) on 127.0.0.1 at a
 * free port, a client pointed at it, and tables created from the one layout in functions/device-grant/table.ts.
 * dynalite has no TTL and no transactions, which is why the store uses neither for correctness.
 */
import { type Server } from "node:http";
import { type AddressInfo } from "node:net";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { TABLE_DEFINITION } from "../../../functions/device-grant/table";

// dynalite ships no types; this is the part used here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require("dynalite") as (options: { createTableMs?: number; deleteTableMs?: number; updateTableMs?: number }) => Server;

export interface LocalDynamo {
  endpoint: string;
  client: DynamoDBClient;
  /** Creates a device grant table with this name (ACTIVE at once) and returns the name. */
  createTable(name: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startDynalite(): Promise<LocalDynamo> {
  // Tables become ACTIVE at once instead of after dynalite's default 500 ms in CREATING.
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
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
    async createTable(name) {
      await client.send(new CreateTableCommand({ ...TABLE_DEFINITION, TableName: name }));
      return name;
    },
    async stop() {
      client.destroy();
      // The SDK's keep-alive sockets would hold close() open.
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}
