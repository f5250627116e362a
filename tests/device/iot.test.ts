/**
 * The device client talking to IoT: the real device grant (login with a scripted user approving), the real
 * authorizer core trusting cognito-local's access tokens, and the sandbox's IoT gateway (aedes with IoT's
 * custom-auth behaviour) in front of it. Publish and subscribe over MQTT (3.1.1 and 5), MQTT over
 * WebSocket (credentials in the query string and in headers) and HTTP publish; the refusals a device meets
 * (another device's topic, a foreign client id, a wrong or missing token signature) come back as the
 * client's `IotDeniedError`s, and the CLI prints them.
 */
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createAuthorizer } from "../../functions/authorizer/authorizer";
import { principalIdFor } from "../../functions/authorizer/principal";
import { loadAuthorizerConfig } from "../../functions/authorizer/config";
import { runCli } from "../../device/cli";
import {
  DeviceClient,
  type DeviceClientOptions,
  type DeviceCode,
  IotConnectionError,
  IotDeniedError,
  type Subscription,
} from "../../device/client";
import { readTokenFile } from "../../device/token-file";
import { type IotGateway, startIotGateway } from "../../sandbox/gateway/gateway";
import { approveAsUser, type GrantHarness, startGrant } from "../device-grant/support/grant";

jest.setTimeout(60_000);

const AUTHORIZER_NAME = "sandbox-authorizer";
const REGION = "eu-west-1";
const ACCOUNT = "123456789012";

let dir: string;
let grant: GrantHarness;
let gateway: IotGateway;
let signingKeyPem: string;
let signingPublicPem: string;
let tokenFile: string;
let principal: string;
const logs: Record<string, unknown>[] = [];
const subscriptions: Subscription[] = [];

function authorizerFor(g: GrantHarness, timers: { refreshAfterSeconds?: number; disconnectAfterSeconds?: number } = {}) {
  const endpoints = g.cognito.endpoints(g.poolId);
  const silent = { warn: () => undefined, debug: () => undefined, error: () => undefined };
  return createAuthorizer(
    loadAuthorizerConfig({
      region: REGION,
      accountId: ACCOUNT,
      issuers: [
        {
          issuer: endpoints.issuer,
          algorithms: ["RS256"],
          jwksUri: endpoints.jwksUri,
          tokenUse: "access",
          clientIds: [g.publicClient.clientId, g.confidentialClient.clientId],
        },
      ],
      ...timers,
    }),
    { logger: silent },
  );
}

async function startGateway(
  timers: { refreshAfterSeconds?: number; disconnectAfterSeconds?: number } = {},
  timeScale?: number,
): Promise<IotGateway> {
  return startIotGateway({
    authorizer: authorizerFor(grant, timers),
    authorizerName: AUTHORIZER_NAME,
    tokenKeyName: "token",
    signingPublicKeyPem: signingPublicPem,
    region: REGION,
    accountId: ACCOUNT,
    logger: (line) => logs.push(line),
    ...(timeScale !== undefined && { timeScale }),
  });
}

function device(options: Partial<DeviceClientOptions> = {}): DeviceClient {
  return new DeviceClient({
    baseUrl: grant.url,
    clientId: grant.publicClient.clientId,
    tokenFile,
    iotEndpoint: { mqttUrl: gateway.mqttUrl, wsUrl: gateway.wsUrl, httpUrl: gateway.httpUrl },
    authorizerName: AUTHORIZER_NAME,
    tokenKeyName: "token",
    signingKeyPem,
    ...options,
  });
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "device-iot-"));
  tokenFile = path.join(dir, "tokens.json");
  const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
  signingKeyPem = pair.privateKey.export({ type: "pkcs8", format: "pem" }) as string;
  signingPublicPem = pair.publicKey.export({ type: "spki", format: "pem" }) as string;
  grant = await startGrant();
  gateway = await startGateway();
  // One login for the whole file: the device polls while the user approves.
  let shown: (code: DeviceCode) => void = () => undefined;
  const code = new Promise<DeviceCode>((resolve) => {
    shown = resolve;
  });
  const login = device().login({ onCode: (c) => shown(c) });
  const c = await code;
  await approveAsUser(grant, {
    device_code: "",
    user_code: c.userCode,
    verification_uri: c.verificationUri,
    verification_uri_complete: c.verificationUriComplete as string,
    expires_in: c.expiresIn,
    interval: c.interval,
  });
  await login;
  principal = principalIdFor(grant.userSub);
});

afterEach(async () => {
  await Promise.all(subscriptions.splice(0).map((s) => s.close()));
});

afterAll(async () => {
  await gateway?.stop();
  await grant?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Subscribes and collects `topic payload` strings. */
async function collect(
  client: DeviceClient,
  filter: string,
  transport: "mqtt" | "wss" = "mqtt",
): Promise<{ messages: string[]; subscription: Subscription }> {
  const messages: string[] = [];
  const subscription = await client.subscribe(filter, (topic, payload) => messages.push(`${topic} ${payload.toString()}`), { transport });
  subscriptions.push(subscription);
  return { messages, subscription };
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe.each([
  ["MQTT 3.1.1", { mqttProtocolVersion: 4 as const }],
  ["MQTT 5", { mqttProtocolVersion: 5 as const }],
  ["MQTT 3.1.1, WebSocket credentials in headers", { mqttProtocolVersion: 4 as const, wsCredentials: "headers" as const }],
])("%s", (_label, options) => {
  test.each(["mqtt", "wss", "https"] as const)("publish over %s to the device's own topic reaches a subscriber", async (transport) => {
    const client = device(options);
    const { messages, subscription } = await collect(client, `devices/${principal}/#`, transport === "wss" ? "wss" : "mqtt");
    // The default client id is the principal with a suffix, which the default policy allows.
    expect(subscription.clientId).toMatch(new RegExp(`^${principal}-[0-9a-f]{8}$`));
    const before = gateway.authorizerInvocations();
    await client.publish(`devices/${principal}/hello`, `hi over ${transport}`, { transport });
    expect(gateway.authorizerInvocations()).toBe(before + 1);
    await until(() => messages.length > 0);
    expect(messages).toEqual([`devices/${principal}/hello hi over ${transport}`]);
  });
});

test.each(["mqtt", "wss"] as const)(
  "publish over %s to another device's topic is refused (MQTT 3.1.1: IoT closes the connection)",
  async (transport) => {
    await expect(device().publish("devices/someoneelse/cmd", "open", { transport })).rejects.toMatchObject({
      name: "IotDeniedError",
      operation: "publish",
      transport,
      message: expect.stringContaining("closed before the publish to devices/someoneelse/cmd was acknowledged"),
    });
  },
);

test("publish over MQTT 5 to another device's topic gets PUBACK 135", async () => {
  await expect(device({ mqttProtocolVersion: 5 }).publish("devices/someoneelse/cmd", "open")).rejects.toMatchObject({
    operation: "publish",
    message: expect.stringContaining("PUBACK reason 135"),
  });
});

test("HTTP publish to another device's topic: 403", async () => {
  const refused = device().publish("devices/someoneelse/cmd", "open", { transport: "https" });
  await expect(refused).rejects.toBeInstanceOf(IotDeniedError);
  await expect(device().publish("devices/someoneelse/cmd", "open", { transport: "https" })).rejects.toThrow(
    "IoT refused the publish over https: HTTP 403 for topic devices/someoneelse/cmd (Forbidden)",
  );
});

test.each([4, 5] as const)("MQTT %i: subscribing to another device's tree gets a SUBACK failure", async (version) => {
  await expect(device({ mqttProtocolVersion: version }).subscribe("devices/someoneelse/#", () => undefined)).rejects.toMatchObject({
    operation: "subscribe",
    message: expect.stringContaining(`SUBACK ${version === 5 ? 135 : 128} for devices/someoneelse/#`),
  });
});

test.each(["mqtt", "wss"] as const)("a client id outside the principal's is refused at CONNECT over %s", async (transport) => {
  await expect(
    device({ mqttClientId: "someone-else" }).subscribe(`devices/${principal}/#`, () => undefined, { transport }),
  ).rejects.toMatchObject({
    operation: "connect",
    message: expect.stringContaining("CONNACK 5"),
  });
});

test.each(["mqtt", "wss", "https"] as const)(
  "over %s, a token signed with another key or not signed never reaches the authorizer",
  async (transport) => {
    const otherKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }) as string;
    for (const client of [device({ signingKeyPem: otherKey }), device({ signingKeyPem: undefined })]) {
      const invocations = gateway.authorizerInvocations();
      const rejections = gateway.signatureRejections();
      const attempt =
        transport === "https"
          ? client.publish(`devices/${principal}/x`, "x", { transport })
          : client.subscribe(`devices/${principal}/#`, () => undefined, { transport });
      await expect(attempt).rejects.toBeInstanceOf(IotDeniedError);
      expect(gateway.authorizerInvocations()).toBe(invocations);
      expect(gateway.signatureRejections()).toBe(rejections + 1);
    }
  },
);

test("a token about to expire is refreshed before it is presented", async () => {
  const stored = await readTokenFile(tokenFile);
  const refreshes = grant.upstreamCalls.refreshes;
  const client = device({ now: () => (stored?.expiresAt as number) - 30_000 });
  await client.publish(`devices/${principal}/refreshed`, "x", { transport: "https" });
  expect(grant.upstreamCalls.refreshes).toBe(refreshes + 1);
  const after = await readTokenFile(tokenFile);
  expect(after?.accessToken).not.toBe(stored?.accessToken);
});

test("the subscription reports the server closing it at disconnectAfterInSeconds", async () => {
  // 300 s of IoT time is 600 ms here.
  const short = await startGateway({ refreshAfterSeconds: 600, disconnectAfterSeconds: 300 }, 0.002);
  try {
    const client = device({ iotEndpoint: { mqttUrl: short.mqttUrl } });
    const subscription = await client.subscribe(`devices/${principal}/#`, () => undefined);
    const ended = await subscription.closed;
    expect(ended).toBeInstanceOf(IotConnectionError);
    expect(ended?.message).toContain("closed by the server");
    await subscription.close();
  } finally {
    await short.stop();
  }
});

describe("the CLI", () => {
  class Capture {
    text = "";
    write(chunk: string): boolean {
      this.text += chunk;
      return true;
    }
  }
  function env(): NodeJS.ProcessEnv {
    return {
      DEVICE_BASE_URL: grant.url,
      DEVICE_CLIENT_ID: grant.publicClient.clientId,
      DEVICE_TOKEN_FILE: tokenFile,
      DEVICE_MQTT_URL: gateway.mqttUrl,
      DEVICE_WS_URL: gateway.wsUrl,
      DEVICE_HTTP_URL: gateway.httpUrl,
      DEVICE_AUTHORIZER_NAME: AUTHORIZER_NAME,
      DEVICE_SIGNING_KEY: path.join(dir, "signing.pem"),
    };
  }

  beforeAll(() => {
    writeFileSync(path.join(dir, "signing.pem"), signingKeyPem, { mode: 0o600 });
  });

  test("subscribe --count 2 prints what publish sends over https and wss, then exits 0", async () => {
    const sub = { stdout: new Capture(), stderr: new Capture(), env: env(), cwd: dir };
    const subscribing = runCli(["subscribe", `devices/${principal}/+`, "--count", "2"], sub);
    await until(() => sub.stderr.text.includes("Subscribed"));
    for (const [transport, message] of [
      ["https", "first"],
      ["wss", "second"],
    ]) {
      const pub = { stdout: new Capture(), stderr: new Capture(), env: env(), cwd: dir };
      expect(await runCli(["publish", `devices/${principal}/cli`, message, "--transport", transport], pub)).toBe(0);
      expect(pub.stdout.text).toBe(`Published to devices/${principal}/cli over ${transport} (acknowledged).\n`);
    }
    expect(await subscribing).toBe(0);
    expect(sub.stdout.text).toBe(`devices/${principal}/cli first\ndevices/${principal}/cli second\n`);
  });

  test("a refused publish exits 1 and says so on stderr", async () => {
    const pub = { stdout: new Capture(), stderr: new Capture(), env: env(), cwd: dir };
    expect(await runCli(["publish", "devices/someoneelse/x", "m", "--transport", "https"], pub)).toBe(1);
    expect(pub.stderr.text).toBe("error: IoT refused the publish over https: HTTP 403 for topic devices/someoneelse/x (Forbidden)\n");
    expect(pub.stdout.text).toBe("");
  });

  test("a refused subscription exits 1 and says so on stderr", async () => {
    const sub = { stdout: new Capture(), stderr: new Capture(), env: env(), cwd: dir };
    expect(await runCli(["subscribe", "devices/#", "--count", "1"], sub)).toBe(1);
    expect(sub.stderr.text).toMatch(/^error: IoT refused the subscribe over mqtt: SUBACK 128 for devices\/#/);
  });
});

test("for an AWS data endpoint: MQTT over TLS on 443 with ALPN mqtt and SNI, wss on 443 /mqtt, https on 443", () => {
  const host = "abc123-ats.iot.eu-west-1.amazonaws.com";
  const client = device({ iotEndpoint: host });
  expect(client.endpoints).toEqual({ mqttUrl: `mqtts://${host}:443`, wsUrl: `wss://${host}:443/mqtt`, httpUrl: `https://${host}:443` });
  const credentials = { authorizerName: AUTHORIZER_NAME, tokenKeyName: "token", token: "a.b.c", signature: "s+/=" };
  const mqttOptions = client.mqttOptions("mqtt", client.endpoints.mqttUrl as string, credentials, "me");
  expect(mqttOptions).toMatchObject({
    ALPNProtocols: ["mqtt"],
    servername: host,
    rejectUnauthorized: true,
    clientId: "me",
    reconnectPeriod: 0,
  });
  expect(mqttOptions.username).toBe(
    "?x-amz-customauthorizer-name=sandbox-authorizer&x-amz-customauthorizer-signature=s%2B%2F%3D&token=a.b.c",
  );
  const wsOptions = client.mqttOptions("wss", client.endpoints.wsUrl as string, credentials, "me");
  expect(wsOptions.ALPNProtocols).toBeUndefined();
  expect(wsOptions.servername).toBe(host);
  expect(wsOptions.transformWsUrl?.(`wss://${host}:443/mqtt`, {}, undefined as never)).toBe(
    `wss://${host}:443/mqtt?x-amz-customauthorizer-name=sandbox-authorizer&x-amz-customauthorizer-signature=s%2B%2F%3D&token=a.b.c`,
  );
  const headerOptions = device({ iotEndpoint: host, wsCredentials: "headers" }).mqttOptions(
    "wss",
    `wss://${host}:443/mqtt`,
    credentials,
    "me",
  );
  expect(headerOptions.wsOptions).toEqual({
    headers: { "x-amz-customauthorizer-name": AUTHORIZER_NAME, "x-amz-customauthorizer-signature": "s+/=", token: "a.b.c" },
  });
});
