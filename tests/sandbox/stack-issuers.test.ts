/**
 * How the sandbox reads the stack's `issuers` and stands in for each (sandbox/stack-issuers.ts): the stack's
 * values are checked as a deployment checks them (prefixes against the user pool's, `sharedSecret: true`), and
 * each issuer keeps its algorithms, audiences, client ids, claims and prefix while its URL, secret or JWKS
 * become local ones.
 */
import { loadSandboxSettings, checkSandboxSettings } from "../../sandbox/settings";
import { idpProfiles, readStackIssuers, sharedSecretBytes, standInIssuers, type StackIssuer } from "../../sandbox/stack-issuers";
import { STAND_IN_SECRET } from "../../infra/stand-ins";

const OPENAM: StackIssuer = {
  issuer: "https://openam.example.com:8443/openam/oauth2",
  algorithms: ["HS256"],
  audiences: ["deviceagent"],
  principalPrefix: "openam",
};

describe("reading the stack's issuers", () => {
  it("reads every issuer of Pulumi.dev.yaml, the OpenAM one without where its secret comes from", () => {
    expect(loadSandboxSettings().issuers).toEqual([OPENAM]);
  });

  it("gives HMAC issuers a stand-in secret, whether the stack reads sharedSecret or an SSM parameter", () => {
    const { toCheck, problems } = readStackIssuers([
      { ...OPENAM, sharedSecret: true },
      { ...OPENAM, issuer: "https://b.example.com/oauth2", secretParameter: "/openam/secret", principalPrefix: "b" },
    ]);
    expect(problems).toEqual([]);
    expect(toCheck).toEqual([
      { ...OPENAM, secret: STAND_IN_SECRET },
      { ...OPENAM, issuer: "https://b.example.com/oauth2", secret: STAND_IN_SECRET, principalPrefix: "b" },
    ]);
  });

  it("refuses what the stack refuses: sharedSecret other than true, a prefix sharing the pool's namespace, no list", () => {
    const problems = checkSandboxSettings(
      {
        issuers: [
          { ...OPENAM, sharedSecret: "c2VjcmV0" },
          {
            issuer: "https://idp.example.com",
            algorithms: ["RS256"],
            jwksUri: "https://idp.example.com/jwks",
            principalPrefix: "cognitox",
          },
        ],
      },
      "test",
      true,
    ).problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/issuer https:\/\/openam\.example\.com:8443\/openam\/oauth2: sharedSecret must be true/),
        expect.stringMatching(
          /https:\/\/idp\.example\.com and the device grant's user pool \(userPoolPrincipalPrefix\) share a principal namespace/,
        ),
      ]),
    );
    expect(checkSandboxSettings({ issuers: { issuer: "x" } }, "test", true).problems).toContainEqual(
      "issuers must be a list of issuers, as in Pulumi.dev.yaml",
    );
  });

  it("reads no issuer when the stack lists none (the pool alone is trusted)", () => {
    expect(checkSandboxSettings({}, "test", true).settings.issuers).toEqual([]);
  });
});

describe("standing in for them", () => {
  const partner: StackIssuer = {
    issuer: "https://partner.example.com/",
    algorithms: ["RS256"],
    jwksUri: "https://partner.example.com/jwks",
    clientIds: ["tv", "console"],
    audiences: ["console"],
    tokenUse: "access",
    principalClaim: "uid",
    principalPrefix: "partner",
  };

  it("one profile per issuer: its path, algorithm, a client id both checks accept, its claims", () => {
    const grants = [{ actions: ["iot:Publish" as const], resources: ["topic/a/{principal}"], scopes: ["iot/device"] }];
    expect(idpProfiles([OPENAM, partner, { ...OPENAM, principalPrefix: "c" }], grants)).toEqual([
      { key: "enterprise", path: "/openam/oauth2", algorithm: "HS256", clientId: "deviceagent", scopes: ["mail", "cn", "iot/device"] },
      {
        key: "enterprise2",
        path: "/issuer2",
        algorithm: "RS256",
        clientId: "console",
        scopes: ["mail", "cn", "iot/device"],
        tokenUse: "access",
        keepClientId: true,
        principalClaim: "uid",
      },
      { key: "enterprise3", path: "/openam/oauth2-3", algorithm: "HS256", clientId: "deviceagent", scopes: ["mail", "cn", "iot/device"] },
    ]);
    expect(idpProfiles([{ ...OPENAM, audiences: undefined }], [])[0].clientId).toBe("deviceagent");
  });

  it("points each issuer at its stand-in, keeping every check and the prefix", () => {
    const standIns = [
      { issuer: "http://127.0.0.1:8082/openam/oauth2", jwksUri: "http://127.0.0.1:8082/openam/oauth2/jwks" },
      { issuer: "http://127.0.0.1:8082/issuer2", jwksUri: "http://127.0.0.1:8082/issuer2/jwks" },
    ];
    expect(standInIssuers([OPENAM, partner], standIns, "c2VjcmV0")).toEqual([
      { ...OPENAM, issuer: standIns[0].issuer, secret: "c2VjcmV0" },
      { ...partner, issuer: standIns[1].issuer, jwksUri: standIns[1].jwksUri },
    ]);
  });

  it("draws a shared secret long enough for every HMAC algorithm: 32 bytes, 64 for HS512", () => {
    expect(sharedSecretBytes([OPENAM])).toBe(32);
    expect(sharedSecretBytes([OPENAM, { ...OPENAM, algorithms: ["HS512"] }])).toBe(64);
    expect(sharedSecretBytes([partner])).toBe(32);
  });
});
