/**
 * The device CLI's commands, one function each: `login`, `token`, `publish`, `subscribe`. Each checks its
 * own arguments, asks for only the settings it needs (so `token` works without an IoT endpoint), and
 * resolves to the exit code; failures are thrown for the CLI to turn into a message and an exit code.
 */
import { allowOnly, expectPositionals, oneOf, type ParsedArgs, settingsFlags, UsageError } from "./cli-args";
import { DeviceClient, type DeviceClientOptions, type Transport } from "./client";
import { resolveSettings, type SettingsLayer } from "./config";
import { discoverEndpoints } from "./discovery";
import { type CodeDisplay, type DisplayOutput, showDeviceCode } from "./terminal";

export interface CliIo {
  stdout: DisplayOutput;
  stderr: { write(text: string): unknown };
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Reads all of stdin (for `publish <topic> -`). */
  readStdin?: () => Promise<Buffer>;
  /** Aborted on Ctrl-C. */
  signal?: AbortSignal;
  /** Ports for tests (the DeviceClient's). */
  client?: Partial<Pick<DeviceClientOptions, "fetch" | "sleep" | "now">>;
}

export type Command = (args: ParsedArgs, io: CliIo) => Promise<number>;

/** What every command needs: the device grant service and the client. */
const OAUTH_SETTINGS: (keyof SettingsLayer)[] = ["deviceAuthorizationEndpoint", "tokenEndpoint", "clientId"];

async function deviceClient(args: ParsedArgs, io: CliIo, required: (keyof SettingsLayer)[]): Promise<DeviceClient> {
  const extra = {
    mqttProtocolVersion: Number(oneOf(args, "mqtt-version", ["4", "5"], "4")) as 4 | 5,
    wsCredentials: oneOf(args, "ws-credentials", ["query", "headers"], "query"),
    unsigned: args.booleans.has("unsigned"),
  };
  const { options, issuer } = resolveSettings(settingsFlags(args), io.env, io.cwd, required, extra);
  // `--issuer`: the device flow's endpoints from the IdP's own metadata (device/discovery.ts).
  const discovered = issuer !== undefined ? await discoverEndpoints(issuer, io.client?.fetch ?? fetch) : {};
  return new DeviceClient({ ...options, ...discovered, ...io.client });
}

export const login: Command = async (args, io) => {
  expectPositionals(args, []);
  allowOnly(args, ["no-qr"]);
  const device = await deviceClient(args, io, OAUTH_SETTINGS);
  let display: CodeDisplay | undefined;
  try {
    const result = await device.login({
      onCode: async (code) => {
        display = await showDeviceCode(code, io.stdout, { qr: !args.booleans.has("no-qr"), ...(io.client?.now && { now: io.client.now }) });
      },
      signal: io.signal,
    });
    display?.stop();
    const until = result.expiresAt !== undefined ? ` The access token is valid until ${new Date(result.expiresAt).toISOString()}` : "";
    io.stdout.write(
      `Logged in. Tokens saved to ${device.tokenFile} (readable only by you).${until}${result.refreshable ? "; `token` refreshes it." : "."}\n`,
    );
    return 0;
  } finally {
    display?.stop();
  }
};

export const token: Command = async (args, io) => {
  expectPositionals(args, []);
  allowOnly(args, ["refresh"]);
  const accessToken = await (await deviceClient(args, io, OAUTH_SETTINGS)).token({ forceRefresh: args.booleans.has("refresh") });
  io.stdout.write(`${accessToken}\n`);
  return 0;
};

export const publish: Command = async (args, io) => {
  const [topic, message] = expectPositionals(args, ["topic", "message"]);
  allowOnly(args, ["transport", "qos", "retain", "mqtt-version", "ws-credentials"]);
  const transport = oneOf<Transport>(args, "transport", ["mqtt", "wss", "https"], "mqtt");
  const qos = Number(oneOf(args, "qos", ["0", "1"], "1")) as 0 | 1;
  const endpoint = transport === "mqtt" ? "mqttUrl" : transport === "wss" ? "wsUrl" : "httpUrl";
  const device = await deviceClient(args, io, [...OAUTH_SETTINGS, "authorizerName", endpoint]);
  let payload: string | Buffer = message;
  if (message === "-") {
    if (!io.readStdin) throw new UsageError("cannot read the message from stdin here");
    payload = await io.readStdin();
  }
  await device.publish(topic, payload, { transport, qos, retain: args.booleans.has("retain") });
  io.stdout.write(`Published to ${topic} over ${transport}${qos === 1 ? " (acknowledged)" : ""}.\n`);
  return 0;
};

/** Prints "topic message" lines until `--count` messages arrived, Ctrl-C, or the server ends the connection (exit 1). */
export const subscribe: Command = async (args, io) => {
  const [topicFilter] = expectPositionals(args, ["topicFilter"]);
  allowOnly(args, ["transport", "count", "qos", "mqtt-version", "ws-credentials"]);
  const transport = oneOf(args, "transport", ["mqtt", "wss"] as const, "mqtt");
  const qos = Number(oneOf(args, "qos", ["0", "1"], "1")) as 0 | 1;
  const count = messageCount(args);
  const device = await deviceClient(args, io, [...OAUTH_SETTINGS, "authorizerName", transport === "mqtt" ? "mqttUrl" : "wsUrl"]);
  let received = 0;
  let reachedCount: () => void = () => undefined;
  const enough = new Promise<void>((resolve) => {
    reachedCount = resolve;
  });
  const subscription = await device.subscribe(
    topicFilter,
    (topic, payload) => {
      if (count !== undefined && received >= count) return;
      received++;
      io.stdout.write(`${topic} ${payload.toString("utf8")}\n`);
      if (count !== undefined && received >= count) reachedCount();
    },
    { transport, qos },
  );
  io.stderr.write(
    `Subscribed to ${topicFilter} over ${transport} as client ${subscription.clientId}${count !== undefined ? `; waiting for ${count} message(s)` : "; Ctrl-C to stop"}.\n`,
  );
  const interrupted = new Promise<void>((resolve) => {
    if (io.signal?.aborted) resolve();
    io.signal?.addEventListener("abort", () => resolve(), { once: true });
  });
  const outcome = await Promise.race([
    enough.then(() => "done" as const),
    interrupted.then(() => "interrupted" as const),
    subscription.closed,
  ]);
  await subscription.close();
  if (outcome instanceof Error) throw outcome;
  return 0;
};

function messageCount(args: ParsedArgs): number | undefined {
  if (args.values.count === undefined) return undefined;
  const count = Number(args.values.count);
  if (!Number.isInteger(count) || count < 1) throw new UsageError("--count must be a positive whole number");
  return count;
}
