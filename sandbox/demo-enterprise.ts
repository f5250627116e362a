/**
 * `npm run demo`'s second story, told beside the first on the same gateway: the OpenAM walkthrough's. A TV signs
 * its user in with the enterprise IdP's own device flow (the stand-in of the stack's OpenAM issuer: a
 * confidential client, HS256 stateless tokens with OpenAM's claims), publishes with that token over HTTPS, as the
 * walkthrough does, and over MQTT, to its own topic, where a second device of the same user listens over
 * WebSocket; each story's device is refused on the other's topics; and a token signed with another secret never
 * passes the authorizer. demo.ts runs these steps after its own; they share its sandbox and its Cognito device.
 */
import { createHmac, randomBytes } from "node:crypto";
import { customAuthHeaders, signToken } from "../functions/authorizer/custom-auth";
import { DeviceClient, IotDeniedError, type Subscription } from "../device/client";
import { approveAtEnterpriseIdp } from "./enterprise-approve";
import { type Sandbox } from "./sandbox";

export interface EnterpriseStory {
  device?: DeviceClient;
  listener?: DeviceClient;
  subscription?: Subscription;
  accessToken?: string;
}

class EnterpriseStepFailed extends Error {}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new EnterpriseStepFailed(message);
}

function claimsOf(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [header, payload] = token
    .split(".")
    .slice(0, 2)
    .map((p) => JSON.parse(Buffer.from(p, "base64url").toString("utf8")) as Record<string, unknown>);
  return { header, payload };
}

/** The enterprise IdP's test user's own topic. */
function ownTopic(sandbox: Sandbox): string {
  return `event/${sandbox.enterpriseIdp?.user.principalId}/demo`;
}

/** The TV signs in at the enterprise IdP; a scripted user approves at its pages (code, Continue, sign-in, Allow). */
export async function enterpriseSignIn(sandbox: Sandbox, story: EnterpriseStory, tokenFile: string, signal: AbortSignal): Promise<string> {
  const idp = sandbox.enterpriseIdp;
  check(idp !== undefined, "the sandbox has no enterprise IdP (the settings list no issuers)");
  const [issuer] = idp.issuers;
  const options = {
    deviceAuthorizationEndpoint: issuer.deviceAuthorizationEndpoint,
    tokenEndpoint: issuer.tokenEndpoint,
    clientId: issuer.clientId,
    clientSecret: issuer.clientSecret,
    scope: issuer.scopes.join(" "),
    iotEndpoint: { mqttUrl: sandbox.gateway.mqttUrl, wsUrl: sandbox.gateway.wsUrl, httpUrl: sandbox.gateway.httpUrl },
    authorizerName: sandbox.authorizerName,
    tokenKeyName: sandbox.tokenKeyName,
    signingKeyPem: sandbox.signingPrivateKeyPem,
    tokenFile,
    principalPrefix: sandbox.settings.issuers[0].principalPrefix ?? "",
  };
  story.device = new DeviceClient({ ...options, mqttClientId: `${idp.user.principalId}-tv` });
  story.listener = new DeviceClient({ ...options, mqttClientId: `${idp.user.principalId}-listener` });
  const result = await story.device.login({
    onCode: (code) => approveAtEnterpriseIdp({ verificationUri: code.verificationUri, ...idp.user }, code.userCode),
    signal,
  });
  story.accessToken = await story.device.token();
  const { header, payload } = claimsOf(story.accessToken);
  check(header.alg === "HS256", `the token is signed ${String(header.alg)}, not HS256`);
  check(payload.aud === issuer.clientId && Array.isArray(payload.scope), "the token lacks OpenAM's aud and scope claims");
  return `${issuer.clientId} at ${issuer.issuer}; ${idp.user.username} approved; an HS256 token for ${idp.user.principalId} (aud ${String(payload.aud)}, scope ${JSON.stringify(payload.scope)})${result.refreshable ? ", refreshable" : ""}`;
}

/** The TV publishes over HTTPS and MQTT; its listener, subscribed over WebSocket, receives both. */
export async function enterprisePublish(sandbox: Sandbox, story: EnterpriseStory): Promise<string> {
  const topic = ownTopic(sandbox);
  const nonce = randomBytes(4).toString("hex");
  const received: string[] = [];
  let gotBoth: () => void = () => undefined;
  const both = new Promise<void>((resolve) => (gotBoth = resolve));
  story.subscription = await (story.listener as DeviceClient).subscribe(
    topic,
    (t, payload) => {
      const message = JSON.parse(payload.toString("utf8")) as { via: string; nonce: string };
      if (t === topic && message.nonce === nonce) received.push(message.via);
      if (received.length >= 2) gotBoth();
    },
    { transport: "wss" },
  );
  const device = story.device as DeviceClient;
  await device.publish(topic, JSON.stringify({ via: "https", nonce }), { transport: "https" });
  await device.publish(topic, JSON.stringify({ via: "mqtt", nonce }), { transport: "mqtt" });
  await both;
  check(received.sort().join() === "https,mqtt", `the listener received ${JSON.stringify(received)}`);
  return `published to ${topic} over HTTPS and MQTT; ${story.subscription.clientId} received both over WebSocket`;
}

async function refused(publishing: Promise<void>): Promise<string> {
  return publishing.then(
    () => "accepted",
    (err: unknown) => (err instanceof IotDeniedError ? err.detail : `failed: ${(err as Error).message}`),
  );
}

/** Each story's device on the other's topic: refused, both ways. */
export async function refuseEachOther(sandbox: Sandbox, story: EnterpriseStory, cognitoDevice: DeviceClient): Promise<string> {
  const cognitoTopic = `event/${sandbox.user.principalId}/demo`;
  const enterpriseTopic = ownTopic(sandbox);
  const one = await refused((story.device as DeviceClient).publish(cognitoTopic, "{}", { transport: "https" }));
  const other = await refused(cognitoDevice.publish(enterpriseTopic, "{}", { transport: "https" }));
  check(one !== "accepted", `the enterprise TV published to ${cognitoTopic}`);
  check(other !== "accepted", `the Cognito device published to ${enterpriseTopic}`);
  return `enterprise token on ${cognitoTopic}: ${one}; Cognito token on ${enterpriseTopic}: ${other}`;
}

/** The TV's token re-signed with another secret: IoT's signature passes, the authorizer refuses the HMAC. */
export async function refuseAnotherSecret(sandbox: Sandbox, story: EnterpriseStory): Promise<string> {
  const [header, payload] = (story.accessToken as string).split(".");
  const forged = `${header}.${payload}.${createHmac("sha256", randomBytes(32)).update(`${header}.${payload}`).digest("base64url")}`;
  const calls = sandbox.gateway.authorizerInvocations();
  const credentials = { authorizerName: sandbox.authorizerName, tokenKeyName: sandbox.tokenKeyName, token: forged };
  const response = await fetch(`${sandbox.gateway.httpUrl}/topics/${ownTopic(sandbox)}?qos=1`, {
    method: "POST",
    headers: customAuthHeaders({ ...credentials, signature: signToken(forged, sandbox.signingPrivateKeyPem) }),
    body: "{}",
  });
  await response.arrayBuffer();
  check(response.status === 403, `a token signed with another secret answered HTTP ${response.status}`);
  check(sandbox.gateway.authorizerInvocations() === calls + 1, "the authorizer was not the one to refuse it");
  return "HTTP 403 from the authorizer (its signature check of the HS256 token)";
}

/** The dev stack's OpenAM issuer (Pulumi.dev.yaml), which the demo's sandbox stands in for. */
export const DEMO_ISSUERS = [
  {
    issuer: "https://openam.example.com:8443/openam/oauth2",
    algorithms: ["HS256"],
    sharedSecret: true,
    audiences: ["deviceagent"],
    principalPrefix: "openam",
  },
];

/** How the steps reach the demo's story: its sandbox, this story's state, and what the first story made. */
export interface StoryAccess<S> {
  sandbox(story: S): Sandbox;
  state(story: S): EnterpriseStory;
  tokenFile(story: S): string;
  signal(story: S): AbortSignal;
  cognitoDevice(story: S): DeviceClient;
  /** The demo's bound on waiting for the network. */
  within<T>(promise: Promise<T>, what: string): Promise<T>;
  /** The demo's failed-step error, which it reports by its message alone. */
  failure(message: string): Error;
}

/** The steps, in order, each with the name it is reported under. */
export function enterpriseSteps<S>(a: StoryAccess<S>): { name: string; run: (story: S) => Promise<string> }[] {
  const told = (step: Promise<string>) =>
    step.catch((err: unknown) => {
      throw err instanceof EnterpriseStepFailed ? a.failure(err.message) : err;
    });
  const steps: { name: string; run: (story: S) => Promise<string> }[] = [
    {
      name: "The OpenAM walkthrough's story: a TV signs in with the enterprise IdP's device flow and gets an HS256 token",
      run: (s) => a.within(enterpriseSignIn(a.sandbox(s), a.state(s), a.tokenFile(s), a.signal(s)), "the enterprise IdP's device flow"),
    },
    {
      name: "The TV publishes to its own topic over HTTPS (as the walkthrough does) and MQTT; its listener, over WebSocket, receives both",
      run: (s) => a.within(enterprisePublish(a.sandbox(s), a.state(s)), "the enterprise TV's publishes"),
    },
    {
      name: "One gateway, two stories: each device is refused on the other's topic",
      run: (s) => a.within(refuseEachOther(a.sandbox(s), a.state(s), a.cognitoDevice(s)), "the refusals"),
    },
    {
      name: "An HS256 token signed with another secret is refused by the authorizer",
      run: (s) => a.within(refuseAnotherSecret(a.sandbox(s), a.state(s)), "the forged token"),
    },
  ];
  return steps.map(({ name, run }) => ({ name, run: (s: S) => told(run(s)) }));
}
