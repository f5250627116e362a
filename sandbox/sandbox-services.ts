/**
 * The sandbox's services, started in order by `startServices` (sandbox.ts assembles them into a `Sandbox`): the
 * device grant chain (dynalite, cognito-local, the device grant handler behind the local API Gateway), fleet
 * provisioning's local parts when the stack enables it, the enterprise IdP standing in for the stack's issuers, the
 * token-signing key and the IoT gateway with the real authorizer core. Each is stopped by `Stops`, in reverse order.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createAuthorizer, type Authorizer } from "../functions/authorizer/authorizer";
import { loadAuthorizerConfig, type IssuerConfig } from "../functions/authorizer/config";
import { type Logger as AuthorizerLogger } from "../functions/authorizer/logging";
import { type DeviceGrantChain, startDeviceGrantChain } from "./device-grant-chain";
import { type IotGateway, startIotGateway } from "./gateway/gateway";
import { type CognitoPlacement } from "./cognito-local";
import { explainListenError, type SandboxPorts } from "./ports";
import { lockDataDirectory, signingKey, userDirectoryState } from "./sandbox-files";
import { type SandboxSettings } from "./settings";
import { type SandboxIdps, startSandboxIdps } from "./sandbox-idps";
import { type ProvisioningFacts, SandboxProvisioning } from "./provisioning/sandbox-provisioning";
import { type SandboxOptions } from "./sandbox";

export const AUTHORIZER_NAME = "iot-auth-sandbox";
/** IoT needs an account in its ARNs; nothing here is an AWS account. */
export const SANDBOX_ACCOUNT_ID = "000000000000";
/**
 * The device grant table in dynalite. Named for its layout: a data directory kept from before the one-item-per-request
 * layout holds pointer items the store no longer reads, so a new layout gets a new table rather than old rows.
 */
export const TABLE_NAME = "device-grant-sandbox-v2";
export const TEST_USERNAME = "sandbox-user";

export function log(options: SandboxOptions, source: string, level: string, fields: object): void {
  if (options.quiet) return;
  const line = JSON.stringify({ time: new Date().toISOString(), source, level, ...fields });
  (options.output?.log ?? ((text: string) => process.stderr.write(`${text}\n`)))(line);
}

/** Stops, in reverse order, what a start has started so far; every step runs even if one fails. */
export class Stops {
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

/** Where a start keeps its files: a data directory (locked, with the user directory's state), a files directory, or a temporary one. */
export interface SandboxDirectory {
  directory: string;
  persistent: boolean;
  userDirectory?: Awaited<ReturnType<typeof userDirectoryState>>;
}

/** Makes (and with a data directory, locks) where the signing key and sandbox.json go; a temporary directory is removed at stop. */
export async function sandboxDirectory(options: SandboxOptions, stops: Stops): Promise<SandboxDirectory> {
  if (options.dataDir !== undefined) {
    const directory = path.resolve(options.dataDir);
    await mkdir(directory, { recursive: true, mode: 0o700 });
    stops.push(await lockDataDirectory(directory));
    return { directory, persistent: true, userDirectory: await userDirectoryState(directory) };
  }
  if (options.filesDir !== undefined) {
    const directory = path.resolve(options.filesDir);
    await mkdir(directory, { recursive: true, mode: 0o700 });
    return { directory, persistent: false };
  }
  const directory = await mkdtemp(path.join(tmpdir(), "iot-sandbox-"));
  stops.push(() => rm(directory, { recursive: true, force: true }));
  return { directory, persistent: false };
}

/** The authorizer core, trusting the stack's issuers (`issuers`: their stand-ins) and the pool's access tokens. */
function sandboxAuthorizer(options: SandboxOptions, settings: SandboxSettings, chain: DeviceGrantChain, stack: IssuerConfig[]): Authorizer {
  const logger: AuthorizerLogger = {
    warn: (fields) => log(options, "authorizer", "warn", fields),
    debug: (fields) => log(options, "authorizer", "debug", fields),
    error: (fields) => log(options, "authorizer", "error", fields),
  };
  const config = loadAuthorizerConfig({
    issuers: [
      ...stack,
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

/** The device grant's local chain with the stack's settings: its API on the sandbox's port, the test user in its pool. */
function startChain(
  options: SandboxOptions,
  settings: SandboxSettings,
  at: { directory: string; host: string; ports: SandboxPorts; password: string; clock: { now(): number }; cognito: CognitoPlacement },
  provisioning?: SandboxProvisioning,
): Promise<DeviceGrantChain> {
  const { name, scopes } = settings.deviceClient;
  return startDeviceGrantChain({
    settings: settings.deviceGrant,
    clients: [{ appName: name, displayName: name, type: "public", scopes }, ...(provisioning?.installerClients() ?? [])],
    ...(provisioning && { routes: [provisioning.claimRoute.route()] }),
    user: { username: TEST_USERNAME, password: at.password, email: `${TEST_USERNAME}@example.com` },
    region: settings.region,
    tableName: TABLE_NAME,
    ...(options.dataDir !== undefined && { dataDir: at.directory }),
    host: at.host,
    port: at.ports.deviceGrant,
    cognito: at.cognito,
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
async function startGateway(
  options: SandboxOptions,
  settings: SandboxSettings,
  at: { chain: DeviceGrantChain; issuers: IssuerConfig[]; host: string; ports: SandboxPorts; signingPublicKeyPem: string },
  provisioning?: SandboxProvisioning,
): Promise<IotGateway> {
  const tls = await provisioning?.gatewayTls(at.ports.mqtts, [at.host]);
  return startIotGateway({
    ...(tls && { tls }),
    authorizer: sandboxAuthorizer(options, settings, at.chain, at.issuers),
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

/** The device grant chain, the signing key and the gateway, started in that order (each stopped by `stops`). */
export async function startServices(
  options: SandboxOptions,
  settings: SandboxSettings,
  at: { place: SandboxDirectory; host: string; ports: SandboxPorts; password: string; clock: { now(): number } },
  stops: Stops,
): Promise<{
  chain: DeviceGrantChain;
  key: Awaited<ReturnType<typeof signingKey>>;
  gateway: IotGateway;
  idps: SandboxIdps;
  provisioning?: ProvisioningFacts;
}> {
  const { place, host, ports } = at;
  const userDirectory = place.userDirectory;
  const cognito = { host, ...(userDirectory && { dataDir: userDirectory.directory, port: userDirectory.port ?? 0 }) };
  const fleet = settings.fleetProvisioning;
  const provisioning =
    fleet &&
    (await SandboxProvisioning.prepare({
      settings: fleet,
      scope: { partition: "aws", region: settings.region, accountId: SANDBOX_ACCOUNT_ID },
      directory: place.directory,
      ...(place.persistent && { keepIn: place.directory }),
      log: (source, level, fields) => log(options, source, level, fields),
      ...options.provisioning,
    }));
  const chain = await startChain(options, settings, { ...at, directory: place.directory, cognito }, provisioning);
  stops.push(() => chain.stop());
  await userDirectory?.remember(chain.cognito.port);
  await provisioning?.connect(chain);
  const idps = await startSandboxIdps(settings, {
    host,
    port: ports.idp || undefined,
    dataDir: options.dataDir !== undefined ? place.directory : undefined,
    accessTokenLifetimeSeconds: options.enterpriseIdp?.accessTokenLifetimeSeconds,
    log: (level, fields) => log(options, "enterprise-idp", level, fields),
  }).catch((err: unknown) => {
    throw explainListenError(err, host, ports);
  });
  stops.push(() => idps.stop());
  const key = await signingKey(place.directory);
  const issuers = idps.authorizerIssuers;
  const gateway = await startGateway(options, settings, { chain, issuers, host, ports, signingPublicKeyPem: key.publicPem }, provisioning);
  stops.push(() => gateway.stop());
  return { chain, key, gateway, idps, ...(provisioning && { provisioning: provisioning.facts(chain, gateway) }) };
}
