/**
 * The device CLI against the whole local sandbox (`startSandbox`, what `npm start` runs), configured by
 * nothing but `--sandbox sandbox.json`, as the sandbox's banner tells a developer to do: login (a scripted
 * user approves at the sandbox's cognito-local), token, subscribe and publish with the default MQTT client
 * id, which must carry the pool's principal prefix to pass the policy.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { runCli } from "../../device/cli";
import { type Sandbox, startSandbox } from "../../sandbox/sandbox";
import { ScriptedUser } from "../../sandbox/scripted-user";
import { approve, openConfirmation } from "../device-grant/support/grant";

jest.setTimeout(60_000);

class Capture {
  text = "";
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

let sandbox: Sandbox;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "device-sandbox-"));
  sandbox = await startSandbox({
    settings: { pollingIntervalSeconds: 1 },
    quiet: true,
    ports: { deviceGrant: 0, mqtt: 0, ws: 0, http: 0 },
  });
});
afterAll(async () => {
  await sandbox?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function run(argv: string[]) {
  const io = { stdout: new Capture(), stderr: new Capture(), env: {}, cwd: dir };
  const args = [...argv, "--sandbox", sandbox.sandboxFile, "--token-file", path.join(dir, "tokens.json")];
  return { io, exit: runCli(args, io) };
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 20));
}

test("login, token, subscribe and publish with --sandbox alone", async () => {
  const login = run(["login"]);
  await until(() => /and enter the code: \S+/.test(login.io.stdout.text));
  const [, verificationUri, userCode] = /Or open (\S+)\nand enter the code: (\S+)/.exec(login.io.stdout.text) as RegExpExecArray;
  expect(verificationUri).toBe(`${sandbox.deviceGrantUrl}/device`);
  const user = new ScriptedUser();
  const confirmation = await openConfirmation(user, {
    device_code: "",
    user_code: userCode,
    verification_uri: verificationUri,
    verification_uri_complete: `${verificationUri}?user_code=${encodeURIComponent(userCode)}`,
    expires_in: 0,
    interval: 1,
  });
  const callback = await user.signInAtCognito(await approve(user, confirmation), sandbox.user.username, sandbox.user.password);
  expect((await user.get(callback)).status).toBe(200);
  expect(await login.exit).toBe(0);
  expect(login.io.stderr.text).toBe("");
  expect(statSync(path.join(dir, "tokens.json")).mode & 0o777).toBe(0o600);

  const token = run(["token"]);
  expect(await token.exit).toBe(0);
  expect(token.io.stdout.text.trim().split(".")).toHaveLength(3);

  const topic = `devices/${sandbox.user.principalId}/hello`;
  const subscribe = run(["subscribe", `devices/${sandbox.user.principalId}/#`, "--count", "2", "--transport", "wss"]);
  await until(() => subscribe.io.stderr.text.includes("Subscribed") || subscribe.io.stderr.text.includes("error"));
  expect(subscribe.io.stderr.text).toContain(`as client ${sandbox.user.principalId}-`);
  for (const transport of ["mqtt", "https"]) {
    const publish = run(["publish", topic, `hello over ${transport}`, "--transport", transport]);
    expect(await publish.exit).toBe(0);
  }
  expect(await subscribe.exit).toBe(0);
  expect(subscribe.io.stdout.text).toBe(`${topic} hello over mqtt\n${topic} hello over https\n`);

  const refused = run(["publish", "devices/someoneelse/hello", "x"]);
  expect(await refused.exit).toBe(1);
  expect(refused.io.stderr.text).toMatch(/^error: IoT refused the publish over mqtt/);
});
