/**
 * Every `provision` command line the documentation prints works as printed against `npm start` (the dev stack's
 * settings from Pulumi.dev.yaml, fleet provisioning on): the README's, sandbox/README.md's and the banner's,
 * read out of the documents themselves and run in this process (`runCli`), with only what a reader fills in
 * replaced: the sandbox file's path, the user code the installer approves, and the serial number, which is the
 * device's own (each run provisions a new one: a thing name is provisioned once). The first run signs the
 * installer in (approved as the test user, an installer); the next ones use the stored installer tokens.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { runCli, USAGE } from "../../device/cli";
import { approveMain } from "../../sandbox/approve";
import { type Sandbox, startSandbox } from "../../sandbox/sandbox";
import { until } from "./sandbox-support";

const root = path.join(__dirname, "../..");
const readme = readFileSync(path.join(root, "README.md"), "utf8");
const sandboxReadme = readFileSync(path.join(root, "sandbox/README.md"), "utf8");

class Capture {
  text = "";
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

let sandbox: Sandbox;
let dir: string;
let serial = 700_000;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "provision-examples-"));
  sandbox = await startSandbox({
    quiet: true,
    ports: { deviceGrant: 0, mqtt: 0, mqtts: 0, ws: 0, http: 0 },
    filesDir: path.join(dir, ".sandbox"),
  });
});
afterAll(async () => {
  await sandbox?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The `npm run device -- provision` lines of a text, as printed. */
function provisionLines(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.startsWith("npm run device -- provision "));
}

/** A documented line as argv after `npm run device --`, with the reader's values: the sandbox file and a new serial. */
function argvOf(line: string): { argv: string[]; thing: string } {
  const thing = `AB-${serial++}`;
  const words = line
    .replace(/\s+#.*$/, "")
    .split(/\s+/)
    .slice(4);
  const file = (w: string) => w === ".sandbox/sandbox.json" || w === sandbox.sandboxFile;
  return { argv: words.map((w) => (file(w) ? sandbox.sandboxFile : w === "AB-123456" ? thing : w)), thing };
}

async function provisionAsDocumented(line: string): Promise<void> {
  const { argv, thing } = argvOf(line);
  expect(argv[0]).toBe("provision");
  const io = { stdout: new Capture(), stderr: new Capture(), env: { XDG_CONFIG_HOME: dir }, cwd: dir };
  const exit = runCli([...argv, "--no-qr"], io);
  const settled = exit.then(() => true);
  let done = false;
  void settled.then(() => (done = true));
  await until(() => done || /and enter the code: \S+/.test(io.stdout.text));
  const userCode = /and enter the code: (\S+)/.exec(io.stdout.text)?.[1];
  if (userCode !== undefined) {
    expect(
      await approveMain([userCode, "--sandbox", sandbox.sandboxFile], sandbox.sandboxFile, {
        out: new Capture(),
        err: new Capture(),
      } as never),
    ).toBe(0);
  }
  expect({ line, exit: await exit, stderr: io.stderr.text }).toEqual({ line, exit: 0, stderr: "" });
  expect(io.stdout.text).toContain(`published to devices/${thing}/hello`);
  const key = path.join(dir, "iot-enterprise-auth", "things", thing, "private.pem.key");
  expect(statSync(key).mode & 0o777).toBe(0o600);
  expect(io.stdout.text).not.toContain("PRIVATE KEY");
}

test("the README's and sandbox/README.md's provision lines work as printed; the second uses the stored installer tokens", async () => {
  const lines = [...provisionLines(readme), ...provisionLines(sandboxReadme)];
  expect(lines.length).toBeGreaterThanOrEqual(2);
  for (const line of lines) await provisionAsDocumented(line);
  expect(readme).toContain("pulumi stack output --json > stack.json && npm run device -- provision AB-123456 --stack-output stack.json");
});

test("the banner's provision line works as printed, and help describes the command", async () => {
  const [line] = provisionLines(sandbox.banner);
  expect(line).toBe(`npm run device -- provision AB-123456 --sandbox ${sandbox.sandboxFile}`);
  await provisionAsDocumented(line);
  expect(USAGE).toMatch(/provision <thingName>/);
});
