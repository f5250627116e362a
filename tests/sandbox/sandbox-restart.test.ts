/**
 * The sandbox as a program that is started and stopped: with `--data-dir` a restart is a restart (the same
 * user pool, app client and user, so a device's stored login keeps working and refreshes), one data directory
 * serves one sandbox at a time (a clear refusal, a stale lock taken over), and two sandboxes sharing
 * `.sandbox/` each own their `sandbox.json`. The device logs in through the real device flow, approved by
 * `approveUserCode` (what `npm run sandbox -- approve` runs).
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import mqtt from "mqtt";
import { customAuthMqttUsername, signToken } from "../../functions/authorizer/custom-auth";
import { approveUserCode } from "../../sandbox/approve";
import { type Sandbox, startSandbox } from "../../sandbox/sandbox";
import { DataDirectoryInUseError, LOCK_FILE, sandboxFileName } from "../../sandbox/sandbox-files";
import { authorizeDevice, pollToken } from "../../support/device-flow";

const FREE_PORTS = { deviceGrant: 0, mqtt: 0, ws: 0, http: 0 };
const SETTINGS = { pollingIntervalSeconds: 1 };

/** A device's login through the device flow, approved as the test user; resolves with the token response. */
async function logIn(sandbox: Sandbox): Promise<Record<string, unknown>> {
  const client = { clientId: sandbox.clientId };
  const authorization = await authorizeDevice(sandbox.deviceGrantUrl, client, "openid iot/device");
  await approveUserCode(
    { deviceGrantUrl: sandbox.deviceGrantUrl, username: sandbox.user.username, password: sandbox.user.password },
    authorization.user_code,
  );
  const answer = await pollToken(sandbox.deviceGrantUrl, authorization.device_code, client);
  expect(answer.status).toBe(200);
  return answer.body;
}

/** Connects to the sandbox's gateway over MQTT with an access token, as a device does; resolves true on CONNACK success. */
async function connects(sandbox: Sandbox, accessToken: string): Promise<boolean> {
  const username = customAuthMqttUsername({
    authorizerName: sandbox.authorizerName,
    tokenKeyName: sandbox.tokenKeyName,
    token: accessToken,
    signature: signToken(accessToken, sandbox.signingPrivateKeyPem),
  });
  const client = mqtt.connect(sandbox.gateway.mqttUrl, { clientId: sandbox.user.principalId, username, reconnectPeriod: 0 });
  const ok = await new Promise<boolean>((resolve) => {
    client.once("connect", () => resolve(true));
    client.once("error", () => resolve(false));
  });
  await client.endAsync(true);
  return ok;
}

async function refresh(sandbox: Sandbox, refreshToken: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${sandbox.deviceGrantUrl}/oauth2/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken, client_id: sandbox.clientId }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("a data directory", () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), "sandbox-restart-"));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  test("keeps the user directory: after a restart the pool, client and user are the same, a stored login connects and refreshes", async () => {
    const first = await startSandbox({ settings: SETTINGS, quiet: true, ports: FREE_PORTS, dataDir });
    let tokens: Record<string, unknown>;
    try {
      tokens = await logIn(first);
      expect(await connects(first, tokens.access_token as string)).toBe(true);
    } finally {
      await first.stop();
    }
    const second = await startSandbox({ settings: SETTINGS, quiet: true, ports: FREE_PORTS, dataDir });
    try {
      expect({ pool: second.poolId, client: second.clientId, sub: second.user.sub, issuer: second.issuer }).toEqual({
        pool: first.poolId,
        client: first.clientId,
        sub: first.user.sub,
        issuer: first.issuer,
      });
      expect(second.user.password).not.toBe(first.user.password); // a new password at every start, the same user
      // The access token stored before the restart still connects, and the refresh token still refreshes.
      expect(await connects(second, tokens.access_token as string)).toBe(true);
      const refreshed = await refresh(second, tokens.refresh_token as string);
      expect(refreshed.status).toBe(200);
      expect(await connects(second, refreshed.body.access_token as string)).toBe(true);
      // The sandbox file of the first start was kept, and the second start's says the same user.
      expect(JSON.parse(readFileSync(second.sandboxFile, "utf8"))).toMatchObject({
        clientId: first.clientId,
        principalId: first.user.principalId,
      });
    } finally {
      await second.stop();
    }
  });

  test("serves one sandbox at a time: a second start on it is refused with a clear message, and leaves the first working", async () => {
    const first = await startSandbox({ settings: SETTINGS, quiet: true, ports: FREE_PORTS, dataDir });
    try {
      const second = startSandbox({ settings: SETTINGS, quiet: true, ports: FREE_PORTS, dataDir });
      await expect(second).rejects.toBeInstanceOf(DataDirectoryInUseError);
      await expect(second).rejects.toThrow(`the data directory ${dataDir} is in use by another sandbox (process ${process.pid}`);
      const tokens = await logIn(first);
      expect(await connects(first, tokens.access_token as string)).toBe(true);
    } finally {
      await first.stop();
    }
    expect(existsSync(path.join(dataDir, LOCK_FILE))).toBe(false);
  });

  test("left locked by a process that was killed is taken over", async () => {
    const child = execFile(process.execPath, ["-e", "setTimeout(() => {}, 60000)"]);
    const pid = child.pid as number;
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
    writeFileSync(path.join(dataDir, LOCK_FILE), JSON.stringify({ pid, host: hostname(), startedAt: "2026-01-01T00:00:00.000Z" }));
    const sandbox = await startSandbox({ settings: SETTINGS, quiet: true, ports: FREE_PORTS, dataDir });
    expect(JSON.parse(readFileSync(path.join(dataDir, LOCK_FILE), "utf8"))).toMatchObject({ pid: process.pid });
    await sandbox.stop();
  });

  test("npm start refuses it with one line and exit 1, not a stack trace", async () => {
    const first = await startSandbox({ settings: SETTINGS, quiet: true, ports: FREE_PORTS, dataDir });
    try {
      const run = promisify(execFile)(
        process.execPath,
        ["-r", "ts-node/register/transpile-only", "sandbox/index.ts", "--data-dir", dataDir, "--port-offset", "3000"],
        { cwd: path.resolve(__dirname, "../.."), env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" } },
      );
      const failure = (await run.then(
        () => undefined,
        (err: unknown) => err,
      )) as { code: number; stderr: string; stdout: string };
      expect(failure.code).toBe(1);
      expect(failure.stderr).toContain(`The sandbox did not start.\nthe data directory ${dataDir} is in use by another sandbox`);
      expect(failure.stderr).not.toMatch(/\n\s+at /);
    } finally {
      await first.stop();
    }
  });
});

describe("two sandboxes sharing .sandbox/", () => {
  test("each writes and removes only its own sandbox file", async () => {
    const filesDir = mkdtempSync(path.join(tmpdir(), "sandbox-files-"));
    try {
      const first = await startSandbox({ settings: SETTINGS, quiet: true, ports: FREE_PORTS, filesDir });
      const second = await startSandbox({ settings: SETTINGS, quiet: true, ports: FREE_PORTS, filesDir });
      expect(second.sandboxFile).not.toBe(first.sandboxFile);
      expect(first.banner).toContain(first.sandboxFile);
      expect(second.banner).toContain(second.sandboxFile);
      expect(JSON.parse(readFileSync(first.sandboxFile, "utf8")).deviceGrantUrl).toBe(first.deviceGrantUrl);
      await second.stop();
      expect(existsSync(second.sandboxFile)).toBe(false);
      expect(JSON.parse(readFileSync(first.sandboxFile, "utf8")).deviceGrantUrl).toBe(first.deviceGrantUrl);
      await first.stop();
      expect(existsSync(first.sandboxFile)).toBe(false);
    } finally {
      rmSync(filesDir, { recursive: true, force: true });
    }
  });

  test("the one on the default port keeps the name sandbox.json; the others are named by their port", () => {
    expect(sandboxFileName(8080, true, false)).toBe("sandbox.json");
    expect(sandboxFileName(8180, false, false)).toBe("sandbox-8180.json");
    expect(sandboxFileName(8180, false, true)).toBe("sandbox.json");
  });
});
