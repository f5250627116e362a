/**
 * `startSandbox` on free ports: what it announces (banner, sandbox.json, signing key file) matches what
 * answers; settings reach the device grant and the authorizer; a taken port is named with its flag before
 * anything starts; stop() closes every port and removes what it wrote.
 */
import { createPrivateKey, createPublicKey, verify } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { signToken } from "../../functions/authorizer/custom-auth";
import { parseCommandLine } from "../../sandbox/index";
import { DEFAULT_PORTS, PortInUseError, type Sandbox, type SandboxFile, startSandbox } from "../../sandbox/sandbox";
import { ConfigurationError } from "../../functions/shared/problems";

const FREE_PORTS = { deviceGrant: 0, mqtt: 0, ws: 0, http: 0 };
const SETTINGS = {
  codeExpirySeconds: 120,
  pollingIntervalSeconds: 2,
  tokenKeyName: "jwt",
  grants: [
    { actions: ["iot:Connect"], resources: ["client/{principal}"] },
    { actions: ["iot:Publish", "iot:Receive"], resources: ["topic/event/{principal}/*"] },
    { actions: ["iot:Subscribe"], resources: ["topicfilter/event/{principal}/*"] },
  ],
  deviceClients: [{ key: "tv", name: "Test TV", type: "public", scopes: ["openid", "iot/device"] }],
};

async function refused(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });
}

describe("a running sandbox", () => {
  let sandbox: Sandbox;
  const banners: string[] = [];
  const logs: string[] = [];
  let userCode = "";
  let deviceCode = "";

  beforeAll(async () => {
    sandbox = await startSandbox({
      settings: SETTINGS,
      ports: FREE_PORTS,
      output: { banner: (text) => banners.push(text), log: (line) => logs.push(line) },
    });
  });
  afterAll(() => sandbox?.stop());

  it("prints one banner with every URL, the client, the authorizer, the test user and the next commands", () => {
    expect(banners).toEqual([sandbox.banner]);
    const banner = sandbox.banner;
    for (const value of [
      sandbox.deviceGrantUrl,
      `${sandbox.deviceGrantUrl}/device`,
      sandbox.cognitoUrl,
      sandbox.issuer,
      sandbox.dynamoEndpoint,
      sandbox.gateway.mqttUrl,
      sandbox.gateway.wsUrl,
      sandbox.gateway.httpUrl,
      sandbox.clientId,
      "Test TV",
      sandbox.authorizerName,
      `token key "jwt"`,
      sandbox.signingKeyFile,
      sandbox.user.username,
      sandbox.user.password,
      sandbox.user.principalId,
      `event/${sandbox.user.principalId}/*`,
      "npm run device -- login --sandbox ",
      `npm run device -- publish event/${sandbox.user.principalId}/hello`,
      `npm run device -- subscribe 'event/${sandbox.user.principalId}/#'`,
      `--mqtt-client-id ${sandbox.user.principalId}\n`,
      `--client-id ${sandbox.clientId}`,
      "Ctrl-C",
    ]) {
      expect(banner).toContain(value);
    }
    expect(sandbox.user.principalId).toMatch(/^cognito[A-Za-z0-9]+$/);
  });

  it("gives the test user a strong random password", () => {
    expect(sandbox.user.password.length).toBeGreaterThanOrEqual(16);
    expect(sandbox.user.password).toMatch(/[a-z]/);
    expect(sandbox.user.password).toMatch(/[A-Z]/);
    expect(sandbox.user.password).toMatch(/[0-9]/);
  });

  it("writes sandbox.json with what a device needs, readable only by the user", () => {
    const file = JSON.parse(readFileSync(sandbox.sandboxFile, "utf8")) as SandboxFile;
    expect(file).toEqual({
      deviceGrantUrl: sandbox.deviceGrantUrl,
      clientId: sandbox.clientId,
      gateway: { mqttUrl: sandbox.gateway.mqttUrl, wsUrl: sandbox.gateway.wsUrl, httpUrl: sandbox.gateway.httpUrl },
      authorizerName: sandbox.authorizerName,
      tokenKeyName: "jwt",
      signingKeyFile: sandbox.signingKeyFile,
      region: sandbox.region,
      accountId: sandbox.accountId,
      cognitoUrl: sandbox.cognitoUrl,
      username: sandbox.user.username,
      // This start's password of the throwaway test user, for `npm run sandbox -- approve` (issue 10 §3.10).
      password: sandbox.user.password,
      principalId: sandbox.user.principalId,
      principalPrefix: "cognito",
      // Issue 11: every issuer the authorizer trusts; these settings list no stack issuer, so the pool only.
      idps: {
        cognito: expect.objectContaining({
          issuer: sandbox.issuer,
          clientId: sandbox.clientId,
          deviceAuthorizationEndpoint: `${sandbox.deviceGrantUrl}/oauth2/device_authorization`,
          username: sandbox.user.username,
          principalId: sandbox.user.principalId,
          topics: expect.objectContaining({ publishReceive: [`event/${sandbox.user.principalId}/*`] }),
        }),
      },
    });
    expect(statSync(sandbox.sandboxFile).mode & 0o777).toBe(0o600);
  });

  it("writes the signing private key (RSA 2048+, mode 0600) whose public half the gateway checks", async () => {
    expect(readFileSync(sandbox.signingKeyFile, "utf8")).toBe(sandbox.signingPrivateKeyPem);
    expect(statSync(sandbox.signingKeyFile).mode & 0o777).toBe(0o600);
    const key = createPrivateKey(sandbox.signingPrivateKeyPem);
    expect(key.asymmetricKeyType).toBe("rsa");
    expect(key.asymmetricKeyDetails?.modulusLength).toBeGreaterThanOrEqual(2048);
    const signature = signToken("a.b.c", sandbox.signingPrivateKeyPem);
    expect(verify("sha256", Buffer.from("a.b.c"), createPublicKey(key), Buffer.from(signature, "base64"))).toBe(true);

    // A correctly signed but unusable token reaches the authorizer; a wrongly signed one does not.
    const before = { calls: sandbox.gateway.authorizerInvocations(), rejections: sandbox.gateway.signatureRejections() };
    const publish = (signatureValue: string) =>
      fetch(`${sandbox.gateway.httpUrl}/topics/event/x/y`, {
        method: "POST",
        headers: {
          "x-amz-customauthorizer-name": sandbox.authorizerName,
          "x-amz-customauthorizer-signature": signatureValue,
          jwt: "a.b.c",
        },
        body: "{}",
      });
    expect((await publish(signature)).status).toBe(403);
    expect(sandbox.gateway.authorizerInvocations()).toBe(before.calls + 1);
    expect((await publish(signToken("a.b.d", sandbox.signingPrivateKeyPem))).status).not.toBe(200);
    expect(sandbox.gateway.authorizerInvocations()).toBe(before.calls + 1);
    expect(sandbox.gateway.signatureRejections()).toBe(before.rejections + 1);
  });

  it("serves the device grant with the chosen settings, its verification URI on the announced URL", async () => {
    const response = await fetch(`${sandbox.deviceGrantUrl}/oauth2/device_authorization`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ client_id: sandbox.clientId }).toString(),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ verification_uri: `${sandbox.deviceGrantUrl}/device`, expires_in: 120, interval: 2 });
    userCode = body.user_code as string;
    deviceCode = body.device_code as string;
    const metadata = (await (await fetch(`${sandbox.deviceGrantUrl}/.well-known/oauth-authorization-server`)).json()) as Record<
      string,
      unknown
    >;
    expect(metadata.device_authorization_endpoint).toBe(`${sandbox.deviceGrantUrl}/oauth2/device_authorization`);
  });

  it("serves the pool's JWKS at the issuer the authorizer trusts", async () => {
    const jwks = (await (await fetch(`${sandbox.issuer}/.well-known/jwks.json`)).json()) as { keys: unknown[] };
    expect(jwks.keys.length).toBeGreaterThan(0);
    expect(sandbox.issuer).toBe(`${sandbox.cognitoUrl}/${sandbox.poolId}`);
  });

  it("logs JSON lines without codes, tokens or the password", () => {
    expect(logs.length).toBeGreaterThan(0);
    for (const line of logs) expect(() => JSON.parse(line)).not.toThrow();
    const text = logs.join("\n");
    expect(userCode).not.toBe("");
    for (const secret of [userCode, userCode.replace(/-/g, ""), deviceCode, sandbox.user.password, "a.b.c"])
      expect(text).not.toContain(secret);
  });
});

describe("start-up problems", () => {
  it("names every taken port with its flag, and opens none", async () => {
    const holders = await Promise.all(
      [0, 0].map(
        () =>
          new Promise<net.Server>((resolve) => {
            const server = net.createServer();
            server.listen(0, "127.0.0.1", () => resolve(server));
          }),
      ),
    );
    const [mqtt, http] = holders.map((h) => (h.address() as net.AddressInfo).port);
    try {
      const started = startSandbox({ settings: SETTINGS, quiet: true, ports: { ...FREE_PORTS, mqtt, http } });
      await expect(started).rejects.toBeInstanceOf(PortInUseError);
      const err = (await started.catch((e: unknown) => e)) as PortInUseError;
      expect(err.message).toContain(`port ${mqtt} on 127.0.0.1 (IoT gateway MQTT) is in use`);
      expect(err.message).toContain("--mqtt-port <port>");
      expect(err.message).toContain(`port ${http} on 127.0.0.1 (IoT gateway HTTP publish) is in use`);
      expect(err.message).toContain("--http-port <port>");
      expect(err.message).toContain("--port-offset");
      expect(err.ports.map((p) => p.port)).toEqual([mqtt, http]);
    } finally {
      await Promise.all(holders.map((h) => new Promise((resolve) => h.close(resolve))));
    }
  });

  it("lists every settings problem before opening any port", async () => {
    const started = startSandbox({ settings: { codeExpirySeconds: 1, tokenKeyName: "" }, quiet: true, ports: FREE_PORTS });
    const err = (await started.catch((e: unknown) => e)) as ConfigurationError;
    expect(err).toBeInstanceOf(ConfigurationError);
    expect(err.problems).toEqual([expect.stringMatching(/^codeExpirySeconds/), expect.stringMatching(/^tokenKeyName/)]);
  });
});

describe("stop", () => {
  it("closes every port, removes its temporary files, and may be called twice", async () => {
    const sandbox = await startSandbox({ settings: SETTINGS, quiet: true, ports: FREE_PORTS });
    const directory = path.dirname(sandbox.sandboxFile);
    expect(existsSync(sandbox.sandboxFile)).toBe(true);
    const urls = [
      sandbox.deviceGrantUrl,
      sandbox.cognitoUrl,
      sandbox.dynamoEndpoint,
      sandbox.gateway.mqttUrl,
      sandbox.gateway.wsUrl,
      sandbox.gateway.httpUrl,
    ];
    for (const url of urls) expect(await refused(url)).toBe(false);
    await sandbox.stop();
    for (const url of urls) expect(await refused(url)).toBe(true);
    expect(existsSync(directory)).toBe(false);
    await expect(sandbox.stop()).resolves.toBeUndefined();
  });

  it("with a data directory, keeps DynamoDB's data, the signing key and sandbox.json", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "sandbox-data-"));
    try {
      const first = await startSandbox({ settings: SETTINGS, quiet: true, ports: FREE_PORTS, dataDir });
      expect(first.banner).toContain("on disk");
      await first.stop();
      expect(existsSync(path.join(dataDir, "dynamodb"))).toBe(true);
      expect(existsSync(first.signingKeyFile)).toBe(true);
      // Kept, as --help says (issue 10 §3.6): the next start on this directory answers at its addresses.
      expect(existsSync(first.sandboxFile)).toBe(true);
      // The second start finds the table and the key of the first.
      const second = await startSandbox({ settings: SETTINGS, quiet: true, ports: FREE_PORTS, dataDir });
      try {
        expect(second.signingPrivateKeyPem).toBe(first.signingPrivateKeyPem);
        expect(second.signingKeyFile).toBe(first.signingKeyFile);
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe("npm start's command line", () => {
  it("uses the default ports, moved together by --port-offset, and explicit ones as given", () => {
    expect(parseCommandLine([]).options?.ports).toEqual(DEFAULT_PORTS);
    expect(parseCommandLine(["--port-offset", "10", "--mqtt-port", "0"]).options?.ports).toEqual({
      deviceGrant: DEFAULT_PORTS.deviceGrant + 10,
      mqtt: 0,
      mqtts: DEFAULT_PORTS.mqtts + 10,
      ws: DEFAULT_PORTS.ws + 10,
      http: DEFAULT_PORTS.http + 10,
      idp: DEFAULT_PORTS.idp + 10,
    });
  });

  it("keeps the device's files in .sandbox/ unless a data directory is given", () => {
    expect(parseCommandLine([]).options).toMatchObject({ filesDir: expect.stringMatching(/[/\\]\.sandbox$/) });
    expect(parseCommandLine(["--data-dir", "/tmp/x", "--settings", "s.json"]).options).toMatchObject({
      dataDir: "/tmp/x",
      settingsFile: "s.json",
    });
    expect(parseCommandLine(["--data-dir", "/tmp/x"]).options?.filesDir).toBeUndefined();
  });

  it("reports every bad flag", () => {
    expect(parseCommandLine(["--mqtt-port", "x", "--port-offset", "70000", "--settings", "a", "--stack-file", "b"]).problems).toEqual([
      "--settings and --stack-file cannot be used together",
      '--port-offset must be a port number from 0 to 65535; got "70000"',
      '--mqtt-port must be a port number from 0 to 65535; got "x"',
    ]);
    expect(parseCommandLine(["--nope"]).problems).toEqual([expect.stringMatching(/--nope/)]);
    expect(parseCommandLine(["--help"]).help).toBe(true);
  });
});
