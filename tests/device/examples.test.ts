/**
 * Every command line the documentation prints works as printed against `npm start`: the README's quick
 * start and its token-signing example, sandbox/README.md's approve line, `npm run device -- help`'s examples
 * and the sandbox banner's next commands. They are read out of the documents themselves, and run against a
 * sandbox started as `npm start` starts it (the dev stack's settings from Pulumi.dev.yaml), with only what a
 * reader fills in replaced: the sandbox file's path, `<principal>` and `<user code>`.
 */
import { execFile } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { runCli, USAGE } from "../../device/cli";
import { approveMain } from "../../sandbox/approve";
import { type Sandbox, startSandbox } from "../../sandbox/sandbox";

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

/** Splits a command line as sh would for these examples: words, '…' and "…" quoting, a trailing `# comment` dropped. */
function words(line: string): string[] {
  const out: string[] = [];
  const pattern = /'([^']*)'|"([^"]*)"|(#.*$)|(\S+)/g;
  for (const m of line.matchAll(pattern)) {
    if (m[3] !== undefined) break;
    out.push(m[1] ?? m[2] ?? m[4]);
  }
  return out;
}

/** The `npm run …` lines of a text, in order. */
function commandLines(text: string, prefix: string): string[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.startsWith(prefix));
}

/** The fenced code block that follows `heading` in the README. */
function blockAfter(text: string, heading: string): string {
  const start = text.indexOf("```sh", text.indexOf(heading));
  return text.slice(text.indexOf("\n", start) + 1, text.indexOf("```", start + 5));
}

let sandbox: Sandbox;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "examples-"));
  // What `npm start` runs, on free ports: the dev stack's settings (Pulumi.dev.yaml), files in a directory of its own.
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

/** A documented command with what the reader fills in filled in. */
function filledIn(line: string): string[] {
  return words(
    line
      .replaceAll(".sandbox/sandbox.json", sandbox.sandboxFile)
      .replaceAll("<your principal id>", sandbox.user.principalId)
      .replaceAll("<principal>", sandbox.user.principalId),
  );
}

/** Runs `npm run device -- …` in this process, with the token file in the test's directory. */
function device(argv: string[], signal?: AbortSignal) {
  const io = { stdout: new Capture(), stderr: new Capture(), env: { DEVICE_TOKEN_FILE: path.join(dir, "tokens.json") }, cwd: dir, signal };
  return { io, exit: runCli(argv, io) };
}

const afterNpmRun = (argv: string[], script: string) => {
  expect(argv.slice(0, 4)).toEqual(["npm", "run", script, "--"]);
  return argv.slice(4);
};

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 20));
}

test("the README's quick start, with the approve line of sandbox/README.md, works as printed", async () => {
  const quickStart = commandLines(blockAfter(readme, "The banner prints every URL"), "npm run ");
  expect(quickStart).toHaveLength(4);
  const [loginLine, approveLine, subscribeLine, publishLine] = quickStart;
  expect(commandLines(sandboxReadme, "npm run sandbox -- approve")[0]).toMatch(/^npm run sandbox -- approve <user code>/);

  const login = device(afterNpmRun(filledIn(loginLine), "device"));
  await until(() => /and enter the code: \S+/.test(login.io.stdout.text) || login.io.stderr.text.length > 0);
  const userCode = /and enter the code: (\S+)/.exec(login.io.stdout.text)?.[1] as string;
  const approveArgs = afterNpmRun(filledIn(approveLine.replace("<user code>", userCode)), "sandbox");
  const approveOut = { out: new Capture(), err: new Capture() };
  // `npm run sandbox -- approve` reads .sandbox/sandbox.json by default: here, this sandbox's file.
  expect(await approveMain(approveArgs.slice(1), sandbox.sandboxFile, approveOut as never)).toBe(0);
  expect(await login.exit).toBe(0);

  const stop = new AbortController();
  const subscribe = device(afterNpmRun(filledIn(subscribeLine), "device"), stop.signal);
  await until(() => /subscribed|listening/i.test(subscribe.io.stderr.text + subscribe.io.stdout.text));
  const publish = device(afterNpmRun(filledIn(publishLine), "device"));
  expect({ exit: await publish.exit, stderr: publish.io.stderr.text }).toEqual({ exit: 0, stderr: expect.any(String) });
  await until(() => subscribe.io.stdout.text.includes('{"hello":"world"}'));
  stop.abort(); // Ctrl-C
  await subscribe.exit;
  expect(subscribe.io.stdout.text).toContain(`event/${sandbox.user.principalId}/hello {"hello":"world"}`);
});

test("`npm run device -- help`'s examples work as printed (the stack-output one needs a deployed stack)", async () => {
  const examples = commandLines(USAGE.slice(USAGE.indexOf("Examples")), "npm run device --");
  expect(examples).toHaveLength(2);
  for (const line of examples) {
    const run = device(afterNpmRun(filledIn(line), "device"));
    if (line.includes(" login ")) {
      await until(() => /and enter the code: \S+/.test(run.io.stdout.text));
      const userCode = /and enter the code: (\S+)/.exec(run.io.stdout.text)?.[1] as string;
      expect(await approveMain([userCode], sandbox.sandboxFile, { out: new Capture(), err: new Capture() } as never)).toBe(0);
    }
    expect({ line, exit: await run.exit, stderr: run.io.stderr.text }).toEqual({ line, exit: 0, stderr: run.io.stderr.text });
  }
  expect(USAGE).toContain("pulumi stack output --json --show-secrets > stack.json && npm run device -- login --stack-output stack.json");
});

test("the README's token-signing example (openssl and curl) works as printed against the sandbox's HTTP publish", async () => {
  const token = device(["token", "--sandbox", sandbox.sandboxFile]);
  expect(await token.exit).toBe(0);
  writeFileSync(path.join(dir, "access_token"), token.io.stdout.text.trim());
  copyFileSync(sandbox.signingKeyFile, path.join(dir, "authorizer-signing.pem"));
  const script = blockAfter(readme, "## How a device signs its token");
  const env = {
    ...process.env,
    IOT_HTTP: sandbox.gateway.httpUrl,
    AUTHORIZER: sandbox.authorizerName,
    PRINCIPAL: sandbox.user.principalId,
  };
  const { stdout } = await promisify(execFile)("bash", ["-euo", "pipefail", "-c", script], { cwd: dir, env });
  expect(JSON.parse(stdout)).toMatchObject({ message: "OK" });
});

test("the banner's next commands work as printed", async () => {
  // The enterprise IdP's lines sign in elsewhere (tests/device/founding-story.test.ts runs them), and `provision`
  // lines are run by tests/fleet-provisioning/examples.test.ts.
  const lines = commandLines(sandbox.banner, "npm run device --").filter(
    (l) => !l.includes(" login ") && !l.includes("--idp") && !l.includes(" provision "),
  );
  expect(lines).toHaveLength(2);
  const [subscribeLine, publishLine] = lines;
  const stop = new AbortController();
  const subscribe = device(afterNpmRun(words(subscribeLine), "device"), stop.signal);
  await until(() => /subscribed|listening/i.test(subscribe.io.stderr.text + subscribe.io.stdout.text));
  const publish = device(afterNpmRun(words(publishLine), "device"));
  expect(await publish.exit).toBe(0);
  await until(() => subscribe.io.stdout.text.includes('{"hello":"world"}'));
  stop.abort();
  await subscribe.exit;
});
