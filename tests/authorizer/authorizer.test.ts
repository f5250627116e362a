import { createAuthorizer, type AuthorizerResponse } from "../../functions/authorizer/authorizer";
import { principalIdFor } from "../../functions/authorizer/principal";
import { JwksKeySource } from "../../functions/authorizer/jwks";
import { customAuthMqttUsername, signToken } from "../../functions/authorizer/custom-auth";
import {
  cognitoClaims,
  config,
  closedPortUri,
  HS_ISSUER,
  JwksServer,
  mqttEvent,
  NOW,
  NOW_MS,
  openamClaims,
  rawToken,
  RecordingLogger,
  rsaKey,
  RS_ISSUER,
  SHARED_SECRET,
  signHs,
  signRs,
  signRsRaw,
  TEST_JWKS_OPTIONS,
} from "./fixtures";

const key1 = rsaKey("key-1");
const key2 = rsaKey("key-2");
let jwks: JwksServer;

beforeAll(async () => {
  jwks = await JwksServer.start();
});
afterAll(async () => {
  await jwks.stop();
});
beforeEach(() => {
  Object.assign(jwks.behaviour, { keys: [key1.jwk, key2.jwk], delayMs: 0, status: 200, body: undefined });
  jwks.requests = 0;
});

function setup(overrides: Record<string, unknown> = {}, clock = { now: NOW_MS }) {
  const logger = new RecordingLogger();
  const keySource = new JwksKeySource(TEST_JWKS_OPTIONS, () => clock.now);
  const authorize = createAuthorizer(config(overrides, jwks.uri), { logger, keySource, now: () => NOW_MS });
  return { authorize, logger };
}

const ARN = "arn:aws:iot:eu-west-1:123456789012:";

function resources(response: AuthorizerResponse): string[] {
  return response.policyDocuments.flatMap((d) => d.Statement.flatMap((s) => s.Resource));
}

async function expectDenied(
  authorize: (e: unknown) => Promise<AuthorizerResponse>,
  logger: RecordingLogger,
  event: unknown,
  check: string,
): Promise<void> {
  const response = await authorize(event);
  expect(response.isAuthenticated).toBe(false);
  expect(response.policyDocuments).toEqual([]);
  expect(logger.checks.at(-1)).toBe(check);
}

describe("accepting tokens", () => {
  test("a Cognito RS256 access token gets the device's own client id and topic tree", async () => {
    const { authorize, logger } = setup();
    const response = await authorize(mqttEvent(signRs(cognitoClaims(), key1)));
    expect(response).toEqual({
      isAuthenticated: true,
      principalId: "calice",
      policyDocuments: [
        {
          Version: "2012-10-17",
          Statement: [
            { Effect: "Allow", Action: ["iot:Connect"], Resource: [`${ARN}client/calice`, `${ARN}client/calice-*`] },
            { Effect: "Allow", Action: ["iot:Publish", "iot:Receive"], Resource: [`${ARN}topic/devices/calice/*`] },
            { Effect: "Allow", Action: ["iot:Subscribe"], Resource: [`${ARN}topicfilter/devices/calice/*`] },
          ],
        },
      ],
      refreshAfterInSeconds: 3600,
      disconnectAfterInSeconds: 3600,
    });
    expect(logger.lines).toEqual([
      {
        level: "debug",
        fields: expect.objectContaining({ outcome: "allow", principalId: "calice", issuer: RS_ISSUER, location: "event.token" }),
      },
    ]);
  });

  test("an OpenAM HS256 token verifies with the decoded base64 secret, scope given as a JSON array", async () => {
    const { authorize } = setup({
      grants: [
        { actions: ["iot:Connect"], resources: ["client/{principal}"] },
        { actions: ["iot:Publish"], resources: ["topic/admin/{principal}"], scopes: ["admin"] },
        { actions: ["iot:Publish"], resources: ["topic/iot/{principal}"], scopes: ["iot"] },
      ],
    });
    const response = await authorize(mqttEvent(signHs(openamClaims())));
    expect(response.isAuthenticated).toBe(true);
    expect(response.principalId).toBe("obob");
    expect(resources(response)).toEqual([`${ARN}client/obob`, `${ARN}topic/iot/obob`]);
  });

  test("a token signed with the base64 text of the secret instead of its bytes is refused", async () => {
    const { authorize, logger } = setup();
    await expectDenied(authorize, logger, mqttEvent(signHs(openamClaims(), Buffer.from(SHARED_SECRET))), "signature-invalid");
  });

  test("keys are fetched once and then served from memory", async () => {
    const { authorize } = setup();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => authorize(mqttEvent(signRs(cognitoClaims({ sub: `user${i}` }), i % 2 ? key1 : key2)))),
    );
    expect(results.every((r) => r.isAuthenticated)).toBe(true);
    expect(jwks.requests).toBe(1); // the whole set, once, for both kids; concurrent misses shared
    await authorize(mqttEvent(signRs(cognitoClaims(), key1)));
    expect(jwks.requests).toBe(1);
  });

  test("a key rotated in at the IdP is picked up by the first fetch the cooldown allows", async () => {
    const clock = { now: NOW_MS };
    const { authorize, logger } = setup({}, clock);
    expect((await authorize(mqttEvent(signRs(cognitoClaims(), key1)))).isAuthenticated).toBe(true);
    const key3 = rsaKey("key-3");
    jwks.behaviour.keys = [key1.jwk, key3.jwk];
    await expectDenied(authorize, logger, mqttEvent(signRs(cognitoClaims(), key3)), "key-not-found");
    clock.now += TEST_JWKS_OPTIONS.cooldownMs;
    expect((await authorize(mqttEvent(signRs(cognitoClaims(), key3)))).isAuthenticated).toBe(true);
    expect(jwks.requests).toBe(2);
  });

  test("principal ids: alphanumeric claims are kept, others derived deterministically and injectively", () => {
    expect(principalIdFor("alice")).toBe("alice");
    // A Cognito sub (a lower-case UUID) stays short and readable: u + its 32 hex digits.
    const sub = "3f2a1b2c-1111-4222-8333-444455556666";
    expect(principalIdFor(sub)).toBe("u3f2a1b2c111142228333444455556666");
    expect(principalIdFor(sub, "cognito")).toBe("cognitou3f2a1b2c111142228333444455556666");
    // A natural id of that shape, and an upper-case UUID, are derived, so neither can pass for the sub.
    expect(principalIdFor("u3f2a1b2c111142228333444455556666")).toMatch(/^u3f2a1b2c111142228333444455556666h[0-9a-f]{64}$/);
    expect(principalIdFor(sub.toUpperCase())).toMatch(/h[0-9a-f]{64}$/);
    const derived = principalIdFor("alice@example.com");
    expect(derived).toMatch(/^aliceexamplecomh[0-9a-f]{64}$/);
    expect(derived).toBe(principalIdFor("alice@example.com"));
    // The alphanumeric residue is not the identity: these two differ only in punctuation.
    expect(principalIdFor("a.b@c")).not.toBe(principalIdFor("ab@.c"));
    // A natural id shaped like a derived one is derived too, so it cannot impersonate.
    expect(principalIdFor(derived)).not.toBe(derived);
    expect(principalIdFor("x".repeat(128))).toBe("x".repeat(128));
    expect(principalIdFor("x".repeat(129))).toMatch(/^x{63}h[0-9a-f]{64}$/);
    expect(principalIdFor("alice", "corp")).toBe("corpalice");
    expect(principalIdFor("x".repeat(128), "corp")).toHaveLength(128);
  });
});

describe("refusing tokens", () => {
  const cases: [string, () => string, string][] = [
    ["expired", () => signRs(cognitoClaims({ exp: NOW - 31 }), key1), "expired"],
    ["without exp", () => signRs(cognitoClaims({ exp: undefined }), key1), "expiry-missing"],
    ["with a non-numeric exp", () => signRsRaw(cognitoClaims({ exp: "tomorrow" }), key1), "token-malformed"],
    ["without exp, iat or nbf", () => signRsRaw(cognitoClaims({ exp: undefined, iat: undefined }), key1), "expiry-missing"],
    ["with nbf in the future", () => signRs(cognitoClaims({ nbf: NOW + 31 }), key1), "not-yet-valid"],
    ["issued in the future", () => signRs(cognitoClaims({ iat: NOW + 31 }), key1), "issued-in-future"],
    ["from an unknown issuer", () => signRs(cognitoClaims({ iss: "https://evil.example.com" }), key1), "issuer-untrusted"],
    ["without iss", () => signRs(cognitoClaims({ iss: undefined }), key1), "issuer-untrusted"],
    ["for another client", () => signRs(cognitoClaims({ client_id: "webapp" }), key1), "client-id-mismatch"],
    ["that is an ID token", () => signRs(cognitoClaims({ token_use: "id" }), key1), "token-use-mismatch"],
    ["for another audience", () => signHs(openamClaims({ aud: "billing" })), "audience-mismatch"],
    ["without aud where one is required", () => signHs(openamClaims({ aud: undefined })), "audience-mismatch"],
    ["without sub", () => signRs(cognitoClaims({ sub: undefined }), key1), "principal-missing"],
    ["with an empty sub", () => signRs(cognitoClaims({ sub: "" }), key1), "principal-missing"],
    ["with alg none", () => rawToken({ alg: "none" }, cognitoClaims(), ""), "token-malformed"],
    ["with alg none and a signature", () => rawToken({ alg: "none" }, cognitoClaims()), "algorithm-not-allowed"],
    [
      "with HS256 to an RSA issuer, keyed with its public key",
      () => signHs(cognitoClaims(), key1.publicKey.export({ type: "spki", format: "pem" }) as Buffer),
      "algorithm-not-allowed",
    ],
    ["with RS256 to an HMAC issuer", () => signRs(openamClaims(), key1), "algorithm-not-allowed"],
    ["with RS512 where RS256 is pinned", () => signRs(cognitoClaims(), key1, { alg: "RS512" }), "algorithm-not-allowed"],
    ["signed by a key the IdP never published", () => signRs(cognitoClaims(), { ...rsaKey("key-1") }), "signature-invalid"],
    ["with an unknown kid", () => signRs(cognitoClaims(), rsaKey("key-9")), "key-not-found"],
    ["with a crit header", () => signRs(cognitoClaims(), key1, { crit: ["exp"] }), "critical-header"],
    [
      "with a tampered payload",
      () => {
        const [h, , s] = signRs(cognitoClaims(), key1).split(".");
        return `${h}.${Buffer.from(JSON.stringify(cognitoClaims({ sub: "admin" }))).toString("base64url")}.${s}`;
      },
      "signature-invalid",
    ],
    ["of two parts", () => signRs(cognitoClaims(), key1).split(".").slice(0, 2).join("."), "token-malformed"],
    ["of four parts", () => `${signRs(cognitoClaims(), key1)}.x`, "token-malformed"],
    ["whose header is not JSON", () => `bm90IGpzb24.${signRs(cognitoClaims(), key1).split(".").slice(1).join(".")}`, "token-malformed"],
    ["whose payload is an array", () => rawToken({ alg: "RS256" }, [1, 2]), "token-malformed"],
    ["with padding characters", () => `${signRs(cognitoClaims(), key1)}==`, "token-malformed"],
    ["with a kid that is not a string", () => rawToken({ alg: "RS256", kid: 7 }, cognitoClaims()), "token-malformed"],
  ];
  test.each(cases)("a token %s", async (_name, token, check) => {
    const { authorize, logger } = setup();
    await expectDenied(authorize, logger, mqttEvent(token()), check);
  });

  test("a key shorter than 2,048 bits is refused even when the IdP publishes it", async () => {
    const weak = rsaKey("weak", 1024);
    jwks.behaviour.keys = [weak.jwk];
    const { authorize, logger } = setup();
    await expectDenied(authorize, logger, mqttEvent(signRsRaw(cognitoClaims(), weak)), "key-not-found");
    expect(logger.lines.at(-1)?.fields.reason).toMatch(/has 1024 bits; at least 2048/);
  });

  test("the clock tolerance is honoured on both sides", async () => {
    const { authorize } = setup();
    for (const claims of [{ exp: NOW - 29 }, { nbf: NOW + 29 }, { iat: NOW + 29 }]) {
      expect((await authorize(mqttEvent(signRs(cognitoClaims(claims), key1)))).isAuthenticated).toBe(true);
    }
  });

  test("an oversize token is refused before it is parsed", async () => {
    const { authorize, logger } = setup({ maxTokenBytes: 1024 });
    const big = signRs(cognitoClaims({ padding: "x".repeat(2000) }), key1);
    await expectDenied(authorize, logger, mqttEvent(big), "token-too-large");
    // Not even a JWKS lookup happens for it.
    await expectDenied(authorize, logger, mqttEvent(`${"é".repeat(600)}`), "token-too-large");
    expect(jwks.requests).toBe(0);
  });

  test("an absent token and an ambiguous one are refused", async () => {
    const { authorize, logger } = setup();
    await expectDenied(
      authorize,
      logger,
      { protocols: ["http"], protocolData: { http: { headers: {}, queryString: "" } } },
      "token-missing",
    );
    const t = signRs(cognitoClaims(), key1);
    await expectDenied(authorize, logger, { protocolData: { http: { headers: { token: t, TOKEN: t } } } }, "token-ambiguous");
    await expectDenied(authorize, logger, { protocolData: { http: { queryString: `?token=${t}&token=${t}` } } }, "token-ambiguous");
  });

  test("the JWKS server down, slow, failing or oversize denies within the deadline", async () => {
    const down = createAuthorizer(config({}, await closedPortUri()), {
      logger: new RecordingLogger(),
      keySource: new JwksKeySource(TEST_JWKS_OPTIONS),
      now: () => NOW_MS,
    });
    expect((await down(mqttEvent(signRs(cognitoClaims(), key1)))).isAuthenticated).toBe(false);

    for (const behaviour of [{ delayMs: 2_000 }, { status: 503 }, { body: "<html>" }, { keys: Array(200).fill(key2.jwk) }]) {
      Object.assign(jwks.behaviour, { keys: [key1.jwk], delayMs: 0, status: 200, body: undefined }, behaviour);
      const { authorize, logger } = setup();
      await expectDenied(authorize, logger, mqttEvent(signRs(cognitoClaims(), key1)), "jwks-unavailable");
      if (behaviour.delayMs) expect(logger.lines.at(-1)?.fields.reason).toMatch(/longer than 300 ms/);
    }
  });

  test("made-up kids cannot make the authorizer hammer the IdP (tests/authorizer/jwks.test.ts floods it)", async () => {
    const { authorize, logger } = setup();
    for (let i = 0; i < 10; i++) await authorize(mqttEvent(signRs(cognitoClaims(), { ...key1, kid: `fake-${i}` })));
    expect(jwks.requests).toBe(1);
    expect(new Set(logger.checks)).toEqual(new Set(["key-not-found"]));
  });

  test("no log line carries the token, the secret or a claim value", async () => {
    const { authorize, logger } = setup();
    const tokens = [
      signHs(openamClaims({ aud: "elsewhere", sub: "secret-subject" })),
      signRs(cognitoClaims({ exp: NOW - 100, sub: "secret-subject" }), key1),
      signRs(cognitoClaims({ sub: "secret-subject" }), key1),
    ];
    for (const token of tokens) await authorize(mqttEvent(token));
    for (const token of tokens) {
      for (const part of token.split(".")) expect(logger.text).not.toContain(part);
    }
    expect(logger.text).not.toContain(SHARED_SECRET);
    expect(logger.text).not.toContain("secret-subject");
    expect(logger.lines.map((l) => l.fields.connectionId)).toEqual(Array(3).fill("d0adaaa7-b22d-4545-923c-8a4c6b5d1b7e"));
  });
});

describe("hostile claim values", () => {
  const grants = [
    { actions: ["iot:Connect"], resources: ["client/{principal}"] },
    { actions: ["iot:Publish", "iot:Receive"], resources: ["topic/tenants/{claims.tenant}/{principal}/*"] },
  ];
  test.each(["+", "#", "*", "a/b", "?", "${iot:ClientId}", "{x}", "a\nb", "", "x".repeat(129), "\u2028"])(
    "tenant %j denies instead of widening",
    async (tenant) => {
      const { authorize, logger } = setup({ grants });
      await expectDenied(authorize, logger, mqttEvent(signRs(cognitoClaims({ tenant }), key1)), "unsafe-claim-value");
    },
  );
  test("a safe tenant is substituted; a missing one or an object denies", async () => {
    const { authorize, logger } = setup({ grants });
    const ok = await authorize(mqttEvent(signRs(cognitoClaims({ tenant: "acme-eu.1" }), key1)));
    expect(resources(ok)).toContain(`${ARN}topic/tenants/acme-eu.1/calice/*`);
    await expectDenied(authorize, logger, mqttEvent(signRs(cognitoClaims(), key1)), "unsafe-claim-value");
    await expectDenied(authorize, logger, mqttEvent(signRs(cognitoClaims({ tenant: { toString: "x" } }), key1)), "unsafe-claim-value");
  });
  test("a hostile sub never reaches a resource: it is replaced by its derived id", async () => {
    const { authorize } = setup();
    const response = await authorize(mqttEvent(signRs(cognitoClaims({ sub: "#" }), key1)));
    expect(response.principalId).toBe(`c${principalIdFor("#")}`);
    expect(resources(response).join(" ")).not.toMatch(/#|\+/);
  });
  test("IoT policy variables in grants pass through untouched", async () => {
    const { authorize } = setup({ grants: [{ actions: ["iot:Connect"], resources: ["client/${iot:ClientId}"] }] });
    expect(resources(await authorize(mqttEvent(signRs(cognitoClaims(), key1))))).toEqual([`${ARN}client/\${iot:ClientId}`]);
  });
  test("a token whose scopes match no grant is refused", async () => {
    const { authorize, logger } = setup({ grants: [{ actions: ["iot:Connect"], resources: ["client/{principal}"], scopes: ["admin"] }] });
    await expectDenied(authorize, logger, mqttEvent(signRs(cognitoClaims(), key1)), "no-grant-applies");
  });
});

describe("token locations (docs/aws-iot-custom-auth.md#where-the-token-arrives)", () => {
  const token = (): string => signRs(cognitoClaims(), key1);
  const signature = (t: string): string => signToken(t, key1.privateKey);
  const locations: [string, (t: string) => unknown][] = [
    ["event.token", (t) => ({ token: t })],
    [
      "an HTTP header, any case",
      (t) => ({
        protocols: ["http"],
        protocolData: { http: { headers: { "x-amz-customauthorizer-name": "a", Token: t }, queryString: "" } },
      }),
    ],
    [
      "the HTTP query string",
      (t) => ({
        protocols: ["http"],
        protocolData: { http: { headers: {}, queryString: `?x-amz-customauthorizer-name=a&token=${encodeURIComponent(t)}` } },
      }),
    ],
    [
      "the MQTT username, with SDK metrics parameters",
      (t) => ({
        protocols: ["mqtt"],
        protocolData: {
          mqtt: {
            username: `${customAuthMqttUsername({ authorizerName: "a", tokenKeyName: "token", token: t, signature: signature(t), username: "dev" })}&SDK=IoTDeviceSDK/JS&Version=2.1`,
            clientId: "calice",
          },
        },
      }),
    ],
    [
      "the MQTT password, base64",
      (t) => ({ protocols: ["mqtt"], protocolData: { mqtt: { username: "dev", password: Buffer.from(t).toString("base64") } } }),
    ],
  ];
  test.each(locations)("%s", async (_name, event) => {
    const { authorize } = setup();
    expect((await authorize(event(token()))).principalId).toBe("calice");
  });
  test("a custom tokenKeyName is looked for, and `token` is then ignored", async () => {
    const { authorize, logger } = setup({ tokenKeyName: "idToken" });
    const t = token();
    expect((await authorize({ protocolData: { http: { headers: { idtoken: t } } } })).isAuthenticated).toBe(true);
    await expectDenied(authorize, logger, { protocolData: { http: { headers: { token: t } } } }, "token-missing");
  });
});

describe("policy limits and timers", () => {
  test("many resources are split across documents, none over 2,048 characters", async () => {
    const resourcesList = Array.from({ length: 60 }, (_, i) => `topic/devices/{principal}/channel-${i}-with-a-long-descriptive-name`);
    const { authorize } = setup({ grants: [{ actions: ["iot:Publish"], resources: resourcesList }] });
    const response = await authorize(mqttEvent(signRs(cognitoClaims(), key1)));
    expect(response.isAuthenticated).toBe(true);
    expect(response.policyDocuments.length).toBeGreaterThan(1);
    expect(response.policyDocuments.length).toBeLessThanOrEqual(10);
    for (const doc of response.policyDocuments) expect(JSON.stringify(doc).length).toBeLessThanOrEqual(2048);
    expect(resources(response)).toHaveLength(60);
  });
  test("grants that need more than 10 documents deny rather than exceed", async () => {
    const resourcesList = Array.from({ length: 400 }, (_, i) => `topic/devices/{principal}/channel-${i}-with-a-long-descriptive-name`);
    const { authorize, logger } = setup({ grants: [{ actions: ["iot:Publish"], resources: resourcesList }] });
    await expectDenied(authorize, logger, mqttEvent(signRs(cognitoClaims(), key1)), "policy-too-large");
  });
  test.each([
    [3600, 86_400, 86_400, 3600, 3600],
    [100, 86_400, 86_400, 300, 300], // expiring soon: the 300 s floor wins
    [200_000, 600, 86_400, 600, 86_400], // long-lived token: configured values and the 86,400 ceiling
    [1000, 86_400, 500, 1000, 500],
  ])("token lasting %i s, refresh %i, disconnect %i → %i / %i", async (lifetime, refresh, disconnect, wantRefresh, wantDisconnect) => {
    const { authorize } = setup({ refreshAfterSeconds: refresh, disconnectAfterSeconds: disconnect });
    const response = await authorize(mqttEvent(signRs(cognitoClaims({ exp: NOW + lifetime }), key1)));
    expect([response.refreshAfterInSeconds, response.disconnectAfterInSeconds]).toEqual([wantRefresh, wantDisconnect]);
  });
});

describe("configuration at start", () => {
  test("an HMAC issuer whose secret is not provided cannot build an authorizer", () => {
    const cfg = config({
      issuers: [{ issuer: HS_ISSUER, algorithms: ["HS256"], secretParameter: "/iot/openam-secret" }],
    });
    expect(() => createAuthorizer(cfg)).toThrow(/its shared secret \(\/iot\/openam-secret\) was not provided/);
    expect(() => createAuthorizer(cfg, { sharedSecrets: new Map([[HS_ISSUER, "c2hvcnQ="]]) })).toThrow(
      /decodes to 5 bytes; HS256 needs at least 32/,
    );
    const ok = createAuthorizer(cfg, {
      sharedSecrets: new Map([[HS_ISSUER, SHARED_SECRET]]),
      now: () => NOW_MS,
      logger: new RecordingLogger(),
    });
    return expect(ok(mqttEvent(signHs(openamClaims({ aud: undefined }))))).resolves.toMatchObject({
      isAuthenticated: true,
      principalId: "bob",
    });
  });
});
