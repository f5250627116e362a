/**
 * What the end-to-end fleet provisioning tests share: a sandbox with fleet provisioning on (the dev stack's
 * settings, in code), an installer's access token from the device flow run by openid-client with the installer
 * app client while the installer approves at the sandbox's IdP, a claim from the claim route (`fetch`), and the
 * device's side of the exchange with the `mqtt` package over TLS with client certificates.
 */
import { readFileSync } from "node:fs";
import { connect, connectAsync, type IClientOptions, type MqttClient } from "mqtt";
import { approveUserCode } from "../../sandbox/approve";
import { loadOpenidClient } from "../../sandbox/esm";
import { type Sandbox, type SandboxOptions, startSandbox } from "../../sandbox/sandbox";

export const THING_PATTERN = "[A-Z]{2}-[0-9]{6}";

export const FLEET_SETTINGS = {
  pollingIntervalSeconds: 1,
  grants: [
    { actions: ["iot:Connect"], resources: ["client/{principal}", "client/{principal}-*"] },
    { actions: ["iot:Publish", "iot:Receive"], resources: ["topic/event/{principal}/*"] },
    { actions: ["iot:Subscribe"], resources: ["topicfilter/event/{principal}/*"] },
  ],
  deviceClients: [
    { key: "tv", name: "E2E TV", type: "public", scopes: ["openid", "iot/device"] },
    { key: "installer", name: "E2E installer app", type: "public", scopes: ["openid", "iot/provision"] },
  ],
  fleetProvisioningEnabled: true,
  provisioningRequiredGroup: "installers",
  provisioningThingNamePattern: THING_PATTERN,
};

export interface StartedSandbox {
  sandbox: Sandbox;
  /** Every JSON log line the sandbox wrote. */
  logs: string[];
}

export async function startFleetSandbox(extra: Partial<SandboxOptions> = {}): Promise<StartedSandbox> {
  const logs: string[] = [];
  const sandbox = await startSandbox({
    settings: FLEET_SETTINGS,
    ports: { deviceGrant: 0, mqtt: 0, mqtts: 0, ws: 0, http: 0 },
    output: { banner: () => undefined, log: (line) => logs.push(line) },
    ...extra,
  });
  return { sandbox, logs };
}

/** A user's access token from the device flow with `clientId`, approved by that user at the sandbox's IdP. */
export async function deviceFlowToken(
  sandbox: Sandbox,
  clientId: string,
  user: { username: string; password: string },
  scope?: string,
): Promise<string> {
  const client = loadOpenidClient();
  const config = await client.discovery(new URL(sandbox.deviceGrantUrl), clientId, undefined, client.None(), {
    algorithm: "oauth2",
    execute: [client.allowInsecureRequests],
  });
  const authorization = await client.initiateDeviceAuthorization(config, scope === undefined ? {} : { scope });
  const polling = client.pollDeviceAuthorizationGrant(config, authorization);
  await approveUserCode({ deviceGrantUrl: sandbox.deviceGrantUrl, ...user }, authorization.user_code);
  return (await polling).access_token;
}

export interface Claim {
  certificateId: string;
  certificatePem: string;
  privateKey: string;
  expiresAt: string;
  thingName: string;
}

/** `POST /provisioning/claims`: the HTTP status, headers and JSON body. */
export async function requestClaim(sandbox: Sandbox, token: string | undefined, thingName: string) {
  const response = await fetch(sandbox.provisioning?.claimUrl as string, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token !== undefined && { authorization: `Bearer ${token}` }) },
    body: JSON.stringify({ thingName }),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
}

/** Connects over TLS with a certificate and key, trusting the sandbox's CA. */
export function connectWithCertificate(
  sandbox: Sandbox,
  credentials: { certificatePem: string; privateKey: string },
  clientId: string,
  options: Partial<IClientOptions> = {},
): Promise<MqttClient> {
  const facts = sandbox.provisioning;
  if (facts === undefined) throw new Error("fleet provisioning is off");
  return connectAsync(facts.mqttsUrl, {
    clientId,
    cert: credentials.certificatePem,
    key: credentials.privateKey,
    ca: readFileSync(facts.caFile),
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    ...options,
  });
}

/**
 * How a connection attempt ends: `connected`, `CONNACK <code>`, or `closed` (a certificate refused at TLS: with
 * TLS 1.3 the client's handshake completes and the server then closes, which mqtt.js reports as a close only).
 */
export function connectionOutcome(
  sandbox: Sandbox,
  credentials: { certificatePem: string; privateKey: string },
  clientId: string,
): Promise<string> {
  const facts = sandbox.provisioning;
  if (facts === undefined) throw new Error("fleet provisioning is off");
  const client = connect(facts.mqttsUrl, {
    clientId,
    cert: credentials.certificatePem,
    key: credentials.privateKey,
    ca: readFileSync(facts.caFile),
    reconnectPeriod: 0,
  });
  return new Promise((resolve) => {
    const done = (outcome: string) => {
      client.end(true);
      resolve(outcome);
    };
    client.once("connect", () => done("connected"));
    client.once("error", (err: Error & { code?: unknown }) =>
      done(typeof err.code === "number" ? `CONNACK ${err.code}` : `error ${String(err.code)}`),
    );
    client.once("close", () => done("closed"));
  });
}

/** Subscribes; the granted QoS (or refusal code) per filter, whether mqtt.js resolves or rejects the SUBACK. */
export function subscribeCodes(client: MqttClient, filters: string[]): Promise<number[]> {
  return client.subscribeAsync(filters, { qos: 1 }).then(
    (granted) => granted.map((g) => g.qos),
    (err: { packet?: { granted?: number[] } }) => err.packet?.granted ?? [],
  );
}

/** A provisioning request on an open claim connection: subscribes to both answers first, as the guide says. */
export async function provisioningCall(
  client: MqttClient,
  topic: string,
  payload: string,
): Promise<{ outcome: "accepted" | "rejected"; body: Record<string, unknown> }> {
  await client.subscribeAsync([`${topic}/accepted`, `${topic}/rejected`], { qos: 1 });
  const answer = new Promise<{ outcome: "accepted" | "rejected"; body: Record<string, unknown> }>((resolve) => {
    const onMessage = (t: string, message: Buffer) => {
      if (t !== `${topic}/accepted` && t !== `${topic}/rejected`) return;
      client.off("message", onMessage);
      resolve({ outcome: t.endsWith("/accepted") ? "accepted" : "rejected", body: JSON.parse(message.toString("utf8")) });
    };
    client.on("message", onMessage);
  });
  await client.publishAsync(topic, payload, { qos: 1 });
  return answer;
}

/** The whole exchange on one claim connection: a new key and certificate, then RegisterThing for `thingName`. */
export async function exchange(sandbox: Sandbox, claim: Claim, thingName: string) {
  const template = sandbox.provisioning?.templateName as string;
  const client = await connectWithCertificate(sandbox, claim, thingName);
  try {
    const created = await provisioningCall(client, "$aws/certificates/create/json", "");
    if (created.outcome !== "accepted") return { created, registered: undefined };
    const registered = await provisioningCall(
      client,
      `$aws/provisioning-templates/${template}/provision/json`,
      JSON.stringify({ certificateOwnershipToken: created.body.certificateOwnershipToken, parameters: { ThingName: thingName } }),
    );
    return { created, registered };
  } finally {
    await client.endAsync(true);
  }
}

/** Waits until `condition` holds (no time limit: jest's own timeout ends a test that hangs). */
export async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 20));
}
