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
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { createAuthorizer, type Authorizer } from "../functions/authorizer/authorizer";
import { loadAuthorizerConfig } from "../functions/authorizer/config";
import { type Logger as AuthorizerLogger } from "../functions/authorizer/logging";
import { principalIdFor } from "../functions/authorizer/principal";
import { type DeviceGrantChain, startDeviceGrantChain } from "./device-grant-chain";
import { type IotGateway, startIotGateway } from "./gateway/gateway";
import { formatBanner } from "./banner";
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
        .map(
          ({ port, host, service, flag }) =>
            `port ${port} on ${host} (${service}) is in use: stop what holds it, or choose another with ${flag} <port>`,
        )
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
    probe.once("error", (err: NodeJS.ErrnoException) =>
      err.code === "EADDRINUSE" || err.code === "EACCES" ? resolve(false) : reject(err),
    );
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
  const flags = Object.values(PORT_FLAGS)
    .map((f) => f.flag)
    .join(", ");
  return Object.assign(new Error(`${e.message} (move a port with ${flags} or --port-offset)`), { code: e.code });
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

/** Stops, in reverse order, what a start has started so far; every step runs even if one fails. */
class Stops {
  private readonly steps: (() => Promise<void>)[] = [];
  private stopped = false;
  push(step: () => Promise<void>): void {
    this.steps.push(step);
  }
  async run(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const failures: unknown[] = [];
    for (const step of this.steps.reverse()) {
      try {
        await step();
      } catch (err) {
        failures.push(err);
      }
    }
    if (failures.length > 0) throw failures[0];
  }
}

/** Refuses, before anything starts, every port that is already taken, each with the flag that moves it. */
async function checkPortsFree(host: string, ports: SandboxPorts): Promise<void> {
  const busy: PortInUseError["ports"] = [];
  for (const key of Object.keys(ports) as (keyof SandboxPorts)[]) {
    if (!(await portIsFree(host, ports[key]))) busy.push({ port: ports[key], host, ...PORT_FLAGS[key] });
  }
  if (busy.length > 0) throw new PortInUseError(busy);
}

/** Where the signing key and sandbox.json go: the data or files directory, or a temporary one removed at stop. */
async function sandboxDirectory(options: SandboxOptions, stops: Stops): Promise<string> {
  if (options.dataDir !== undefined || options.filesDir !== undefined) {
    const directory = path.resolve((options.dataDir ?? options.filesDir) as string);
    await mkdir(directory, { recursive: true, mode: 0o700 });
    return directory;
  }
  const directory = await mkdtemp(path.join(tmpdir(), "iot-sandbox-"));
  stops.push(() => rm(directory, { recursive: true, force: true }));
  return directory;
}

/** The authorizer core, trusting the pool's access tokens as a stack with `deviceGrantEnabled` does. */
function sandboxAuthorizer(options: SandboxOptions, settings: SandboxSettings, chain: DeviceGrantChain): Authorizer {
  const logger: AuthorizerLogger = {
    warn: (fields) => log(options, "authorizer", "warn", fields),
    debug: (fields) => log(options, "authorizer", "debug", fields),
    error: (fields) => log(options, "authorizer", "error", fields),
  };
  const config = loadAuthorizerConfig({
    issuers: [
      {
        issuer: chain.endpoints.issuer,
        algorithms: ["RS256"],
        jwksUri: chain.endpoints.jwksUri,
        tokenUse: "access",
        clientIds: [chain.clients[0].clientId],
        principalPrefix: settings.principalPrefix,
      },
    ],
    ...settings.authorizer,
    region: settings.region,
    accountId: SANDBOX_ACCOUNT_ID,
  });
  return createAuthorizer(config, { logger });
}

/** Writes `sandbox.json` (owner-only), removed again at stop: it describes a running sandbox. */
async function writeSandboxFile(directory: string, file: SandboxFile, stops: Stops): Promise<string> {
  const sandboxFile = path.join(directory, SANDBOX_FILE);
  await writeFile(sandboxFile, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  stops.push(() => rm(sandboxFile, { force: true }));
  return sandboxFile;
}

/** The device grant's local chain with the stack's settings: its API on the sandbox's port, the test user in its pool. */
function startChain(
  options: SandboxOptions,
  settings: SandboxSettings,
  at: { directory: string; host: string; ports: SandboxPorts; password: string; clock: { now(): number } },
): Promise<DeviceGrantChain> {
  const { name, scopes } = settings.deviceClient;
  return startDeviceGrantChain({
    settings: settings.deviceGrant,
    clients: [{ appName: name, displayName: name, type: "public", scopes }],
    user: { username: TEST_USERNAME, password: at.password, email: `${TEST_USERNAME}@example.com` },
    region: settings.region,
    tableName: TABLE_NAME,
    ...(options.dataDir !== undefined && { dataDir: at.directory }),
    host: at.host,
    port: at.ports.deviceGrant,
    clock: at.clock,
    logger: {
      info: (fields) => log(options, "device-grant", "info", fields),
      warn: (fields) => log(options, "device-grant", "warn", fields),
      error: (fields) => log(options, "device-grant", "error", fields),
    },
  }).catch((err: unknown) => {
    throw explainListenError(err, at.host, at.ports);
  });
}

/** The IoT gateway on the sandbox's ports, calling the authorizer core that trusts the chain's user pool. */
function startGateway(
  options: SandboxOptions,
  settings: SandboxSettings,
  at: { chain: DeviceGrantChain; host: string; ports: SandboxPorts; signingPublicKeyPem: string },
): Promise<IotGateway> {
  return startIotGateway({
    authorizer: sandboxAuthorizer(options, settings, at.chain),
    authorizerName: AUTHORIZER_NAME,
    tokenKeyName: settings.authorizer.tokenKeyName,
    signingPublicKeyPem: at.signingPublicKeyPem,
    region: settings.region,
    accountId: SANDBOX_ACCOUNT_ID,
    host: at.host,
    mqttPort: at.ports.mqtt,
    wsPort: at.ports.ws,
    httpPort: at.ports.http,
    logger: (line) => log(options, "gateway", String(line.level ?? "info"), line),
  }).catch((err: unknown) => {
    throw explainListenError(err, at.host, at.ports);
  });
}

/** Starts everything, or stops what it started and throws (a `ConfigurationError` or `PortInUseError` says why). */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  // Settings first: a bad setting must not cost a port.
  const settings = loadSandboxSettings(options);
  const host = options.host ?? "127.0.0.1";
  const ports: SandboxPorts = { ...DEFAULT_PORTS, ...options.ports };
  await checkPortsFree(host, ports);
  const stops = new Stops();
  const stop = () => stops.run();
  try {
    const directory = await sandboxDirectory(options, stops);
    let offsetMs = 0;
    const password = `${randomBytes(12).toString("base64url")}-Aa1`;
    const clock = { now: () => Date.now() + offsetMs };
    const chain = await startChain(options, settings, { directory, host, ports, password, clock });
    stops.push(() => chain.stop());

    const key = await signingKey(directory);
    const gateway = await startGateway(options, settings, { chain, host, ports, signingPublicKeyPem: key.publicPem });
    stops.push(() => gateway.stop());

    const [app] = chain.clients;
    const { user } = chain;
    const principalId = principalIdFor(user.sub, settings.principalPrefix);
    const sandboxFile = await writeSandboxFile(
      directory,
      {
        deviceGrantUrl: chain.url,
        clientId: app.clientId,
        gateway: { mqttUrl: gateway.mqttUrl, wsUrl: gateway.wsUrl, httpUrl: gateway.httpUrl },
        authorizerName: AUTHORIZER_NAME,
        tokenKeyName: settings.authorizer.tokenKeyName,
        signingKeyFile: key.file,
        region: settings.region,
        accountId: SANDBOX_ACCOUNT_ID,
        cognitoUrl: chain.cognito.baseUrl,
        username: user.username,
        principalId,
        principalPrefix: settings.principalPrefix,
      },
      stops,
    );

    const parts = {
      deviceGrantUrl: chain.url,
      cognitoUrl: chain.cognito.baseUrl,
      gateway,
      authorizerName: AUTHORIZER_NAME,
      tokenKeyName: settings.authorizer.tokenKeyName,
      signingPrivateKeyPem: key.privatePem,
      signingKeyFile: key.file,
      clientId: app.clientId,
      user: { username: user.username, password, sub: user.sub, principalId },
      region: settings.region,
      accountId: SANDBOX_ACCOUNT_ID,
      poolId: chain.poolId,
      issuer: chain.endpoints.issuer,
      dynamoEndpoint: chain.dynamo.endpoint,
      settings,
      sandboxFile,
    };
    const banner = formatBanner({ ...parts, tableName: TABLE_NAME }, options.dataDir !== undefined);
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
