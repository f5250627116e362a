/**
 * The device client's login and token against the real device grant: the Lambda handler behind the local
 * API Gateway server, dynalite, and cognito-local as the IdP, with a scripted user approving in parallel
 * while the client polls. The client's waits are real sleeps except where a test needs the server's
 * clock to move (then `sleep` advances the harness's clock by the same amount instead of waiting).
 */
import { mkdtempSync, promises as fs, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  AccessDeniedError,
  DeviceClient,
  type DeviceClientOptions,
  type DeviceCode,
  ExpiredCodeError,
  LoginError,
  NotLoggedInError,
  TokenFileError,
} from "../../device/client";
import { readTokenFile } from "../../device/token-file";
import { ScriptedUser } from "../../sandbox/scripted-user";
import { approveAsUser, type DeviceAuthorization, type GrantHarness, openConfirmation, startGrant } from "../device-grant/support/grant";

jest.setTimeout(60_000);

let grant: GrantHarness;
let dir: string;

beforeAll(async () => {
  grant = await startGrant();
  dir = mkdtempSync(path.join(os.tmpdir(), "device-login-"));
});
afterAll(async () => {
  await grant?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let fileCounter = 0;
function tokenFile(): string {
  fileCounter++;
  return path.join(dir, `nested-${fileCounter}`, "tokens.json");
}

/** Records every request the client sends (URL and grant type), passing it to the real fetch. */
function recordingFetch(log: string[]): typeof fetch {
  return async (input, init) => {
    const url = String(input);
    const body = new URLSearchParams(String(init?.body ?? ""));
    log.push(`${new URL(url).pathname} ${body.get("grant_type") ?? ""}`.trim());
    return fetch(input, init);
  };
}

function asAuthorization(code: DeviceCode): DeviceAuthorization {
  return {
    device_code: "",
    user_code: code.userCode,
    verification_uri: code.verificationUri,
    verification_uri_complete: code.verificationUriComplete as string,
    expires_in: code.expiresIn,
    interval: code.interval,
  };
}

function client(options: Partial<DeviceClientOptions> = {}): DeviceClient {
  return new DeviceClient({ baseUrl: grant.url, clientId: grant.publicClient.clientId, tokenFile: tokenFile(), ...options });
}

/** Starts `login` and resolves with the code it showed, plus the login's own promise. */
function startLogin(device: DeviceClient, extra: Partial<Parameters<DeviceClient["login"]>[0]> = {}) {
  let shown: (code: DeviceCode) => void = () => undefined;
  const code = new Promise<DeviceCode>((resolve) => {
    shown = resolve;
  });
  const login = device.login({ onCode: (c) => shown(c), ...extra });
  // Surface a login failing before the code is shown.
  login.catch(() => shown({} as DeviceCode));
  return { code, login };
}

test("a public client logs in while the user approves: tokens in a 0600 file, waiting the interval before every poll", async () => {
  const requests: string[] = [];
  const sleeps: number[] = [];
  const device = client({
    fetch: recordingFetch(requests),
    sleep: async (ms, signal) => {
      sleeps.push(ms);
      requests.push(`sleep ${ms}`);
      await new Promise((resolve) => setTimeout(resolve, ms));
      signal?.throwIfAborted();
    },
  });
  const { code, login } = startLogin(device);
  const shown = await code;
  expect(shown.userCode).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
  expect(shown.verificationUri).toBe(`${grant.url}/device`);
  expect(shown.verificationUriComplete).toBe(`${grant.url}/device?user_code=${encodeURIComponent(shown.userCode)}`);
  expect(shown.interval).toBe(1);
  expect(shown.expiresIn).toBe(grant.config.settings.codeExpirySeconds);

  // The user approves while the device is polling.
  const done = await approveAsUser(grant, asAuthorization(shown));
  expect(done.status).toBe(200);
  const result = await login;
  expect(result.refreshable).toBe(true);

  // The device authorization first, then a wait before every poll (the first included).
  expect(requests[0]).toBe("/oauth2/device_authorization");
  const polls = requests.slice(1);
  expect(polls.length).toBeGreaterThanOrEqual(2);
  for (let i = 0; i < polls.length; i += 2) {
    expect(polls[i]).toBe("sleep 1000");
    expect(polls[i + 1]).toBe("/oauth2/token urn:ietf:params:oauth:grant-type:device_code");
  }
  expect(sleeps.every((ms) => ms === 1000)).toBe(true);

  const stat = statSync(device.tokenFile);
  expect(stat.mode & 0o777).toBe(0o600);
  expect(statSync(path.dirname(device.tokenFile)).mode & 0o777).toBe(0o700);
  const stored = await readTokenFile(device.tokenFile);
  expect(stored?.clientId).toBe(grant.publicClient.clientId);
  expect(stored?.tokenEndpoint).toBe(`${grant.url}/oauth2/token`);
  expect(typeof stored?.refreshToken).toBe("string");
  const claims = JSON.parse(Buffer.from((stored?.accessToken as string).split(".")[1], "base64url").toString()) as {
    sub: string;
    exp: number;
    client_id: string;
  };
  expect(claims.sub).toBe(grant.userSub);
  expect(claims.client_id).toBe(grant.publicClient.clientId);
  // expires_in became an absolute time, in the future and no later than the token's own exp (cognito-local
  // answers expires_in 3600 for tokens whose exp is a day away: the shorter one is kept).
  expect(stored?.expiresAt).toBeGreaterThan(Date.now() + 60_000);
  expect(stored?.expiresAt).toBeLessThanOrEqual(claims.exp * 1000);
  expect(result.expiresAt).toBe(stored?.expiresAt);

  // token() returns the stored token without asking the server.
  requests.length = 0;
  expect(await device.token()).toBe(stored?.accessToken);
  expect(requests).toEqual([]);
});

test("a confidential client logs in with client_secret_basic", async () => {
  const device = client({ clientId: grant.confidentialClient.clientId, clientSecret: grant.confidentialClient.clientSecret });
  const { code, login } = startLogin(device);
  await approveAsUser(grant, asAuthorization(await code));
  await login;
  const stored = await readTokenFile(device.tokenFile);
  const claims = JSON.parse(Buffer.from((stored?.accessToken as string).split(".")[1], "base64url").toString()) as { client_id: string };
  expect(claims.client_id).toBe(grant.confidentialClient.clientId);
  expect(grant.logger.text).not.toContain(grant.confidentialClient.clientSecret as string);
});

test("a confidential client without its secret is told so, before any code is shown", async () => {
  const onCode = jest.fn();
  await expect(client({ clientId: grant.confidentialClient.clientId }).login({ onCode })).rejects.toMatchObject({
    error: "invalid_client",
    message: expect.stringContaining("needs its secret"),
  });
  expect(onCode).not.toHaveBeenCalled();
  await expect(client({ clientId: "no-such-client" }).login({ onCode })).rejects.toBeInstanceOf(LoginError);
});

test("the user denies: access_denied, and no token file is written", async () => {
  const device = client();
  const { code, login } = startLogin(device);
  const user = new ScriptedUser();
  const confirmation = await openConfirmation(user, asAuthorization(await code));
  const denied = await user.submit(confirmation, {}, { submitter: "deny" });
  expect(denied.status).toBe(200);
  await expect(login).rejects.toBeInstanceOf(AccessDeniedError);
  await expect(login).rejects.toMatchObject({ error: "access_denied" });
  await expect(fs.stat(device.tokenFile)).rejects.toMatchObject({ code: "ENOENT" });
});

test("the code expires at the server: expired_token ends the polling", async () => {
  const device = client({
    sleep: async () => {
      // The server's clock jumps past the code's lifetime while the device waits.
      grant.clock.advance(grant.config.settings.codeExpirySeconds + 1);
    },
  });
  try {
    await expect(device.login({ onCode: () => undefined })).rejects.toBeInstanceOf(ExpiredCodeError);
  } finally {
    grant.clock.offsetMs = 0;
  }
});

test("the code expires by the device's own clock: it stops polling without asking the server", async () => {
  const requests: string[] = [];
  let now = Date.now();
  const device = client({
    fetch: recordingFetch(requests),
    now: () => now,
    sleep: async (ms) => {
      now += ms;
    },
  });
  const { login } = startLogin(device, {
    onCode: (c) => {
      now = c.expiresAt - 1500;
    },
  });
  await expect(login).rejects.toMatchObject({ error: "expired_token" });
  // One poll at expiresAt - 500 ms, none after the deadline.
  expect(requests.filter((r) => r.startsWith("/oauth2/token"))).toHaveLength(1);
});

test("slow_down from the real server: the device adds 5 s to this and every later interval", async () => {
  const waits: number[] = [];
  let shown: DeviceCode | undefined;
  const device = client({
    sleep: async (ms) => {
      waits.push(ms);
      // The device's timer fires early on its second wait (a drifting clock), so the server sees two polls
      // 0.1 s apart and answers slow_down; otherwise the server's clock moves by exactly what the device
      // waited, without the test waiting for it.
      grant.clock.advance(waits.length === 2 ? 0.1 : ms / 1000);
      // The user approves during the fourth wait.
      if (waits.length === 4) await approveAsUser(grant, asAuthorization(shown as DeviceCode));
    },
  });
  try {
    await device.login({
      onCode: (c) => {
        shown = c;
      },
    });
  } finally {
    grant.clock.offsetMs = 0;
  }
  // interval 1, then (early) 1 → slow_down: 6 for this and every later wait, which the server accepts.
  expect(waits).toEqual([1000, 1000, 6000, 6000]);
  expect(typeof (await device.token())).toBe("string");
});

describe("token()", () => {
  async function loggedIn(options: Partial<DeviceClientOptions> = {}): Promise<DeviceClient> {
    const device = client(options);
    const { code, login } = startLogin(device);
    await approveAsUser(grant, asAuthorization(await code));
    await login;
    return device;
  }

  test("before login: NotLoggedInError naming the file", async () => {
    const device = client();
    await expect(device.token()).rejects.toBeInstanceOf(NotLoggedInError);
    await expect(device.token()).rejects.toThrow(device.tokenFile);
  });

  test("refreshes through the device grant's token endpoint when the token expires within 60 s, once for concurrent callers", async () => {
    let now = Date.now();
    const requests: string[] = [];
    const device = await loggedIn({ now: () => now, fetch: recordingFetch(requests) });
    const before = (await readTokenFile(device.tokenFile)) as NonNullable<Awaited<ReturnType<typeof readTokenFile>>>;
    requests.length = 0;

    now = (before.expiresAt as number) - 61_000;
    expect(await device.token()).toBe(before.accessToken);
    expect(requests).toEqual([]);

    now = (before.expiresAt as number) - 59_000;
    const refreshesBefore = grant.upstreamCalls.refreshes;
    const [a, b] = await Promise.all([device.token(), device.token()]);
    expect(a).toBe(b);
    expect(requests).toEqual(["/oauth2/token refresh_token"]);
    expect(grant.upstreamCalls.refreshes).toBe(refreshesBefore + 1);
    const after = (await readTokenFile(device.tokenFile)) as NonNullable<Awaited<ReturnType<typeof readTokenFile>>>;
    expect(after.accessToken).toBe(a);
    expect(after.obtainedAt).toBe(now);
    expect(after.expiresAt).toBeGreaterThan(now + 60_000);
    // The refresh token survives a refresh response (kept or replaced, never lost).
    expect(typeof after.refreshToken).toBe("string");
    expect(statSync(device.tokenFile).mode & 0o777).toBe(0o600);

    // forceRefresh goes to the server even with a fresh token.
    requests.length = 0;
    await device.token({ forceRefresh: true });
    expect(requests).toEqual(["/oauth2/token refresh_token"]);
  });

  test("a refused refresh token asks for a new login", async () => {
    const device = await loggedIn();
    const stored = (await readTokenFile(device.tokenFile)) as NonNullable<Awaited<ReturnType<typeof readTokenFile>>>;
    await fs.writeFile(device.tokenFile, JSON.stringify({ ...stored, refreshToken: "not-a-refresh-token", expiresAt: Date.now() - 1 }), {
      mode: 0o600,
    });
    await expect(device.token()).rejects.toBeInstanceOf(NotLoggedInError);
    await expect(device.token()).rejects.toThrow(/run login again/);
  });

  test("an expired token without a refresh token asks for a new login", async () => {
    const device = await loggedIn();
    const stored = (await readTokenFile(device.tokenFile)) as NonNullable<Awaited<ReturnType<typeof readTokenFile>>>;
    const { refreshToken: _dropped, ...withoutRefresh } = stored;
    await fs.writeFile(device.tokenFile, JSON.stringify({ ...withoutRefresh, expiresAt: Date.now() - 1 }), { mode: 0o600 });
    await expect(device.token()).rejects.toThrow(/has expired and there is no refresh token/);
  });

  test("refuses a token file others can read, and one written for another client", async () => {
    const device = await loggedIn();
    await fs.chmod(device.tokenFile, 0o644);
    await expect(device.token()).rejects.toBeInstanceOf(TokenFileError);
    await expect(device.token()).rejects.toThrow(/chmod 600/);
    await fs.chmod(device.tokenFile, 0o600);
    expect(typeof (await device.token())).toBe("string");

    const other = new DeviceClient({ baseUrl: grant.url, clientId: grant.confidentialClient.clientId, tokenFile: device.tokenFile });
    await expect(other.token()).rejects.toThrow(/holds tokens of client/);
  });
});
