/**
 * Fleet provisioning by trusted user, end to end through the sandbox (what `npm start` runs for the dev stack),
 * with clients the project did not write: openid-client signs the installer in (device flow, installer app
 * client), `fetch` asks the claim route for a claim, and the `mqtt` package, over TLS with the claim's client
 * certificate, exchanges it through the device provisioning MQTT API; the gateway runs the real
 * pre-provisioning hook and the template, then enforces the template's device policy on the device's own
 * certificate. `openssl` makes a CSR for the path where the device keeps its key.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { type MqttClient } from "mqtt";
import { type Sandbox } from "../../sandbox/sandbox";
import { LocalCa } from "../../sandbox/provisioning/local-ca";
import {
  type Claim,
  connectionOutcome,
  connectWithCertificate,
  deviceFlowToken,
  exchange,
  provisioningCall,
  requestClaim,
  startFleetSandbox,
  subscribeCodes,
  until,
} from "./sandbox-support";

let sandbox: Sandbox;
let logs: string[];
let installerToken: string;
let serial = 100_000;
const clients: MqttClient[] = [];

beforeAll(async () => {
  ({ sandbox, logs } = await startFleetSandbox());
  installerToken = await deviceFlowToken(sandbox, sandbox.provisioning?.installerClientId as string, sandbox.user);
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => undefined)));
});
afterAll(() => sandbox?.stop());

/** A thing name the pattern accepts and no other test uses. */
const nextThing = () => `AB-${serial++}`;

async function claimFor(thingName: string): Promise<Claim> {
  const answer = await requestClaim(sandbox, installerToken, thingName);
  expect(answer.status).toBe(201);
  return answer.body as unknown as Claim;
}

async function provisioned(thingName: string) {
  const { created, registered } = await exchange(sandbox, await claimFor(thingName), thingName);
  expect(created.outcome).toBe("accepted");
  expect(registered).toEqual({ outcome: "accepted", body: { deviceConfiguration: { topicRoot: `devices/${thingName}` }, thingName } });
  return { certificatePem: created.body.certificatePem as string, privateKey: created.body.privateKey as string };
}

test("sandbox.json tells a device where to claim, the template, the TLS endpoint and the CA to trust", () => {
  const file = JSON.parse(readFileSync(sandbox.sandboxFile, "utf8"));
  expect(file.provisioning).toEqual(sandbox.provisioning);
  expect(sandbox.provisioning).toMatchObject({
    claimUrl: `${sandbox.deviceGrantUrl}/provisioning/claims`,
    templateName: "fleet-sandbox",
    mqttsUrl: expect.stringMatching(/^mqtts:\/\/127\.0\.0\.1:\d+$/),
    scope: "iot/provision",
    requiredGroup: "installers",
    topicPrefix: "devices",
  });
  expect(readFileSync(sandbox.provisioning?.caFile as string, "utf8")).toContain("BEGIN CERTIFICATE");
});

test("claim, exchange, provision, then publish and receive on the device's own topic with its own certificate", async () => {
  const thing = nextThing();
  const claim = await claimFor(thing);
  expect(claim).toMatchObject({ thingName: thing, certificateId: expect.stringMatching(/^[0-9a-f]{64}$/) });
  const { created, registered } = await exchange(sandbox, claim, thing);
  expect(created.body).toEqual({
    certificateId: expect.stringMatching(/^[0-9a-f]{64}$/),
    certificatePem: expect.stringContaining("BEGIN CERTIFICATE"),
    privateKey: expect.stringContaining("BEGIN RSA PRIVATE KEY"),
    certificateOwnershipToken: expect.any(String),
  });
  expect(registered?.body).toEqual({ deviceConfiguration: { topicRoot: `devices/${thing}` }, thingName: thing });

  const device = await connectWithCertificate(
    sandbox,
    { certificatePem: created.body.certificatePem as string, privateKey: created.body.privateKey as string },
    thing,
  );
  clients.push(device);
  await device.subscribeAsync(`devices/${thing}/#`, { qos: 1 });
  const received = new Promise<string>((resolve) => device.once("message", (_t, m) => resolve(m.toString())));
  await device.publishAsync(`devices/${thing}/hello`, '{"hello":"world"}', { qos: 1 });
  expect(await received).toBe('{"hello":"world"}');
  // The hook recorded the installer as the owner, and no line of the log carries a key or a token.
  expect(logs.some((l) => l.includes('"decision":"allow"') && l.includes(claim.certificateId))).toBe(true);
  expect(logs.join("\n")).not.toMatch(/PRIVATE KEY|certificateOwnershipToken|eyJ/);
});

test("the device policy: another device's topic is refused, and so is connecting as another thing", async () => {
  const thing = nextThing();
  const own = await provisioned(thing);
  const device = await connectWithCertificate(sandbox, own, thing, { protocolVersion: 5 });
  clients.push(device);
  const other = `devices/${nextThing()}/hello`;
  await expect(device.publishAsync(other, "x", { qos: 1 })).rejects.toMatchObject({ code: 135 });
  const granted = await device.subscribeAsync(other, { qos: 1 }).then(
    (g) => g.map((s) => s.qos),
    (err: { packet?: { granted?: number[] } }) => err.packet?.granted,
  );
  expect(granted).toEqual([135]);
  await device.publishAsync(`devices/${thing}/ok`, "x", { qos: 1 });
  // IsAttached: the certificate is not attached to a thing of another name (and no such thing exists).
  await expect(connectWithCertificate(sandbox, own, nextThing())).rejects.toMatchObject({ code: 5 });
});

test("a second exchange with the same claim is rejected by the hook: one claim, one device", async () => {
  const thing = nextThing();
  const claim = await claimFor(thing);
  expect((await exchange(sandbox, claim, thing)).registered?.outcome).toBe("accepted");
  const again = await exchange(sandbox, claim, thing);
  expect(again.created.outcome).toBe("accepted"); // a certificate can be made; it is never activated
  expect(again.registered).toEqual({
    outcome: "rejected",
    body: { statusCode: 403, errorCode: "AccessDenied", errorMessage: expect.any(String) },
  });
  await expect(connectWithCertificate(sandbox, again.created.body as never, thing)).rejects.toMatchObject({ code: 5 });
});

test("ten simultaneous exchanges of one claim on ten connections provision exactly one device", async () => {
  const thing = nextThing();
  const claim = await claimFor(thing);
  const outcomes = await Promise.all(
    Array.from({ length: 10 }, async (_, i) => {
      const client = await connectWithCertificate(sandbox, claim, `${thing}-${i}`);
      try {
        const created = await provisioningCall(client, "$aws/certificates/create/json", "");
        const body = JSON.stringify({
          certificateOwnershipToken: created.body.certificateOwnershipToken,
          parameters: { ThingName: thing },
        });
        return (await provisioningCall(client, `$aws/provisioning-templates/${sandbox.provisioning?.templateName}/provision/json`, body))
          .outcome;
      } finally {
        await client.endAsync(true);
      }
    }),
  );
  expect(outcomes.filter((o) => o === "accepted")).toHaveLength(1);
});

test("CreateCertificateFromCsr: the device keeps its own key (a CSR from openssl), then connects with it", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "csr-"));
  try {
    const keyFile = path.join(dir, "device.key");
    const { stdout: csr } = await promisify(execFile)("openssl", [
      "req",
      "-new",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      keyFile,
      "-subj",
      "/CN=device",
    ]);
    const thing = nextThing();
    const client = await connectWithCertificate(sandbox, await claimFor(thing), thing);
    clients.push(client);
    const bad = await provisioningCall(
      client,
      "$aws/certificates/create-from-csr/json",
      JSON.stringify({ certificateSigningRequest: "not a csr" }),
    );
    expect(bad).toMatchObject({ outcome: "rejected", body: { statusCode: 400 } });
    const created = await provisioningCall(
      client,
      "$aws/certificates/create-from-csr/json",
      JSON.stringify({ certificateSigningRequest: csr }),
    );
    expect(Object.keys(created.body).sort()).toEqual(["certificateId", "certificateOwnershipToken", "certificatePem"]);
    const body = JSON.stringify({ certificateOwnershipToken: created.body.certificateOwnershipToken, parameters: { ThingName: thing } });
    const registered = await provisioningCall(
      client,
      `$aws/provisioning-templates/${sandbox.provisioning?.templateName}/provision/json`,
      body,
    );
    expect(registered.outcome).toBe("accepted");
    const own = { certificatePem: created.body.certificatePem as string, privateKey: readFileSync(keyFile, "utf8") };
    const device = await connectWithCertificate(sandbox, own, thing);
    clients.push(device);
    await device.publishAsync(`devices/${thing}/hello`, "from my own key", { qos: 1 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a claim may use the provisioning topics of its template only, and answers go to the asking connection only", async () => {
  const thing = nextThing();
  const claim = await claimFor(thing);
  const eavesdropper = await connectWithCertificate(sandbox, await claimFor(nextThing()), "eavesdropper");
  clients.push(eavesdropper);
  const overheard: string[] = [];
  eavesdropper.on("message", (topic) => overheard.push(topic));
  const granted = await subscribeCodes(eavesdropper, [
    "$aws/certificates/create/json/accepted",
    "$aws/provisioning-templates/another/provision/json/accepted",
    "devices/#",
  ]);
  expect(granted).toEqual([1, 128, 128]);

  const { created } = await exchange(sandbox, claim, thing);
  expect(created.outcome).toBe("accepted");
  expect(overheard).toEqual([]);

  const device = await connectWithCertificate(sandbox, claim, thing);
  let closed = false;
  device.on("close", () => (closed = true));
  device.publish(`devices/${thing}/hello`, "a claim is not a device"); // MQTT 3.1.1: IoT ends the connection
  await until(() => closed);
});

test("a certificate another CA signed cannot connect; one pending activation connects to nothing", async () => {
  const stranger = await LocalCa.open();
  const foreign = await stranger.issueWithNewKey(new Date(Date.now() + 60_000));
  expect(await connectionOutcome(sandbox, { certificatePem: foreign.certificatePem, privateKey: foreign.privateKeyPem }, "x")).toBe(
    "closed",
  );
  await until(() => logs.some((l) => l.includes('"reason":"tls-refused"') && l.includes("UNABLE_TO_VERIFY_LEAF_SIGNATURE")));

  const thing = nextThing();
  const client = await connectWithCertificate(sandbox, await claimFor(thing), thing);
  clients.push(client);
  const created = await provisioningCall(client, "$aws/certificates/create/json", "");
  const pending = { certificatePem: created.body.certificatePem as string, privateKey: created.body.privateKey as string };
  expect(await connectionOutcome(sandbox, pending, thing)).toBe("CONNACK 5");
  await until(() => logs.some((l) => l.includes('"reason":"certificate-inactive"')));
});

test("forty claims at once (last: it spends the control plane's rate): IoT's throttling is answered 429 with Retry-After", async () => {
  const answers = await Promise.all(Array.from({ length: 40 }, () => requestClaim(sandbox, installerToken, nextThing())));
  const throttled = answers.filter((a) => a.status === 429);
  expect(answers.every((a) => a.status === 201 || a.status === 429)).toBe(true);
  expect(answers.filter((a) => a.status === 201).length).toBeGreaterThan(0);
  expect(throttled.length).toBeGreaterThan(0);
  expect(throttled[0].body.error).toBe("slow_down");
  expect(throttled[0].headers.get("retry-after")).toBe("2");
});
