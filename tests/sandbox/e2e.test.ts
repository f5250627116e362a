/**
 * End to end through the whole sandbox (what `npm start` runs), with independent clients only: openid-client
 * signs the device in with the device flow while a scripted user approves at the sandbox's IdP; then the
 * `mqtt` package (MQTT 3.1.1 and 5, over TCP and WebSocket) and plain HTTP use the access token with custom
 * authentication at the sandbox's IoT gateway, whose verdicts come from the real authorizer.
 */
import { connectAsync, type IClientOptions, type MqttClient } from "mqtt";
import { customAuthHeaders, customAuthMqttUsername, customAuthQuery, signToken } from "../../functions/authorizer/custom-auth";
import { loadOpenidClient } from "../../sandbox/esm";
import { type Sandbox, startSandbox } from "../../sandbox/sandbox";
import { approve, openConfirmation, ScriptedUser } from "../../sandbox/scripted-user";

jest.setTimeout(60_000);

const SETTINGS = {
  pollingIntervalSeconds: 1,
  grants: [
    { actions: ["iot:Connect"], resources: ["client/{principal}", "client/{principal}-*"] },
    { actions: ["iot:Publish", "iot:Receive"], resources: ["topic/event/{principal}/*"] },
    { actions: ["iot:Subscribe"], resources: ["topicfilter/event/{principal}/*"] },
  ],
  deviceClients: [{ key: "tv", name: "E2E TV", type: "public", scopes: ["openid", "iot/device"] }],
};

let sandbox: Sandbox;
let accessToken: string;
let principal: string;

beforeAll(async () => {
  sandbox = await startSandbox({ settings: SETTINGS, quiet: true, ports: { deviceGrant: 0, mqtt: 0, ws: 0, http: 0 } });
  principal = sandbox.user.principalId;

  const client = loadOpenidClient();
  const config = await client.discovery(new URL(sandbox.deviceGrantUrl), sandbox.clientId, undefined, client.None(), {
    algorithm: "oauth2",
    execute: [client.allowInsecureRequests],
  });
  const authorization = await client.initiateDeviceAuthorization(config, { scope: "openid iot/device" });
  const polling = client.pollDeviceAuthorizationGrant(config, authorization);
  const user = new ScriptedUser();
  const confirmation = await openConfirmation(user, { verification_uri_complete: authorization.verification_uri_complete as string });
  const callbackUrl = await user.signInAtCognito(await approve(user, confirmation), sandbox.user.username, sandbox.user.password);
  expect((await user.get(callbackUrl)).status).toBe(200);
  accessToken = (await polling).access_token;
});
afterAll(() => sandbox?.stop());

function credentials(token = accessToken, signature: string | undefined = signToken(token, sandbox.signingPrivateKeyPem)) {
  return { authorizerName: sandbox.authorizerName, tokenKeyName: sandbox.tokenKeyName, token, signature };
}

const transports = [
  { name: "MQTT 3.1.1 over TCP", protocolVersion: 4 as const, ws: false },
  { name: "MQTT 5 over TCP", protocolVersion: 5 as const, ws: false },
  { name: "MQTT 3.1.1 over WebSocket", protocolVersion: 4 as const, ws: true },
  { name: "MQTT 5 over WebSocket", protocolVersion: 5 as const, ws: true },
];

async function connect(transport: (typeof transports)[number], clientId: string, creds = credentials()): Promise<MqttClient> {
  const options: IClientOptions = { clientId, protocolVersion: transport.protocolVersion, reconnectPeriod: 0, connectTimeout: 5_000 };
  if (transport.ws) return connectAsync(`${sandbox.gateway.wsUrl}?${customAuthQuery(creds)}`, options);
  return connectAsync(sandbox.gateway.mqttUrl, { ...options, username: customAuthMqttUsername({ ...creds, username: "device" }) });
}

describe.each(transports)("$name", (transport) => {
  test("connects as the user's device, subscribes, publishes to its own topic and receives it", async () => {
    const listener = await connect(transport, `${principal}-listener`);
    const device = await connect(transport, `${principal}-tv`);
    try {
      const granted = await listener.subscribeAsync(`event/${principal}/#`, { qos: 1 });
      expect(granted.map((g) => g.qos)).toEqual([1]);
      const received = new Promise<string>((resolve) => listener.on("message", (_topic, payload) => resolve(payload.toString())));
      await device.publishAsync(`event/${principal}/status`, "on", { qos: 1 });
      expect(await received).toBe("on");
    } finally {
      await Promise.all([listener.endAsync(), device.endAsync()]);
    }
  });

  test("may not subscribe to another user's topics", async () => {
    const device = await connect(transport, `${principal}-tv`);
    try {
      // mqtt.js rejects a subscription the SUBACK refuses, carrying the packet.
      const refusal = await device.subscribeAsync("event/someoneelse/#", { qos: 1 }).then(
        () => undefined,
        (err: { packet?: { granted?: number[]; reasonCode?: number } }) => err.packet,
      );
      expect(refusal?.granted).toEqual([transport.protocolVersion === 5 ? 0x87 : 128]);
    } finally {
      await device.endAsync();
    }
  });

  test("may not connect as another client id, nor with a token signed by another key", async () => {
    await expect(connect(transport, "someoneelse")).rejects.toThrow();
    const invocations = sandbox.gateway.authorizerInvocations();
    const forged = credentials(
      accessToken,
      signToken(accessToken, (await import("node:crypto")).generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey),
    );
    await expect(connect(transport, `${principal}-tv`, forged)).rejects.toThrow();
    expect(sandbox.gateway.authorizerInvocations()).toBe(invocations);
  });
});

test("a publish to another user's topic is refused (MQTT 5: PUBACK 0x87) and the connection goes on", async () => {
  const listener = await connect(transports[1], `${principal}-listener`);
  const device = await connect(transports[1], `${principal}-tv`);
  try {
    await listener.subscribeAsync(`event/${principal}/#`, { qos: 1 });
    const received = new Promise<string>((resolve) => listener.on("message", (topic) => resolve(topic)));
    const refusal = await device.publishAsync("event/someoneelse/status", "x", { qos: 1 }).then(
      () => undefined,
      (err: { code?: number }) => err.code,
    );
    expect(refusal).toBe(0x87);
    await device.publishAsync(`event/${principal}/after`, "y", { qos: 1 });
    expect(await received).toBe(`event/${principal}/after`);
  } finally {
    await Promise.all([listener.endAsync(), device.endAsync()]);
  }
});

test("HTTP publish: 200 to the device's own topic, 403 elsewhere and without a valid signature", async () => {
  const publish = (topic: string, headers: Record<string, string>) =>
    fetch(`${sandbox.gateway.httpUrl}/topics/${encodeURIComponent(topic)}?qos=1`, { method: "POST", headers, body: '{"on":true}' });
  expect((await publish(`event/${principal}/status`, customAuthHeaders(credentials()))).status).toBe(200);
  expect((await publish("event/someoneelse/status", customAuthHeaders(credentials()))).status).toBe(403);
  expect((await publish(`event/${principal}/status`, customAuthHeaders(credentials(accessToken, "AAAA")))).status).toBe(403);
});
