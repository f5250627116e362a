/**
 * The founding story as printed: sandbox/README.md's "The enterprise IdP: the OpenAM walkthrough, step by step"
 * run block by block in one real bash session (the real `curl`, `openssl` and `node` binaries), against a sandbox
 * started from the dev stack's own file, as `npm start` starts it. The `npm run …` lines run in this process, as
 * tests/device/examples.test.ts runs them. Only what a reader fills in is replaced: the two URLs with this
 * sandbox's (free ports instead of 8082 and 8081), the sandbox file's path, `<user_code>`, `<device_code>` and
 * `<pool principal id>`.
 *
 * The expired-token step cannot wait the hour the README says: this sandbox's enterprise IdP issues access tokens
 * for 10 seconds (`enterpriseIdp.accessTokenLifetimeSeconds`) and its stack file adds `clockToleranceSeconds: 0`,
 * and the test waits until the token's `exp` has passed. The file also polls every second
 * (`pollingIntervalSeconds: 1`, the device CLI's logins). Nothing else differs from `npm start`.
 *
 * Also: the banner's enterprise IdP lines (login, approve, publish) work as printed.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { runCli } from "../../device/cli";
import { approveMain } from "../../sandbox/approve";
import { type Sandbox, startSandbox } from "../../sandbox/sandbox";

const root = path.join(__dirname, "../..");
const sandboxReadme = readFileSync(path.join(root, "sandbox/README.md"), "utf8");
const SECTION = "## The enterprise IdP: the OpenAM walkthrough, step by step";
const TOKEN_LIFETIME_SECONDS = 10;

class Capture {
  text = "";
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

/** A bash session fed one block at a time, as a reader pastes them into one terminal. */
class Shell {
  private out = "";
  private readonly process: ChildProcessWithoutNullStreams;

  constructor(cwd: string, env: NodeJS.ProcessEnv) {
    this.process = spawn("bash", ["--noprofile", "--norc"], { cwd, env });
    this.process.stdout.on("data", (chunk: Buffer) => (this.out += chunk.toString("utf8")));
    this.process.stderr.on("data", (chunk: Buffer) => (this.out += chunk.toString("utf8")));
  }

  /** Runs a block; resolves with what it printed and the status of its last command. */
  async run(block: string): Promise<{ output: string; status: number }> {
    const marker = `__block_${randomBytes(6).toString("hex")}__`;
    const start = this.out.length;
    this.process.stdin.write(`${block}\n__status=$?; echo; echo "${marker} $__status"\n`);
    await until(() => this.out.includes(marker));
    const text = this.out.slice(start);
    const at = text.indexOf(marker);
    return {
      output: text.slice(0, at).trim(),
      status: Number(
        text
          .slice(at + marker.length)
          .trim()
          .split(/\s/)[0],
      ),
    };
  }

  async value(variable: string): Promise<string> {
    return (await this.run(`printf '%s' "$${variable}"`)).output;
  }

  close(): void {
    this.process.stdin.end();
  }
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 20));
}

/** The ```sh blocks of the walkthrough section, in order. */
function walkthroughBlocks(): string[] {
  const section = sandboxReadme.slice(sandboxReadme.indexOf(SECTION), sandboxReadme.indexOf("### Where the stand-in differs"));
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1].trim());
}

/** Splits a command line as sh would for these examples: words, '…' and "…" quoting, a trailing `# comment` dropped. */
function words(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/'([^']*)'|"([^"]*)"|(#.*$)|(\S+)/g)) {
    if (m[3] !== undefined) break;
    out.push(m[1] ?? m[2] ?? m[4]);
  }
  return out;
}

function statusLine(output: string): string {
  return /^HTTP\/1\.1 \d{3}[^\r\n]*/m.exec(output)?.[0].trim() ?? `no status line in: ${output.slice(0, 300)}`;
}

let sandbox: Sandbox;
let dir: string;
let shell: Shell;
const fills: Record<string, string> = {};

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "founding-story-"));
  const stackFile = path.join(dir, "Pulumi.dev.yaml");
  const devStack = readFileSync(path.join(root, "Pulumi.dev.yaml"), "utf8");
  writeFileSync(stackFile, `${devStack}  iot-enterprise-auth:clockToleranceSeconds: 0\n  iot-enterprise-auth:pollingIntervalSeconds: 1\n`);
  sandbox = await startSandbox({
    quiet: true,
    stackFile,
    ports: { deviceGrant: 0, mqtt: 0, ws: 0, http: 0, idp: 0 },
    filesDir: path.join(dir, ".sandbox"),
    enterpriseIdp: { accessTokenLifetimeSeconds: TOKEN_LIFETIME_SECONDS },
  });
  shell = new Shell(dir, { PATH: process.env.PATH, HOME: dir });
  Object.assign(fills, {
    "http://127.0.0.1:8082": sandbox.enterpriseIdp?.idp.url as string,
    "http://127.0.0.1:8081": sandbox.gateway.httpUrl,
    // This sandbox's file (not on the default port, so not named sandbox.json), in `require("./…")` and in flags.
    "./.sandbox/sandbox.json": sandbox.sandboxFile,
    ".sandbox/sandbox.json": sandbox.sandboxFile,
    "<pool principal id>": sandbox.user.principalId,
  });
});
afterAll(async () => {
  shell?.close();
  await sandbox?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function filledIn(text: string): string {
  return Object.entries(fills).reduce((t, [placeholder, value]) => t.replaceAll(placeholder, value), text);
}

/** `npm run device -- …` in this process, with its token file in the test's directory. */
function device(line: string, signal?: AbortSignal) {
  const argv = words(filledIn(line));
  expect(argv.slice(0, 4)).toEqual(["npm", "run", "device", "--"]);
  const io = {
    stdout: new Capture(),
    stderr: new Capture(),
    env: { DEVICE_TOKEN_FILE: path.join(dir, "device-tokens.json") },
    cwd: dir,
    signal,
  };
  return { io, exit: runCli(argv.slice(4), io) };
}

/** `npm run sandbox -- approve …` in this process; the default sandbox file is this sandbox's. */
async function approve(line: string): Promise<void> {
  const argv = words(filledIn(line));
  expect(argv.slice(0, 5)).toEqual(["npm", "run", "sandbox", "--", "approve"]);
  const io = { out: new Capture(), err: new Capture() };
  const exit = await approveMain(argv.slice(5), sandbox.sandboxFile, io as never);
  expect({ exit, err: io.err.text }).toEqual({ exit: 0, err: "" });
}

/** Signs a device in with a printed `login` line, approving its code with the printed approve line. */
async function login(loginLine: string, approveLine: string): Promise<void> {
  const run = device(loginLine);
  await until(() => /and enter the code: \S+/.test(run.io.stdout.text) || run.io.stderr.text.length > 0);
  const userCode = /and enter the code: (\S+)/.exec(run.io.stdout.text)?.[1] as string;
  await approve(approveLine.replace(/<user[ _]code>/, userCode));
  expect({ exit: await run.exit, stderr: run.io.stderr.text }).toEqual({ exit: 0, stderr: "" });
}

test("the OpenAM walkthrough's step 4, as sandbox/README.md prints it: 200 on the own topic, 403 on another's, unsigned and expired", async () => {
  const blocks = walkthroughBlocks();
  expect(blocks).toHaveLength(8);
  const [deviceCodeBlock, approveBlock, tokenAndPublish, watchBlock, othersTopic, unsigned, expired, refreshAndPublish] = blocks;

  // The walkthrough's test client: a second device of demo's, subscribed before the publish.
  const [loginLine, subscribeLine] = watchBlock.split("\n");
  await login(loginLine, approveBlock);
  const stop = new AbortController();
  const subscriber = device(subscribeLine, stop.signal);
  await until(() => subscriber.io.stderr.text.includes("Subscribed") || subscriber.io.stderr.text.includes("error"));
  expect(subscriber.io.stderr.text).toContain("as client openamdemo-");

  // Device code (curl), approval (the printed approve line), token (the draft grant type), signature, publish.
  const started = await shell.run(filledIn(deviceCodeBlock));
  expect(started.status).toBe(0);
  const authorization = JSON.parse(started.output) as { device_code: string; user_code: string; verification_uri: string };
  expect(authorization.verification_uri).toBe(`${sandbox.enterpriseIdp?.issuers[0].issuer}/device`);
  await approve(approveBlock.replace("<user_code>", authorization.user_code));
  const published = await shell.run(filledIn(tokenAndPublish.replace("<device_code>", authorization.device_code)));
  expect(statusLine(published.output)).toBe("HTTP/1.1 200 OK");
  await until(() => subscriber.io.stdout.text.includes("Test message from openam protected device"));
  expect(subscriber.io.stdout.text).toBe("event/openamdemo/customauthtesting Test message from openam protected device\n");

  // The token is the enterprise IdP's: HS256, OpenAM's claims.
  const token = await shell.value("ACCESS_TOKEN");
  const [header, payload] = token
    .split(".")
    .slice(0, 2)
    .map((p) => JSON.parse(Buffer.from(p, "base64url").toString("utf8")));
  expect(header).toMatchObject({ alg: "HS256" });
  expect(payload).toMatchObject({ sub: "demo", aud: "deviceagent", scope: ["mail", "cn"], iss: sandbox.enterpriseIdp?.issuers[0].issuer });

  expect(statusLine((await shell.run(filledIn(othersTopic))).output)).toBe("HTTP/1.1 403 Forbidden");
  expect(statusLine((await shell.run(filledIn(unsigned))).output)).toBe("HTTP/1.1 403 Forbidden");

  // "An hour later": this IdP's tokens live 10 s, the authorizer tolerates no skew.
  await until(() => Date.now() / 1000 > (payload.exp as number) + 1);
  expect(expired).toBe(tokenAndPublish.split("\n").slice(-2).join("\n"));
  expect(statusLine((await shell.run(filledIn(expired))).output)).toBe("HTTP/1.1 403 Forbidden");

  const refreshed = await shell.run(filledIn(refreshAndPublish));
  expect(statusLine(refreshed.output)).toBe("HTTP/1.1 200 OK");
  expect(await shell.value("ACCESS_TOKEN")).not.toBe(token);
  await until(() => subscriber.io.stdout.text.split("\n").length > 2);
  stop.abort();
  expect(await subscriber.exit).toBe(0);
  // tokens.json holds a refresh token: owner-only, by the block's umask.
  expect((await shell.run("stat -c %a tokens.json")).output).toBe("600");
});

test("the banner's enterprise IdP lines work as printed", async () => {
  const lines = sandbox.banner
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.startsWith("npm run ") && l.includes("--idp enterprise"));
  expect(lines).toHaveLength(3);
  // It describes the enterprise IdP and its test user, and prints none of its secrets.
  const idp = sandbox.enterpriseIdp;
  expect(sandbox.banner).toContain(`${idp?.issuers[0].issuer}  (HS256, standing in for https://openam.example.com:8443/openam/oauth2)`);
  expect(sandbox.banner).toContain(`demo  password ${idp?.user.password}  principal id openamdemo`);
  expect(sandbox.banner).toContain(`POST ${idp?.issuers[0].issuer}/device/code, then POST ${idp?.issuers[0].issuer}/access_token`);
  expect(sandbox.banner).not.toContain(idp?.issuers[0].clientSecret);
  expect(sandbox.banner).not.toContain(idp?.sharedSecret);
  const [loginLine, approveLine, publishLine] = lines;
  await login(loginLine, approveLine);
  const publish = device(publishLine);
  expect({ exit: await publish.exit, stderr: publish.io.stderr.text }).toEqual({ exit: 0, stderr: "" });
  expect(publish.io.stdout.text).toBe("Published to event/openamdemo/hello over https (acknowledged).\n");
});
