/**
 * `npm run device -- <command>`: the device client from a terminal, against the local sandbox or a deployed
 * stack. Exit codes: 0 success, 1 failure (refused, expired, unreachable, misconfigured), 2 usage error,
 * 130 interrupted. Only `token` prints a credential, and only to stdout, for `$(…)` use.
 */
import { DeviceClient, type DeviceClientOptions, DeviceClientError, type Transport } from "./client";
import { ConfigError, type RawSettings, resolveSettings, type SettingsLayer } from "./config";
import { type CodeDisplay, type DisplayOutput, showDeviceCode } from "./terminal";

export const USAGE = `Usage: npm run device -- <command> [options]

Commands:
  login                              sign the device in (OAuth 2.0 device flow): shows a code and a QR code,
                                     waits for approval, stores the tokens in the token file (mode 0600)
  token [--refresh]                  print a current access token (refreshed when it expires within 60 s)
  publish <topic> <message>          publish one message ("-" reads the message from stdin)
        [--transport mqtt|wss|https] [--qos 0|1] [--retain]
  subscribe <topicFilter>            print "topic message" lines until Ctrl-C
        [--transport mqtt|wss] [--count N] [--qos 0|1]
  help                               this text

Where to connect (flags > DEVICE_* environment variables > --stack-output / --sandbox file):
  --stack-output FILE     JSON of \`pulumi stack output --json --show-secrets\`    DEVICE_STACK_OUTPUT
  --sandbox FILE          the sandbox's sandbox.json (printed by \`npm start\`)     DEVICE_SANDBOX
  --base-url URL          device grant service (its /oauth2/device_authorization) DEVICE_BASE_URL
  --client-id ID          OAuth client id                                         DEVICE_CLIENT_ID
  --client KEY            a stack's device client, by key (deviceClientIds)       DEVICE_CLIENT
  --client-secret SECRET  confidential client's secret (prefer the variable)      DEVICE_CLIENT_SECRET
  --scope "A B"           scopes to ask for                                       DEVICE_SCOPE
  --iot-endpoint HOST|URL AWS IoT data endpoint (xxxx-ats.iot.REGION.amazonaws.com: MQTT/TLS with ALPN,
                          wss and https, all on 443) or one mqtt://, ws:// or http:// URL  DEVICE_IOT_ENDPOINT
  --mqtt-url URL  --ws-url URL  --http-url URL                  DEVICE_MQTT_URL DEVICE_WS_URL DEVICE_HTTP_URL
  --authorizer-name NAME  the IoT custom authorizer                               DEVICE_AUTHORIZER_NAME
  --token-key-name NAME   the authorizer's tokenKeyName (default: token)          DEVICE_TOKEN_KEY_NAME
  --signing-key FILE      PEM private key that signs the token for IoT            DEVICE_SIGNING_KEY
  --unsigned              send no token signature (authorizer with signing disabled)
  --token-file FILE       where tokens are kept (default ~/.config/iot-enterprise-auth/device-token.json)
                                                                                  DEVICE_TOKEN_FILE
  --mqtt-client-id ID     MQTT client id (default: <principal>-<random>)          DEVICE_MQTT_CLIENT_ID
  --principal-prefix P    the authorizer's principalPrefix for this IdP, so the default client id
                          matches the policy (the sandbox file gives it)          DEVICE_PRINCIPAL_PREFIX
  --mqtt-version 4|5      MQTT 3.1.1 (default) or 5
  --ws-credentials query|headers   where the WebSocket upgrade carries the token (default: query)
  --no-qr                 do not draw the QR code

Examples:
  npm run device -- login --sandbox .sandbox/sandbox.json
  npm run device -- publish devices/<principal>/hello "hi" --transport https --sandbox .sandbox/sandbox.json
  pulumi stack output --json --show-secrets > stack.json && npm run device -- login --stack-output stack.json
`;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

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

/** Flags that take a value, by name, and the setting they fill. */
const VALUE_FLAGS: Record<string, keyof RawSettings | "transport" | "count" | "qos" | "mqttVersion" | "wsCredentials"> = {
  "base-url": "baseUrl",
  "client-id": "clientId",
  client: "client",
  "client-secret": "clientSecret",
  scope: "scope",
  "iot-endpoint": "iotEndpoint",
  "mqtt-url": "mqttUrl",
  "ws-url": "wsUrl",
  "http-url": "httpUrl",
  "authorizer-name": "authorizerName",
  "token-key-name": "tokenKeyName",
  "signing-key": "signingKey",
  "token-file": "tokenFile",
  "mqtt-client-id": "mqttClientId",
  "principal-prefix": "principalPrefix",
  "stack-output": "stackOutput",
  sandbox: "sandbox",
  transport: "transport",
  count: "count",
  qos: "qos",
  "mqtt-version": "mqttVersion",
  "ws-credentials": "wsCredentials",
};
const BOOLEAN_FLAGS = new Set(["help", "no-qr", "unsigned", "refresh", "retain"]);

export interface ParsedArgs {
  command: string | undefined;
  positionals: string[];
  values: Record<string, string>;
  booleans: Set<string>;
}

export function parseArgs(argv: string[]): ParsedArgs {
  const positionals: string[] = [];
  const values: Record<string, string> = {};
  const booleans = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === "-h") {
      booleans.add("help");
      continue;
    }
    if (!arg.startsWith("--") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    if (BOOLEAN_FLAGS.has(name)) {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`);
      booleans.add(name);
    } else if (name in VALUE_FLAGS) {
      let value: string | undefined;
      if (eq !== -1) value = arg.slice(eq + 1);
      else {
        value = argv[i + 1];
        i++;
      }
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      if (name in values) throw new UsageError(`--${name} is given twice`);
      values[name] = value;
    } else {
      throw new UsageError(`unknown option --${name}`);
    }
  }
  return { command: positionals.shift(), positionals, values, booleans };
}

function settingsFlags(args: ParsedArgs): RawSettings {
  const raw: RawSettings = {};
  for (const [flag, value] of Object.entries(args.values)) {
    const key = VALUE_FLAGS[flag];
    if (key === "transport" || key === "count" || key === "qos" || key === "mqttVersion" || key === "wsCredentials") continue;
    raw[key] = value;
  }
  return raw;
}

function oneOf<T extends string>(args: ParsedArgs, flag: string, allowed: readonly T[], fallback: T): T {
  const value = args.values[flag];
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`--${flag} must be one of ${allowed.join(", ")}`);
  return value as T;
}

function expectPositionals(args: ParsedArgs, names: string[]): string[] {
  if (args.positionals.length !== names.length) {
    throw new UsageError(
      names.length === 0
        ? `${args.command} takes no arguments`
        : `${args.command} needs ${names.map((n) => `<${n}>`).join(" ")}${args.positionals.length > names.length ? ` (got ${args.positionals.length} arguments; quote a message with spaces)` : ""}`,
    );
  }
  return args.positionals;
}

function allowOnly(args: ParsedArgs, flags: string[]): void {
  const commandFlags = ["transport", "count", "qos", "mqtt-version", "ws-credentials", "refresh", "retain", "no-qr"];
  for (const flag of [...Object.keys(args.values), ...args.booleans]) {
    if (commandFlags.includes(flag) && !flags.includes(flag)) throw new UsageError(`--${flag} does not apply to ${args.command}`);
  }
}

/** Runs one command; resolves to the exit code. Never throws. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let args: ParsedArgs;
  try {
    args = parseArgs(argv);
  } catch (err) {
    io.stderr.write(`error: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.booleans.has("help") || args.command === "help" || args.command === undefined) {
    (args.command === undefined && !args.booleans.has("help") ? io.stderr : io.stdout).write(USAGE);
    return args.command === undefined && !args.booleans.has("help") ? 2 : 0;
  }
  try {
    return await run(args, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`error: ${err.message}\n(npm run device -- help for usage)\n`);
      return 2;
    }
    if (err instanceof ConfigError) {
      io.stderr.write(`error: the device client is not configured: ${err.message}\n(npm run device -- help for usage)\n`);
      return 1;
    }
    if (io.signal?.aborted && (err as Error).name === "AbortError") {
      io.stderr.write("\ninterrupted\n");
      return 130;
    }
    if (err instanceof DeviceClientError) {
      io.stderr.write(`error: ${err.message}\n`);
      return 1;
    }
    io.stderr.write(`error: ${(err as Error).message ?? String(err)}\n`);
    return 1;
  }
}

async function run(args: ParsedArgs, io: CliIo): Promise<number> {
  const oauth: (keyof SettingsLayer)[] = ["deviceAuthorizationEndpoint", "tokenEndpoint", "clientId"];
  const client = (required: (keyof SettingsLayer)[]): DeviceClient => {
    const extra = {
      mqttProtocolVersion: Number(oneOf(args, "mqtt-version", ["4", "5"], "4")) as 4 | 5,
      wsCredentials: oneOf(args, "ws-credentials", ["query", "headers"], "query"),
      unsigned: args.booleans.has("unsigned"),
    };
    const { options } = resolveSettings(settingsFlags(args), io.env, io.cwd, required, extra);
    return new DeviceClient({ ...options, ...io.client });
  };

  switch (args.command) {
    case "login": {
      expectPositionals(args, []);
      allowOnly(args, ["no-qr"]);
      const device = client(oauth);
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
    }
    case "token": {
      expectPositionals(args, []);
      allowOnly(args, ["refresh"]);
      const token = await client(oauth).token({ forceRefresh: args.booleans.has("refresh") });
      io.stdout.write(`${token}\n`);
      return 0;
    }
    case "publish": {
      const [topic, message] = expectPositionals(args, ["topic", "message"]);
      allowOnly(args, ["transport", "qos", "retain", "mqtt-version", "ws-credentials"]);
      const transport = oneOf<Transport>(args, "transport", ["mqtt", "wss", "https"], "mqtt");
      const qos = Number(oneOf(args, "qos", ["0", "1"], "1")) as 0 | 1;
      const endpoint = transport === "mqtt" ? "mqttUrl" : transport === "wss" ? "wsUrl" : "httpUrl";
      const device = client([...oauth, "authorizerName", endpoint]);
      let payload: string | Buffer = message;
      if (message === "-") {
        if (!io.readStdin) throw new UsageError("cannot read the message from stdin here");
        payload = await io.readStdin();
      }
      await device.publish(topic, payload, { transport, qos, retain: args.booleans.has("retain") });
      io.stdout.write(`Published to ${topic} over ${transport}${qos === 1 ? " (acknowledged)" : ""}.\n`);
      return 0;
    }
    case "subscribe": {
      const [topicFilter] = expectPositionals(args, ["topicFilter"]);
      allowOnly(args, ["transport", "count", "qos", "mqtt-version", "ws-credentials"]);
      const transport = oneOf(args, "transport", ["mqtt", "wss"] as const, "mqtt");
      const qos = Number(oneOf(args, "qos", ["0", "1"], "1")) as 0 | 1;
      let count: number | undefined;
      if (args.values.count !== undefined) {
        count = Number(args.values.count);
        if (!Number.isInteger(count) || count < 1) throw new UsageError("--count must be a positive whole number");
      }
      const device = client([...oauth, "authorizerName", transport === "mqtt" ? "mqttUrl" : "wsUrl"]);
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
      io.stderr.write(`Subscribed to ${topicFilter} over ${transport} as client ${subscription.clientId}${count !== undefined ? `; waiting for ${count} message(s)` : "; Ctrl-C to stop"}.\n`);
      const interrupted = new Promise<void>((resolve) => {
        if (io.signal?.aborted) resolve();
        io.signal?.addEventListener("abort", () => resolve(), { once: true });
      });
      const outcome = await Promise.race([enough.then(() => "done" as const), interrupted.then(() => "interrupted" as const), subscription.closed]);
      await subscription.close();
      if (outcome instanceof Error) throw outcome;
      return 0;
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(args.command)} (login, token, publish, subscribe, help)`);
  }
}

async function readAllStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

if (require.main === module) {
  const controller = new AbortController();
  process.once("SIGINT", () => controller.abort());
  void runCli(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    readStdin: readAllStdin,
    signal: controller.signal,
  }).then((code) => {
    process.exitCode = code;
    // An MQTT socket or a pending timer must not keep a finished command alive.
    setImmediate(() => process.exit(code)).unref();
  });
}
