/**
 * cognito-local 5.3, started in this process as the upstream IdP of the sandbox and the device-grant tests: a real hosted
 * login form, authorization codes with PKCE, a token endpoint and a JWKS, on 127.0.0.1 and a free port.
 *
 * Why not `createDefaultServer()`: it keeps its data in `./.cognito` under the working directory (shared by
 * every test file and left behind), loads the AWS SDK v2 for Lambda triggers and KMS that these tests never
 * use, logs to the console, and takes its issuer from `HOST`/`PORT` environment variables read once when the
 * module loads, before the port is known. `startCognito()` wires the same services itself, with a fresh
 * temporary data directory per start (removed by `stop()`) or a directory to keep (the sandbox's
 * `--data-dir`: `CognitoPlacement`), a silent logger, no trigger Lambda and an issuer set once the port is
 * known. Its modules are loaded with Node's own loader (`nodeRequire`, esm.ts):
 * its `otplib` needs the ESM-only `@scure/base`, which jest's loader cannot read. So cognito-local runs in
 * Node's main realm: jest's fake timers and mocks do not reach it (its clock is the real one).
 *
 * What cognito-local 5.3 does, read from `node_modules/cognito-local/lib` and checked by
 * `cognito-harness.test.ts`:
 * - Endpoints are not per pool: `GET /oauth2/authorize` (login form), `POST /oauth2/authorize` (the form's
 *   target; 302 to `redirect_uri?code=…&state=…`), `POST /oauth2/token`. Per pool: the JWKS at
 *   `/POOL/.well-known/jwks.json`.
 * - Its own `/POOL/.well-known/openid-configuration` names `http://localhost:9229` whatever the real host and
 *   port, and lists no authorization or token endpoint, so no standard client can discover it. The harness
 *   answers that path itself with a complete, correct document (see `discoveryDocument`); everything else is
 *   cognito-local's.
 * - `/oauth2/authorize` needs `response_type=code`, a `code_challenge` with `code_challenge_method=S256`
 *   (plain and no PKCE are refused with 400 JSON) and a `redirect_uri` registered on the client. The login
 *   form echoes the query into hidden inputs without HTML escaping. A wrong password gives the form again
 *   (200) with "Incorrect username or password."; only `UNCONFIRMED` users are refused, so a user still in
 *   `FORCE_CHANGE_PASSWORD` can sign in with the temporary password (no forced change).
 * - Codes are single-use, live 5 minutes, and are kept in memory (a restart forgets them).
 * - `/oauth2/token` takes `authorization_code` and `refresh_token` (anything else: 400
 *   `unsupported_grant_type`). **It requires `client_id` in the form body even when the client
 *   authenticates with HTTP Basic**, and it never checks a client secret: neither a missing nor a wrong
 *   secret is refused, so `invalid_client` for a bad secret cannot be tested against it. The code exchange
 *   checks the code, `client_id`, `redirect_uri` and the PKCE verifier (each failure: 400 `invalid_grant`).
 *   The response has `access_token`, `id_token`, `refresh_token`, `token_type: "Bearer"`, `expires_in: 3600`
 *   and no `scope`. The refresh grant returns `access_token` and `id_token` but no new `refresh_token`
 *   (as Cognito does without rotation); it checks only that the refresh token was issued to some user of
 *   the client's pool.
 * - Requested scopes are ignored: every access token says `scope: "aws.cognito.signin.user.admin"`. The harness
 *   grants them as Cognito does instead (cognito-scopes.ts): the scopes asked for that the client allows.
 * - Access token (RS256, `kid: "CognitoLocal"`, one fixed 2048-bit key shipped in the package, the same in
 *   every pool): `iss` = `http://127.0.0.1:PORT/POOL_ID`, `sub` (the user's uuid), `username`, `client_id`,
 *   `token_use: "access"`, `scope`, `auth_time`, `iat`, `exp` (24 h unless the client sets
 *   `AccessTokenValidity`), `jti`, `event_id`; no `aud`, as in Cognito. The ID token has `aud` = client id,
 *   `token_use: "id"`, `cognito:username`, `email` and `email_verified`; no `nonce`, no `at_hash`.
 * - Every API write rewrites the pool's whole JSON file; fine for tests, slow under load.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import type * as ServerModule from "cognito-local/lib/server/server";
import type * as RouterModule from "cognito-local/lib/server/Router";
import type * as ConfigModule from "cognito-local/lib/server/config";
import type { Config } from "cognito-local/lib/server/config";
import type * as ServicesModule from "cognito-local/lib/services";
import type { Lambda } from "cognito-local/lib/services";
import type * as CognitoServiceModule from "cognito-local/lib/services/cognitoService";
import type { CryptoService } from "cognito-local/lib/services/crypto";
import type * as StormDbModule from "cognito-local/lib/services/dataStore/stormDb";
import type * as ConsoleSenderModule from "cognito-local/lib/services/messageDelivery/consoleMessageSender";
import type * as MessageDeliveryModule from "cognito-local/lib/services/messageDelivery/messageDelivery";
import type * as OtpModule from "cognito-local/lib/services/otp";
import type * as TokenGeneratorModule from "cognito-local/lib/services/tokenGenerator";
import type * as UserPoolServiceModule from "cognito-local/lib/services/userPoolService";
import type { Logger } from "pino";
import { cognitoJwksUri } from "../functions/shared/oauth";
import { apiCaller, appClientNamed, tokenRequest, userNamed, userPoolNamed } from "./cognito-api";
import { CognitoScopes } from "./cognito-scopes";
import { nodeRequire } from "./esm";
import { closeServer, listen, urlHost } from "./servers";

/** The OIDC endpoints of one pool as cognito-local serves them. */
export interface CognitoEndpoints {
  /** `iss` of the pool's tokens: `http://127.0.0.1:PORT/POOL_ID`. */
  issuer: string;
  jwksUri: string;
  /** Shared by every pool: `http://127.0.0.1:PORT/oauth2/authorize`. */
  authorizationEndpoint: string;
  /** Shared by every pool: `http://127.0.0.1:PORT/oauth2/token`. */
  tokenEndpoint: string;
  /** `ISSUER/.well-known/openid-configuration`, answered by the harness (see the file comment). */
  discoveryUrl: string;
}

export interface AppClientOptions {
  name: string;
  callbackUrls: string[];
  /** A confidential client (cognito-local generates a secret, but never checks it). */
  generateSecret?: boolean;
  allowedOAuthFlows?: string[];
  allowedOAuthScopes?: string[];
  /** Minutes (cognito-local's default is 24 h). */
  accessTokenValidityMinutes?: number;
}

export interface AppClient {
  clientId: string;
  clientSecret?: string;
}

export interface CognitoUser {
  username: string;
  /** The `sub` claim of the user's tokens. */
  sub: string;
}

/** What `/oauth2/token` answered: the HTTP status and the parsed JSON body. */
export interface TokenEndpointAnswer {
  status: number;
  body: Record<string, unknown>;
}

export interface CognitoLocal {
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  baseUrl: string;
  port: number;
  /** Calls an API operation (AWS JSON 1.1), e.g. `call("DescribeUserPool", { UserPoolId })`; throws on an error answer. */
  call<T = Record<string, unknown>>(operation: string, body: Record<string, unknown>): Promise<T>;
  /** Creates a user pool and returns its id (`local_…`); in a kept directory, the pool of that name if there is one. */
  createUserPool(name: string): Promise<string>;
  createAppClient(poolId: string, options: AppClientOptions): Promise<AppClient>;
  /** Creates a confirmed user with a permanent password, able to sign in at the hosted login form. */
  createUser(poolId: string, username: string, password: string, attributes?: Record<string, string>): Promise<CognitoUser>;
  endpoints(poolId: string): CognitoEndpoints;
  /**
   * POSTs a form to `/oauth2/token`. With `clientSecret`, authenticates with `client_secret_basic`
   * (RFC 6749 §2.3.1: id and secret form-urlencoded, then base64). `client_id` always goes in the body too,
   * because cognito-local requires it there.
   */
  tokenRequest(client: AppClient, parameters: Record<string, string>): Promise<TokenEndpointAnswer>;
  /** Stops the server, closes its connections and removes its data directory (unless it was given one to keep). */
  stop(): Promise<void>;
}

/** A PKCE pair (RFC 7636, S256): 32 random bytes as the verifier. */
export function pkceS256(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

/**
 * cognito-local's modules, through Node's own loader (see the file comment); Node caches them, so every
 * start after the first in a test file's process reuses them.
 */
function cognitoLocalModules() {
  const lib = (name: string) => `cognito-local/lib/${name}`;
  return {
    ...nodeRequire<typeof ServerModule>(lib("server/server")),
    ...nodeRequire<typeof RouterModule>(lib("server/Router")),
    ...nodeRequire<typeof ConfigModule>(lib("server/config")),
    ...nodeRequire<typeof ServicesModule>(lib("services")),
    ...nodeRequire<typeof CognitoServiceModule>(lib("services/cognitoService")),
    ...nodeRequire<typeof StormDbModule>(lib("services/dataStore/stormDb")),
    ...nodeRequire<typeof ConsoleSenderModule>(lib("services/messageDelivery/consoleMessageSender")),
    ...nodeRequire<typeof MessageDeliveryModule>(lib("services/messageDelivery/messageDelivery")),
    ...nodeRequire<typeof OtpModule>(lib("services/otp")),
    ...nodeRequire<typeof TokenGeneratorModule>(lib("services/tokenGenerator")),
    ...nodeRequire<typeof UserPoolServiceModule>(lib("services/userPoolService")),
  };
}

/** cognito-local's `pino` (a dependency of cognito-local, not of this project), silenced. */
function silentLogger(): Logger {
  const pino = nodeRequire<(options: object) => Logger>(
    require.resolve("pino", { paths: [path.dirname(require.resolve("cognito-local"))] }),
  );
  return pino({ level: "silent" });
}

/** Trigger Lambdas are not used: nothing is enabled, and an invocation would be a harness bug. */
const NO_LAMBDA: Lambda = {
  enabled: () => false,
  invoke: () => Promise.reject(new Error("cognito-local harness: no trigger Lambda is configured")),
};
/** KMS is needed only by a CustomEmailSender trigger, which is never configured here. */
const NO_KMS = {
  encrypt: () => Promise.reject(new Error("cognito-local harness: no KMS is configured")),
} as unknown as CryptoService;

/**
 * cognito-local's services and Express application, wired as `createDefaultServer()` would but with its data
 * in `dataDirectory`, a silent logger and no trigger Lambda (see the file comment). The issuer
 * (`config.TokenConfig.IssuerDomain`) is a placeholder until the caller knows the port.
 */
async function cognitoApplication(
  dataDirectory: string,
): Promise<{ application: http.RequestListener; config: Config; scopes: CognitoScopes }> {
  const {
    createServer,
    Router,
    DefaultConfig,
    DateClock,
    MessagesService,
    TriggersService,
    CognitoServiceFactoryImpl,
    StormDBDataStoreFactory,
    ConsoleMessageSender,
    MessageDeliveryService,
    otp,
    JwtTokenGenerator,
    UserPoolServiceFactoryImpl,
  } = cognitoLocalModules();
  const logger = silentLogger();
  const ctx = { logger };
  // Real Cognito has no username attributes unless the pool asks for them; cognito-local's default makes
  // every username an email address.
  const config: Config = {
    ...DefaultConfig,
    UserPoolDefaults: {},
    TokenConfig: { IssuerDomain: "http://127.0.0.1:0" },
    ServerConfig: { hostname: "127.0.0.1", port: 0, development: false, https: false },
  };
  const clock = new DateClock();
  const dataStoreFactory = new StormDBDataStoreFactory(dataDirectory);
  const cognito = await new CognitoServiceFactoryImpl(
    dataDirectory,
    dataStoreFactory,
    new UserPoolServiceFactoryImpl(clock, dataStoreFactory),
  ).create(ctx, config.UserPoolDefaults);
  const triggers = new TriggersService(clock, cognito, NO_LAMBDA, NO_KMS);
  const scopes = new CognitoScopes(nodeRequire<{ pem: string }>("cognito-local/lib/keys/cognitoLocal.private.json"));
  const services = {
    clock,
    cognito,
    config,
    messages: new MessagesService(triggers, new MessageDeliveryService(new ConsoleMessageSender())),
    otp,
    // Holds `config.TokenConfig` by reference and reads `IssuerDomain` at every signing: the caller sets it
    // once the port is known.
    tokenGenerator: scopes.wrap(new JwtTokenGenerator(clock, triggers, config.TokenConfig)),
    triggers,
  };
  const application = createServer(Router(services), logger, config.ServerConfig, services).application as http.RequestListener;
  return { application, config, scopes };
}

/** cognito-local behind the harness's own answer to the discovery path (see `discoveryDocument`). */
function harnessServer(application: http.RequestListener, baseUrl: () => string, scopes: CognitoScopes): http.Server {
  const discoveryPath = /^\/([^/?#]+)\/\.well-known\/openid-configuration(?:\?.*)?$/;
  return http.createServer((req, res) => {
    const match = req.method === "GET" ? discoveryPath.exec(req.url ?? "") : null;
    if (match) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(discoveryDocument(baseUrl(), decodeURIComponent(match[1]))));
      return;
    }
    scopes.handle(req, res, () => application(req, res));
  });
}

function poolEndpoints(baseUrl: string, poolId: string): CognitoEndpoints {
  return {
    issuer: `${baseUrl}/${poolId}`,
    jwksUri: cognitoJwksUri(`${baseUrl}/${poolId}`),
    authorizationEndpoint: `${baseUrl}/oauth2/authorize`,
    tokenEndpoint: `${baseUrl}/oauth2/token`,
    discoveryUrl: `${baseUrl}/${poolId}/.well-known/openid-configuration`,
  };
}

/** Where cognito-local runs and keeps its data. */
export interface CognitoPlacement {
  /**
   * Keep the user directory here across starts (created if missing), and reuse what an earlier start created
   * under the same names (cognito-api.ts). A fresh temporary directory, removed at stop, otherwise.
   */
  dataDir?: string;
  /** 0 (the default) picks a free port. A kept directory needs its port back: the issuer contains it. */
  port?: number;
  /** 127.0.0.1 by default; the sandbox's `--public-host`, so that a phone can reach the login form. */
  host?: string;
}

/**
 * Starts cognito-local on 127.0.0.1 (or `placement.host`) and a free port (or `placement.port`), with its data
 * in a new temporary directory (or `placement.dataDir`, kept). Call `stop()` in `afterAll`.
 */
export async function startCognito(placement: CognitoPlacement = {}): Promise<CognitoLocal> {
  const kept = placement.dataDir !== undefined;
  const dataRoot = placement.dataDir ?? (await mkdtemp(path.join(tmpdir(), "cognito-local-")));
  const removeData = () => (kept ? Promise.resolve() : rm(dataRoot, { recursive: true, force: true }));
  const { application, config, scopes } = await cognitoApplication(path.join(dataRoot, "db"));
  let baseUrl = "";
  const server = harnessServer(application, () => baseUrl, scopes);
  const host = placement.host ?? "127.0.0.1";
  let port: number;
  try {
    port = await listen(server, placement.port ?? 0, host);
  } catch (err) {
    await removeData();
    throw err;
  }
  baseUrl = `http://${urlHost(host)}:${port}`;
  config.TokenConfig.IssuerDomain = baseUrl;
  const call = apiCaller(baseUrl);

  let stopped = false;
  return {
    baseUrl,
    port,
    call,
    endpoints: (poolId) => poolEndpoints(baseUrl, poolId),
    createUserPool: (name) => userPoolNamed(call, name, kept),
    createAppClient: (poolId, options) => appClientNamed(call, poolId, options, kept),
    createUser: (poolId, username, password, attributes = {}) => userNamed(call, poolId, { username, password, attributes }, kept),
    tokenRequest: (client, parameters) => tokenRequest(baseUrl, client, parameters),
    async stop() {
      if (stopped) return;
      stopped = true;
      await closeServer(server);
      await removeData();
    },
  };
}

/**
 * The discovery document cognito-local should serve for a pool: its real issuer and endpoints, and what it
 * actually supports (code flow with PKCE S256 only; secrets are accepted in both forms and never checked).
 */
export function discoveryDocument(baseUrl: string, poolId: string): Record<string, unknown> {
  return {
    issuer: `${baseUrl}/${poolId}`,
    authorization_endpoint: `${baseUrl}/oauth2/authorize`,
    token_endpoint: `${baseUrl}/oauth2/token`,
    jwks_uri: cognitoJwksUri(`${baseUrl}/${poolId}`),
    response_types_supported: ["code"],
    grant_types_supported: ["authorization_code", "refresh_token"],
    code_challenge_methods_supported: ["S256"],
    token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "none"],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: ["RS256"],
    scopes_supported: ["openid", "email", "profile", "aws.cognito.signin.user.admin"],
  };
}
