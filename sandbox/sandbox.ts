/**
 * The whole chain on one machine, in one process, with no AWS account: `startSandbox()` starts on loopback
 *
 * - dynalite (DynamoDB's wire protocol; in memory, or LevelDB files under `dataDir/dynamodb`) with the
 *   device grant table created from `functions/device-grant/table.ts`;
 * - cognito-local (the user directory): a user pool, the device app client and a test user with a random
 *   password, all created at start;
 * - the device grant API: the real Lambda handler (`createHandler`) behind the local payload 2.0 server, on
 *   the dynalite table, with cognito-local as its upstream IdP and the stack's own settings;
 * - the IoT gateway (sandbox/gateway): MQTT over TCP and WebSocket and HTTP publish with custom auth, calling
 *   the real authorizer core, which trusts the pool's access tokens exactly as a stack with
 *   `deviceGrantEnabled` does (RS256 from the pool's JWKS, `token_use` access, the device client only, the
 *   stack's principal prefix and grants);
 * - a fresh RSA key pair for IoT's token signing (the gateway holds the public key; the private key goes to
 *   `authorizer-signing.pem`, mode 0600, for the device client);
 *
 * then writes `sandbox.json` (what a device client needs to reach all of it) and returns the banner: every
 * URL, the test user and the next command to run. The settings come from `Pulumi.dev.yaml` or a settings
 * file (sandbox/settings.ts) and are checked before any port is opened; ports in use are all reported at
 * once, each with the flag that moves it.
 *
 * The test user's password is printed in the banner on purpose: it is a throwaway user of a directory that
 * lives as long as the process. Nothing else secret is printed or logged (codes and tokens never are).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from "node:crypto";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { type Server } from "node:http";
import net, { type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createAuthorizer } from "../functions/authorizer/authorizer";
import { type Logger as AuthorizerLogger } from "../functions/authorizer/logging";
import { principalIdFor } from "../functions/authorizer/principal";
import { type GrantRule, loadAuthorizerConfig } from "../functions/authorizer/config";
import { DEVICE_GRANT_CONFIG_ENV, parseDeviceGrantConfig } from "../functions/device-grant/config";
import { DynamoStore } from "../functions/device-grant/dynamo-store";
import { createHandler } from "../functions/device-grant/index";
import { startLocalServer } from "../functions/device-grant/local-server";
import { type ServiceLogger } from "../functions/device-grant/service";
import { TABLE_DEFINITION } from "../functions/device-grant/table";
import { type CognitoLocal, startCognito } from "./cognito-local";
import { type IotGateway, startIotGateway } from "./gateway/gateway";
import { type SandboxSettings, type SettingsSource, loadSandboxSettings } from "./settings";

/** The ports `npm start` uses unless told otherwise (0 = any free port). */
export const DEFAULT_PORTS = { deviceGrant: 8080, mqtt: 1883, ws: 8083, http: 8081 } as const;
export type SandboxPorts = { -readonly [K in keyof typeof DEFAULT_PORTS]: number };

/** What each port is for, and the `npm start` flag that changes it. */
export const PORT_FLAGS: Record<keyof SandboxPorts, { service: string; flag: string }> = {
  deviceGrant: { service: "device grant API", flag: "--device-grant-port" },
  mqtt: { service: "IoT gateway MQTT", flag: "--mqtt-port" },
  ws: { service: "IoT gateway MQTT over WebSocket", flag: "--ws-port" },
  http: { service: "IoT gateway HTTP publish", flag: "--http-port" },
};

export const AUTHORIZER_NAME = "iot-auth-sandbox";
/** IoT needs an account in its ARNs; nothing here is an AWS account. */
export const SANDBOX_ACCOUNT_ID = "000000000000";
export const TABLE_NAME = "device-grant-sandbox";
export const SIGNING_KEY_FILE = "authorizer-signing.pem";
export const SANDBOX_FILE = "sandbox.json";
export const TEST_USERNAME = "sandbox-user";

export class PortInUseError extends Error {
  constructor(readonly ports: { port: number; host: string; service: string; flag: string }[]) {
    super(
      ports
        .map(({ port, host, service, flag }) => `port ${port} on ${host} (${service}) is in use: stop what holds it, or choose another with ${flag} <port>`)
        .concat("or move every port at once with --port-offset <n>")
        .join("\n"),
    );
    this.name = "PortInUseError";
  }
}

export interface SandboxOptions extends SettingsSource {
  /** Keep DynamoDB's data, the signing key and sandbox.json here (DynamoDB is in memory otherwise). */
  dataDir?: string;
  /**
   * Where the signing key and sandbox.json go when there is no `dataDir` (`npm start`: `.sandbox/`); a
   * temporary directory, removed at stop, when neither is given.
   */
  filesDir?: string;
  /** Where the device grant API and the gateway listen; 127.0.0.1 by default. cognito-local always uses 127.0.0.1. */
  host?: string;
  /** `DEFAULT_PORTS` for what is not given; 0 picks a free port. */
  ports?: Partial<SandboxPorts>;
  /** Print nothing (no banner, no logs). */
  quiet?: boolean;
  /** Where the banner and log lines go; stdout (banner) and stderr (logs) by default. */
  output?: { banner?: (text: string) => void; log?: (line: string) => void };
}

export interface Sandbox {
  deviceGrantUrl: string;
  cognitoUrl: string;
  gateway: IotGateway;
  authorizerName: string;
  tokenKeyName: string;
  /** PEM (PKCS#8): signs tokens for the gateway's signature check; also written to `signingKeyFile`. */
  signingPrivateKeyPem: string;
  signingKeyFile: string;
  /** The device app client (public). */
  clientId: string;
  user: { username: string; password: string; sub: string; principalId: string };
  region: string;
  accountId: string;
  poolId: string;
  issuer: string;
  dynamoEndpoint: string;
  settings: SandboxSettings;
  /** `sandbox.json`: what a device client needs (see `SandboxFile`). */
  sandboxFile: string;
  banner: string;
  /**
   * Moves the device grant service's clock forward (the demo's expired-code step: a code lives at least
   * 60 s). The authorizer and cognito-local keep the real time, so tokens stay valid.
   */
  advanceClock(seconds: number): void;
  stop(): Promise<void>;
}

/**
 * The content of `sandbox.json`, named as `Sandbox` is (the device CLI's `--sandbox` reads it:
 * device/config.ts). It describes a running sandbox, so `stop()` removes it.
 */
export interface SandboxFile {
  deviceGrantUrl: string;
  clientId: string;
  gateway: { mqttUrl: string; wsUrl: string; httpUrl: string };
  authorizerName: string;
  tokenKeyName: string;
  signingKeyFile: string;
  region: string;
  accountId: string;
  cognitoUrl: string;
  username: string;
  /** The test user's principal id at the authorizer (`principalPrefix` + the derived `sub`). */
  principalId: string;
  /** The pool's principal prefix: a device's MQTT client id must start with `principalIdFor(sub, principalPrefix)`. */
  principalPrefix: string;
}

function log(options: SandboxOptions, source: string, level: string, fields: object): void {
  if (options.quiet) return;
  const line = JSON.stringify({ time: new Date().toISOString(), source, level, ...fields });
  (options.output?.log ?? ((text: string) => process.stderr.write(`${text}\n`)))(line);
}

/** Whether `port` can be bound on `host` now (0 always can). */
async function portIsFree(host: string, port: number): Promise<boolean> {
  if (port === 0) return true;
  const probe = net.createServer();
  return new Promise((resolve, reject) => {
    probe.once("error", (err: NodeJS.ErrnoException) => (err.code === "EADDRINUSE" || err.code === "EACCES" ? resolve(false) : reject(err)));
    probe.listen(port, host, () => probe.close(() => resolve(true)));
  });
}

/** Turns a listen error of one of the sandbox's ports into a `PortInUseError`; other errors pass through. */
function explainListenError(err: unknown, host: string, ports: SandboxPorts): unknown {
  const e = err as NodeJS.ErrnoException & { port?: number };
  if (e?.code !== "EADDRINUSE") return err;
  const key = (Object.keys(ports) as (keyof SandboxPorts)[]).find((k) => ports[k] === e.port);
  if (key) return new PortInUseError([{ port: ports[key], host, ...PORT_FLAGS[key] }]);
  // Taken between the probe and the listen, by a server that did not say which port.
  const flags = Object.values(PORT_FLAGS).map((f) => f.flag).join(", ");
  return Object.assign(new Error(`${e.message} (move a port with ${flags} or --port-offset)`), { code: e.code });
}

// dynalite ships no types; this is the part used here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require("dynalite") as (options: { path?: string; createTableMs?: number; deleteTableMs?: number; updateTableMs?: number }) => Server;

async function startDynamo(dataDir: string | undefined): Promise<{ endpoint: string; client: DynamoDBClient; stop(): Promise<void> }> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(dataDir !== undefined && { path: path.join(dataDir, "dynamodb") }) });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({ endpoint, region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" }, maxAttempts: 1 });
  return {
    endpoint,
    client,
    async stop() {
      client.destroy();
      server.closeAllConnections();
      // dynalite's close() also closes its database (and its files, on disk).
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

/** The signing key: kept in the data directory across starts (a device keeps working), new otherwise. */
async function signingKey(directory: string): Promise<{ privatePem: string; publicPem: string; file: string }> {
  const file = path.join(directory, SIGNING_KEY_FILE);
  let privatePem: string | undefined;
  try {
    privatePem = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  if (privatePem === undefined) {
    const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
    privatePem = pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    await writeFile(file, privatePem, { mode: 0o600 });
  }
  // Whatever mode an older file had: it is a private key.
  await chmod(file, 0o600);
  const publicPem = createPublicKey(createPrivateKey(privatePem)).export({ type: "spki", format: "pem" }).toString();
  return { privatePem, publicPem, file };
}

/** `topic/event/{principal}/*` → `event/<principal id>/*`, for the resources of `action` in the grants. */
export function resourcesFor(grants: GrantRule[], action: GrantRule["actions"][number], principalId: string): string[] {
  return grants
    .filter((g) => g.actions.includes(action))
    .flatMap((g) => g.resources)
    .map((r) => r.replace(/^(client|topicfilter|topic)\//, "").replaceAll("{principal}", principalId));
}

/** The start-up text: every URL, the test user, and what to run next. */
export function formatBanner(s: Omit<Sandbox, "banner" | "stop" | "advanceClock">, persistent: boolean): string {
  const { grants } = s.settings.authorizer;
  const pid = s.user.principalId;
  // A topic tree (`…/*`) makes the better example: `…/hello` to publish to, `…/#` to listen on.
  const example = (action: GrantRule["actions"][number], tail: string) => {
    const resources = resourcesFor(grants, action, pid);
    return (resources.find((r) => r.endsWith("/*")) ?? resources[0])?.replace(/\*$/, tail);
  };
  const publishTopic = example("iot:Publish", "hello") ?? `devices/${pid}/hello`;
  const subscribeFilter = example("iot:Subscribe", "#") ?? `devices/${pid}/#`;
  const clientIds = resourcesFor(grants, "iot:Connect", pid);
  // Two connections at once need two client ids (IoT drops the older connection of a client id).
  const mqttClientId = (suffix: string) => clientIds.find((c) => c.endsWith("*"))?.replace(/\*$/, suffix) ?? clientIds[0] ?? pid;
  // A path under the working directory reads better as a relative one.
  const relative = path.relative(process.cwd(), s.sandboxFile);
  const file = relative.startsWith("..") || path.isAbsolute(relative) ? s.sandboxFile : relative;
  return [
    "",
    `IoT enterprise auth sandbox is running (settings: ${s.settings.source})`,
    "",
    `  Device grant API    ${s.deviceGrantUrl}  (users enter codes at ${s.deviceGrantUrl}/device)`,
    `  User directory      ${s.cognitoUrl}  (cognito-local; issuer ${s.issuer})`,
    `  DynamoDB            ${s.dynamoEndpoint}  (dynalite, ${persistent ? "on disk" : "in memory"}; table ${TABLE_NAME})`,
    `  IoT gateway         ${s.gateway.mqttUrl}  ${s.gateway.wsUrl}  ${s.gateway.httpUrl}/topics/{topic}`,
    "",
    `  Device app client   ${s.clientId}  (${s.settings.deviceClient.name}, public; scopes ${s.settings.deviceClient.scopes.join(" ")})`,
    `  Authorizer          ${s.authorizerName}  (token key "${s.tokenKeyName}"; signing key ${s.signingKeyFile})`,
    `  Test user           ${s.user.username}  password ${s.user.password}`,
    `  Its principal id    ${pid}`,
    `    connect as        ${clientIds.join(", ")}`,
    `    publish/receive   ${resourcesFor(grants, "iot:Publish", pid).join(", ")}`,
    `    subscribe         ${resourcesFor(grants, "iot:Subscribe", pid).join(", ")}`,
    `  Sandbox file        ${s.sandboxFile}`,
    "",
    "Next, sign a device in (open the link it prints and sign in as the test user):",
    `  npm run device -- login --sandbox ${file}`,
    "then, with the tokens it stored, listen and publish:",
    `  npm run device -- subscribe '${subscribeFilter}' --sandbox ${file} --mqtt-client-id ${mqttClientId("listener")}`,
    `  npm run device -- publish ${publishTopic} '{"hello":"world"}' --sandbox ${file} --mqtt-client-id ${mqttClientId("device")}`,
    `(without the file: npm run device -- login --base-url ${s.deviceGrantUrl} --client-id ${s.clientId}, then --mqtt-url, --authorizer-name,`,
    ` --token-key-name and --signing-key for publish; see npm run device -- help)`,
    "",
    "Ctrl-C stops everything.",
    "",
  ].join("\n");
}

/** Starts everything, or stops what it started and throws (a `ConfigurationError` or `PortInUseError` says why). */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  // Settings first: a bad setting must not cost a port.
  const settings = loadSandboxSettings(options);
  const host = options.host ?? "127.0.0.1";
  const ports: SandboxPorts = { ...DEFAULT_PORTS, ...options.ports };
  const busy: PortInUseError["ports"] = [];
  for (const key of Object.keys(ports) as (keyof SandboxPorts)[]) {
    if (!(await portIsFree(host, ports[key]))) busy.push({ port: ports[key], host, ...PORT_FLAGS[key] });
  }
  if (busy.length > 0) throw new PortInUseError(busy);

  const stops: (() => Promise<void>)[] = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    const failures: unknown[] = [];
    for (const s of stops.reverse()) {
      try {
        await s();
      } catch (err) {
        failures.push(err);
      }
    }
    if (failures.length > 0) throw failures[0];
  };

  try {
    let directory: string;
    if (options.dataDir !== undefined || options.filesDir !== undefined) {
      directory = path.resolve((options.dataDir ?? options.filesDir) as string);
      await mkdir(directory, { recursive: true, mode: 0o700 });
    } else {
      directory = await mkdtemp(path.join(tmpdir(), "iot-sandbox-"));
      stops.push(() => rm(directory, { recursive: true, force: true }));
    }

    const dynamo = await startDynamo(options.dataDir === undefined ? undefined : directory);
    stops.push(() => dynamo.stop());
    try {
      await dynamo.client.send(new CreateTableCommand({ ...TABLE_DEFINITION, TableName: TABLE_NAME }));
    } catch (err) {
      // A data directory keeps the table from the last start.
      if ((err as Error).name !== "ResourceInUseException") throw err;
    }

    const cognito: CognitoLocal = await startCognito();
    stops.push(() => cognito.stop());
    const poolId = await cognito.createUserPool("sandbox-users");
    const endpoints = cognito.endpoints(poolId);

    // The handler reads its configuration at the first request; it is complete before the server is announced.
    const environment: NodeJS.ProcessEnv = {};
    let offsetMs = 0;
    const serviceLogger: ServiceLogger = {
      info: (fields) => log(options, "device-grant", "info", fields),
      warn: (fields) => log(options, "device-grant", "warn", fields),
      error: (fields) => log(options, "device-grant", "error", fields),
    };
    const handler = createHandler({
      environment,
      // Only confidential clients have secrets, and the sandbox registers a public one.
      readParameter: () => Promise.reject(new Error("the sandbox has no SSM")),
      store: (config) => new DynamoStore({ client: dynamo.client, tableName: config.tableName }),
      clock: { now: () => Date.now() + offsetMs },
      logger: serviceLogger,
    });
    const server = await startLocalServer(handler, { host, port: ports.deviceGrant }).catch((err: unknown) => {
      throw explainListenError(err, host, ports);
    });
    stops.push(() => server.stop());

    const app = await cognito.createAppClient(poolId, {
      name: settings.deviceClient.name,
      callbackUrls: [`${server.url}/callback`],
      allowedOAuthScopes: settings.deviceClient.scopes,
    });
    const password = `${randomBytes(12).toString("base64url")}-Aa1`;
    const user = await cognito.createUser(poolId, TEST_USERNAME, password, { email: `${TEST_USERNAME}@example.com` });
    environment[DEVICE_GRANT_CONFIG_ENV] = JSON.stringify({
      settings: settings.deviceGrant,
      clients: [{ clientId: app.clientId, name: settings.deviceClient.name, type: "public", scopes: settings.deviceClient.scopes }],
      scopes: settings.deviceClient.scopes,
      upstream: {
        issuer: endpoints.issuer,
        authorizationEndpoint: endpoints.authorizationEndpoint,
        tokenEndpoint: endpoints.tokenEndpoint,
        redirectUri: `${server.url}/callback`,
      },
      publicBaseUrl: server.url,
      tableName: TABLE_NAME,
      region: settings.region,
    });
    // The handler would only log a bad configuration; here it must stop the start-up with every problem.
    parseDeviceGrantConfig(environment[DEVICE_GRANT_CONFIG_ENV]);

    const authorizerLogger: AuthorizerLogger = {
      warn: (fields) => log(options, "authorizer", "warn", fields),
      debug: (fields) => log(options, "authorizer", "debug", fields),
      error: (fields) => log(options, "authorizer", "error", fields),
    };
    const authorizer = createAuthorizer(
      loadAuthorizerConfig({
        issuers: [
          {
            issuer: endpoints.issuer,
            algorithms: ["RS256"],
            jwksUri: endpoints.jwksUri,
            tokenUse: "access",
            clientIds: [app.clientId],
            principalPrefix: settings.principalPrefix,
          },
        ],
        ...settings.authorizer,
        region: settings.region,
        accountId: SANDBOX_ACCOUNT_ID,
      }),
      { logger: authorizerLogger },
    );

    const key = await signingKey(directory);
    const gateway = await startIotGateway({
      authorizer,
      authorizerName: AUTHORIZER_NAME,
      tokenKeyName: settings.authorizer.tokenKeyName,
      signingPublicKeyPem: key.publicPem,
      region: settings.region,
      accountId: SANDBOX_ACCOUNT_ID,
      host,
      mqttPort: ports.mqtt,
      wsPort: ports.ws,
      httpPort: ports.http,
      logger: (line) => log(options, "gateway", String(line.level ?? "info"), line),
    }).catch((err: unknown) => {
      throw explainListenError(err, host, ports);
    });
    stops.push(() => gateway.stop());

    const principalId = principalIdFor(user.sub, settings.principalPrefix);
    const sandboxFile = path.join(directory, SANDBOX_FILE);
    const file: SandboxFile = {
      deviceGrantUrl: server.url,
      clientId: app.clientId,
      gateway: { mqttUrl: gateway.mqttUrl, wsUrl: gateway.wsUrl, httpUrl: gateway.httpUrl },
      authorizerName: AUTHORIZER_NAME,
      tokenKeyName: settings.authorizer.tokenKeyName,
      signingKeyFile: key.file,
      region: settings.region,
      accountId: SANDBOX_ACCOUNT_ID,
      cognitoUrl: cognito.baseUrl,
      username: user.username,
      principalId,
      principalPrefix: settings.principalPrefix,
    };
    await writeFile(sandboxFile, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
    stops.push(() => rm(sandboxFile, { force: true }));

    const parts = {
      deviceGrantUrl: server.url,
      cognitoUrl: cognito.baseUrl,
      gateway,
      authorizerName: AUTHORIZER_NAME,
      tokenKeyName: settings.authorizer.tokenKeyName,
      signingPrivateKeyPem: key.privatePem,
      signingKeyFile: key.file,
      clientId: app.clientId,
      user: { username: user.username, password, sub: user.sub, principalId },
      region: settings.region,
      accountId: SANDBOX_ACCOUNT_ID,
      poolId,
      issuer: endpoints.issuer,
      dynamoEndpoint: dynamo.endpoint,
      settings,
      sandboxFile,
    };
    const banner = formatBanner(parts, options.dataDir !== undefined);
    if (!options.quiet) (options.output?.banner ?? ((text: string) => process.stdout.write(text)))(banner);
    return {
      ...parts,
      banner,
      advanceClock(seconds: number) {
        offsetMs += seconds * 1000;
      },
      stop,
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}
