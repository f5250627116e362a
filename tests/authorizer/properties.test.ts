/**
 * Properties over generated input: whatever a (validly signed) token claims, the policy stays inside the
 * principal's own tree; whatever shape an event has, the authorizer answers and never throws.
 */
import fc from "fast-check";
import { createSecretKey } from "node:crypto";
import jwt from "jsonwebtoken";
import { createAuthorizer } from "../../functions/authorizer/authorizer";
import { statementLength } from "../../functions/authorizer/policy";
import { principalIdFor } from "../../functions/authorizer/principal";
import { verifySignature } from "../../functions/authorizer/token";
import { type KeySource } from "../../functions/authorizer/jwks";
import { queryValue } from "../../functions/authorizer/custom-auth";
import {
  cognitoClaims,
  config,
  mqttEvent,
  NOW_MS,
  openamClaims,
  RecordingLogger,
  rsaKey,
  SHARED_SECRET_BYTES,
  signHs,
  signRs,
} from "./fixtures";

const key = rsaKey("key-1");
const keySource: KeySource = { getKey: async () => key.publicKey };
const ARN = "arn:aws:iot:eu-west-1:123456789012:";
const grants = [
  { actions: ["iot:Connect"], resources: ["client/{principal}", "client/{principal}-*"] },
  { actions: ["iot:Publish", "iot:Receive"], resources: ["topic/devices/{principal}/*", "topic/tenants/{claims.tenant}/{principal}/*"] },
  { actions: ["iot:Subscribe"], resources: ["topicfilter/devices/{principal}/*", "topicfilter/tenants/{claims.tenant}/{principal}/#"] },
];
const authorize = createAuthorizer(config({ grants }), { keySource, now: () => NOW_MS, logger: new RecordingLogger() });

/** Strings built to hurt: IoT and MQTT wildcards, separators, policy variables, controls, unicode. */
const hostile = fc.oneof(
  { arbitrary: fc.stringMatching(/^[A-Za-z0-9.@_-]{1,30}$/), weight: 2 },
  fc.string({ maxLength: 40 }),
  fc.string({
    unit: fc.constantFrom("/", "+", "#", "*", "?", "$", "{", "}", "a", "-", ".", "\n", "\u0000", "é", "${iot:ClientId}"),
    maxLength: 12,
  }),
  fc.constantFrom("*", "#", "+", "../x", "a/b", "${iot:ClientId}", "", "\u2028"),
);

test("no claim value ever yields a resource outside the principal's own tree", async () => {
  let allowed = 0;
  await fc.assert(
    fc.asyncProperty(hostile, hostile, async (sub, tenant) => {
      const response = await authorize(mqttEvent(signRs(cognitoClaims({ sub, tenant }), key)));
      if (!response.isAuthenticated) return;
      allowed++;
      const principal = principalIdFor(sub, "c");
      expect(response.principalId).toBe(principal);
      expect(principal).toMatch(/^[A-Za-z0-9]{1,128}$/);
      const own = [
        `${ARN}client/${principal}`,
        `${ARN}client/${principal}-*`,
        `${ARN}topic/devices/${principal}/*`,
        `${ARN}topicfilter/devices/${principal}/*`,
        `${ARN}topic/tenants/${tenant}/${principal}/*`,
        `${ARN}topicfilter/tenants/${tenant}/${principal}/#`,
      ];
      // The tenant was substituted only because it is a single, wildcard-free topic level.
      // eslint-disable-next-line no-control-regex -- the characters a substituted claim must not have
      expect(tenant).toMatch(/^[^/+#*?${}\u0000-\u001f\u007f-\u009f\u2028\u2029]{1,128}$/);
      for (const document of response.policyDocuments) {
        expect(JSON.stringify(document).length).toBeLessThanOrEqual(2048);
        for (const statement of document.Statement) {
          for (const resource of statement.Resource) expect(own).toContain(resource);
        }
      }
    }),
    { numRuns: 300 },
  );
  // The property is about granted policies: make sure plenty were granted, not only refused.
  expect(allowed).toBeGreaterThan(60);
});

/** Claims shaped like every id form: UUIDs (both cases), their `u…` form, derived-looking tails, plain ids. */
const idLike = fc.oneof(
  hostile,
  fc.uuid(),
  fc.uuid().map((u) => u.toUpperCase()),
  fc.uuid().map((u) => `u${u.replace(/-/g, "")}`),
  fc.tuple(fc.stringMatching(/^[a-z0-9]{0,10}$/), fc.uuid()).map(([head, u]) => principalIdFor(`${head}#${u}`)),
);

test("distinct principal claims never share a principal id, and every id is 1-128 letters and digits", () => {
  fc.assert(
    fc.property(idLike, idLike, fc.constantFrom("", "c", "o", "x".repeat(32)), (a, b, prefix) => {
      expect(principalIdFor(a, prefix)).toMatch(/^[A-Za-z0-9]{1,128}$/);
      fc.pre(a !== b);
      expect(principalIdFor(a, prefix)).not.toBe(principalIdFor(b, prefix));
    }),
    { numRuns: 2000 },
  );
});

/** Any JSON-ish value, and event shapes close to IoT's with the wrong types in every slot. */
const anything = fc.anything({ withNullPrototype: true, withBigInt: true, withDate: true, withMap: true, withTypedArray: true });
const eventLike = fc.record(
  {
    token: fc.oneof(anything, fc.string()),
    protocols: anything,
    protocolData: fc.oneof(
      anything,
      fc.record(
        {
          http: fc.record(
            { headers: fc.oneof(anything, fc.dictionary(fc.string(), anything)), queryString: fc.oneof(fc.string(), anything) },
            { requiredKeys: [] },
          ),
          mqtt: fc.record(
            { username: fc.oneof(fc.string(), anything), password: fc.oneof(fc.base64String(), anything) },
            { requiredKeys: [] },
          ),
        },
        { requiredKeys: [] },
      ),
    ),
    connectionMetadata: anything,
  },
  { requiredKeys: [] },
);
const tokenLike = fc.oneof(
  fc.tuple(fc.base64String(), fc.base64String(), fc.base64String()).map((parts) => parts.join(".")),
  fc.tuple(fc.json(), fc.json()).map(([h, p]) => `${Buffer.from(h).toString("base64url")}.${Buffer.from(p).toString("base64url")}.AAAA`),
  fc
    .dictionary(fc.constantFrom("iss", "exp", "sub", "aud", "nbf", "iat", "client_id", "token_use", "scope", "tenant"), anything)
    .map((claims) => {
      try {
        return signHs({ ...openamClaims(), ...claims });
      } catch {
        return "x.y.z";
      }
    }),
);

test("arbitrary events and tokens never throw and never authenticate by accident", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        anything,
        eventLike,
        tokenLike.map((token) => ({ token })),
      ),
      async (event) => {
        const response = await authorize(event);
        expect(typeof response.isAuthenticated).toBe("boolean");
        if (!response.isAuthenticated) expect(response.policyDocuments).toEqual([]);
      },
    ),
    { numRuns: 1000 },
  );
});

/** jsonwebtoken as an independent oracle: it and our verifier agree on every mutation of a valid token. */
test("the signature check agrees with jsonwebtoken on valid and mutated tokens", () => {
  const hsKey = createSecretKey(SHARED_SECRET_BYTES);
  const other = rsaKey("other");
  const valid = [
    { alg: "HS256", key: hsKey, token: signHs(openamClaims()) },
    { alg: "RS256", key: key.publicKey, token: signRs(cognitoClaims(), key) },
  ];
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  let agreedValid = 0;
  fc.assert(
    fc.property(
      fc.constantFrom(...valid),
      fc.option(fc.tuple(fc.nat(), fc.constantFrom(...alphabet)), { nil: undefined }),
      fc.boolean(),
      ({ alg, key: k, token }, mutation, wrongKey) => {
        let t = token;
        if (mutation) {
          const [at, ch] = mutation;
          const i = at % t.length;
          if (t[i] === ".") return;
          t = t.slice(0, i) + ch + t.slice(i + 1);
        }
        const useKey = wrongKey ? (alg === "HS256" ? createSecretKey(Buffer.alloc(32, 7)) : other.publicKey) : k;
        let oracle: boolean;
        try {
          jwt.verify(t, useKey, { algorithms: [alg as jwt.Algorithm], ignoreExpiration: true, ignoreNotBefore: true });
          oracle = true;
        } catch (err) {
          if ((err as Error).message !== "invalid signature") return; // a malformed token: not a signature question
          oracle = false;
        }
        const encoded = t.slice(t.lastIndexOf(".") + 1);
        const canonical = Buffer.from(encoded, "base64url").toString("base64url") === encoded;
        expect(verifySignature(alg, useKey, t, encoded)).toBe(oracle && canonical);
        if (oracle) agreedValid++;
      },
    ),
    { numRuns: 1000 },
  );
  expect(agreedValid).toBeGreaterThan(50);
  // Algorithm and key type must match: an RSA public key never verifies an HMAC token.
  expect(verifySignature("HS256", key.publicKey, valid[0].token, valid[0].token.split(".")[2])).toBe(false);
  expect(verifySignature("RS256", hsKey, valid[1].token, valid[1].token.split(".")[2])).toBe(false);
});

test("the policy size is computed exactly as JSON.stringify would serialise it", () => {
  fc.assert(
    fc.property(
      fc.array(fc.string({ unit: "binary" }), { minLength: 1 }),
      fc.array(fc.string({ unit: "grapheme" })),
      (actions, resources) => {
        const statement = { Effect: "Allow" as const, Action: actions, Resource: resources };
        expect(statementLength(statement)).toBe(JSON.stringify(statement).length);
      },
    ),
    { numRuns: 2000 },
  );
});

test("the token's query parameter is read exactly as URLSearchParams reads it", () => {
  const piece = fc.oneof(
    fc.constantFrom("token", "tok%65n", "to+ken", "x-amz-customauthorizer-signature", "SDK", "", "%", "%zz", "%E2%82", "+", "="),
    fc.string({ unit: fc.constantFrom("a", "t", "o", "k", "e", "n", "%", "2", "B", "+", "=", " ", "é", "&"), maxLength: 12 }),
  );
  fc.assert(
    fc.property(
      fc.array(fc.tuple(piece, fc.option(piece, { nil: undefined })), { maxLength: 6 }),
      fc.boolean(),
      fc.constantFrom("token", "to ken", "tok"),
      (pairs, leadingQuestionMark, name) => {
        const query = (leadingQuestionMark ? "?" : "") + pairs.map(([k, v]) => (v === undefined ? k : `${k}=${v}`)).join("&");
        const all = new URLSearchParams(query.startsWith("?") ? query.slice(1) : query).getAll(name);
        expect(queryValue(query, name)).toEqual(all.length > 1 ? { ambiguous: true } : { value: all[0], ambiguous: false });
      },
    ),
    { numRuns: 3000 },
  );
});
