/**
 * The whole chain on one machine, in one process, with no AWS account: `startSandbox()` starts on loopback
 *
 * - dynalite (DynamoDB's wire protocol; in memory, or LevelDB files under `dataDir/dynamodb`) with the
 *   device grant table created from `functions/device-grant/table.ts`;
 * - cognito-local (the user directory): a user pool, the device app client and a test user with a random
 *   password, all created at start;
 * - the device grant API: the real Lambda handler (`createHandler`) behind the local payload 2.0 server, on
 *   the dynalite table, with cognito-local as its upstream IdP and the stack's own settings;
 * - the enterprise IdP (enterprise-idp.ts, node-oidc-provider) when the stack lists `issuers`: one stand-in
 *   issuer for each, as the OpenAM walkthrough configures OpenAM (device flow, HS256 stateless tokens);
 * - the IoT gateway (sandbox/gateway): MQTT over TCP and WebSocket and HTTP publish with custom auth, calling
 *   the real authorizer core, which trusts every issuer of the stack (each pointed at its stand-in:
 *   sandbox-idps.ts) and the pool's access tokens exactly as a stack with `deviceGrantEnabled` does (RS256
 *   from the pool's JWKS, `token_use` access, the device client only), with the stack's principal prefixes
 *   and grants;
 * - an RSA key pair for IoT's token signing (the gateway holds the public key; the private key goes to
 *   `authorizer-signing.pem`, mode 0600, for the device client);
 * - with `fleetProvisioningEnabled` (the dev stack has it), fleet provisioning by trusted user (provisioning/): the
 *   claim route, a local IoT control plane and CA (`iot-ca.pem` beside sandbox.json), MQTT over TLS on the gateway;
 *
 * (each started, in that order, by sandbox-services.ts), then writes `sandbox.json` (what a device client needs to
 * reach all of it) and returns the banner: every URL, the test user and the next command to run. The settings come
 * from `Pulumi.dev.yaml` or a settings file (sandbox/settings.ts) and are checked before any port is opened; ports
 * in use are all reported at once, each with the flag that moves it. With a data directory, everything is kept
 * there and a restart is a restart: the same table, signing key, user pool, app client and user (sandbox-files.ts
 * says which file is whose, and how a directory is locked against a second sandbox).
 *
 * The test user's password is printed in the banner on purpose (and kept in the owner-only `sandbox.json`,
 * for `npm run sandbox -- approve`): it is a throwaway user of a local directory, given a new password at
 * every start. Nothing else secret is printed or logged (codes and tokens never are).
 */
import { randomBytes } from "node:crypto";
import path from "node:path";
import { principalIdFor } from "../functions/authorizer/principal";
import { type IotGateway } from "./gateway/gateway";
import { formatBanner } from "./banner";
import { checkPortsFree, DEFAULT_PORTS, type SandboxPorts } from "./ports";
import { sandboxFileName, writeSandboxFile } from "./sandbox-files";
import { type SandboxSettings, type SettingsSource, loadSandboxSettings } from "./settings";
import { describeIdps, type IdpDescription, type SandboxEnterpriseIdp } from "./sandbox-idps";
import { type ProvisioningFacts } from "./provisioning/sandbox-provisioning";
import { AUTHORIZER_NAME, log, SANDBOX_ACCOUNT_ID, sandboxDirectory, startServices, Stops, TABLE_NAME } from "./sandbox-services";

export { AUTHORIZER_NAME, SANDBOX_ACCOUNT_ID, TABLE_NAME, TEST_USERNAME } from "./sandbox-services";
export { SANDBOX_FILE, SIGNING_KEY_FILE } from "./sandbox-files";
export { DEFAULT_PORTS, PORT_FLAGS, PortInUseError, type SandboxPorts } from "./ports";

export interface SandboxOptions extends SettingsSource {
  /**
   * Keep everything here across starts: DynamoDB's data, the user directory (pool, app client, user), the
   * signing key and sandbox.json (DynamoDB and the user directory are in memory otherwise). Locked while in use.
   */
  dataDir?: string;
  /**
   * Where the signing key and sandbox.json go when there is no `dataDir` (`npm start`: `.sandbox/`); a
   * temporary directory, removed at stop, when neither is given.
   */
  filesDir?: string;
  /** Where every service listens (the device grant API, the gateway, cognito-local); 127.0.0.1 by default. */
  host?: string;
  /**
   * An address of this machine that a phone on the network can open: every service listens there instead of
   * `host`, and every URL (the banner, the device's QR code) names it. It exposes the sandbox to that network,
   * which the sandbox says when it starts.
   */
  publicHost?: string;
  /**
   * `DEFAULT_PORTS` for what is not given; 0 picks a free port. The enterprise IdP's port is the exception: any
   * free one unless given (with a data directory, its last start's), since `npm start` gives it (8082).
   */
  ports?: Partial<SandboxPorts>;
  /** The enterprise IdP's access token lifetime (3600 s by default): the tests' expired tokens. */
  enterpriseIdp?: { accessTokenLifetimeSeconds?: number };
  /** Print nothing (no banner, no logs). */
  quiet?: boolean;
  /** Where the banner and log lines go; stdout (banner) and stderr (logs) by default. */
  output?: { banner?: (text: string) => void; log?: (line: string) => void };
  /** TEST ONLY: claims that live `claimLifetimeMs` instead of five minutes; claims per second before throttling (10). */
  provisioning?: { claimLifetimeMs?: number; claimsPerSecond?: number };
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
  /** The enterprise IdP, when the stack lists issuers (its test user's principal id is the first issuer's). */
  enterpriseIdp?: SandboxEnterpriseIdp;
  /** Every issuer the authorizer trusts, as sandbox.json lists them (sandbox-idps.ts). */
  idps: IdpDescription[];
  region: string;
  accountId: string;
  poolId: string;
  issuer: string;
  dynamoEndpoint: string;
  settings: SandboxSettings;
  /** `sandbox.json`: what a device client needs (see `SandboxFile`). */
  sandboxFile: string;
  /** With `fleetProvisioningEnabled`: where installers ask for claims and devices exchange them. */
  provisioning?: ProvisioningFacts;
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
 * device/config.ts). Kept at stop with a data directory, removed otherwise (sandbox-files.ts).
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
  /** The test user's password (this start's; the file is owner-only), for `npm run sandbox -- approve`. */
  password: string;
  /** The test user's principal id at the authorizer (`principalPrefix` + the derived `sub`). */
  principalId: string;
  /** The pool's principal prefix: a device's MQTT client id must start with `principalIdFor(sub, principalPrefix)`. */
  principalPrefix: string;
  /** Every issuer the authorizer trusts, by key (`enterprise`, …, `cognito`): `npm run device -- --idp <key>`. */
  idps: Record<string, IdpDescription>;
  /** With fleet provisioning: the claim URL, template, MQTT over TLS URL, CA file and installer client. */
  provisioning?: ProvisioningFacts;
}

/** The public address's warning: said in the log and in the banner. */
export function publicHostWarning(host: string): string {
  return (
    `--public-host ${host}: every service listens on ${host}, so anyone who can reach that address can use this sandbox ` +
    "(sign in as its test user, whose password the banner shows, and approve codes). Use it on a network you trust, and stop it when done."
  );
}

/**
 * Starts everything, or stops what it started and throws (a `ConfigurationError`, `PortInUseError` or
 * `DataDirectoryInUseError` says why).
 */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  // Settings first: a bad setting must not cost a port.
  const settings = loadSandboxSettings(options);
  const host = options.publicHost ?? options.host ?? "127.0.0.1";
  // The IdP's port: only `npm start` (which gives every port) has a default for it; see `SandboxOptions.ports`.
  const ports: SandboxPorts = { ...DEFAULT_PORTS, idp: 0, ...options.ports };
  const stops = new Stops();
  const stop = () => stops.run();
  try {
    const place = await sandboxDirectory(options, stops);
    const optional = { idp: settings.issuers.length > 0 ? ports.idp : 0, mqtts: settings.fleetProvisioning ? ports.mqtts : 0 };
    await checkPortsFree(host, { ...ports, ...optional }, place.userDirectory?.port);
    if (options.publicHost !== undefined) log(options, "sandbox", "warn", { message: publicHostWarning(options.publicHost) });
    let offsetMs = 0;
    const password = `${randomBytes(12).toString("base64url")}-Aa1`;
    const clock = { now: () => Date.now() + offsetMs };
    const services = await startServices(options, settings, { place, host, ports, password, clock }, stops);
    const { chain, key, gateway, idps, provisioning: provisioningFacts } = services;

    const [app] = chain.clients;
    const { user } = chain;
    const principalId = principalIdFor(user.sub, settings.principalPrefix);
    const described = describeIdps(settings, idps.enterprise, { chain, password });
    const deviceGrantPort = Number(new URL(chain.url).port);
    const sandboxFile = path.join(
      place.directory,
      sandboxFileName(deviceGrantPort, ports.deviceGrant === DEFAULT_PORTS.deviceGrant, place.persistent),
    );
    const content: SandboxFile = {
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
      password,
      principalId,
      principalPrefix: settings.principalPrefix,
      idps: Object.fromEntries(described.map((d) => [d.key, d])),
      ...(provisioningFacts && { provisioning: provisioningFacts }),
    };
    stops.push(await writeSandboxFile(sandboxFile, content, place.persistent));

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
      ...(idps.enterprise && { enterpriseIdp: idps.enterprise }),
      idps: described,
      region: settings.region,
      accountId: SANDBOX_ACCOUNT_ID,
      poolId: chain.poolId,
      issuer: chain.endpoints.issuer,
      dynamoEndpoint: chain.dynamo.endpoint,
      settings,
      sandboxFile,
      ...(provisioningFacts && { provisioning: provisioningFacts }),
    };
    const banner = formatBanner(
      { ...parts, tableName: TABLE_NAME, ...(options.publicHost && { warning: publicHostWarning(options.publicHost) }) },
      place.persistent,
    );
    if (!options.quiet) (options.output?.banner ?? ((text: string) => process.stdout.write(text)))(banner);
    return { ...parts, banner, advanceClock: (seconds: number) => void (offsetMs += seconds * 1000), stop };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}
