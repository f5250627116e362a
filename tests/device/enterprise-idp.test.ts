/**
 * The device client (the CLI, `npm run device --`) signs in at either of the sandbox's identity providers and
 * uses either token with IoT: `--idp enterprise` (the stack's OpenAM issuer, stood in for: a confidential client,
 * HS256 tokens) and `--idp cognito` (the device grant's user pool), or the enterprise IdP named by its issuer URL
 * (`--issuer`, through its metadata). Each login publishes and subscribes over MQTT, WebSocket and HTTPS on its own
 * topics, and is refused on the other's. Approval goes through `npm run sandbox -- approve [--idp enterprise]`.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import os from "node:os";
import path from "node:path";
import { runCli } from "../../device/cli";
import { approveMain } from "../../sandbox/approve";
import { type Sandbox, startSandbox } from "../../sandbox/sandbox";
import { listen, closeServer } from "../../sandbox/servers";

const SETTINGS = {
  pollingIntervalSeconds: 1,
  grants: [
    { actions: ["iot:Connect"], resources: ["client/{principal}", "client/{principal}-*"] },
    { actions: ["iot:Publish", "iot:Receive"], resources: ["topic/event/{principal}", "topic/event/{principal}/*"] },
    { actions: ["iot:Subscribe"], resources: ["topicfilter/event/{principal}", "topicfilter/event/{principal}/*"] },
  ],
  deviceClients: [{ key: "tv", name: "CLI TV", type: "public", scopes: ["openid", "iot/device"] }],
  issuers: [
    {
      issuer: "https://openam.example.com:8443/openam/oauth2",
      algorithms: ["HS256"],
      sharedSecret: true,
      audiences: ["deviceagent"],
      principalPrefix: "openam",
    },
  ],
};

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
  dir = mkdtempSync(path.join(os.tmpdir(), "device-idp-"));
  sandbox = await startSandbox({ settings: SETTINGS, quiet: true, ports: { deviceGrant: 0, mqtt: 0, ws: 0, http: 0 } });
});
afterAll(async () => {
  await sandbox?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The CLI with this sandbox's file; `who` names the token file (one per login). */
function cli(argv: string[], who: string, signal?: AbortSignal) {
  const io = { stdout: new Capture(), stderr: new Capture(), env: {}, cwd: dir, signal };
  const args = [...argv, "--sandbox", sandbox.sandboxFile, "--token-file", path.join(dir, `${who}.json`)];
  return { io, exit: runCli(args, io) };
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 20));
}

async function login(idpFlags: string[], who: string, approveIdp: string[]): Promise<void> {
  const run = cli(["login", "--no-qr", ...idpFlags], who);
  await until(() => /and enter the code: \S+/.test(run.io.stdout.text) || run.io.stderr.text !== "");
  const userCode = /and enter the code: (\S+)/.exec(run.io.stdout.text)?.[1] as string;
  const approval = { out: new Capture(), err: new Capture() };
  expect(await approveMain([userCode, ...approveIdp, "--sandbox", sandbox.sandboxFile], sandbox.sandboxFile, approval as never)).toBe(0);
  expect({ exit: await run.exit, stderr: run.io.stderr.text }).toEqual({ exit: 0, stderr: "" });
  expect(statSync(path.join(dir, `${who}.json`)).mode & 0o777).toBe(0o600);
}

const LOGINS = [
  { who: "enterprise", flags: ["--idp", "enterprise"], approve: ["--idp", "enterprise"], alg: "HS256" },
  { who: "cognito", flags: ["--idp", "cognito"], approve: [], alg: "RS256" },
];

function principalOf(who: string): string {
  return sandbox.idps.find((i) => i.key === who)?.principalId as string;
}

beforeAll(async () => {
  await Promise.all(LOGINS.map((l) => login(l.flags, l.who, l.approve)));
});

test.each(LOGINS)("--idp $who: the token is its issuer's ($alg)", async ({ who, flags, alg }) => {
  const token = cli(["token", ...flags], who);
  expect(await token.exit).toBe(0);
  const [header, payload] = token.io.stdout.text
    .trim()
    .split(".")
    .slice(0, 2)
    .map((p) => JSON.parse(Buffer.from(p, "base64url").toString("utf8")) as Record<string, unknown>);
  expect(header.alg).toBe(alg);
  expect(payload.iss).toBe(sandbox.idps.find((i) => i.key === who)?.issuer);
});

describe.each(LOGINS)("--idp $who", ({ who, flags }) => {
  test.each([
    { subscribeOver: "mqtt", publishOver: "https" },
    { subscribeOver: "wss", publishOver: "mqtt" },
    { subscribeOver: "mqtt", publishOver: "wss" },
  ])("subscribes over $subscribeOver and receives what it publishes over $publishOver", async ({ subscribeOver, publishOver }) => {
    const principal = principalOf(who);
    const subscriber = cli(["subscribe", `event/${principal}/#`, "--transport", subscribeOver, "--count", "1", ...flags], who);
    await until(() => subscriber.io.stderr.text.includes("Subscribed") || /error/.test(subscriber.io.stderr.text));
    expect(subscriber.io.stderr.text).toContain(`as client ${principal}-`);
    const publish = cli(
      ["publish", `event/${principal}/cli`, `from ${who} over ${publishOver}`, "--transport", publishOver, ...flags],
      who,
    );
    expect({ exit: await publish.exit, stderr: publish.io.stderr.text }).toEqual({ exit: 0, stderr: "" });
    expect(await subscriber.exit).toBe(0);
    expect(subscriber.io.stdout.text).toBe(`event/${principal}/cli from ${who} over ${publishOver}\n`);
  });

  test("is refused on the other IdP's user's topic", async () => {
    const other = principalOf(who === "enterprise" ? "cognito" : "enterprise");
    const publish = cli(["publish", `event/${other}/cli`, "x", "--transport", "https", ...flags], who);
    expect(await publish.exit).toBe(1);
    expect(publish.io.stderr.text).toMatch(/IoT refused the publish over https/);
  });
});

test("--issuer: the enterprise IdP by its issuer URL, its endpoints from its metadata", async () => {
  const issuer = sandbox.enterpriseIdp?.issuers[0].issuer as string;
  await login(["--issuer", issuer], "by-issuer", ["--idp", "enterprise"]);
  const publish = cli(["publish", "event/openamdemo/issuer", "x", "--transport", "https", "--issuer", issuer], "by-issuer");
  expect({ exit: await publish.exit, stderr: publish.io.stderr.text }).toEqual({ exit: 0, stderr: "" });
});

describe("refusals", () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    // An IdP whose metadata names another issuer, and one with no metadata at all.
    server = createServer((req, res) => {
      if (req.url === "/liar/.well-known/openid-configuration") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify({ issuer: "https://elsewhere.example", device_authorization_endpoint: `${url}/d`, token_endpoint: `${url}/t` }),
        );
      } else res.writeHead(404).end();
    });
    url = `http://127.0.0.1:${await listen(server, 0, "127.0.0.1")}`;
  });
  afterAll(() => closeServer(server));

  async function failure(argv: string[]): Promise<{ exit: number; stderr: string }> {
    const io = { stdout: new Capture(), stderr: new Capture(), env: {}, cwd: dir };
    return { exit: await runCli(argv, io), stderr: io.stderr.text };
  }

  test("metadata of another issuer, or none, is refused before anything is sent", async () => {
    const base = ["token", "--client-id", "deviceagent", "--token-file", path.join(dir, "none.json")];
    expect(await failure([...base, "--issuer", `${url}/liar`])).toEqual({
      exit: 1,
      stderr: expect.stringContaining(`is for issuer "https://elsewhere.example", not ${url}/liar: refusing it`),
    });
    expect(await failure([...base, "--issuer", `${url}/nothing`])).toEqual({
      exit: 1,
      stderr: expect.stringContaining(`The IdP ${url}/nothing publishes no metadata`),
    });
  });

  test("an unknown --idp names the sandbox's; --idp needs a sandbox file; --issuer and --base-url are one too many", async () => {
    const unknown = cli(["token", "--idp", "okta"], "x");
    expect(await unknown.exit).toBe(1);
    expect(unknown.io.stderr.text).toMatch(
      /has no identity provider "okta"; it has enterprise \(http:\/\/127\.0\.0\.1:\d+\/openam\/oauth2\), cognito/,
    );
    expect((await failure(["token", "--idp", "enterprise"])).stderr).toContain(
      "--idp picks an identity provider of a sandbox: give --sandbox too",
    );
    expect((await failure(["token", "--issuer", `${url}/x`, "--base-url", url, "--client-id", "c"])).stderr).toContain(
      "--issuer and --base-url name two servers: give one",
    );
  });
});
