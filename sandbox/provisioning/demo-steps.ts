/**
 * `npm run demo`'s fleet provisioning story (demo.ts runs these after its own steps, against the same sandbox):
 *
 * 1. an installer signs in with the installers' app (device flow, approved at the IdP by a scripted user who is
 *    in the installers' group) and gets a claim for a serial number from the claim route;
 * 2. the device exchanges the claim over MQTT with TLS and the claim certificate: its own certificate and key,
 *    then `RegisterThing` (the real pre-provisioning hook allows it, the template creates the thing);
 * 3. the device connects with its own certificate and publishes on its own topic; another device's topic is
 *    refused (PUBACK 0x87);
 * 4. the same claim exchanged again is rejected (one claim, one device), and a token without `iot/provision`
 *    is refused by the route (403) before the function.
 *
 * Each step throws with what did not hold; demo.ts reports it.
 */
import { readFileSync } from "node:fs";
import { connectWithCertificate, exchangeClaim, type Provisioned, requestClaim, type TlsEndpoint } from "../../device/provision";
import { authorizeDevice, pollToken } from "../../support/device-flow";
import { approveUserCode } from "../approve";
import { type Sandbox } from "../sandbox";

export interface ProvisioningStory {
  installerToken?: string;
  claim?: Awaited<ReturnType<typeof requestClaim>>;
  device?: Provisioned;
}

const SERIAL = "DM-000001";

/** The demo's installers' app and fleet provisioning settings (stack keys), as the dev stack has them. */
export const DEMO_INSTALLER_APP = { key: "installer", name: "Demo installer app", type: "public", scopes: ["openid", "iot/provision"] };
export const DEMO_FLEET_SETTINGS = {
  fleetProvisioningEnabled: true,
  provisioningRequiredGroup: "installers",
  provisioningThingNamePattern: "[A-Z]{2}-[0-9]{6}",
};

function endpoint(sandbox: Sandbox): TlsEndpoint {
  const p = provisioningOf(sandbox);
  return { mqttsUrl: p.mqttsUrl, caPem: readFileSync(p.caFile, "utf8"), timeoutMs: 15_000 };
}

function provisioningOf(sandbox: Sandbox): NonNullable<Sandbox["provisioning"]> {
  if (sandbox.provisioning === undefined) throw new Error("the sandbox runs without fleet provisioning");
  return sandbox.provisioning;
}

/** An access token of `clientId` for the test user, through the device flow approved at the IdP. */
async function tokenFor(sandbox: Sandbox, clientId: string, scope?: string): Promise<string> {
  const authorization = await authorizeDevice(sandbox.deviceGrantUrl, { clientId }, scope);
  await approveUserCode(
    { deviceGrantUrl: sandbox.deviceGrantUrl, username: sandbox.user.username, password: sandbox.user.password },
    authorization.user_code,
  );
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, authorization.interval * 1000));
    const answer = await pollToken(sandbox.deviceGrantUrl, authorization.device_code, { clientId });
    if (answer.status === 200) return answer.body.access_token as string;
    if (answer.body.error !== "authorization_pending" && answer.body.error !== "slow_down")
      throw new Error(`the installer's login ended in ${String(answer.body.error)}`);
  }
}

async function claimAsInstaller(sandbox: Sandbox, story: ProvisioningStory): Promise<string> {
  const p = provisioningOf(sandbox);
  story.installerToken = await tokenFor(sandbox, p.installerClientId);
  story.claim = await requestClaim(p.claimUrl, story.installerToken, SERIAL);
  return `${sandbox.user.username} (group ${p.requiredGroup ?? "none required"}) signed in with the installers' app; claim ${story.claim.certificateId.slice(0, 12)}… for ${SERIAL}, valid until ${story.claim.expiresAt}`;
}

async function exchangeAsDevice(sandbox: Sandbox, story: ProvisioningStory): Promise<string> {
  const p = provisioningOf(sandbox);
  if (story.claim === undefined) throw new Error("no claim");
  story.device = await exchangeClaim(endpoint(sandbox), story.claim, {
    templateName: p.templateName,
    thingName: SERIAL,
    parameters: { ThingName: SERIAL },
  });
  return `${p.mqttsUrl}: CreateKeysAndCertificate accepted, RegisterThing accepted: thing ${story.device.thingName}, topic root ${story.device.deviceConfiguration.topicRoot}`;
}

async function publishAsDevice(sandbox: Sandbox, story: ProvisioningStory): Promise<string> {
  const device = story.device;
  if (device?.privateKey === undefined) throw new Error("no device certificate");
  const client = await connectWithCertificate(
    endpoint(sandbox),
    { certificatePem: device.certificatePem, privateKey: device.privateKey },
    device.thingName,
    5,
  );
  try {
    const own = `${device.deviceConfiguration.topicRoot}/hello`;
    await client.publishAsync(own, JSON.stringify({ hello: "from a provisioned device" }), { qos: 1 });
    const other = "devices/XY-999999/hello";
    const refused = await client.publishAsync(other, "x", { qos: 1 }).then(
      () => "accepted",
      (err: { code?: unknown }) => `PUBACK ${String(err.code)}`,
    );
    if (refused !== "PUBACK 135") throw new Error(`publishing to ${other}: ${refused}, not PUBACK 135`);
    return `connected as ${device.thingName} with its own certificate; published to ${own}; ${other}: PUBACK 135 (0x87, not authorized)`;
  } finally {
    await client.endAsync(true).catch(() => undefined);
  }
}

async function refuseReuseAndScope(sandbox: Sandbox, story: ProvisioningStory): Promise<string> {
  const p = provisioningOf(sandbox);
  if (story.claim === undefined) throw new Error("no claim");
  const again = await exchangeClaim(endpoint(sandbox), story.claim, {
    templateName: p.templateName,
    thingName: SERIAL,
    parameters: { ThingName: SERIAL },
  }).then(
    () => "accepted",
    (err: Error) => err.message,
  );
  if (!/403 AccessDenied/.test(again)) throw new Error(`the second exchange: ${again}`);
  const unscoped = await tokenFor(sandbox, p.installerClientId, "openid");
  const refused = await requestClaim(p.claimUrl, unscoped, "DM-000002").then(
    () => "issued",
    (err: Error) => err.message,
  );
  if (!/HTTP 403/.test(refused)) throw new Error(`a token without ${p.scope}: ${refused}`);
  return `the second exchange of the claim: RegisterThing rejected 403 AccessDenied; a token without ${p.scope}: HTTP 403`;
}

export const PROVISIONING_STEPS: { name: string; run: (sandbox: Sandbox, story: ProvisioningStory) => Promise<string> }[] = [
  {
    name: "Fleet provisioning: an installer signs in with the installers' app and gets a claim for a serial number",
    run: claimAsInstaller,
  },
  { name: "The device exchanges the claim over MQTT/TLS: its own certificate, then RegisterThing through the hook", run: exchangeAsDevice },
  {
    name: "The device connects with its own certificate and publishes on its own topic; another device's is refused",
    run: publishAsDevice,
  },
  { name: "The same claim again is rejected (one claim, one device); a token without iot/provision is refused", run: refuseReuseAndScope },
];
