/**
 * The device CLI: argument parsing, exit codes, where each setting comes from (flags > DEVICE_* variables >
 * a stack output or sandbox file), and `login` then `token` end to end against the real device grant with
 * a scripted user reading the code from the CLI's own output.
 */
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { runCli, USAGE } from "../../device/cli";
import { parseArgs, UsageError } from "../../device/cli-args";
import { type ConfigError, resolveSettings } from "../../device/config";
import { formatRemaining, showDeviceCode } from "../../device/terminal";
import { approveAsUser, type GrantHarness, startGrant } from "../device-grant/support/grant";

jest.setTimeout(60_000);

let dir: string;
let keyFile: string;
let keyPem: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "device-cli-"));
  keyPem = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }) as string;
  keyFile = path.join(dir, "signing.pem");
  writeFileSync(keyFile, keyPem, { mode: 0o600 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

class Capture {
  text = "";
  constructor(readonly isTTY = false) {}
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

function io(env: NodeJS.ProcessEnv = {}) {
  return { stdout: new Capture(), stderr: new Capture(), env, cwd: dir };
}

describe("arguments", () => {
  test("flags with a value (spaced or =), booleans, positionals and --", () => {
    const args = parseArgs(["publish", "--transport", "https", "a/b", "--qos=0", "--retain", "--", "--not-a-flag"]);
    expect(args).toEqual({
      command: "publish",
      positionals: ["a/b", "--not-a-flag"],
      values: { transport: "https", qos: "0" },
      booleans: new Set(["retain"]),
    });
    expect(parseArgs(["publish", "t", "-"]).positionals).toEqual(["t", "-"]);
  });

  test.each([
    [["login", "--bogus"], "unknown option --bogus"],
    [["login", "--base-url"], "--base-url needs a value"],
    [["login", "--retain=yes"], "--retain takes no value"],
    [["login", "--client-id", "a", "--client-id", "b"], "--client-id is given twice"],
  ])("%j is a usage error", (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(new UsageError(message));
  });

  test("help prints the usage to stdout with 0; no command prints it to stderr with 2", async () => {
    const ok = io();
    expect(await runCli(["help"], ok)).toBe(0);
    expect(ok.stdout.text).toBe(USAGE);
    const alsoOk = io();
    expect(await runCli(["--help"], alsoOk)).toBe(0);
    const bad = io();
    expect(await runCli([], bad)).toBe(2);
    expect(bad.stderr.text).toContain("Usage: npm run device");
  });

  test.each([
    [["fly"], /unknown command "fly"/],
    [["publish", "only-topic"], /publish needs <topic> <message>/],
    [["publish", "t", "hello", "world"], /quote a message with spaces/],
    [["publish", "t", "m", "--transport", "carrier-pigeon"], /--transport must be one of mqtt, wss, https/],
    [["subscribe", "t/#", "--transport", "https"], /--transport must be one of mqtt, wss/],
    [["subscribe", "t/#", "--count", "0"], /--count must be a positive whole number/],
    [["login", "extra"], /login takes no arguments/],
    [["login", "--transport", "mqtt"], /--transport does not apply to login/],
    [["token", "--count", "2"], /--count does not apply to token/],
    [["--bogus"], /unknown option --bogus/],
  ])("%j exits 2 with a clear message", async (argv, message) => {
    const run = io({
      DEVICE_BASE_URL: "http://127.0.0.1:9",
      DEVICE_CLIENT_ID: "tv",
      DEVICE_AUTHORIZER_NAME: "a",
      DEVICE_IOT_ENDPOINT: "example-ats.iot.eu-west-1.amazonaws.com",
    });
    expect(await runCli(argv, run)).toBe(2);
    expect(run.stderr.text).toMatch(message);
    expect(run.stdout.text).toBe("");
  });

  test("missing settings are all reported at once, with the flag and variable for each, exit 1", async () => {
    const run = io();
    expect(await runCli(["publish", "t", "m", "--transport", "https"], run)).toBe(1);
    expect(run.stderr.text).toContain("--base-url or DEVICE_BASE_URL");
    expect(run.stderr.text).toContain("--client-id or DEVICE_CLIENT_ID");
    expect(run.stderr.text).toContain("--authorizer-name or DEVICE_AUTHORIZER_NAME");
    expect(run.stderr.text).toContain("--http-url or DEVICE_HTTP_URL");
    expect(run.stderr.text).not.toContain("DEVICE_MQTT_URL");
  });
});

test("an unreachable device grant service: exit 1 naming it and the reason", async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  const run = io({ DEVICE_BASE_URL: `http://127.0.0.1:${port}`, DEVICE_CLIENT_ID: "tv" });
  expect(await runCli(["login", "--token-file", path.join(dir, "never.json")], run)).toBe(1);
  expect(run.stderr.text).toBe(
    `error: Cannot reach the device grant service at http://127.0.0.1:${port}/oauth2/device_authorization: fetch failed: ECONNREFUSED\n`,
  );
});

describe("settings: flags > environment > file", () => {
  const stackOutput = () => {
    const file = path.join(dir, "stack.json");
    writeFileSync(
      file,
      JSON.stringify({
        authorizerName: "stack-authorizer",
        tokenKeyName: "token",
        dataEndpoint: "abc123-ats.iot.eu-west-1.amazonaws.com",
        deviceAuthorizationEndpoint: "https://grant.example.com/oauth2/device_authorization",
        deviceTokenEndpoint: "https://grant.example.com/oauth2/token",
        deviceClientIds: { tv: "tv-client-id" },
        deviceClientSecrets: {},
        userPoolPrincipalPrefix: "cognito",
        privateKeyPem: keyPem,
        publicKeyPem: "-----BEGIN PUBLIC KEY-----…",
      }),
    );
    return file;
  };

  test("a stack output alone: its endpoints, the only device client, the AWS data endpoint on 443, its signing key", () => {
    const { options, sources } = resolveSettings({ stackOutput: stackOutput() }, {}, dir, ["clientId", "authorizerName"]);
    expect(options).toMatchObject({
      deviceAuthorizationEndpoint: "https://grant.example.com/oauth2/device_authorization",
      tokenEndpoint: "https://grant.example.com/oauth2/token",
      clientId: "tv-client-id",
      authorizerName: "stack-authorizer",
      tokenKeyName: "token",
      principalPrefix: "cognito",
      signingKeyPem: keyPem,
      iotEndpoint: {
        mqttUrl: "mqtts://abc123-ats.iot.eu-west-1.amazonaws.com:443",
        wsUrl: "wss://abc123-ats.iot.eu-west-1.amazonaws.com:443/mqtt",
        httpUrl: "https://abc123-ats.iot.eu-west-1.amazonaws.com:443",
      },
    });
    expect(options.clientSecret).toBeUndefined();
    expect(sources.clientId).toBe("stack output");
  });

  test("the environment beats the file and flags beat both, field by field", () => {
    const env = {
      DEVICE_STACK_OUTPUT: stackOutput(),
      DEVICE_CLIENT_ID: "env-client",
      DEVICE_AUTHORIZER_NAME: "env-authorizer",
      DEVICE_BASE_URL: "http://127.0.0.1:4000/",
    };
    const { options, sources } = resolveSettings({ authorizerName: "flag-authorizer", mqttUrl: "mqtt://127.0.0.1:1883" }, env, dir, []);
    expect(options.authorizerName).toBe("flag-authorizer");
    expect(sources.authorizerName).toBe("flags");
    expect(options.clientId).toBe("env-client");
    expect(sources.clientId).toBe("environment");
    // A base URL in the environment replaces both of the stack's endpoints.
    expect(options.deviceAuthorizationEndpoint).toBe("http://127.0.0.1:4000/oauth2/device_authorization");
    expect(options.tokenEndpoint).toBe("http://127.0.0.1:4000/oauth2/token");
    expect(options.iotEndpoint).toEqual({
      mqttUrl: "mqtt://127.0.0.1:1883",
      wsUrl: "wss://abc123-ats.iot.eu-west-1.amazonaws.com:443/mqtt",
      httpUrl: "https://abc123-ats.iot.eu-west-1.amazonaws.com:443",
    });
    expect(sources.mqttUrl).toBe("flags");
    expect(sources.tokenKeyName).toBe("stack output");
    // A flag naming the signing key file wins over the stack's key; --unsigned drops any key.
    const other = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }) as string;
    const otherFile = path.join(dir, "other.pem");
    writeFileSync(otherFile, other);
    expect(resolveSettings({ signingKey: "other.pem" }, env, dir, []).options.signingKeyPem).toBe(other);
    expect(resolveSettings({}, { ...env, DEVICE_SIGNING_KEY: otherFile }, dir, []).options.signingKeyPem).toBe(other);
    expect(resolveSettings({ signingKey: "other.pem" }, env, dir, [], { unsigned: true }).options.signingKeyPem).toBeUndefined();
  });

  test("hidden secrets, several clients, a bad key file and an unknown scheme are reported together", () => {
    const file = path.join(dir, "hidden.json");
    writeFileSync(
      file,
      JSON.stringify({
        authorizerName: "a",
        deviceAuthorizationEndpoint: "https://g/oauth2/device_authorization",
        deviceTokenEndpoint: "https://g/oauth2/token",
        deviceClientIds: { tv: "tv-id", console: "console-id" },
        deviceClientSecrets: "[secret]",
        privateKeyPem: "[secret]",
      }),
    );
    let error: ConfigError | undefined;
    try {
      resolveSettings({ stackOutput: file, iotEndpoint: "gopher://x" }, {}, dir, ["clientId"]);
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error?.problems).toEqual([
      expect.stringContaining("unknown scheme gopher:"),
      expect.stringContaining("several device clients (tv, console): choose one with --client KEY"),
      expect.stringContaining("--show-secrets"),
    ]);
    // Choosing the confidential client by key: its secret is hidden, which the message explains.
    expect(() => resolveSettings({ stackOutput: file, client: "console" }, {}, dir, ["clientId"])).toThrow(/hides the client secret/);
    expect(() => resolveSettings({ stackOutput: file, client: "radio" }, {}, dir, [])).toThrow(
      /no device client "radio" \(it has tv, console\)/,
    );
    expect(() => resolveSettings({ signingKey: "missing.pem" }, {}, dir, [])).toThrow(/cannot read flags: the signing key missing.pem/);
    writeFileSync(path.join(dir, "not-a-key.txt"), "hello");
    expect(() => resolveSettings({ signingKey: "not-a-key.txt" }, {}, dir, [])).toThrow(/is not a PEM private key/);
    expect(() => resolveSettings({ stackOutput: file, sandbox: file }, {}, dir, [])).toThrow(/give one/);
  });

  test("the sandbox file: the device grant URL, the gateway's URLs, the client and the signing key file beside it", () => {
    const file = path.join(dir, "sandbox.json");
    writeFileSync(
      file,
      JSON.stringify({
        deviceGrantUrl: "http://127.0.0.1:4010",
        mqttUrl: "mqtt://127.0.0.1:1883",
        wsUrl: "ws://127.0.0.1:8080/mqtt",
        httpUrl: "http://127.0.0.1:8443",
        clientId: "sandbox-client",
        authorizerName: "sandbox-authorizer",
        tokenKeyName: "token",
        signingKeyFile: "signing.pem",
      }),
    );
    const { options } = resolveSettings({ sandbox: "sandbox.json" }, {}, dir, ["clientId", "authorizerName", "mqttUrl"]);
    expect(options).toMatchObject({
      deviceAuthorizationEndpoint: "http://127.0.0.1:4010/oauth2/device_authorization",
      tokenEndpoint: "http://127.0.0.1:4010/oauth2/token",
      clientId: "sandbox-client",
      authorizerName: "sandbox-authorizer",
      signingKeyPem: keyPem,
      iotEndpoint: { mqttUrl: "mqtt://127.0.0.1:1883", wsUrl: "ws://127.0.0.1:8080/mqtt", httpUrl: "http://127.0.0.1:8443" },
    });
  });
});

const ESC = String.fromCharCode(27);

describe("the code display", () => {
  const code = {
    userCode: "BCDF-GHJK",
    verificationUri: "http://127.0.0.1:1/device",
    verificationUriComplete: "http://127.0.0.1:1/device?user_code=BCDF-GHJK",
    expiresIn: 900,
    expiresAt: 1_000_000 + 900_000,
    interval: 5,
  };

  test("into a pipe: the QR code, URI, code and expiry once, with no control characters", async () => {
    const out = new Capture(false);
    const display = await showDeviceCode(code, out, { now: () => 1_000_000 });
    display.stop();
    expect(out.text).toContain("Or open http://127.0.0.1:1/device");
    expect(out.text).toContain("and enter the code: BCDF-GHJK");
    expect(out.text).toContain("The code expires in 15:00");
    expect(out.text).toMatch(/[▀▄█]/);
    expect(out.text).not.toContain("\r");
    expect(out.text).not.toContain(ESC);
  });

  test("on a terminal: one line counts down and is cleared at the end", async () => {
    const out = new Capture(true);
    let now = 1_000_000;
    let update: () => void = () => undefined;
    const display = await showDeviceCode(code, out, { now: () => now, tick: (u) => ((update = u), { stop: () => undefined }) });
    expect(out.text).toContain(`${ESC}[47m`);
    now += 61_000;
    update();
    expect(out.text).toContain("\r\x1b[2KWaiting for approval... the code expires in 13:59");
    now += 900_000;
    update();
    expect(out.text).toContain("The code has expired.");
    display.stop();
    expect(out.text.endsWith("\r\x1b[2K")).toBe(true);
    expect(formatRemaining(61_001)).toBe("1:02");
  });
});

describe("against the device grant", () => {
  let grant: GrantHarness;
  beforeAll(async () => {
    grant = await startGrant();
  });
  afterAll(async () => {
    await grant?.stop();
  });

  test("login shows the code and waits for the user, token prints the access token; nothing secret on stderr", async () => {
    const tokenFile = path.join(dir, "cli", "tokens.json");
    const env = { DEVICE_BASE_URL: grant.url, DEVICE_CLIENT_ID: grant.publicClient.clientId };
    const login = io(env);
    const running = runCli(["login", "--token-file", tokenFile], login);
    // The user reads the code from the device's screen.
    let match: RegExpMatchArray | null = null;
    while (!(match = /Or open (\S+)\nand enter the code: (\S+)/.exec(login.stdout.text)))
      await new Promise((resolve) => setTimeout(resolve, 20));
    const [, verificationUri, userCode] = match;
    expect(verificationUri).toBe(`${grant.url}/device`);
    await approveAsUser(grant, {
      device_code: "",
      user_code: userCode,
      verification_uri: verificationUri,
      verification_uri_complete: `${verificationUri}?user_code=${encodeURIComponent(userCode)}`,
      expires_in: 1800,
      interval: 1,
    });
    expect(await running).toBe(0);
    expect(login.stdout.text).toContain(`Logged in. Tokens saved to ${tokenFile}`);
    expect(login.stderr.text).toBe("");
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);

    const token = io(env);
    expect(await runCli(["token", "--token-file", tokenFile], token)).toBe(0);
    const accessToken = token.stdout.text.trim();
    expect(accessToken.split(".")).toHaveLength(3);
    expect(login.stdout.text).not.toContain(accessToken);

    // A token file for another client: exit 1 with the reason.
    const other = io({ ...env, DEVICE_CLIENT_ID: grant.confidentialClient.clientId });
    expect(await runCli(["token", "--token-file", tokenFile], other)).toBe(1);
    expect(other.stderr.text).toMatch(/^error: The token file .* holds tokens of client/);
  });

  test("an unknown client: login exits 1 with invalid_client", async () => {
    const run = io({ DEVICE_BASE_URL: grant.url, DEVICE_CLIENT_ID: "no-such-client" });
    expect(await runCli(["login", "--token-file", path.join(dir, "x.json"), "--no-qr"], run)).toBe(1);
    expect(run.stderr.text).toMatch(/^error: The device grant service .* refused client no-such-client \(invalid_client/);
  });
});
