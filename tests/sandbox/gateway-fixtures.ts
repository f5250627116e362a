/**
 * A gateway wired to the real authorizer core, for the gateway's tests: an HS256 issuer with an inline
 * secret, tokens signed with jsonwebtoken, token signatures made with the device helper `signToken`.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import jwt from "jsonwebtoken";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { createAuthorizer } from "../../functions/authorizer/authorizer";
import { DEFAULT_GRANTS, type GrantRule, loadAuthorizerConfig } from "../../functions/authorizer/config";
import { customAuthHeaders, customAuthMqttUsername, customAuthQuery, signToken } from "../../functions/authorizer/custom-auth";
import { type IotGateway, startIotGateway } from "../../sandbox/gateway/gateway";

export const ISSUER = "https://idp.example.test/realm";
export const SECRET = randomBytes(32).toString("base64");
export const AUTHORIZER_NAME = "sandbox-authorizer";
export const TOKEN_KEY_NAME = "token";
export const { privateKey: SIGNING_PRIVATE_KEY, publicKey: SIGNING_PUBLIC_KEY } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const OTHER_PRIVATE_KEY = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;

/** The default grants plus a shared tree anyone may subscribe to but only its owner may publish to and receive from. */
export const GRANTS: GrantRule[] = [
  ...DEFAULT_GRANTS,
  { actions: ["iot:Subscribe"], resources: ["topicfilter/shared/*"] },
  { actions: ["iot:Publish", "iot:Receive"], resources: ["topic/shared/{principal}/*"] },
];

export interface Harness {
  gateway: IotGateway;
  logs: Record<string, unknown>[];
  /** The authorizer's clock, ms since the epoch; tests move it forward. */
  clock: { now: number };
  tokenFor(sub: string, options?: { secret?: string; expiresInSeconds?: number }): string;
  stop(): Promise<void>;
}

export async function startHarness(
  options: { refreshAfterSeconds?: number; disconnectAfterSeconds?: number; timeScale?: number; signing?: boolean } = {},
): Promise<Harness> {
  const clock = { now: Date.now() };
  const config = loadAuthorizerConfig({
    region: "eu-west-1",
    accountId: "123456789012",
    issuers: [{ issuer: ISSUER, algorithms: ["HS256"], secret: SECRET }],
    grants: GRANTS,
    refreshAfterSeconds: options.refreshAfterSeconds ?? 3_600,
    disconnectAfterSeconds: options.disconnectAfterSeconds ?? 86_400,
  });
  const silent = { warn: () => undefined, debug: () => undefined, error: () => undefined };
  const authorizer = createAuthorizer(config, { now: () => clock.now, logger: silent });
  const logs: Record<string, unknown>[] = [];
  const gateway = await startIotGateway({
    authorizer,
    authorizerName: AUTHORIZER_NAME,
    tokenKeyName: TOKEN_KEY_NAME,
    ...(options.signing !== false && { signingPublicKeyPem: SIGNING_PUBLIC_KEY.export({ type: "spki", format: "pem" }).toString() }),
    region: "eu-west-1",
    accountId: "123456789012",
    logger: (line) => logs.push(line),
    ...(options.timeScale !== undefined && { timeScale: options.timeScale }),
  });
  return {
    gateway,
    logs,
    clock,
    tokenFor(sub, o = {}) {
      const key = Buffer.from(o.secret ?? SECRET, "base64");
      return jwt.sign({ sub, iss: ISSUER, exp: Math.floor(clock.now / 1000) + (o.expiresInSeconds ?? 3_600) }, key, { algorithm: "HS256" });
    },
    stop: () => gateway.stop(),
  };
}

export const signature = (token: string) => signToken(token, SIGNING_PRIVATE_KEY);
export const wrongSignature = (token: string) => signToken(token, OTHER_PRIVATE_KEY);

export interface Credentials {
  token: string;
  signature?: string;
  authorizerName?: string;
}

export function username(c: Credentials, extra = ""): string {
  return (
    customAuthMqttUsername({
      authorizerName: c.authorizerName ?? AUTHORIZER_NAME,
      tokenKeyName: TOKEN_KEY_NAME,
      token: c.token,
      signature: c.signature,
    }) + extra
  );
}
export function headers(c: Credentials): Record<string, string> {
  return customAuthHeaders({
    authorizerName: c.authorizerName ?? AUTHORIZER_NAME,
    tokenKeyName: TOKEN_KEY_NAME,
    token: c.token,
    signature: c.signature,
  });
}
export function query(c: Credentials): string {
  return customAuthQuery({
    authorizerName: c.authorizerName ?? AUTHORIZER_NAME,
    tokenKeyName: TOKEN_KEY_NAME,
    token: c.token,
    signature: c.signature,
  });
}

export type Transport = "tcp" | "ws-headers" | "ws-query";

/** Connects with custom auth where IoT reads it for the transport; resolves on CONNACK success, rejects with the client's error. */
export async function connect(
  gateway: IotGateway,
  transport: Transport,
  protocolVersion: 4 | 5,
  clientId: string,
  credentials: Credentials,
  extra: Partial<IClientOptions> = {},
): Promise<MqttClient> {
  const base: IClientOptions = { protocolVersion, clientId, reconnectPeriod: 0, connectTimeout: 10_000, ...extra };
  let url: string;
  let options: IClientOptions;
  if (transport === "tcp") {
    url = gateway.mqttUrl;
    options = { username: username(credentials), ...base };
  } else if (transport === "ws-headers") {
    url = gateway.wsUrl;
    options = { wsOptions: { headers: headers(credentials) }, ...base };
  } else {
    url = `${gateway.wsUrl}?${query(credentials)}`;
    options = base;
  }
  const client = mqtt.connect(url, options);
  return new Promise((resolve, reject) => {
    client.once("connect", () => resolve(client));
    client.once("error", (err) => {
      client.end(true);
      reject(err);
    });
    client.once("close", () => reject(new Error("closed before CONNACK")));
  });
}

/** Waits until `condition` holds, checking every few ms (the test's own timeout bounds it). */
export async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}

export function endClient(client: MqttClient): Promise<void> {
  return new Promise((resolve) => client.end(true, {}, () => resolve()));
}
