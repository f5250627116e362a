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
import { type DeviceGrantSettings, type DeviceRequest, type TokenSigner } from "../../../functions/device-grant/model";
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
  /** The local key the service's ID tokens are signed with. */
  signer: TokenSigner;
  /** The ID tokens the upstream IdP issued in code exchanges, in order. */
  upstreamIdTokens: string[];
  stop(): Promise<void>;
}

export async function startGrant(options: { settings?: Partial<DeviceGrantSettings> } = {}): Promise<GrantHarness> {
  const clock = new TestClock();
  const logger = new RecordingServiceLogger();
  const sourceIp: { value: string | undefined } = { value: undefined };
  const upstreamCalls = { exchanges: 0, refreshes: 0 };
  const upstreamIdTokens: string[] = [];
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
      exchangeCode: async (p) => {
        upstreamCalls.exchanges++;
        const result = await real.exchangeCode(p);
        if (result.ok && result.tokens.id_token !== undefined) upstreamIdTokens.push(result.tokens.id_token);
        return result;
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
    signer: chain.signer,
    upstreamIdTokens,
    stop: chain.stop,
  };
}

/** The stored request a device code names (its key is the code's user code part). */
export function storedRequest(grant: GrantHarness, deviceCode: string): Promise<DeviceRequest | undefined> {
  const parts = splitCredential(deviceCode);
  if (!parts) throw new Error("not a device code of this service");
  return grant.store.getByUserCode(parts.userCode);
}

/** DynamoDB requests the service sent while a `StoreWatch` was on, as `<command> <key prefix>` (e.g. `GetItem USER#`). */
export interface StoreWatch {
  readonly requests: string[];
  /** Requests that read or wrote a request item (`USER#`): each is an evaluation of a user code. */
  evaluations(): number;
  /** How many requests were exactly this, e.g. `UpdateItem USER#`. */
  count(request: string): number;
  stop(): void;
}

let watchNumber = 0;

/** Counts the DynamoDB requests of the chain's client from now until `stop()`. */
export function watchStore(grant: GrantHarness): StoreWatch {
  const requests: string[] = [];
  const name = `storeWatch${++watchNumber}`;
  grant.dynamo.client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Key?: { pk?: { S?: string } }; Item?: { pk?: { S?: string } } };
      const pk = input.Key?.pk?.S ?? input.Item?.pk?.S ?? "";
      requests.push(`${String(context.commandName).replace(/Command$/, "")} ${pk.slice(0, pk.indexOf("#") + 1)}`);
      return next(args);
    },
    { step: "initialize", name },
  );
  return {
    requests,
    evaluations: () => requests.filter((r) => r.endsWith(" USER#")).length,
    count: (request) => requests.filter((r) => r === request).length,
    stop: () => void grant.dynamo.client.middlewareStack.remove(name),
  };
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
