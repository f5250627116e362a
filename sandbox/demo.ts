/**
 * `npm run demo`: the whole story, headless, against a fresh sandbox on free ports. Each step is printed
 * with its outcome; the run exits 0 only when every step held.
 *
 *  1. the sandbox starts (built-in settings: the dev stack's per-user topic tree, 1 s polling);
 *  2. the device client (device/client.ts) starts the device flow (RFC 8628) and polls, honouring
 *     `interval` and `slow_down`; a scripted user opens the verification link, approves, signs in at the
 *     IdP (cognito-local), and the device's polling ends with tokens in its token file;
 *  3. the device publishes to its own topic (MQTT over TCP, then HTTPS) and a second device client of the
 *     same user, subscribed over WebSocket, receives both messages;
 *  4. a publish to another user's topic is refused (HTTP 403), as is a subscription to it (SUBACK 128);
 *  5. an unsigned token and a token signed with the wrong key are refused by the gateway before the
 *     authorizer is called (its invocation count does not move, the signature rejections do);
 *  6-9. the OpenAM walkthrough's story on the same gateway (demo-enterprise.ts): a TV signs in with the
 *     enterprise IdP's device flow (HS256), publishes over HTTPS and MQTT to its own topic, each story's device
 *     is refused on the other's topic, and a token signed with another secret is refused by the authorizer;
 *  10. a request the user denies ends in `access_denied`;
 *  11. a code nobody approves ends in `expired_token` once it has expired: a code lives at least 60 s, so
 *     the demo moves the device grant service's clock past the expiry instead of waiting;
 *  12. to 15. fleet provisioning by trusted user, as provisioning/demo-steps.ts tells it.
 *
 * Steps 4, 5, 9, 10 and 11 speak the protocols raw, to see the exact answers (status codes, SUBACK codes, OAuth errors).
 *
 * Read top to bottom: one short function per step, then the runner; the raw requests are in demo-protocol.ts, the
 * enterprise IdP's story in demo-enterprise.ts and fleet provisioning's in provisioning/demo-steps.ts.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { connectAsync, type MqttClient } from "mqtt";
import { customAuthMqttUsername, signToken } from "../functions/authorizer/custom-auth";
import { authorizeDevice, check, credentials, httpPublish, mqttOptions, pollToken, StepFailed, within } from "./demo-protocol";
import { approve, openConfirmation, ScriptedUser } from "./scripted-user";
import { type DeviceCode, DeviceClient, type Subscription } from "../device/client";
import { type Sandbox, type SandboxOptions, startSandbox } from "./sandbox";
import * as enterprise from "./demo-enterprise";
import { DEMO_FLEET_SETTINGS, DEMO_INSTALLER_APP, PROVISIONING_STEPS, type ProvisioningStory } from "./provisioning/demo-steps";

/** The demo's own settings (stack keys), so that it tells the same story whatever Pulumi.dev.yaml says. */
export const DEMO_SETTINGS: Record<string, unknown> = {
  codeExpirySeconds: 60,
  pollingIntervalSeconds: 1,
  grants: [
    { actions: ["iot:Connect"], resources: ["client/{principal}", "client/{principal}-*"] },
    { actions: ["iot:Publish", "iot:Receive"], resources: ["topic/event/{principal}", "topic/event/{principal}/*"] },
    { actions: ["iot:Subscribe"], resources: ["topicfilter/event/{principal}", "topicfilter/event/{principal}/*"] },
  ],
  deviceClients: [{ key: "demo", name: "Demo thermostat", type: "public", scopes: ["openid", "iot/device"] }, DEMO_INSTALLER_APP],
  // The dev stack's OpenAM issuer, which the sandbox's enterprise IdP stands in for (the second story).
  issuers: enterprise.DEMO_ISSUERS,
  ...DEMO_FLEET_SETTINGS,
};

export interface DemoStep {
  name: string;
  ok: boolean;
  detail: string;
}

export interface DemoResult {
  ok: boolean;
  steps: DemoStep[];
}

/**
 * What the steps share: what one step sets up, later ones use, and `endStory` releases. A step runs only
 * when every earlier one held, so it may rely on what they set.
 */
interface Story {
  /** Passed on to `startSandbox`, over the demo's own settings and free ports. */
  sandboxOverrides?: SandboxOptions;
  abort: AbortController;
  sandbox?: Sandbox;
  tokenDirectory?: string;
  /** Two devices of one user: the one that signs in and publishes, and one that listens. */
  device?: DeviceClient;
  listener?: DeviceClient;
  subscription?: Subscription;
  /** Raw MQTT clients the refusal steps open. */
  clients: MqttClient[];
  accessToken: string;
  signature: string;
  /** The OpenAM walkthrough's story (demo-enterprise.ts). */
  enterprise?: enterprise.EnterpriseStory;
  /** What the fleet provisioning steps pass on (provisioning/demo-steps.ts). */
  provisioning?: ProvisioningStory;
}

function sandboxOf(story: Story): Sandbox {
  return story.sandbox as Sandbox;
}

function ownTopic(sandbox: Sandbox): string {
  return `event/${sandbox.user.principalId}/demo`;
}

async function startTheSandbox(story: Story): Promise<string> {
  const sandbox = await startSandbox({
    settings: DEMO_SETTINGS,
    ports: { deviceGrant: 0, mqtt: 0, mqtts: 0, ws: 0, http: 0 },
    quiet: true,
    ...story.sandboxOverrides,
  });
  story.sandbox = sandbox;
  const idp = sandbox.enterpriseIdp ? `, enterprise IdP ${sandbox.enterpriseIdp.idp.url}` : "";
  const tls = sandbox.gateway.mqttsUrl !== undefined ? ` ${sandbox.gateway.mqttsUrl}` : "";
  return `device grant ${sandbox.deviceGrantUrl}, IdP ${sandbox.cognitoUrl}${idp}, gateway ${sandbox.gateway.mqttUrl} ${sandbox.gateway.wsUrl} ${sandbox.gateway.httpUrl}${tls}`;
}

async function signInTheDevice(story: Story): Promise<string> {
  const s = sandboxOf(story);
  story.tokenDirectory = await mkdtemp(path.join(tmpdir(), "demo-device-"));
  const deviceOptions = {
    baseUrl: s.deviceGrantUrl,
    clientId: s.clientId,
    scope: "openid iot/device",
    iotEndpoint: { mqttUrl: s.gateway.mqttUrl, wsUrl: s.gateway.wsUrl, httpUrl: s.gateway.httpUrl },
    authorizerName: s.authorizerName,
    tokenKeyName: s.tokenKeyName,
    signingKeyPem: s.signingPrivateKeyPem,
    tokenFile: path.join(story.tokenDirectory, "tokens.json"),
  };
  // Two devices of one user, sharing the tokens: IoT allows `{principal}-*` client ids.
  const device = new DeviceClient({ ...deviceOptions, mqttClientId: `${s.user.principalId}-device` });
  story.device = device;
  story.listener = new DeviceClient({ ...deviceOptions, mqttClientId: `${s.user.principalId}-listener` });

  let showCode: (code: DeviceCode) => void = () => undefined;
  const shown = new Promise<DeviceCode>((resolve) => (showCode = resolve));
  const loggingIn = device.login({ onCode: (code) => showCode(code), signal: story.abort.signal });
  loggingIn.catch(() => undefined);
  const code = await within(
    Promise.race([shown, loggingIn.then(() => Promise.reject(new StepFailed("the login ended before showing a code")))]),
    "the device showing a code",
  );
  check(code.verificationUriComplete !== undefined, "no verification_uri_complete");
  const user = new ScriptedUser();
  const codePage = await within(user.get(code.verificationUriComplete), "the verification page");
  check(codePage.status === 200, `the verification page answered HTTP ${codePage.status}`);
  // The link fills the code in; the user confirms it (nothing is approved by following a link).
  const confirmation = await within(user.submit(codePage), "confirming the code");
  check(confirmation.body.includes(s.settings.deviceClient.name), "the confirmation page does not name the device");
  const idpUrl = await within(approve(user, confirmation), "Approve");
  const callbackUrl = await within(user.signInAtCognito(idpUrl, s.user.username, s.user.password), "signing in at the IdP");
  const done = await within(user.get(callbackUrl), "the callback");
  check(done.status === 200, `the callback answered HTTP ${done.status}`);
  const result = await within(loggingIn, "the device's polling");
  story.accessToken = await device.token();
  story.signature = signToken(story.accessToken, s.signingPrivateKeyPem);
  return `the device showed a code (expires in ${code.expiresIn} s, polling every ${code.interval} s); ${s.user.username} approved it; tokens stored${result.refreshable ? " (refreshable)" : ""}`;
}

async function publishToOwnTopic(story: Story): Promise<string> {
  const s = sandboxOf(story);
  const topic = ownTopic(s);
  const received: string[] = [];
  let gotBoth: () => void = () => undefined;
  const bothReceived = new Promise<void>((resolve) => (gotBoth = resolve));
  const subscription = await within(
    (story.listener as DeviceClient).subscribe(
      topic,
      (t, payload) => {
        if (t === topic) received.push(payload.toString("utf8"));
        if (received.length >= 2) gotBoth();
      },
      { transport: "wss" },
    ),
    "subscribing over WebSocket",
  );
  story.subscription = subscription;
  const device = story.device as DeviceClient;
  const nonce = randomBytes(4).toString("hex");
  await within(device.publish(topic, JSON.stringify({ via: "mqtt", nonce }), { transport: "mqtt" }), "publishing over MQTT");
  await within(device.publish(topic, JSON.stringify({ via: "https", nonce }), { transport: "https" }), "publishing over HTTPS");
  await within(bothReceived, "the subscriber receiving both messages");
  const vias = received
    .map((r) => JSON.parse(r) as { via: string; nonce: string })
    .filter((m) => m.nonce === nonce)
    .map((m) => m.via)
    .sort();
  check(vias.join() === "https,mqtt", `the subscriber received ${JSON.stringify(vias)}`);
  return `${s.user.principalId}-device published to ${topic}; ${subscription.clientId} received the MQTT and the HTTPS message`;
}

async function refuseAnotherUsersTopic(story: Story): Promise<string> {
  const s = sandboxOf(story);
  const auth = credentials(s, story.accessToken, story.signature);
  const other = "event/someoneelse/demo";
  const status = await within(httpPublish(s, other, "{}", auth), "HTTP publish");
  check(status === 403, `publishing to ${other} answered HTTP ${status}, not 403`);
  const pid = s.user.principalId;
  const subscriber = await within(
    connectAsync(s.gateway.mqttUrl, mqttOptions(`${pid}-probe`, customAuthMqttUsername(auth))),
    "MQTT CONNECT",
  );
  story.clients.push(subscriber);
  // mqtt.js rejects a refused subscription with the SUBACK packet attached.
  const refusal = await within(
    subscriber.subscribeAsync(other, { qos: 1 }).then(
      () => "granted",
      (err: { packet?: { granted?: number[] }; message?: string }) =>
        err.packet?.granted ? `SUBACK ${err.packet.granted.join(",")}` : `error: ${err.message}`,
    ),
    "SUBSCRIBE",
  );
  check(refusal === "SUBACK 128", `subscribing to ${other}: ${refusal}, not SUBACK 128`);
  return `${other}: publish HTTP 403, subscribe SUBACK 128`;
}

async function refuseBadSignatures(story: Story): Promise<string> {
  const s = sandboxOf(story);
  const topic = ownTopic(s);
  const invocations = s.gateway.authorizerInvocations();
  const rejections = s.gateway.signatureRejections();
  const unsigned = await within(httpPublish(s, topic, "{}", credentials(s, story.accessToken, undefined)), "unsigned HTTP publish");
  check(unsigned !== 200, "an unsigned token was accepted");
  const wrongKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
  const forged = credentials(s, story.accessToken, signToken(story.accessToken, wrongKey));
  const wrong = await within(httpPublish(s, topic, "{}", forged), "wrongly signed HTTP publish");
  check(wrong !== 200, "a token signed with the wrong key was accepted over HTTP");
  const mqttRefused = await within(
    connectAsync(s.gateway.mqttUrl, mqttOptions(`${s.user.principalId}-forged`, customAuthMqttUsername(forged))).then(
      (client) => {
        story.clients.push(client);
        return false;
      },
      () => true,
    ),
    "MQTT CONNECT with a wrong signature",
  );
  check(mqttRefused, "a token signed with the wrong key was accepted over MQTT");
  const calls = s.gateway.authorizerInvocations() - invocations;
  const rejected = s.gateway.signatureRejections() - rejections;
  check(calls === 0, `the authorizer was called ${calls} time(s)`);
  check(rejected === 3, `the gateway counted ${rejected} signature rejection(s), not 3`);
  return `HTTP ${unsigned} (unsigned), HTTP ${wrong} and a refused MQTT CONNECT (wrong key); authorizer calls +0, signature rejections +3`;
}

async function denyRequest(story: Story): Promise<string> {
  const s = sandboxOf(story);
  const authorization = await within(authorizeDevice(s), "device authorization");
  const user = new ScriptedUser();
  const confirmation = await within(openConfirmation(user, authorization), "the verification page");
  const denied = await within(user.submit(confirmation, {}, { submitter: "deny" }), "Deny");
  check(denied.status === 200, `Deny answered HTTP ${denied.status}`);
  const answer = await within(pollToken(s, authorization), "polling");
  check(
    answer.status === 400 && answer.body.error === "access_denied",
    `the poll answered HTTP ${answer.status} ${String(answer.body.error ?? "tokens")}`,
  );
  return "HTTP 400 access_denied";
}

async function letCodeExpire(story: Story): Promise<string> {
  const s = sandboxOf(story);
  const authorization = await within(authorizeDevice(s), "device authorization");
  s.advanceClock(authorization.expires_in + 1);
  const answer = await within(pollToken(s, authorization), "polling");
  check(
    answer.status === 400 && answer.body.error === "expired_token",
    `the poll answered HTTP ${answer.status} ${String(answer.body.error ?? "tokens")}`,
  );
  return `HTTP 400 expired_token (the service's clock moved ${authorization.expires_in + 1} s ahead)`;
}

/** The story's steps in order, each with the name it is reported under. */
const STEPS: { name: string; run: (story: Story) => Promise<string> }[] = [
  { name: "The sandbox starts", run: startTheSandbox },
  { name: "The device signs in: device flow, a user approves at the IdP, the device's polling gets tokens", run: signInTheDevice },
  {
    name: "The device publishes to its own topic (MQTT and HTTPS); another device of the user, subscribed over WebSocket, receives both",
    run: publishToOwnTopic,
  },
  { name: "Another user's topic is refused: publish (HTTP 403) and subscribe (SUBACK 128)", run: refuseAnotherUsersTopic },
  { name: "Unsigned and wrongly signed tokens never reach the authorizer", run: refuseBadSignatures },
  ...enterprise.enterpriseSteps<Story>({
    sandbox: sandboxOf,
    state: (story) => (story.enterprise ??= {}),
    tokenFile: (story) => path.join(story.tokenDirectory as string, "tv.json"),
    signal: (story) => story.abort.signal,
    cognitoDevice: (story) => story.device as DeviceClient,
    within,
    failure: (message) => new StepFailed(message),
  }),
  { name: "A request the user denies ends in access_denied", run: denyRequest },
  { name: "A code nobody approves ends in expired_token", run: letCodeExpire },
  ...PROVISIONING_STEPS.map(({ name, run }) => ({
    name,
    run: (story: Story) => within(run(sandboxOf(story), (story.provisioning ??= {})), name),
  })),
];

/** Releases what the steps set up, whatever happened; a sandbox that fails to stop is a failed step. */
async function endStory(story: Story, steps: DemoStep[], log: (line: string) => void): Promise<void> {
  story.abort.abort();
  await story.subscription?.close().catch(() => undefined);
  await story.enterprise?.subscription?.close().catch(() => undefined);
  await Promise.all(story.clients.map((c) => c.endAsync(true).catch(() => undefined)));
  if (story.tokenDirectory) await rm(story.tokenDirectory, { recursive: true, force: true });
  if (story.sandbox) {
    await story.sandbox.stop().catch((err: unknown) => {
      steps.push({ name: "The sandbox stops", ok: false, detail: (err as Error)?.message ?? String(err) });
      log(`[FAIL] The sandbox stops: ${(err as Error)?.message ?? String(err)}`);
    });
  }
}

/** Runs one step, unless an earlier one failed; never throws. */
async function runStep(name: string, run: () => Promise<string>, skip: boolean, log: (line: string) => void): Promise<DemoStep> {
  if (skip) {
    log(`[skip] ${name}`);
    return { name, ok: false, detail: "skipped: an earlier step failed" };
  }
  try {
    const detail = await run();
    log(`[ ok ] ${name}: ${detail}`);
    return { name, ok: true, detail };
  } catch (err) {
    const detail =
      err instanceof StepFailed ? err.message : `${(err as Error)?.name ?? "Error"}: ${(err as Error)?.message ?? String(err)}`;
    log(`[FAIL] ${name}: ${detail}`);
    return { name, ok: false, detail };
  }
}

/** Runs the story; never throws (a failure is a failed step). `log` gets one line per step. */
export async function runDemo(options: { log?: (line: string) => void; sandbox?: SandboxOptions } = {}): Promise<DemoResult> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const story: Story = { sandboxOverrides: options.sandbox, abort: new AbortController(), clients: [], accessToken: "", signature: "" };
  const steps: DemoStep[] = [];
  try {
    for (const { name, run } of STEPS) {
      steps.push(
        await runStep(
          name,
          () => run(story),
          steps.some((s) => !s.ok),
          log,
        ),
      );
    }
  } finally {
    await endStory(story, steps, log);
  }
  const ok = steps.length > 0 && steps.every((s) => s.ok);
  log(
    ok
      ? `The story holds: ${steps.length} steps passed.`
      : `The story does not hold: ${steps.filter((s) => !s.ok).length} of ${steps.length} steps failed.`,
  );
  return { ok, steps };
}

if (require.main === module) {
  runDemo().then(
    (result) => process.exit(result.ok ? 0 : 1),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
