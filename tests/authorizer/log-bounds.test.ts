/**
 * No log line grows with what an attacker sends (issue 10 §1.3: a 5,000-character `kid` made a 5,103-character
 * denial line). Every path that quotes a value from the request or from the JWKS is driven with 5,000 characters,
 * plain and full of characters JSON escapes, and every line the authorizer writes is held to MAX_LOG_LINE_CHARS.
 */
import { createAuthorizer } from "../../functions/authorizer/authorizer";
import { forLog, MAX_LOG_LINE_CHARS } from "../../functions/authorizer/logging";
import { cognitoClaims, config, JwksServer, mqttEvent, NOW_MS, rawToken, RecordingLogger, rsaKey, signRs, signRsRaw } from "./fixtures";

const LONG = "k".repeat(5_000);
/** Every character here is written as two to six in JSON. */
const ESCAPED = '"\\\u0001\u2028'.repeat(1_250);

let jwks: JwksServer;
beforeAll(async () => {
  jwks = await JwksServer.start();
});
afterAll(async () => {
  await jwks.stop();
});

function longestLine(logger: RecordingLogger): number {
  return Math.max(...logger.lines.map((l) => JSON.stringify(l.fields).length));
}

describe.each([
  ["plain", LONG],
  ["escaped", ESCAPED],
])("5,000 attacker-chosen characters (%s)", (_name, value) => {
  const key = rsaKey("key-1");
  const weak = rsaKey(value, 1024);
  const pinned = rsaKey(`${value}-pinned`);
  const grants = [
    { actions: ["iot:Connect"], resources: ["client/{principal}"] },
    { actions: ["iot:Publish"], resources: ["topic/tenants/{claims.tenant}/*"] },
  ];

  const cases: [string, () => string, Record<string, unknown>, string][] = [
    ["an unknown kid", () => signRs(cognitoClaims(), { ...key, kid: value }), {}, "key-not-found"],
    ["the kid of a key too short to use", () => signRsRaw(cognitoClaims(), weak), {}, "key-not-found"],
    // Signed by hand: jws writes the header as latin1, which would mangle a kid with characters beyond it.
    ["the kid of a key published for another alg", () => signRsRaw(cognitoClaims(), pinned), {}, "algorithm-not-allowed"],
    ["an alg", () => rawToken({ alg: value, kid: "key-1" }, cognitoClaims()), {}, "algorithm-not-allowed"],
    ["an iss", () => signRs(cognitoClaims({ iss: value }), key), {}, "issuer-untrusted"],
    ["a claim substituted into a grant", () => signRs(cognitoClaims({ tenant: value }), key), {}, "unsafe-claim-value"],
    [
      "a connection id and protocols",
      () => signRs(cognitoClaims({ exp: 1 }), key),
      { protocols: [value, value], connectionMetadata: { id: value } },
      "expired",
    ],
  ];

  test.each(cases)("in %s: the denial line stays within the bound", async (_what, token, extra, check) => {
    jwks.behaviour.keys = [key.jwk, weak.jwk, { ...pinned.jwk, alg: "RS512" }];
    const logger = new RecordingLogger();
    const authorize = createAuthorizer(config({ grants, maxTokenBytes: 65_536 }, jwks.uri), { logger, now: () => NOW_MS });
    expect((await authorize(mqttEvent(token(), extra))).isAuthenticated).toBe(false);
    expect(logger.checks).toEqual([check]);
    expect(longestLine(logger)).toBeLessThanOrEqual(MAX_LOG_LINE_CHARS);
  });

  test("in the principal claim of an allowed token: the allow line stays within the bound", async () => {
    jwks.behaviour.keys = [key.jwk];
    const logger = new RecordingLogger();
    const authorize = createAuthorizer(config({ maxTokenBytes: 65_536 }, jwks.uri), { logger, now: () => NOW_MS });
    expect((await authorize(mqttEvent(signRs(cognitoClaims({ sub: value }), key)))).isAuthenticated).toBe(true);
    expect(longestLine(logger)).toBeLessThanOrEqual(MAX_LOG_LINE_CHARS);
  });
});

test("a JWKS that fails, or answers with something else than a key set, gives bounded lines", async () => {
  const key = rsaKey("key-1");
  for (const behaviour of [
    { status: 500 },
    { body: `{"keys": "${LONG}"}` },
    { body: LONG },
    { keys: [{ kty: "RSA", kid: LONG, n: LONG, e: "AQAB" }] },
  ]) {
    Object.assign(jwks.behaviour, { keys: [], status: 200, body: undefined }, behaviour);
    const logger = new RecordingLogger();
    const authorize = createAuthorizer(config({}, jwks.uri), { logger, now: () => NOW_MS });
    expect((await authorize(mqttEvent(signRs(cognitoClaims(), { ...key, kid: LONG })))).isAuthenticated).toBe(false);
    expect(longestLine(logger)).toBeLessThanOrEqual(MAX_LOG_LINE_CHARS);
  }
});

test("forLog cuts by the width a value takes in JSON, and marks the cut", () => {
  expect(forLog("short")).toBe("short");
  expect(forLog(LONG, 64)).toBe(`${"k".repeat(64)}…`);
  const cut = forLog(ESCAPED, 64) as string;
  expect(JSON.stringify(cut).length - 2).toBeLessThanOrEqual(65);
  expect(cut.endsWith("…")).toBe(true);
  expect(forLog(42)).toBeUndefined();
});
