/**
 * Approving a login without a desktop browser (`npm run sandbox -- approve <user code>`) and a sandbox a phone
 * can reach (`--public-host`): here 127.0.0.2 stands in for the machine's network address (it is not
 * 127.0.0.1, and like it, it stays on this machine).
 */
import net from "node:net";
import { parseCommandLine } from "../../sandbox/index";
import { approveMain } from "../../sandbox/approve";
import { type Sandbox, startSandbox } from "../../sandbox/sandbox";
import { authorizeDevice, pollToken } from "../../support/device-flow";

const PUBLIC = "127.0.0.2";

class Capture {
  text = "";
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

function listensOn(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

describe("a sandbox on --public-host", () => {
  let sandbox: Sandbox;
  const logs: string[] = [];
  beforeAll(async () => {
    sandbox = await startSandbox({
      settings: { pollingIntervalSeconds: 1 },
      ports: { deviceGrant: 0, mqtt: 0, ws: 0, http: 0 },
      publicHost: PUBLIC,
      output: { banner: () => undefined, log: (line) => logs.push(line) },
    });
  });
  afterAll(() => sandbox?.stop());

  test("listens there, names it in every URL, and warns that it is exposed", async () => {
    for (const url of [sandbox.deviceGrantUrl, sandbox.cognitoUrl, sandbox.issuer, sandbox.gateway.mqttUrl, sandbox.gateway.httpUrl]) {
      expect(new URL(url).hostname).toBe(PUBLIC);
    }
    const port = Number(new URL(sandbox.deviceGrantUrl).port);
    expect(await listensOn(PUBLIC, port)).toBe(true);
    expect(sandbox.banner).toContain(`WARNING: --public-host ${PUBLIC}: every service listens on ${PUBLIC}`);
    expect(logs.some((l) => JSON.parse(l).level === "warn" && String(JSON.parse(l).message).includes("anyone who can reach"))).toBe(true);
  });

  test("the device's verification link (its QR code) and the login form use the public address", async () => {
    const authorization = await authorizeDevice(sandbox.deviceGrantUrl, { clientId: sandbox.clientId }, "openid iot/device");
    expect(new URL(authorization.verification_uri_complete).hostname).toBe(PUBLIC);
    const page = await fetch(authorization.verification_uri_complete);
    expect(page.status).toBe(200);
  });

  test("`approve <user code>` approves as the test user from the sandbox file; the device's poll gets tokens", async () => {
    const client = { clientId: sandbox.clientId };
    const authorization = await authorizeDevice(sandbox.deviceGrantUrl, client, "openid iot/device");
    const out = new Capture();
    const err = new Capture();
    const code = await approveMain([authorization.user_code, "--sandbox", sandbox.sandboxFile], "unused", { out, err } as never);
    expect({ code, err: err.text }).toEqual({ code: 0, err: "" });
    expect(out.text).toBe(`Approved ${authorization.user_code} as ${sandbox.user.username}: the device's next poll gets its tokens.\n`);
    const tokens = await pollToken(sandbox.deviceGrantUrl, authorization.device_code, client);
    expect(tokens.status).toBe(200);
    expect(tokens.body.access_token).toEqual(expect.any(String));
  });

  test("`approve` with a code nobody asked for says so and exits 1", async () => {
    const out = new Capture();
    const err = new Capture();
    const code = await approveMain(["BCDF-GHJK", "--sandbox", sandbox.sandboxFile], "unused", { out, err } as never);
    expect(code).toBe(1);
    expect(err.text).toMatch(/^error: the sandbox did not offer to approve BCDF-GHJK: /);
  });

  test("`approve` without a running sandbox's file says where it looked", async () => {
    const err = new Capture();
    const code = await approveMain(["BCDF-GHJK", "--sandbox", "/nonexistent/sandbox.json"], "unused", { out: new Capture(), err } as never);
    expect(code).toBe(1);
    expect(err.text).toContain("no sandbox file at /nonexistent/sandbox.json: is the sandbox running (npm start)?");
  });
});

describe("the command line", () => {
  test("--public-host is an option of npm start, not to be combined with --host", () => {
    expect(parseCommandLine(["--public-host", "192.0.2.10"]).options).toMatchObject({ publicHost: "192.0.2.10" });
    expect(parseCommandLine(["--public-host", "192.0.2.10", "--host", "0.0.0.0"]).problems).toEqual([
      "--host and --public-host cannot be used together (--public-host is where it listens too)",
    ]);
  });
});
