/**
 * Key lookups that cannot be starved (issue 10 §1.1), against a real JWKS endpoint on loopback: the key source
 * holds each issuer's whole set, fetches it at most once per cooldown whatever the tokens' `kid`s, shares a fetch
 * between concurrent misses, and bridges a failing JWKS with the last good set for a bounded time. The key
 * source's clock is driven by the test (`now`), so a cooldown or an hour passes without waiting for it.
 */
import { randomBytes } from "node:crypto";
import jwt from "jsonwebtoken";
import { createAuthorizer } from "../../functions/authorizer/authorizer";
import { DEFAULT_JWKS_OPTIONS, JwksKeySource } from "../../functions/authorizer/jwks";
import {
  cognitoClaims,
  config,
  JwksServer,
  mqttEvent,
  NOW_MS,
  rawToken,
  RecordingLogger,
  rsaKey,
  signRs,
  TEST_JWKS_OPTIONS,
} from "./fixtures";

const { cooldownMs, cacheMaxAgeMs, staleFallbackMs } = TEST_JWKS_OPTIONS;
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

/** An authorizer whose key source runs on `clock`; the tokens' own checks run at NOW_MS. */
function setup() {
  const clock = { now: NOW_MS };
  const logger = new RecordingLogger();
  const keySource = new JwksKeySource(TEST_JWKS_OPTIONS, () => clock.now, logger);
  const authorize = createAuthorizer(config({}, jwks.uri), { logger, keySource, now: () => NOW_MS });
  const accepted = async (token: string): Promise<boolean> => (await authorize(mqttEvent(token))).isAuthenticated;
  return { clock, logger, authorize, accepted };
}

/** A token naming a `kid` nobody published; its signature does not matter, it never gets that far. */
function madeUpKidToken(): string {
  return rawToken({ alg: "RS256", typ: "JWT", kid: randomBytes(12).toString("base64url") }, cognitoClaims());
}

test("the defaults: a cooldown of 10 to 30 s, and a bounded fallback on the last good set", () => {
  expect(DEFAULT_JWKS_OPTIONS.cooldownMs).toBeGreaterThanOrEqual(10_000);
  expect(DEFAULT_JWKS_OPTIONS.cooldownMs).toBeLessThanOrEqual(30_000);
  expect(DEFAULT_JWKS_OPTIONS.staleFallbackMs).toBe(60 * 60_000);
  expect(DEFAULT_JWKS_OPTIONS.cacheMaxAgeMs).toBe(10 * 60_000);
});

test("under a flood of made-up kids, a key added after the flood began is accepted within one cooldown, and the JWKS sees one request per cooldown", async () => {
  const { clock, logger, accepted } = setup();
  const started = clock.now;
  // The flood begins: 1,000 tokens at once, while the JWKS answers slowly, so they all wait on the same fetch.
  jwks.behaviour.delayMs = 50;
  const firstWave = await Promise.all(Array.from({ length: 1_000 }, () => accepted(madeUpKidToken())));
  expect(firstWave.every((ok) => !ok)).toBe(true);
  expect(jwks.requests).toBe(1);
  expect(new Set(logger.checks)).toEqual(new Set(["key-not-found"]));

  // The IdP publishes a new key after the flood began, and starts signing with it.
  clock.now += 500;
  const rotated = rsaKey("rotated-in");
  jwks.behaviour.keys = [key1.jwk, key2.jwk, rotated.jwk];
  const addedAt = clock.now;
  const genuine = signRs(cognitoClaims(), rotated);

  // The flood goes on, 100 made-up kids every half second, with the genuine token among them, for two cooldowns.
  const fetchedAt = [started];
  let acceptedAt: number | undefined;
  while (clock.now < started + 2 * cooldownMs) {
    clock.now += 500;
    const before = jwks.requests;
    const [ok] = await Promise.all([accepted(genuine), ...Array.from({ length: 100 }, () => accepted(madeUpKidToken()))]);
    if (jwks.requests > before) fetchedAt.push(clock.now);
    expect(jwks.requests - before).toBeLessThanOrEqual(1);
    if (ok) acceptedAt ??= clock.now;
    else expect(acceptedAt).toBeUndefined(); // once accepted, it stays accepted
  }
  expect(acceptedAt).toBeDefined();
  expect((acceptedAt as number) - addedAt).toBeLessThanOrEqual(cooldownMs);
  // One request per cooldown at most: every two fetches are a cooldown apart.
  for (let i = 1; i < fetchedAt.length; i++) expect(fetchedAt[i] - fetchedAt[i - 1]).toBeGreaterThanOrEqual(cooldownMs);
  expect(jwks.requests).toBe(fetchedAt.length);
  expect(jwks.requests).toBeLessThanOrEqual(3);
});

test("concurrent misses for a new key share one fetch", async () => {
  const { clock, accepted } = setup();
  expect(await accepted(signRs(cognitoClaims(), key1))).toBe(true);
  const rotated = rsaKey("rotated-in");
  jwks.behaviour.keys = [key1.jwk, rotated.jwk];
  jwks.behaviour.delayMs = 100;
  clock.now += cooldownMs;
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) => accepted(signRs(cognitoClaims({ sub: `user${i}` }), rotated))));
  expect(results.every(Boolean)).toBe(true);
  expect(jwks.requests).toBe(2);
});

test("a kid still absent from a fresh set is refused without fetching again until the cooldown ends", async () => {
  const { clock, logger, authorize } = setup();
  const token = signRs(cognitoClaims(), rsaKey("never-published"));
  await authorize(mqttEvent(token));
  expect(jwks.requests).toBe(1);
  expect(logger.lines.at(-1)?.fields.reason).toMatch(
    /no signing key with kid "never-published" in the issuer's key set \(next fetch allowed in 10 s\)/,
  );
  for (const later of [1, cooldownMs / 2, cooldownMs - 1]) {
    clock.now = NOW_MS + later;
    await authorize(mqttEvent(token));
    expect(logger.checks.at(-1)).toBe("key-not-found");
    expect(jwks.requests).toBe(1);
  }
  clock.now = NOW_MS + cooldownMs;
  await authorize(mqttEvent(token));
  expect(logger.checks.at(-1)).toBe("key-not-found");
  expect(jwks.requests).toBe(2);
});

test("a set is used for its max age, then fetched again: a key the IdP withdrew is refused after that", async () => {
  const { clock, accepted } = setup();
  expect(await accepted(signRs(cognitoClaims(), key2))).toBe(true);
  jwks.behaviour.keys = [key1.jwk];
  clock.now += cacheMaxAgeMs - 1;
  expect(await accepted(signRs(cognitoClaims(), key2))).toBe(true);
  expect(jwks.requests).toBe(1);
  clock.now += 1;
  expect(await accepted(signRs(cognitoClaims(), key2))).toBe(false);
  expect(await accepted(signRs(cognitoClaims(), key1))).toBe(true);
  expect(jwks.requests).toBe(2);
});

test("a failing JWKS keeps the last good set serving for the bounded time, retrying once per cooldown, then denies", async () => {
  const { clock, logger, accepted } = setup();
  const token = signRs(cognitoClaims(), key1);
  expect(await accepted(token)).toBe(true);
  jwks.behaviour.status = 503;

  // From the set's max age to the end of the fallback, every decision is served from the last good set.
  const outageStarted = NOW_MS + cacheMaxAgeMs;
  const attemptsAt: number[] = [];
  for (clock.now = outageStarted; clock.now < outageStarted + staleFallbackMs; clock.now += cooldownMs / 2) {
    const before = jwks.requests;
    expect(await accepted(token)).toBe(true);
    if (jwks.requests > before) attemptsAt.push(clock.now);
  }
  expect(attemptsAt.length).toBe(staleFallbackMs / cooldownMs);
  for (let i = 1; i < attemptsAt.length; i++) expect(attemptsAt[i] - attemptsAt[i - 1]).toBeGreaterThanOrEqual(cooldownMs);
  const failures = logger.lines.filter((l) => l.fields.outcome === "jwks-fetch-failed");
  expect(failures).toHaveLength(attemptsAt.length);
  expect(failures[0].fields).toMatchObject({ reason: "JWKS fetch failed: JWKS endpoint answered HTTP 503", lastSetAgeSeconds: 600 });

  // Past it, the set is too old to trust: refused, and still no more than one attempt per cooldown.
  clock.now = outageStarted + staleFallbackMs;
  expect(await accepted(token)).toBe(false);
  expect(logger.checks.at(-1)).toBe("jwks-unavailable");
  expect(logger.lines.at(-1)?.fields.reason).toBe("no usable key set: JWKS fetch failed: JWKS endpoint answered HTTP 503");

  // The IdP comes back: the next fetch the cooldown allows restores service.
  jwks.behaviour.status = 200;
  clock.now += cooldownMs;
  expect(await accepted(token)).toBe(true);
});

test("with no set yet, a failing JWKS denies, and is tried again only after the cooldown", async () => {
  const { clock, logger, accepted } = setup();
  jwks.behaviour.status = 500;
  const token = signRs(cognitoClaims(), key1);
  expect(await accepted(token)).toBe(false);
  expect(await accepted(token)).toBe(false);
  expect(logger.checks).toEqual(["jwks-unavailable", "jwks-unavailable"]);
  expect(jwks.requests).toBe(1);
  jwks.behaviour.status = 200;
  clock.now += cooldownMs;
  expect(await accepted(token)).toBe(true);
  expect(jwks.requests).toBe(2);
});

test("the JWK's own alg must be the token's; a token without kid may use the set's only key", async () => {
  const { logger, authorize, accepted } = setup();
  jwks.behaviour.keys = [{ ...key1.jwk, alg: "RS512" }, key2.jwk];
  await authorize(mqttEvent(signRs(cognitoClaims(), key1)));
  expect(logger.checks.at(-1)).toBe("algorithm-not-allowed");
  expect(logger.lines.at(-1)?.fields.reason).toBe('the key with kid "key-1" is published for RS512, the token says RS256');

  const withoutKid = (key: typeof key1) => jwt.sign(cognitoClaims(), key.privateKey, { algorithm: "RS256" });
  expect(await accepted(withoutKid(key2))).toBe(false);
  expect(logger.lines.at(-1)?.fields.reason).toMatch(/^no signing key without kid/);

  const alone = setup();
  jwks.behaviour.keys = [key2.jwk];
  expect(await alone.accepted(withoutKid(key2))).toBe(true);
});
