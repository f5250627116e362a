/**
 * The sandbox's stand-in for API Gateway's JWT authorizer (sandbox/provisioning/jwt-authorizer.ts) against a
 * real JWKS endpoint and tokens signed by jsonwebtoken: each check API Gateway documents refuses with 401 and
 * says why, a missing scope is 403, claims reach the function as strings the way API Gateway writes them, and
 * many first requests at once share one JWKS fetch.
 */
import jwt from "jsonwebtoken";
import { apiGatewayValue, LocalJwtAuthorizer } from "../../sandbox/provisioning/jwt-authorizer";
import { JwksServer } from "../../support/jwks-server";
import { rsaKey } from "../../support/tokens";

const ISSUER = "https://pool.example.test/local_1";
const KEY = rsaKey("k1");
let jwks: JwksServer;

beforeAll(async () => {
  jwks = await JwksServer.start();
  jwks.behaviour.keys = [KEY.jwk];
});
afterAll(() => jwks?.stop());

function authorizer() {
  return new LocalJwtAuthorizer({ issuer: ISSUER, jwksUri: jwks.uri, audiences: ["installer-app"], scopes: ["iot/provision"] });
}

function token(claims: Record<string, unknown> = {}, options: jwt.SignOptions = {}, key = KEY): string {
  const body = { iss: ISSUER, client_id: "installer-app", sub: "u-1", scope: "openid iot/provision", token_use: "access", ...claims };
  return jwt.sign(body, key.privateKey, { algorithm: "RS256", keyid: key.kid, expiresIn: 600, ...options });
}

test("a Cognito access token of the installer app with the scope passes; its claims as API Gateway passes them", async () => {
  const verdict = await authorizer().authorize(`Bearer ${token({ "cognito:groups": ["installers", "admins"], auth_time: 1700000000 })}`);
  expect(verdict).toMatchObject({
    ok: true,
    scopes: ["iot/provision"],
    claims: { sub: "u-1", "cognito:groups": "[installers admins]", auth_time: "1700000000", scope: "openid iot/provision" },
  });
  expect(await authorizer().authorize(token())).toMatchObject({ ok: true }); // without "Bearer " too
});

test.each([
  ["no token", undefined, "the request has no token"],
  ["not a JWT", "Bearer abc.def", "the token is not a valid JWT"],
  ["HS256", `Bearer ${jwt.sign({ iss: ISSUER }, "secret-secret-secret-secret-secret!", { algorithm: "HS256" })}`, "RSA"],
  ["an unknown kid", `Bearer ${token({}, {}, rsaKey("other"))}`, "kid"],
  ["another issuer", `Bearer ${token({ iss: "https://elsewhere.example.test" })}`, "valid issuer"],
  ["another client", `Bearer ${token({ client_id: "tv-app" })}`, "valid audience"],
  ["aud wins over client_id", `Bearer ${token({ aud: "tv-app" })}`, "valid audience"],
  ["expired", `Bearer ${token({}, { expiresIn: -10 })}`, "expired"],
  ["not valid yet", `Bearer ${token({}, { notBefore: 600 })}`, "not valid yet"],
])("%s: 401, saying why", async (_case, header, why) => {
  const verdict = await authorizer().authorize(header);
  expect(verdict).toMatchObject({ ok: false, status: 401, description: expect.stringContaining(why) });
});

test("a forged signature is refused", async () => {
  const [h, p] = token().split(".");
  const forged = `${h}.${p}.${Buffer.from("x".repeat(256)).toString("base64url")}`;
  expect(await authorizer().authorize(forged)).toMatchObject({ ok: false, status: 401, description: expect.stringContaining("signature") });
});

test("without one of the route's scopes: 403 and an insufficient_scope challenge; `scp` counts as `scope`", async () => {
  const a = authorizer();
  const verdict = await a.authorize(token({ scope: "openid" }));
  expect(verdict).toMatchObject({ ok: false, status: 403 });
  if (verdict.ok) throw new Error("unreachable");
  expect(a.challenge(verdict)).toMatch(/^Bearer scope="iot\/provision" error="insufficient_scope" error_description=".+"$/);
  expect(await a.authorize(token({ scope: undefined, scp: ["iot/provision"] }))).toMatchObject({ ok: true, scopes: ["iot/provision"] });
});

test("fifty first requests at once: one JWKS fetch, every token accepted", async () => {
  const before = jwks.requests;
  const a = authorizer();
  const verdicts = await Promise.all(Array.from({ length: 50 }, () => a.authorize(token())));
  expect(verdicts.every((v) => v.ok)).toBe(true);
  expect(jwks.requests - before).toBe(1);
});

test("claim values: strings as they are, numbers and booleans written out, arrays and objects in Go's notation", () => {
  expect(apiGatewayValue("x")).toBe("x");
  expect(apiGatewayValue(42)).toBe("42");
  expect(apiGatewayValue(true)).toBe("true");
  expect(apiGatewayValue(["a", "b"])).toBe("[a b]");
  expect(apiGatewayValue({ k: "v" })).toBe("map[k:v]");
});
