/**
 * The device grant as a test meets it: the real Lambda handler (`functions/device-grant/index.ts`) behind
 * the local API Gateway server, on a fresh dynalite table, with cognito-local as the upstream IdP holding a
 * public and a confidential app client and one user. Everything starts on 127.0.0.1 at free ports and
 * `stop()` ends all of it.
 *
 * Time: the service's clock is the wall clock plus `clock.offsetMs`, so a test can jump past an expiry or
 * a polling interval without waiting, while cognito-local's tokens stay valid for the authorizer.
 */
import { randomBytes } from "node:crypto";
import { type DeviceGrantConfig, parseDeviceGrantConfig } from "../../../functions/device-grant/config";
import { DynamoStore } from "../../../functions/device-grant/dynamo-store";
import { basicAuthorizationHeader } from "../../../functions/device-grant/http";
import { createHandler } from "../../../functions/device-grant/index";
import { createOidcUpstream } from "../../../functions/device-grant/upstream";
import { startLocalServer, type LocalServer } from "../../../functions/device-grant/local-server";
import { type DeviceGrantSettings } from "../../../functions/device-grant/model";
import { type LogFields, type ServiceLogger } from "../../../functions/device-grant/service";
import { type AppClient, type CognitoLocal, startCognito } from "../../../sandbox/cognito-local";
import { type LocalDynamo, startDynalite } from "./dynalite";
import { approve, openConfirmation, ScriptedUser, type Page } from "../../../sandbox/scripted-user";

export { approve, openConfirmation };

export class TestClock {
  offsetMs = 0;
  now(): number {
    return Date.now() + this.offsetMs;
  }
  advance(seconds: number): void {
    this.offsetMs += seconds * 1000;
  }
}

export class RecordingServiceLogger implements ServiceLogger {
  readonly lines: { level: string; fields: LogFields }[] = [];
  info(fields: LogFields): void {
    this.lines.push({ level: "info", fields });
  }
  warn(fields: LogFields): void {
    this.lines.push({ level: "warn", fields });
  }
  error(fields: LogFields): void {
    this.lines.push({ level: "error", fields });
  }
  get text(): string {
    return JSON.stringify(this.lines);
  }
}

export const PASSWORD = "Correct-Horse-Battery-9!";
export const SCOPES = ["openid", "email", "iot/connect"];

export interface GrantHarness {
  url: string;
  config: DeviceGrantConfig;
  /** The registered public client (no secret). */
  publicClient: AppClient;
  /** The registered confidential client, with the secret cognito-local generated. */
  confidentialClient: AppClient;
  username: string;
  userSub: string;
  poolId: string;
  cognito: CognitoLocal;
  dynamo: LocalDynamo;
  store: DynamoStore;
  clock: TestClock;
  logger: RecordingServiceLogger;
  /** Source IP the local server reports for the next requests (rate limiting per IP). */
  sourceIp: { value: string | undefined };
  /** Calls that reached the upstream IdP's token endpoint. */
  upstreamCalls: { exchanges: number; refreshes: number };
  stop(): Promise<void>;
}

export async function startGrant(options: { settings?: Partial<DeviceGrantSettings> } = {}): Promise<GrantHarness> {
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s();
  };
  try {
    const dynamo = await startDynalite();
    stops.push(() => dynamo.stop());
    const tableName = await dynamo.createTable(`grant-${randomBytes(4).toString("hex")}`);
    const store = new DynamoStore({ client: dynamo.client, tableName });
    const cognito = await startCognito();
    stops.push(() => cognito.stop());
    const poolId = await cognito.createUserPool("devices");

    const environment: NodeJS.ProcessEnv = {};
    const secrets: Record<string, string> = {};
    const clock = new TestClock();
    const logger = new RecordingServiceLogger();
    const sourceIp: { value: string | undefined } = { value: undefined };
    const upstreamCalls = { exchanges: 0, refreshes: 0 };
    const handler = createHandler({
      environment,
      readParameter: async () => JSON.stringify(secrets),
      store: () => store,
      // The real upstream client, counted: how many code exchanges reach the IdP is part of what is tested.
      upstream: (config) => {
        const real = createOidcUpstream({ authorizationEndpoint: config.upstream.authorizationEndpoint, tokenEndpoint: config.upstream.tokenEndpoint });
        return {
          authorizationUrl: (p) => real.authorizationUrl(p),
          exchangeCode: (p) => {
            upstreamCalls.exchanges++;
            return real.exchangeCode(p);
          },
          refresh: (p) => {
            upstreamCalls.refreshes++;
            return real.refresh(p);
          },
        };
      },
      clock,
      logger,
    });
    const server: LocalServer = await startLocalServer(handler, {
      sourceIp: (req) => sourceIp.value ?? (req.socket.remoteAddress ?? "").replace(/^::ffff:/, ""),
    });
    stops.push(() => server.stop());

    const redirectUri = `${server.url}/callback`;
    const publicClient = await cognito.createAppClient(poolId, { name: "tv", callbackUrls: [redirectUri], allowedOAuthScopes: SCOPES });
    const confidentialClient = await cognito.createAppClient(poolId, {
      name: "console",
      callbackUrls: [redirectUri],
      generateSecret: true,
      allowedOAuthScopes: SCOPES,
    });
    secrets[confidentialClient.clientId] = confidentialClient.clientSecret as string;
    const username = "alice";
    const user = await cognito.createUser(poolId, username, PASSWORD, { email: "alice@example.com" });
    const endpoints = cognito.endpoints(poolId);
    const raw = {
      settings: { pollingIntervalSeconds: 1, ...options.settings },
      clients: [
        { clientId: publicClient.clientId, name: "Living-room <TV> & \"Co\"", type: "public", scopes: SCOPES },
        { clientId: confidentialClient.clientId, name: "Games console", type: "confidential", scopes: ["openid", "iot/connect"] },
      ],
      scopes: SCOPES,
      upstream: {
        issuer: endpoints.issuer,
        authorizationEndpoint: endpoints.authorizationEndpoint,
        tokenEndpoint: endpoints.tokenEndpoint,
        redirectUri,
      },
      publicBaseUrl: server.url,
      tableName,
      region: "us-east-1",
      clientSecretsParameter: "/device-grant/client-secrets",
    };
    environment.DEVICE_GRANT_CONFIG = JSON.stringify(raw);
    return {
      url: server.url,
      config: parseDeviceGrantConfig(environment.DEVICE_GRANT_CONFIG),
      publicClient,
      confidentialClient,
      username,
      userSub: user.sub,
      poolId,
      cognito,
      dynamo,
      store,
      clock,
      logger,
      sourceIp,
      upstreamCalls,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A raw form POST, as a device sends it; `basic` authenticates with client_secret_basic. */
export async function postForm(
  url: string,
  fields: Record<string, string> | [string, string][],
  options: { basic?: { clientId: string; clientSecret: string }; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded", accept: "application/json", ...options.headers };
  if (options.basic) headers.authorization = basicAuthorizationHeader(options.basic.clientId, options.basic.clientSecret);
  const response = await fetch(url, { method: "POST", headers, body: new URLSearchParams(Array.isArray(fields) ? fields : Object.entries(fields)).toString() });
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { raw: text };
  }
  return { status: response.status, headers: response.headers, body };
}

export interface DeviceAuthorization {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

/** Starts a device authorization for the public client (or `client` with its secret, by Basic). */
export async function authorizeDevice(grant: GrantHarness, client: AppClient = grant.publicClient, scope?: string): Promise<DeviceAuthorization> {
  const fields: Record<string, string> = { ...(scope !== undefined && { scope }) };
  const answer =
    client.clientSecret === undefined
      ? await postForm(`${grant.url}/oauth2/device_authorization`, { client_id: client.clientId, ...fields })
      : await postForm(`${grant.url}/oauth2/device_authorization`, fields, { basic: { clientId: client.clientId, clientSecret: client.clientSecret } });
  if (answer.status !== 200) throw new Error(`device authorization failed: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body as unknown as DeviceAuthorization;
}

/** A token request for the device code grant, authenticated as `client`. */
export function pollToken(grant: GrantHarness, deviceCode: string, client: AppClient = grant.publicClient): ReturnType<typeof postForm> {
  const fields = { grant_type: "urn:ietf:params:oauth:grant-type:device_code", device_code: deviceCode };
  return client.clientSecret === undefined
    ? postForm(`${grant.url}/oauth2/token`, { ...fields, client_id: client.clientId })
    : postForm(`${grant.url}/oauth2/token`, fields, { basic: { clientId: client.clientId, clientSecret: client.clientSecret } });
}

/** The whole user side: code form, confirmation, Approve, cognito-local login, callback. Returns the callback page. */
export async function approveAsUser(grant: GrantHarness, authorization: DeviceAuthorization, user = new ScriptedUser()): Promise<Page> {
  const confirmation = await openConfirmation(user, authorization);
  const idpUrl = await approve(user, confirmation);
  const callbackUrl = await user.signInAtCognito(idpUrl, grant.username, PASSWORD);
  return user.get(callbackUrl);
}
