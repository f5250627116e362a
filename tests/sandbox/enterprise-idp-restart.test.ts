/**
 * With a data directory, a restart of the sandbox is a restart of its enterprise IdP too: the same issuer (its
 * port is kept), the same shared secret (one line of base64 in `enterprise-idp/shared-secret`, mode 0600, the
 * form of the stack's `sharedSecret`), the same client secret and keys, and what it stored, so an access token
 * issued before still passes the gateway and a refresh token issued before still refreshes. Without a data
 * directory nothing of it is written to disk.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import jwt from "jsonwebtoken";
import { customAuthHeaders, signToken } from "../../functions/authorizer/custom-auth";
import { approveAtEnterpriseIdp } from "../../sandbox/enterprise-approve";
import { DRAFT_DEVICE_GRANT_TYPE } from "../../sandbox/enterprise-idp-provider";
import { type Sandbox, type SandboxFile, startSandbox } from "../../sandbox/sandbox";

const SETTINGS = {
  pollingIntervalSeconds: 1,
  grants: [
    { actions: ["iot:Connect"], resources: ["client/{principal}", "client/{principal}-*"] },
    { actions: ["iot:Publish", "iot:Receive"], resources: ["topic/event/{principal}/*"] },
    { actions: ["iot:Subscribe"], resources: ["topicfilter/event/{principal}/*"] },
  ],
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
const PORTS = { deviceGrant: 0, mqtt: 0, ws: 0, http: 0 };

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "idp-restart-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function form(url: string, fields: Record<string, string>) {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields),
  }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, string> }));
}

async function signIn(sandbox: Sandbox): Promise<{ access_token: string; refresh_token: string }> {
  const idp = sandbox.enterpriseIdp?.issuers[0];
  if (!idp) throw new Error("no enterprise IdP");
  const client = { client_id: idp.clientId, client_secret: idp.clientSecret };
  const code = await form(idp.deviceAuthorizationEndpoint, { ...client, scope: "mail cn" });
  const user = sandbox.enterpriseIdp?.user as { username: string; password: string };
  await approveAtEnterpriseIdp({ verificationUri: code.body.verification_uri, ...user }, code.body.user_code);
  const tokens = await form(idp.tokenEndpoint, { ...client, grant_type: DRAFT_DEVICE_GRANT_TYPE, code: code.body.device_code });
  expect(tokens.status).toBe(200);
  return tokens.body as { access_token: string; refresh_token: string };
}

function publish(sandbox: Sandbox, token: string): Promise<number> {
  const auth = {
    authorizerName: sandbox.authorizerName,
    tokenKeyName: sandbox.tokenKeyName,
    token,
    signature: signToken(token, sandbox.signingPrivateKeyPem),
  };
  return fetch(`${sandbox.gateway.httpUrl}/topics/event/openamdemo/restart?qos=1`, {
    method: "POST",
    headers: customAuthHeaders(auth),
    body: "{}",
  }).then(async (r) => (await r.arrayBuffer(), r.status));
}

test("a restart keeps the issuer, the shared secret (0600), the client and the stored refresh tokens", async () => {
  const dataDir = path.join(dir, "data");
  const first = await startSandbox({ settings: SETTINGS, quiet: true, ports: PORTS, dataDir });
  let before: { access_token: string; refresh_token: string };
  let issuer: string;
  let clientSecret: string;
  try {
    before = await signIn(first);
    issuer = first.enterpriseIdp?.issuers[0].issuer as string;
    clientSecret = first.enterpriseIdp?.issuers[0].clientSecret as string;
    expect(await publish(first, before.access_token)).toBe(200);
  } finally {
    await first.stop();
  }

  const idpDir = path.join(dataDir, "enterprise-idp");
  const secretFile = path.join(idpDir, "shared-secret");
  const secret = readFileSync(secretFile, "utf8");
  expect(secret).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
  expect(Buffer.from(secret.trim(), "base64")).toHaveLength(32);
  expect(jwt.verify(before.access_token, Buffer.from(secret.trim(), "base64"), { algorithms: ["HS256"] })).toMatchObject({ sub: "demo" });
  for (const file of ["shared-secret", "keys.json", "store.json", "state.json"])
    expect(statSync(path.join(idpDir, file)).mode & 0o777).toBe(0o600);
  expect(statSync(idpDir).mode & 0o777).toBe(0o700);
  // The store holds the refresh token, never in clear in a world-readable place: it is 0600 (above).
  expect(readFileSync(path.join(idpDir, "store.json"), "utf8")).toContain("RefreshToken");

  const second = await startSandbox({ settings: SETTINGS, quiet: true, ports: PORTS, dataDir });
  try {
    expect(second.enterpriseIdp?.issuers[0].issuer).toBe(issuer);
    expect(second.enterpriseIdp?.issuers[0].clientSecret).toBe(clientSecret);
    expect(second.enterpriseIdp?.sharedSecretFile).toBe(secretFile);
    expect(readFileSync(secretFile, "utf8")).toBe(secret);
    const file = JSON.parse(readFileSync(second.sandboxFile, "utf8")) as SandboxFile;
    expect(file.idps.enterprise).toMatchObject({
      issuer,
      clientId: "deviceagent",
      sharedSecretFile: secretFile,
      principalId: "openamdemo",
    });
    // The token issued before the restart still passes; its refresh token still refreshes.
    expect(await publish(second, before.access_token)).toBe(200);
    const idp = second.enterpriseIdp?.issuers[0];
    const refreshed = await form(idp?.tokenEndpoint as string, {
      grant_type: "refresh_token",
      refresh_token: before.refresh_token,
      client_id: "deviceagent",
      client_secret: clientSecret,
    });
    expect(refreshed.status).toBe(200);
    expect(await publish(second, refreshed.body.access_token)).toBe(200);
  } finally {
    await second.stop();
  }
});

test("without a data directory the IdP's secrets live in memory only, new at every start", async () => {
  const filesDir = path.join(dir, "files");
  const a = await startSandbox({ settings: SETTINGS, quiet: true, ports: PORTS, filesDir });
  const b = await startSandbox({ settings: SETTINGS, quiet: true, ports: PORTS, filesDir });
  try {
    expect(a.enterpriseIdp?.sharedSecretFile).toBeUndefined();
    expect(a.enterpriseIdp?.sharedSecret).not.toBe(b.enterpriseIdp?.sharedSecret);
    expect(Buffer.from(a.enterpriseIdp?.sharedSecret as string, "base64")).toHaveLength(32);
    // One sandbox's enterprise token is another's stranger: a different secret and issuer.
    const token = (await signIn(a)).access_token;
    expect(await publish(a, token)).toBe(200);
    expect(await publish(b, token)).toBe(403);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
  expect(readFileSync(path.join(filesDir, "authorizer-signing.pem"), "utf8")).toMatch(/PRIVATE KEY/);
  expect(() => statSync(path.join(filesDir, "enterprise-idp"))).toThrow();
});
