/**
 * The device grant's local chain, assembled in one place: dynalite with the device grant table, cognito-local
 * with a user pool, app clients and one user, and the real Lambda handler (`functions/device-grant/index.ts`)
 * behind the local API Gateway (payload format 2.0), with cognito-local as its upstream IdP. The sandbox
 * (`npm start`), the tests and the bench all start the device grant through `startDeviceGrantChain`, so what
 * they exercise is the same wiring.
 *
 * Order matters: the API must listen before the app clients exist (their callback URL is its `/callback`), and
 * the handler reads its configuration at its first request, so the configuration is written, and checked with
 * the function's own loader, before this returns. The service's own ID tokens are signed with a local RSA
 * key drawn at every start, behind the same signer port the deployed function uses with its KMS key.
 * Everything listens on loopback; `stop()` ends it all, and a failed start stops what it had started before
 * it throws.
 */
import { generateKeyPair, type KeyObject, randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { type IncomingMessage } from "node:http";
import { type DeviceGrantConfig, DEVICE_GRANT_CONFIG_ENV, parseDeviceGrantConfig } from "../functions/device-grant/config";
import { DynamoStore } from "../functions/device-grant/dynamo-store";
import { createHandler } from "../functions/device-grant/index";
import { type Clock, type DeviceGrantSettings, type TokenSigner, type UpstreamIdp } from "../functions/device-grant/model";
import { type ServiceLogger } from "../functions/device-grant/service";
import { createLocalSigner } from "../functions/device-grant/signer";
import { createOidcUpstream } from "../functions/device-grant/upstream";
import { type LocalServer, startLocalServer } from "./api-gateway";
import { type ApiRoute, withRoutes } from "./api-routes";
import {
  type AppClient,
  type CognitoEndpoints,
  type CognitoLocal,
  type CognitoPlacement,
  type CognitoUser,
  startCognito,
} from "./cognito-local";
import { type LocalDynamo, startDynalite } from "./dynalite";

/** One app client: registered at cognito-local and at the device grant. */
export interface ChainClient {
  /** The app client's name at the IdP. */
  appName: string;
  /** The name the confirmation page shows. */
  displayName: string;
  type: "public" | "confidential";
  scopes: string[];
}

export interface DeviceGrantChainOptions {
  settings: Partial<DeviceGrantSettings>;
  clients: ChainClient[];
  /** Scopes the service offers; every client's scopes by default. */
  scopes?: string[];
  /** The one user of the pool, confirmed, with a permanent password. */
  user: { username: string; password: string; email: string };
  region: string;
  /** A random name by default. */
  tableName?: string;
  /** Keep DynamoDB's data here (its table is then reused across starts); in memory otherwise. */
  dataDir?: string;
  /** Where the API listens: 127.0.0.1 and a free port by default. */
  host?: string;
  port?: number;
  clock?: Clock;
  logger?: ServiceLogger;
  /** The `sourceIp` API Gateway reports for a request; the TCP peer by default. */
  sourceIp?: (request: IncomingMessage) => string;
  /** Where cognito-local runs and keeps its data (the sandbox's data directory keeps its user directory). */
  cognito?: CognitoPlacement;
  /** Wraps the real upstream client, e.g. to count what reaches the IdP. */
  upstream?: (real: UpstreamIdp) => UpstreamIdp;
  /** Wraps the local ID token signer, e.g. to make it fail. */
  signer?: (real: TokenSigner) => TokenSigner;
  /** Other routes of the same API (the sandbox's claim route); everything else goes to the device grant. */
  routes?: readonly ApiRoute[];
}

export interface DeviceGrantChain {
  /** The API's base URL, no trailing slash. */
  url: string;
  config: DeviceGrantConfig;
  dynamo: LocalDynamo;
  store: DynamoStore;
  tableName: string;
  cognito: CognitoLocal;
  poolId: string;
  endpoints: CognitoEndpoints;
  /** In the order of `options.clients`; confidential ones with the secret cognito-local generated. */
  clients: AppClient[];
  user: CognitoUser;
  /** The local key the service's ID tokens are signed with (the JWKS route publishes its public half). */
  signer: TokenSigner;
  stop(): Promise<void>;
}

/** Where the confidential clients' secrets are read from; served from memory, as the Lambda reads SSM. */
const CLIENT_SECRETS_PARAMETER = "/device-grant/client-secrets";

export async function startDeviceGrantChain(options: DeviceGrantChainOptions): Promise<DeviceGrantChain> {
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s();
  };
  try {
    const dynamo = await startDynalite(options.dataDir === undefined ? {} : { dataDir: options.dataDir });
    stops.push(() => dynamo.stop());
    const tableName = await dynamo.createTable(options.tableName ?? `grant-${randomBytes(4).toString("hex")}`, { existingOk: true });
    // dynalite does not return the item with a refused write, as DynamoDB does: the store reads it instead.
    const store = new DynamoStore({ client: dynamo.client, tableName, itemOnRefusal: "read" });
    const cognito = await startCognito(options.cognito);
    stops.push(() => cognito.stop());
    const poolId = await cognito.createUserPool("devices");
    const endpoints = cognito.endpoints(poolId);

    const { privateKey } = await promisify(generateKeyPair)("rsa", { modulusLength: 2048 });
    const localSigner = createLocalSigner(privateKey as KeyObject, "RS256");
    const signer = options.signer ? options.signer(localSigner) : localSigner;

    // The handler reads these at its first request, after they are filled in below.
    const environment: NodeJS.ProcessEnv = {};
    const secrets: Record<string, string> = {};
    const handler = createHandler({
      environment,
      readParameter: async () => JSON.stringify(secrets),
      store: () => store,
      upstream: (config) => {
        const real = createOidcUpstream({
          authorizationEndpoint: config.upstream.authorizationEndpoint,
          tokenEndpoint: config.upstream.tokenEndpoint,
        });
        return options.upstream ? options.upstream(real) : real;
      },
      signer: () => signer,
      ...(options.clock && { clock: options.clock }),
      ...(options.logger && { logger: options.logger }),
    });
    const server: LocalServer = await startLocalServer(withRoutes(handler, options.routes ?? []), {
      ...(options.host !== undefined && { host: options.host }),
      ...(options.port !== undefined && { port: options.port }),
      ...(options.sourceIp && { sourceIp: options.sourceIp }),
    });
    stops.push(() => server.stop());

    const redirectUri = `${server.url}/callback`;
    const clients: AppClient[] = [];
    for (const client of options.clients) {
      const app = await cognito.createAppClient(poolId, {
        name: client.appName,
        callbackUrls: [redirectUri],
        allowedOAuthScopes: client.scopes,
        ...(client.type === "confidential" && { generateSecret: true }),
      });
      if (client.type === "confidential") secrets[app.clientId] = app.clientSecret as string;
      clients.push(app);
    }
    const { username, password, email } = options.user;
    const user = await cognito.createUser(poolId, username, password, { email });

    const confidential = options.clients.some((c) => c.type === "confidential");
    environment[DEVICE_GRANT_CONFIG_ENV] = JSON.stringify({
      settings: options.settings,
      clients: options.clients.map((c, i) => ({ clientId: clients[i].clientId, name: c.displayName, type: c.type, scopes: c.scopes })),
      scopes: options.scopes ?? [...new Set(options.clients.flatMap((c) => c.scopes))],
      upstream: {
        issuer: endpoints.issuer,
        authorizationEndpoint: endpoints.authorizationEndpoint,
        tokenEndpoint: endpoints.tokenEndpoint,
        redirectUri,
        jwksUri: endpoints.jwksUri,
      },
      publicBaseUrl: server.url,
      tableName,
      region: options.region,
      ...(confidential && { clientSecretsParameter: CLIENT_SECRETS_PARAMETER }),
    });
    // The handler would only log a bad configuration; here it must stop the start with every problem.
    const config = parseDeviceGrantConfig(environment[DEVICE_GRANT_CONFIG_ENV]);

    return { url: server.url, config, dynamo, store, tableName, cognito, poolId, endpoints, clients, user, signer, stop };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}
