/**
 * The sandbox trusts what the stack trusts, end to end, with independent clients only: openid-client and
 * oauth4webapi run the enterprise IdP's device flow (and openid-client the device grant's), a scripted user
 * approves at each IdP's own pages, and the `mqtt` package and `fetch` present the tokens to the gateway, whose
 * verdicts are the real authorizer's, configured from the stack's `issuers`: the OpenAM issuer (HS256, shared
 * secret, `aud` deviceagent, prefix `openam`) and an RS256 partner IdP (JWKS, prefix `partner`), each stood in
 * for by the local enterprise IdP, beside the device grant's user pool (prefix `cognito`).
 *
 * - every issuer's user connects, subscribes and publishes on their own topics (MQTT 3.1.1 and 5 over TCP and
 *   WebSocket, HTTPS), and is refused on the others';
 * - an HS256 token signed with another secret is refused by the authorizer (`signature-invalid`);
 * - two users of the same name (`alice` at OpenAM and at the partner; a user whose `sub` is the pool user's)
 *   get distinct principals and can never act as each other;
 * - a refresh through the enterprise IdP gives a new token that works.
 */
import { createHmac } from "node:crypto";
import { connectAsync, type IClientOptions, type MqttClient } from "mqtt";
import { customAuthHeaders, customAuthMqttUsername, customAuthQuery, signToken } from "../../functions/authorizer/custom-auth";
import { approveAtEnterpriseIdp } from "../../sandbox/enterprise-approve";
import { type IdpIssuer } from "../../sandbox/enterprise-idp";
import { loadOauth4webapi, loadOpenidClient } from "../../sandbox/esm";
import { type Sandbox, startSandbox } from "../../sandbox/sandbox";
import { approve, openConfirmation, ScriptedUser } from "../../sandbox/scripted-user";

const OPENAM = "https://openam.example.com:8443/openam/oauth2";
const PARTNER = "https://partner.example.com/oauth2";
const SETTINGS = {
  pollingIntervalSeconds: 1,
  grants: [
    { actions: ["iot:Connect"], resources: ["client/{principal}", "client/{principal}-*"] },
    { actions: ["iot:Publish", "iot:Receive"], resources: ["topic/event/{principal}", "topic/event/{principal}/*"] },
    { actions: ["iot:Subscribe"], resources: ["topicfilter/event/{principal}", "topicfilter/event/{principal}/*"] },
  ],
  deviceClients: [{ key: "tv", name: "Two-issuer TV", type: "public", scopes: ["openid", "iot/device"] }],
  issuers: [
    { issuer: OPENAM, algorithms: ["HS256"], sharedSecret: true, audiences: ["deviceagent"], principalPrefix: "openam" },
    { issuer: PARTNER, algorithms: ["RS256"], jwksUri: `${PARTNER}/jwks`, audiences: ["partnertv"], principalPrefix: "partner" },
  ],
};

const ALICE = { username: "alice", password: "alice-password-1", sub: "alice" };

let sandbox: Sandbox;
const logs: string[] = [];
/** Each user's access token and principal id, by who they are. */
const users: Record<string, { token: string; principal: string; refreshToken?: string }> = {};

function issuer(key: "enterprise" | "enterprise2"): IdpIssuer {
  return sandbox.enterpriseIdp?.issuers.find((i) => i.key === key) as IdpIssuer;
}

/** The enterprise IdP's device flow with oauth4webapi: discovery, device authorization, approval, one token request. */
async function enterpriseLogin(at: IdpIssuer, user: { username: string; password: string }) {
  const oauth = loadOauth4webapi();
  const insecure = { [oauth.allowInsecureRequests]: true };
  const as = await oauth.processDiscoveryResponse(new URL(at.issuer), await oauth.discoveryRequest(new URL(at.issuer), insecure));
  const client = { client_id: at.clientId };
  const auth = oauth.ClientSecretPost(at.clientSecret);
  const started = await oauth.deviceAuthorizationRequest(as, client, auth, new URLSearchParams({ scope: "mail cn" }), insecure);
  const authorization = await oauth.processDeviceAuthorizationResponse(as, client, started);
  await approveAtEnterpriseIdp({ verificationUri: authorization.verification_uri, ...user }, authorization.user_code);
  const answer = await oauth.deviceCodeGrantRequest(as, client, auth, authorization.device_code, insecure);
  return oauth.processDeviceCodeResponse(as, client, answer);
}

/** The device grant's flow with openid-client, the pool's test user approving. */
async function poolLogin(): Promise<string> {
  const client = loadOpenidClient();
  const config = await client.discovery(new URL(sandbox.deviceGrantUrl), sandbox.clientId, undefined, client.None(), {
    algorithm: "oauth2",
    execute: [client.allowInsecureRequests],
  });
  const authorization = await client.initiateDeviceAuthorization(config, { scope: "openid iot/device" });
  const polling = client.pollDeviceAuthorizationGrant(config, authorization);
  const user = new ScriptedUser();
  const confirmation = await openConfirmation(user, { verification_uri_complete: authorization.verification_uri_complete as string });
  const callbackUrl = await user.signInAtCognito(await approve(user, confirmation), sandbox.user.username, sandbox.user.password);
  expect((await user.get(callbackUrl)).status).toBe(200);
  return (await polling).access_token;
}

beforeAll(async () => {
  sandbox = await startSandbox({
    settings: SETTINGS,
    ports: { deviceGrant: 0, mqtt: 0, ws: 0, http: 0 },
    output: { banner: () => undefined, log: (line) => logs.push(line) },
  });
  const idp = sandbox.enterpriseIdp;
  if (!idp) throw new Error("the sandbox started no enterprise IdP");
  idp.idp.addUser(ALICE);
  // A user of the enterprise IdP whose `sub` is the pool user's: the same name, at another IdP.
  idp.idp.addUser({ username: "pool-twin", password: "pool-twin-password-1", sub: sandbox.user.sub });

  // openid-client, with its own polling, for OpenAM's demo user: the token and a refresh token.
  const client = loadOpenidClient();
  const openam = issuer("enterprise");
  const config = await client.discovery(
    new URL(openam.issuer),
    openam.clientId,
    openam.clientSecret,
    client.ClientSecretPost(openam.clientSecret),
    {
      execute: [client.allowInsecureRequests],
    },
  );
  const authorization = await client.initiateDeviceAuthorization(config, { scope: "mail cn" });
  const polling = client.pollDeviceAuthorizationGrant(config, authorization);
  await approveAtEnterpriseIdp(
    { verificationUri: authorization.verification_uri, username: "demo", password: idp.user.password },
    authorization.user_code,
  );
  const [demo, openamAlice, partnerAlice, twin, pool] = await Promise.all([
    polling,
    enterpriseLogin(openam, ALICE),
    enterpriseLogin(issuer("enterprise2"), ALICE),
    enterpriseLogin(openam, { username: "pool-twin", password: "pool-twin-password-1" }),
    poolLogin(),
  ]);
  users.demo = { token: demo.access_token, principal: "openamdemo", refreshToken: demo.refresh_token };
  users.openamAlice = { token: openamAlice.access_token, principal: "openamalice" };
  users.partnerAlice = { token: partnerAlice.access_token, principal: "partneralice" };
  users.twin = { token: twin.access_token, principal: `openamu${sandbox.user.sub.replace(/-/g, "")}` };
  users.pool = { token: pool, principal: sandbox.user.principalId };
});
afterAll(() => sandbox?.stop());

function credentials(token: string, signature: string | undefined = signToken(token, sandbox.signingPrivateKeyPem)) {
  return { authorizerName: sandbox.authorizerName, tokenKeyName: sandbox.tokenKeyName, token, signature };
}

const transports = [
  { name: "MQTT 3.1.1 over TCP", protocolVersion: 4 as const, ws: false },
  { name: "MQTT 5 over TCP", protocolVersion: 5 as const, ws: false },
  { name: "MQTT 3.1.1 over WebSocket", protocolVersion: 4 as const, ws: true },
  { name: "MQTT 5 over WebSocket", protocolVersion: 5 as const, ws: true },
];

function connect(transport: (typeof transports)[number], clientId: string, token: string): Promise<MqttClient> {
  const options: IClientOptions = { clientId, protocolVersion: transport.protocolVersion, reconnectPeriod: 0, connectTimeout: 10_000 };
  if (transport.ws) return connectAsync(`${sandbox.gateway.wsUrl}?${customAuthQuery(credentials(token))}`, options);
  return connectAsync(sandbox.gateway.mqttUrl, { ...options, username: customAuthMqttUsername(credentials(token)) });
}

function httpPublish(topic: string, token: string, signature?: string): Promise<number> {
  const path = topic.split("/").map(encodeURIComponent).join("/");
  return fetch(`${sandbox.gateway.httpUrl}/topics/${path}?qos=1`, {
    method: "POST",
    headers: customAuthHeaders(credentials(token, signature ?? signToken(token, sandbox.signingPrivateKeyPem))),
    body: "{}",
  }).then(async (r) => (await r.arrayBuffer(), r.status));
}

/** The three issuers' users: OpenAM (HS256), the partner (RS256), the user pool (RS256, cognito-local). */
const WHO = [
  { who: "demo", at: "OpenAM (HS256)" },
  { who: "partnerAlice", at: "the partner IdP (RS256)" },
  { who: "pool", at: "the user pool (RS256)" },
];

test("the tokens are the issuers' own: HS256 with OpenAM's claims, RS256 from the partner's JWKS", () => {
  const claims = (token: string) => JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8")) as Record<string, unknown>;
  const header = (token: string) => JSON.parse(Buffer.from(token.split(".")[0], "base64url").toString("utf8")) as Record<string, unknown>;
  expect(header(users.demo.token)).toMatchObject({ alg: "HS256", typ: "JWT" });
  expect(claims(users.demo.token)).toMatchObject({
    iss: issuer("enterprise").issuer,
    aud: "deviceagent",
    sub: "demo",
    scope: ["mail", "cn"],
  });
  expect(header(users.partnerAlice.token)).toMatchObject({ alg: "RS256" });
  expect(claims(users.partnerAlice.token)).toMatchObject({ iss: issuer("enterprise2").issuer, aud: "partnertv", sub: "alice" });
  expect(issuer("enterprise2").issuer).toMatch(/\/oauth2$/);
  expect(issuer("enterprise").issuer).toMatch(/\/openam\/oauth2$/);
});

describe.each(transports)("$name", (transport) => {
  test.each(WHO)("$at: $who connects, subscribes and publishes on their own topics, and receives it", async ({ who }) => {
    const { token, principal } = users[who];
    const listener = await connect(transport, `${principal}-listener`, token);
    const device = await connect(transport, `${principal}-tv`, token);
    try {
      expect((await listener.subscribeAsync(`event/${principal}/#`, { qos: 1 })).map((g) => g.qos)).toEqual([1]);
      const received = new Promise<string>((resolve) => listener.on("message", (_topic, payload) => resolve(payload.toString())));
      await device.publishAsync(`event/${principal}/status`, who, { qos: 1 });
      expect(await received).toBe(who);
    } finally {
      await Promise.all([listener.endAsync(), device.endAsync()]);
    }
  });

  test.each(WHO)("$at: $who is refused on the other issuers' users' topics and client ids", async ({ who }) => {
    const { token, principal } = users[who];
    const others = WHO.filter((w) => w.who !== who).map((w) => users[w.who].principal);
    const device = await connect(transport, `${principal}-tv`, token);
    try {
      for (const other of others) {
        const refusal = await device.subscribeAsync(`event/${other}/#`, { qos: 1 }).then(
          () => undefined,
          (err: { packet?: { granted?: number[] } }) => err.packet?.granted,
        );
        expect(refusal).toEqual([transport.protocolVersion === 5 ? 0x87 : 128]);
      }
    } finally {
      await device.endAsync();
    }
    for (const other of others) await expect(connect(transport, `${other}-tv`, token)).rejects.toThrow();
  });
});

test.each(WHO)("HTTPS: $at: $who publishes to their own topic (200) and to no other issuer's user's (403)", async ({ who }) => {
  const { token, principal } = users[who];
  expect(await httpPublish(`event/${principal}/status`, token)).toBe(200);
  for (const other of WHO.filter((w) => w.who !== who))
    expect(await httpPublish(`event/${users[other.who].principal}/status`, token)).toBe(403);
});

test("an HS256 token signed with another secret is refused by the authorizer (signature-invalid), over HTTPS and MQTT", async () => {
  const [header, payload] = users.demo.token.split(".");
  const forged = `${header}.${payload}.${createHmac("sha256", Buffer.alloc(32, 7)).update(`${header}.${payload}`).digest("base64url")}`;
  const before = { calls: sandbox.gateway.authorizerInvocations(), lines: logs.length };
  expect(await httpPublish("event/openamdemo/status", forged)).toBe(403);
  await expect(connect(transports[0], "openamdemo-forged", forged)).rejects.toThrow();
  // IoT's own signature (over the token) was right: the authorizer was asked, and refused the HMAC.
  expect(sandbox.gateway.authorizerInvocations() - before.calls).toBe(2);
  const refusals = logs.slice(before.lines).filter((l) => l.includes('"source":"authorizer"') && l.includes('"check":"signature-invalid"'));
  expect(refusals).toHaveLength(2);
  expect(refusals.join("\n")).not.toContain(forged);
});

test("the principal prefixes keep two users of the same name apart, in both directions", async () => {
  // alice at OpenAM and alice at the partner IdP: the same `sub`, two principals.
  expect(await httpPublish("event/openamalice/status", users.openamAlice.token)).toBe(200);
  expect(await httpPublish("event/partneralice/status", users.partnerAlice.token)).toBe(200);
  expect(await httpPublish("event/openamalice/status", users.partnerAlice.token)).toBe(403);
  expect(await httpPublish("event/partneralice/status", users.openamAlice.token)).toBe(403);
  await expect(connect(transports[0], "openamalice", users.partnerAlice.token)).rejects.toThrow();
  await expect(connect(transports[0], "partneralice", users.openamAlice.token)).rejects.toThrow();
  // A user of the enterprise IdP whose `sub` is the pool user's UUID: still not the pool user.
  expect(users.twin.principal).not.toBe(users.pool.principal);
  expect(await httpPublish(`event/${users.twin.principal}/status`, users.twin.token)).toBe(200);
  expect(await httpPublish(`event/${users.pool.principal}/status`, users.twin.token)).toBe(403);
  expect(await httpPublish(`event/${users.twin.principal}/status`, users.pool.token)).toBe(403);
  await expect(connect(transports[0], users.pool.principal, users.twin.token)).rejects.toThrow();
});

test("a refresh through the enterprise IdP (openid-client) gives a new HS256 token that publishes", async () => {
  const client = loadOpenidClient();
  const openam = issuer("enterprise");
  const config = await client.discovery(
    new URL(openam.issuer),
    openam.clientId,
    openam.clientSecret,
    client.ClientSecretPost(openam.clientSecret),
    {
      execute: [client.allowInsecureRequests],
    },
  );
  const refreshed = await client.refreshTokenGrant(config, users.demo.refreshToken as string);
  expect(refreshed.access_token).not.toBe(users.demo.token);
  expect(JSON.parse(Buffer.from(refreshed.access_token.split(".")[1], "base64url").toString("utf8"))).toMatchObject({
    sub: "demo",
    aud: "deviceagent",
    scope: ["mail", "cn"],
  });
  expect(await httpPublish("event/openamdemo/status", refreshed.access_token)).toBe(200);
  // A refresh token is the client's: another client's secret cannot use it.
  const partner = issuer("enterprise2");
  const stranger = await fetch(partner.tokenEndpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "refresh_token",
      refresh_token: users.demo.refreshToken as string,
      client_id: partner.clientId,
      client_secret: partner.clientSecret,
    }),
  });
  expect({ status: stranger.status, error: ((await stranger.json()) as { error: string }).error }).toEqual({
    status: 400,
    error: "invalid_grant",
  });
});
