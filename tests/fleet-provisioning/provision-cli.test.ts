/**
 * `npm run device -- provision` (device/provision-command.ts) run in process: where it finds its settings (flags
 * over `DEVICE_*` variables over the stack output or sandbox file), what it refuses as usage, and the same
 * command against a "deployed stack": the JSON of `pulumi stack output --json` (secrets hidden, as without
 * `--show-secrets`) whose endpoints are the sandbox's, the installer signed in through the stack's device grant
 * with the `installer` app client.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { runCli } from "../../device/cli";
import { ConfigError } from "../../device/config";
import { resolveProvisionSettings } from "../../device/provision-config";
import { approveUserCode } from "../../sandbox/approve";
import { type Sandbox } from "../../sandbox/sandbox";
import { startFleetSandbox, until } from "./sandbox-support";

class Capture {
  text = "";
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

let dir: string;
let sandbox: Sandbox;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "provision-cli-"));
  ({ sandbox } = await startFleetSandbox());
});
afterAll(async () => {
  await sandbox?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function stackOutput(overrides: Record<string, unknown> = {}): string {
  const file = path.join(dir, `stack-${randomBytes(4).toString("hex")}.json`);
  const output = {
    deviceAuthorizationEndpoint: `${sandbox.deviceGrantUrl}/oauth2/device_authorization`,
    deviceTokenEndpoint: `${sandbox.deviceGrantUrl}/oauth2/token`,
    deviceClientIds: { tv: sandbox.clientId, installer: sandbox.provisioning?.installerClientId },
    deviceClientSecrets: "[secret]",
    privateKeyPem: "[secret]",
    claimEndpoint: sandbox.provisioning?.claimUrl,
    provisioningTemplateName: sandbox.provisioning?.templateName,
    dataEndpoint: new URL(sandbox.provisioning?.mqttsUrl as string).host,
    ...overrides,
  };
  writeFileSync(file, JSON.stringify(output));
  return file;
}

function cli(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const io = { stdout: new Capture(), stderr: new Capture(), env: { XDG_CONFIG_HOME: dir, ...env }, cwd: dir };
  return { io, exit: runCli(argv, io) };
}

describe("settings", () => {
  test("from a stack output: the claim endpoint, the template, the data endpoint on 8883, the installer app", () => {
    const file = stackOutput({ dataEndpoint: "abc123-ats.iot.eu-west-1.amazonaws.com" });
    expect(resolveProvisionSettings({ "stack-output": file }, { XDG_CONFIG_HOME: dir }, dir)).toEqual({
      claimUrl: sandbox.provisioning?.claimUrl,
      templateName: sandbox.provisioning?.templateName,
      mqttsUrl: "mqtts://abc123-ats.iot.eu-west-1.amazonaws.com:8883",
      installerClientId: sandbox.provisioning?.installerClientId,
      installerTokenFile: path.join(dir, "iot-enterprise-auth", "installer-token.json"),
    });
    expect(resolveProvisionSettings({ "stack-output": file, "installer-client": "tv" }, {}, dir).installerClientId).toBe(sandbox.clientId);
  });

  test("flags over DEVICE_* variables over the file; everything missing is named at once", () => {
    const env = { DEVICE_SANDBOX: sandbox.sandboxFile, DEVICE_TEMPLATE_NAME: "from-env", DEVICE_CLAIM_URL: "https://env.example.test/c" };
    const settings = resolveProvisionSettings({ "claim-url": "https://flag.example.test/c", "installer-token": "t" }, env, dir);
    expect(settings).toMatchObject({
      claimUrl: "https://flag.example.test/c",
      templateName: "from-env",
      installerToken: "t",
      caFile: sandbox.provisioning?.caFile,
    });
    let error: unknown;
    try {
      resolveProvisionSettings({}, {}, dir);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toHaveLength(4);
  });
});

describe("usage", () => {
  test.each([
    [["provision"], /provision needs <thingName>/],
    [["publish", "t", "m", "--csr"], /--csr does not apply to publish/],
    [
      ["provision", "AB-123456", "--parameters", "nope", "--installer-token", "t", "--sandbox", "SANDBOX"],
      /--parameters must be a JSON object/,
    ],
  ])("%j is a usage error (exit 2)", async (argv, message) => {
    const run = cli(argv.map((a) => (a === "SANDBOX" ? sandbox.sandboxFile : a)));
    expect(await run.exit).toBe(2);
    expect(run.io.stderr.text).toMatch(message);
  });

  test("a sandbox without fleet provisioning says so (exit 1)", async () => {
    const file = path.join(dir, "plain.json");
    writeFileSync(file, JSON.stringify({ deviceGrantUrl: sandbox.deviceGrantUrl, clientId: sandbox.clientId }));
    const run = cli(["provision", "AB-123456", "--sandbox", file]);
    expect(await run.exit).toBe(1);
    expect(run.io.stderr.text).toContain("has no fleet provisioning");
  });
});

test("against a stack's outputs (secrets hidden): the installer signs in with the installer app, the device is provisioned", async () => {
  const run = cli([
    "provision",
    "GH-000001",
    "--stack-output",
    stackOutput(),
    "--ca-file",
    sandbox.provisioning?.caFile as string,
    "--no-qr",
  ]);
  await until(() => /and enter the code: \S+/.test(run.io.stdout.text) || run.io.stderr.text !== "");
  const userCode = /and enter the code: (\S+)/.exec(run.io.stdout.text)?.[1] as string;
  await approveUserCode(
    { deviceGrantUrl: sandbox.deviceGrantUrl, username: sandbox.user.username, password: sandbox.user.password },
    userCode,
  );
  expect({ exit: await run.exit, stderr: run.io.stderr.text }).toEqual({ exit: 0, stderr: "" });
  expect(run.io.stdout.text).toContain("published to devices/GH-000001/hello");
  const thingDir = path.join(dir, "iot-enterprise-auth", "things", "GH-000001");
  expect(statSync(thingDir).mode & 0o777).toBe(0o700);
  expect(JSON.parse(readFileSync(path.join(thingDir, "thing.json"), "utf8"))).toMatchObject({
    thingName: "GH-000001",
    deviceConfiguration: { topicRoot: "devices/GH-000001" },
  });

  // Again, with the installer's stored tokens and the device keeping its key (--csr): no code to approve.
  const again = cli([
    "provision",
    "GH-000002",
    "--stack-output",
    stackOutput(),
    "--ca-file",
    sandbox.provisioning?.caFile as string,
    "--csr",
  ]);
  expect({ exit: await again.exit, stderr: again.io.stderr.text }).toEqual({ exit: 0, stderr: "" });
  expect(again.io.stdout.text).toContain("CreateCertificateFromCsr");
  expect(readFileSync(path.join(dir, "iot-enterprise-auth", "things", "GH-000002", "private.pem.key"), "utf8")).toContain(
    "BEGIN PRIVATE KEY",
  );
});
