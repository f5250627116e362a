import {
  checkAuthorizerSettings,
  DEFAULT_GRANTS,
  DEFAULT_AUTHORIZER_SETTINGS,
  loadAuthorizerConfig,
  parseAuthorizerConfig,
} from "../../functions/authorizer/config";
import { ConfigurationError } from "../../functions/shared/problems";

const account = { region: "eu-west-1", accountId: "123456789012" };
const rsIssuer = { issuer: "https://idp.example.com", algorithms: ["RS256"], jwksUri: "https://idp.example.com/jwks.json" };

function problemsOf(raw: unknown): string[] {
  try {
    loadAuthorizerConfig(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigurationError);
    return (err as ConfigurationError).problems;
  }
  throw new Error("the configuration was accepted");
}

test("a minimal RSA configuration gets the documented defaults", () => {
  expect(loadAuthorizerConfig({ ...account, issuers: [rsIssuer] })).toEqual({
    ...account,
    partition: "aws",
    issuers: [rsIssuer],
    grants: DEFAULT_GRANTS,
    ...DEFAULT_AUTHORIZER_SETTINGS,
  });
  expect(DEFAULT_AUTHORIZER_SETTINGS).toEqual({
    tokenKeyName: "token",
    refreshAfterSeconds: 3600,
    disconnectAfterSeconds: 86400,
    clockToleranceSeconds: 30,
    maxTokenBytes: 8192,
  });
});

test("the default grants never hand out a wildcard outside the principal's own tree", () => {
  for (const rule of DEFAULT_GRANTS) {
    for (const resource of rule.resources) expect(resource).toMatch(/^(client|topic|topicfilter)\/(devices\/)?\{principal\}/);
  }
});

test("an unsafe configuration is refused with every problem listed at once", () => {
  const problems = problemsOf({
    region: "Ireland",
    accountId: "1234",
    issuers: [
      { issuer: "https://openam.example.com", algorithms: ["HS256"], secret: Buffer.alloc(16).toString("base64") },
      { issuer: "https://cognito.example.com", algorithms: ["RS256"] },
      { issuer: "https://hs.example.com", algorithms: ["HS256"] },
      { issuer: "https://weird.example.com", algorithms: ["ES256", "none"], jwksUri: "https://weird.example.com/jwks" },
      {
        issuer: "https://mixed.example.com",
        algorithms: ["RS256", "HS256"],
        jwksUri: "https://m.example.com/jwks",
        secret: Buffer.alloc(32).toString("base64"),
      },
      { issuer: "https://plain.example.com", algorithms: ["RS256"], jwksUri: "http://plain.example.com/jwks" },
    ],
    grants: [
      { actions: ["iot:Publish"], resources: ["arn:aws:iot:eu-west-1:123456789012:topic/*"] },
      { actions: ["iot:Connect"], resources: ["client/{user}"] },
      { actions: ["iot:Subscribe"], resources: ["topic/devices/{principal}"] },
      { actions: ["iot:*"], resources: ["client/x"] },
    ],
    refreshAfterSeconds: 60,
    clockToleranceSeconds: 3600,
    tokenKeyName: "x-amz-customauthorizer-token",
    colour: "blue",
  });
  const expected = [
    /openam.*decodes to 16 bytes; HS256 needs at least 32/,
    /cognito.*an RSA issuer needs jwksUri/,
    /hs\.example.*an HMAC issuer needs its shared secret/,
    /weird.*unknown algorithm\(s\) ES256, none/,
    /mixed.*mixes RSA and HMAC/,
    /plain.*must use https/,
    /grants\[0\].*must start with client\/, topic\/ or topicfilter\//,
    /grants\[1\].*unknown placeholder \{user\}/,
    /grants\[2\].*iot:Subscribe is checked against topicfilter/,
    /grants\[3\].*unknown action "iot:\*"/,
    /refreshAfterSeconds must be an integer from 300 to 86400; got 60/,
    /clockToleranceSeconds must be an integer from 0 to 300/,
    /tokenKeyName must not be one of IoT's own/,
    /unknown setting "colour"/,
    /region must be an AWS region/,
    /accountId must be 12 digits/,
    /principal namespace/,
  ];
  for (const pattern of expected) expect(problems.some((p) => pattern.test(p))).toBe(true);
});

test("several issuers need prefix-free principal prefixes, so one IdP's alice is not another's", () => {
  const hs = { algorithms: ["HS256"], secret: Buffer.alloc(32, 1).toString("base64") };
  expect(
    problemsOf({
      ...account,
      issuers: [
        { ...rsIssuer, principalPrefix: "c" },
        { issuer: "https://o", ...hs, principalPrefix: "co" },
      ],
    }),
  ).toEqual([expect.stringMatching(/share a principal namespace \(prefixes "c" and "co"\)/)]);
  expect(() =>
    loadAuthorizerConfig({
      ...account,
      issuers: [
        { ...rsIssuer, principalPrefix: "c" },
        { issuer: "https://o", ...hs, principalPrefix: "o" },
      ],
    }),
  ).not.toThrow();
});

test("a shared secret must be standard base64, as OpenAM's console takes it", () => {
  const base64url = Buffer.alloc(33, 0xfb).toString("base64url");
  expect(problemsOf({ ...account, issuers: [{ issuer: "https://o", algorithms: ["HS256"], secret: base64url }] })).toEqual([
    expect.stringMatching(/not standard base64/),
  ]);
  expect(
    problemsOf({ ...account, issuers: [{ issuer: "https://o", algorithms: ["HS512"], secret: Buffer.alloc(32).toString("base64") }] }),
  ).toEqual([expect.stringMatching(/decodes to 32 bytes; HS512 needs at least 64/)]);
});

test("http JWKS URIs are allowed on loopback only", () => {
  for (const jwksUri of ["http://127.0.0.1:9000/jwks", "http://localhost/jwks", "http://[::1]:8080/jwks"]) {
    expect(checkAuthorizerSettings({ issuers: [{ ...rsIssuer, jwksUri }] }).problems).toEqual([]);
  }
  expect(checkAuthorizerSettings({ issuers: [{ ...rsIssuer, jwksUri: "http://10.0.0.1/jwks" }] }).problems).toHaveLength(1);
});

test("AUTHORIZER_CONFIG that is missing or not JSON is refused without echoing it", () => {
  expect(() => parseAuthorizerConfig(undefined)).toThrow(/AUTHORIZER_CONFIG is not set/);
  const secretish = '{"issuers": [{"secret": "c3VwZXJzZWNyZXQ=" oops';
  try {
    parseAuthorizerConfig(secretish);
    throw new Error("accepted");
  } catch (err) {
    expect((err as Error).message).toMatch(/AUTHORIZER_CONFIG is not valid JSON/);
    expect((err as Error).message).not.toContain("c3VwZXJzZWNyZXQ");
  }
});
