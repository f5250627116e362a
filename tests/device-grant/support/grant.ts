/**
 * The device grant as a test meets it: the local chain of sandbox/device-grant-chain.ts (the real Lambda handler
 * behind the local API Gateway, on a fresh dynalite table, with cognito-local as the upstream IdP) holding a
 * public and a confidential app client and one user. Everything starts on 127.0.0.1 at free ports and `stop()`
 * ends all of it.
 *
 * Time: the service's clock is the wall clock plus `clock.offsetMs`, so a test can jump past an expiry or
 * a polling interval without waiting, while cognito-local's tokens stay valid for the authorizer.
 */
import { splitCredential } from "../../../functions/device-grant/codes";
import { type DeviceGrantConfig } from "../../../functions/device-grant/config";
import { type DynamoStore } from "../../../functions/device-grant/dynamo-store";
import { type DeviceGrantSettings, type DeviceRequest } from "../../../functions/device-grant/model";
import { type LogFields, type ServiceLogger } from "../../../functions/device-grant/service";
import { type AppClient, type CognitoLocal } from "../../../sandbox/cognito-local";
import { startDeviceGrantChain } from "../../../sandbox/device-grant-chain";
import { type LocalDynamo } from "../../../sandbox/dynalite";
import { approve, openConfirmation, ScriptedUser, type Page } from "../../../sandbox/scripted-user";
import * as deviceFlow from "../../../support/device-flow";

export { approve, openConfirmation };
export { postForm, type DeviceAuthorization } from "../../../support/device-flow";

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
  const clock = new TestClock();
  const logger = new RecordingServiceLogger();
  const sourceIp: { value: string | undefined } = { value: undefined };
  const upstreamCalls = { exchanges: 0, refreshes: 0 };
  const username = "alice";
  const chain = await startDeviceGrantChain({
    settings: { pollingIntervalSeconds: 1, ...options.settings },
    clients: [
      { appName: "tv", displayName: 'Living-room <TV> & "Co"', type: "public", scopes: SCOPES },
      { appName: "console", displayName: "Games console", type: "confidential", scopes: ["openid", "iot/connect"] },
    ],
    scopes: SCOPES,
    user: { username, password: PASSWORD, email: "alice@example.com" },
    region: "us-east-1",
    clock,
    logger,
    sourceIp: (req) => sourceIp.value ?? (req.socket.remoteAddress ?? "").replace(/^::ffff:/, ""),
    // The real upstream client, counted: how many code exchanges reach the IdP is part of what is tested.
    upstream: (real) => ({
      authorizationUrl: (p) => real.authorizationUrl(p),
      exchangeCode: (p) => {
        upstreamCalls.exchanges++;
        return real.exchangeCode(p);
      },
      refresh: (p) => {
        upstreamCalls.refreshes++;
        return real.refresh(p);
      },
    }),
  });
  return {
    url: chain.url,
    config: chain.config,
    publicClient: chain.clients[0],
    confidentialClient: chain.clients[1],
    username,
    userSub: chain.user.sub,
    poolId: chain.poolId,
    cognito: chain.cognito,
    dynamo: chain.dynamo,
    store: chain.store,
    clock,
    logger,
    sourceIp,
    upstreamCalls,
    stop: chain.stop,
  };
}

/** The stored request a device code names (its key is the code's user code part). */
export function storedRequest(grant: GrantHarness, deviceCode: string): Promise<DeviceRequest | undefined> {
  const parts = splitCredential(deviceCode);
  if (!parts) throw new Error("not a device code of this service");
  return grant.store.getByUserCode(parts.userCode);
}

/** Starts a device authorization for the public client (or `client` with its secret, by Basic). */
export function authorizeDevice(
  grant: GrantHarness,
  client: AppClient = grant.publicClient,
  scope?: string,
): Promise<deviceFlow.DeviceAuthorization> {
  return deviceFlow.authorizeDevice(grant.url, client, scope);
}

/** A token request for the device code grant, authenticated as `client`. */
export function pollToken(
  grant: GrantHarness,
  deviceCode: string,
  client: AppClient = grant.publicClient,
): ReturnType<typeof deviceFlow.pollToken> {
  return deviceFlow.pollToken(grant.url, deviceCode, client);
}

/** The whole user side: code form, confirmation, Approve, cognito-local login, callback. Returns the callback page. */
export async function approveAsUser(
  grant: GrantHarness,
  authorization: deviceFlow.DeviceAuthorization,
  user = new ScriptedUser(),
): Promise<Page> {
  const confirmation = await openConfirmation(user, authorization);
  const idpUrl = await approve(user, confirmation);
  const callbackUrl = await user.signInAtCognito(idpUrl, grant.username, PASSWORD);
  return user.get(callbackUrl);
}
