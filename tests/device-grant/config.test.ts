/**
 * The device grant's configuration checks: defaults, every problem reported at once, and the entropy
 * messages a stack author reads when a code is too weak.
 */
import { DEVICE_GRANT_CONFIG_ENV, loadDeviceGrantConfig, parseDeviceGrantConfig } from "../../functions/device-grant/config";
import { ConfigurationError, ConfigurationError as AuthorizerConfigurationError } from "../../functions/shared/problems";
import {
  DEFAULT_DEVICE_GRANT_SETTINGS,
  checkClients,
  checkDeviceGrantSettings,
  defaultUserCodeMask,
} from "../../functions/device-grant/settings";

describe("checkDeviceGrantSettings", () => {
  it("fills in the AWS sample's defaults, with consonant user codes", () => {
    const expected = {
      codeExpirySeconds: 1800,
      deviceCodeFormat: "#aA",
      deviceCodeLength: 64,
      userCodeFormat: "B",
      userCodeLength: 8,
      userCodeMask: "####-####",
      pollingIntervalSeconds: 5,
      resultTokenSet: ["ACCESS", "REFRESH"],
      maxFailedEntriesPerIp: 10,
      maxFailedAttemptsPerCode: 5,
      attemptWindowSeconds: 900,
      approvalLockSeconds: 300,
      allowWeakCodes: false,
    };
    expect(DEFAULT_DEVICE_GRANT_SETTINGS).toEqual(expected);
    expect(checkDeviceGrantSettings(undefined)).toEqual({ settings: expected, problems: [] });
    expect(checkDeviceGrantSettings({})).toEqual({ settings: expected, problems: [] });
    expect(checkDeviceGrantSettings(DEFAULT_DEVICE_GRANT_SETTINGS)).toEqual({ settings: expected, problems: [] });
  });

  it("hands out settings that cannot alter the defaults", () => {
    const { settings } = checkDeviceGrantSettings({});
    settings.resultTokenSet.push("ID");
    expect(DEFAULT_DEVICE_GRANT_SETTINGS.resultTokenSet).toEqual(["ACCESS", "REFRESH"]);
    expect(Object.isFrozen(DEFAULT_DEVICE_GRANT_SETTINGS)).toBe(true);
    expect(Object.isFrozen(DEFAULT_DEVICE_GRANT_SETTINGS.resultTokenSet)).toBe(true);
  });

  it("accepts a good non-default configuration as given", () => {
    const raw = {
      codeExpirySeconds: 600,
      deviceCodeFormat: "#aA!",
      deviceCodeLength: 40,
      userCodeFormat: "#B",
      userCodeLength: 9,
      userCodeMask: "### ### ###",
      pollingIntervalSeconds: 1,
      resultTokenSet: ["ID", "ACCESS"],
      maxFailedEntriesPerIp: 3,
      maxFailedAttemptsPerCode: 2,
      attemptWindowSeconds: 60,
      approvalLockSeconds: 120,
      allowWeakCodes: false,
    };
    expect(checkDeviceGrantSettings(raw)).toEqual({ settings: { ...raw, resultTokenSet: ["ACCESS", "ID"] }, problems: [] });
  });

  it("lists every problem of a bad configuration at once", () => {
    const { problems } = checkDeviceGrantSettings({
      codeExpirySeconds: 30,
      deviceCodeFormat: "#aZ",
      deviceCodeLength: 0,
      userCodeFormat: "bB",
      userCodeLength: 8,
      userCodeMask: "###-####",
      pollingIntervalSeconds: 2.5,
      resultTokenSet: "ID+FOO",
      maxFailedEntriesPerIp: 0,
      maxFailedAttemptsPerCode: "5",
      attemptWindowSeconds: 10,
      approvalLockSeconds: 5,
      allowWeakCodes: "no",
      codeExpiration: 1800,
    });
    expect(problems).toEqual([
      'unknown setting "codeExpiration"',
      "codeExpirySeconds must be an integer from 60 to 86400; got 30",
      'deviceCodeFormat "#aZ" has unknown letter(s) "Z"; allowed: # digits, a lowercase, A uppercase, b lowercase consonants, B uppercase consonants, ! special characters',
      "deviceCodeLength must be an integer from 1 to 512; got 0",
      "pollingIntervalSeconds must be an integer from 1 to 60; got 2.5",
      "maxFailedEntriesPerIp must be an integer from 1 to 10000; got 0",
      'maxFailedAttemptsPerCode must be an integer from 1 to 100; got "5"',
      "attemptWindowSeconds must be an integer from 60 to 86400; got 10",
      "approvalLockSeconds must be an integer from 30 to 3600; got 5",
      'resultTokenSet has unknown token kind(s) "FOO"; allowed: ACCESS, ID, REFRESH',
      "resultTokenSet must include ACCESS: a token response without access_token is not a token response (RFC 6749 §5.1)",
      'allowWeakCodes must be true or false; got "no"',
      'userCodeFormat "bB" mixes lower and upper case letters; user codes are matched case-insensitively, so use one case (e.g. "B")',
      'userCodeMask "###-####" has 7 # slot(s) but userCodeLength is 8',
    ]);
  });

  it("states the computed entropy of a weak device code and a weak user code", () => {
    const { problems } = checkDeviceGrantSettings({
      deviceCodeLength: 16,
      userCodeFormat: "#",
      userCodeLength: 6,
      userCodeMask: "###-###",
    });
    expect(problems).toEqual([
      "deviceCodeLength 16 with format #aA gives 95.3 bits; at least 128 are required (or set allowWeakCodes)",
      "userCodeLength 6 with format # gives 19.9 bits (matched case-insensitively); at least 30 are required (or set allowWeakCodes)",
    ]);
  });

  it("counts a user code's entropy after case folding", () => {
    // aA would be 6 × log2(52) = 34.2 bits as drawn, but only 6 × log2(26) = 28.2 once matching ignores case.
    const { problems } = checkDeviceGrantSettings({ userCodeFormat: "aA", userCodeLength: 6, userCodeMask: "######" });
    expect(problems).toContain(
      "userCodeLength 6 with format aA gives 28.2 bits (matched case-insensitively); at least 30 are required (or set allowWeakCodes)",
    );
  });

  it("accepts the minimums exactly, and weak codes only when told so", () => {
    expect(checkDeviceGrantSettings({ deviceCodeFormat: "#", deviceCodeLength: 39 }).problems).toEqual([]); // 129.6 bits
    expect(checkDeviceGrantSettings({ deviceCodeFormat: "#", deviceCodeLength: 38 }).problems).toEqual([
      "deviceCodeLength 38 with format # gives 126.2 bits; at least 128 are required (or set allowWeakCodes)",
    ]);
    expect(checkDeviceGrantSettings({ userCodeLength: 7, userCodeMask: "#######" }).problems).toEqual([]); // 30.3 bits
    const weak = checkDeviceGrantSettings({ deviceCodeLength: 8, userCodeLength: 4, userCodeMask: "####", allowWeakCodes: true });
    expect(weak.problems).toEqual([]);
    expect(weak.settings).toMatchObject({ deviceCodeLength: 8, userCodeLength: 4, allowWeakCodes: true });
  });

  it("reads the AWS sample's RESULT_TOKEN_SET syntax and lists", () => {
    expect(checkDeviceGrantSettings({ resultTokenSet: "ACCESS+REFRESH" }).settings.resultTokenSet).toEqual(["ACCESS", "REFRESH"]);
    expect(checkDeviceGrantSettings({ resultTokenSet: "REFRESH+ID+ACCESS" }).settings.resultTokenSet).toEqual(["ACCESS", "ID", "REFRESH"]);
    expect(checkDeviceGrantSettings({ resultTokenSet: "ACCESS" }).settings.resultTokenSet).toEqual(["ACCESS"]);
    expect(checkDeviceGrantSettings({ resultTokenSet: ["ACCESS", "ACCESS"] }).settings.resultTokenSet).toEqual(["ACCESS"]);
    expect(checkDeviceGrantSettings({ resultTokenSet: "ID+REFRESH" }).problems).toEqual([
      "resultTokenSet must include ACCESS: a token response without access_token is not a token response (RFC 6749 §5.1)",
    ]);
    expect(checkDeviceGrantSettings({ resultTokenSet: 7 }).problems).toEqual([
      'resultTokenSet must be a list such as ["ACCESS", "REFRESH"] or a string such as "ACCESS+REFRESH"; got 7',
    ]);
    expect(checkDeviceGrantSettings({ resultTokenSet: "access" }).problems[0]).toMatch(/unknown token kind\(s\) "access"/);
  });

  it("derives a mask for a new length, and refuses masks a user could not type back", () => {
    expect(defaultUserCodeMask(8)).toBe("####-####");
    expect(defaultUserCodeMask(10)).toBe("####-####-##");
    expect(checkDeviceGrantSettings({ userCodeLength: 10 }).settings.userCodeMask).toBe("####-####-##");
    expect(checkDeviceGrantSettings({ userCodeMask: "####.####" }).problems).toEqual([
      'userCodeMask must be # slots separated by dashes or spaces (which user-code entry ignores), e.g. "####-####"; got "####.####"',
    ]);
    expect(checkDeviceGrantSettings({ userCodeMask: "----" }).problems).toHaveLength(1);
  });

  it("refuses empty formats and non-objects", () => {
    expect(checkDeviceGrantSettings({ deviceCodeFormat: "", userCodeFormat: 3 }).problems).toEqual([
      'deviceCodeFormat must be a non-empty string of format letters (# a A b B !); got ""',
      "userCodeFormat must be a non-empty string of format letters (# a A b B !); got 3",
    ]);
    expect(checkDeviceGrantSettings([]).problems).toEqual(["the device grant settings must be an object"]);
  });
});

describe("checkClients", () => {
  it("accepts well-formed clients", () => {
    const raw = [
      { clientId: "4h5example2tv", name: "Living-room TV", type: "public", scopes: ["openid", "iot/device"] },
      { clientId: "printer", name: "Office printer", type: "confidential", scopes: ["iot/device"] },
    ];
    expect(checkClients(raw)).toEqual({ clients: raw, problems: [] });
  });

  it("lists every problem of every client", () => {
    const { clients, problems } = checkClients([
      { clientId: "tv", name: "TV", type: "public", scopes: ["openid"] },
      { clientId: "tv", name: "", type: "private", scopes: [] },
      { clientId: "has space", name: "X", type: "public", scopes: ["a b", "ok", "ok", 5], secret: "s3cr3t" },
      "printer",
    ]);
    expect(clients.map((c) => c.clientId)).toEqual(["tv"]);
    expect(problems).toEqual([
      "client tv is registered more than once",
      "client tv: name must be a non-empty string of at most 100 characters (the confirmation page shows it)",
      'client tv: type must be "public" or "confidential"; got "private"',
      "client tv: scopes must be a non-empty list of scopes",
      'clients[2]: unknown setting "secret"',
      'clients[2].clientId must be 1-128 printable ASCII characters without spaces; got "has space"',
      'client has space: scopes: "a b" is not a scope (printable ASCII without spaces, quotes or backslashes)',
      "client has space: scopes: scope ok is listed more than once",
      "client has space: scopes: 5 is not a scope (printable ASCII without spaces, quotes or backslashes)",
      "clients[3] must be an object with clientId, name, type and scopes",
    ]);
    expect(problems.join("\n")).not.toContain("s3cr3t");
  });

  it("needs at least one client", () => {
    expect(checkClients([]).problems).toEqual(["clients must list at least one client"]);
    expect(checkClients(undefined).problems).toEqual(["clients must list at least one client"]);
  });
});

describe("the runtime configuration", () => {
  const good = {
    settings: { pollingIntervalSeconds: 3 },
    clients: [
      { clientId: "tv", name: "TV", type: "public", scopes: ["openid", "iot/device"] },
      { clientId: "printer", name: "Printer", type: "confidential", scopes: ["iot/device"] },
    ],
    scopes: ["openid", "iot/device", "iot/admin"],
    upstream: {
      issuer: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example",
      authorizationEndpoint: "https://example.auth.eu-west-1.amazoncognito.com/oauth2/authorize",
      tokenEndpoint: "https://example.auth.eu-west-1.amazoncognito.com/oauth2/token",
      redirectUri: "https://device.example.com/callback",
    },
    publicBaseUrl: "https://device.example.com/",
    tableName: "device-grant-requests",
    region: "eu-west-1",
    clientSecretsParameter: "/device-grant/client-secrets",
  };

  it("loads a good configuration with setting defaults filled in", () => {
    const config = loadDeviceGrantConfig(good);
    expect(config).toEqual({
      ...good,
      settings: { ...DEFAULT_DEVICE_GRANT_SETTINGS, pollingIntervalSeconds: 3 },
      publicBaseUrl: "https://device.example.com",
    });
  });

  it("allows plain http on loopback only, for local runs", () => {
    const local = {
      ...good,
      upstream: {
        issuer: "http://127.0.0.1:9229/local_pool",
        authorizationEndpoint: "http://127.0.0.1:9229/oauth2/authorize",
        tokenEndpoint: "http://localhost:9229/oauth2/token",
        redirectUri: "http://127.0.0.1:3000/callback",
      },
      publicBaseUrl: "http://127.0.0.1:3000",
    };
    expect(loadDeviceGrantConfig(local).publicBaseUrl).toBe("http://127.0.0.1:3000");
  });

  it("throws every problem at once, as the authorizer's ConfigurationError", () => {
    const { clientSecretsParameter: _omitted, ...withoutSecrets } = good;
    const bad = {
      ...withoutSecrets,
      settings: { deviceCodeLength: 16 },
      scopes: ["openid"],
      upstream: { ...good.upstream, tokenEndpoint: "http://idp.example.com/token", extra: 1 },
      publicBaseUrl: "https://device.example.com/?x=1",
      tableName: "t",
      region: "Europe",
      logLevel: "debug",
    };
    let error: unknown;
    try {
      loadDeviceGrantConfig(bad);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error).toBeInstanceOf(AuthorizerConfigurationError);
    expect((error as ConfigurationError).message).toMatch(/^Invalid device grant configuration: 10 problem\(s\):/);
    expect((error as ConfigurationError).problems).toEqual([
      'unknown setting "logLevel"',
      "settings: deviceCodeLength 16 with format #aA gives 95.3 bits; at least 128 are required (or set allowWeakCodes)",
      "client tv: scope(s) iot/device are not among the offered scopes",
      "client printer: scope(s) iot/device are not among the offered scopes",
      'upstream: unknown setting "extra"',
      'upstream.tokenEndpoint must use https (plain http is allowed on loopback only); got "http://idp.example.com/token"',
      "publicBaseUrl must not have a query",
      'tableName must be a DynamoDB table name (3-255 letters, digits, _ . -); got "t"',
      'region must be an AWS region such as eu-west-1; got "Europe"',
      "confidential client(s) printer need clientSecretsParameter (the SSM SecureString holding their secrets)",
    ]);
  });

  it("reports a missing or broken document without echoing it", () => {
    expect(() => parseDeviceGrantConfig(undefined)).toThrow(`${DEVICE_GRANT_CONFIG_ENV} is not set`);
    expect(() => parseDeviceGrantConfig("  ")).toThrow(ConfigurationError);
    let message = "";
    try {
      parseDeviceGrantConfig('{"clientSecret": "hunter2-and-more"');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/DEVICE_GRANT_CONFIG is not valid JSON/);
    expect(message).not.toContain("hunter2");
    expect(parseDeviceGrantConfig(JSON.stringify(good)).tableName).toBe("device-grant-requests");
  });

  it("refuses a non-object document and names every missing part", () => {
    expect(() => loadDeviceGrantConfig(null)).toThrow(ConfigurationError);
    try {
      loadDeviceGrantConfig({});
    } catch (err) {
      expect((err as ConfigurationError).problems).toEqual([
        "clients must list at least one client",
        "scopes must be a non-empty list of scopes",
        "upstream must be an object with issuer, authorizationEndpoint, tokenEndpoint and redirectUri",
        "publicBaseUrl must be a URL; got undefined",
        "tableName must be a DynamoDB table name (3-255 letters, digits, _ . -); got undefined",
        "region must be an AWS region such as eu-west-1; got undefined",
      ]);
    }
    expect.assertions(2);
  });
});
