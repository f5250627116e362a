/** The sandbox reads the dev stack's own keys (or a settings file with the same keys) through the functions' checks. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DEFAULT_DEVICE_GRANT_SETTINGS } from "../../functions/device-grant/settings";
import { checkSandboxSettings, loadSandboxSettings, stackFileSettings } from "../../sandbox/settings";
import { ConfigurationError } from "../../functions/shared/problems";
import { readStackFile } from "../../support/stack-files";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "sandbox-settings-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigurationError) return err.problems;
    throw err;
  }
  throw new Error("expected a ConfigurationError");
}

describe("Pulumi.dev.yaml", () => {
  it("gives the dev stack's device grant settings, grants, timers, region and first public device client", () => {
    const dev = readStackFile("dev");
    const settings = loadSandboxSettings();
    expect(settings.source).toMatch(/Pulumi\.dev\.yaml$/);
    expect(settings.deviceGrant.codeExpirySeconds).toBe(dev["iot-enterprise-auth:codeExpirySeconds"]);
    expect(settings.deviceGrant.userCodeFormat).toBe(DEFAULT_DEVICE_GRANT_SETTINGS.userCodeFormat);
    expect(settings.authorizer.grants).toEqual(dev["iot-enterprise-auth:grants"]);
    expect(settings.authorizer.refreshAfterSeconds).toBe(dev["iot-enterprise-auth:refreshAfterSeconds"]);
    expect(settings.region).toBe(dev["aws:region"]);
    expect(settings.deviceClient).toEqual({ name: "Living-room TV", scopes: ["openid", "iot/device"] });
    expect(settings.principalPrefix).toBe("cognito");
    // Every issuer of the stack is read (the sandbox stands in for each), without where its secret comes from.
    const { sharedSecret: _secret, ...openAm } = (dev["iot-enterprise-auth:issuers"] as Record<string, unknown>[])[0];
    expect(settings.issuers).toEqual([openAm]);
    // AWS-only settings are listed, not refused.
    expect(settings.ignored).toEqual(expect.arrayContaining(["deviceGrantEnabled", "logRetentionDays"]));
    expect(settings.ignored).not.toContain("issuers");
  });

  it("reads only the project's keys and aws:region", () => {
    const text = "config:\n  aws:region: us-west-2\n  other:codeExpirySeconds: 5\n  iot-enterprise-auth:pollingIntervalSeconds: 2\n";
    expect(stackFileSettings(text, "x.yaml")).toEqual({ region: "us-west-2", pollingIntervalSeconds: 2 });
  });

  it("reports a YAML syntax error with the file's name", () => {
    const file = path.join(dir, "broken.yaml");
    writeFileSync(file, "config: [\n");
    expect(problemsOf(() => loadSandboxSettings({ stackFile: file }))[0]).toMatch(/broken\.yaml is not valid YAML/);
  });
});

describe("a settings file", () => {
  it("replaces the stack file, with defaults for what it leaves out", () => {
    const file = path.join(dir, "short.json");
    writeFileSync(file, JSON.stringify({ codeExpirySeconds: 60, pollingIntervalSeconds: 1, tokenKeyName: "jwt" }));
    const settings = loadSandboxSettings({ settingsFile: file });
    expect(settings.deviceGrant).toEqual({ ...DEFAULT_DEVICE_GRANT_SETTINGS, codeExpirySeconds: 60, pollingIntervalSeconds: 1 });
    expect(settings.authorizer.tokenKeyName).toBe("jwt");
    expect(settings.ignored).toEqual([]);
  });

  it("reports every problem at once: device grant, authorizer, prefix, client and unknown keys", () => {
    const problems = checkSandboxSettings(
      {
        codeExpirySeconds: 5,
        userCodeFormat: "Z",
        tokenKeyName: "x-amz-customauthorizer-token",
        refreshAfterSeconds: 10,
        userPoolPrincipalPrefix: "co-gnito",
        deviceClients: [{ key: "printer", name: "Printer", type: "confidential", scopes: ["iot/device"] }],
        codeExpiry: 60,
      },
      "test",
      true,
    ).problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^codeExpirySeconds must be an integer from 60/),
        expect.stringMatching(/userCodeFormat/),
        expect.stringMatching(/^tokenKeyName must not be/),
        expect.stringMatching(/^refreshAfterSeconds/),
        expect.stringMatching(/^userPoolPrincipalPrefix must be at most 32 letters and digits/),
        expect.stringMatching(/^deviceClients has no public client/),
        expect.stringMatching(/^unknown setting "codeExpiry"/),
      ]),
    );
    expect(problems).toHaveLength(7);
  });

  it("names the device client entry whose scopes are bad", () => {
    const problems = checkSandboxSettings(
      { deviceClients: [{ key: "tv", name: "TV", type: "public", scopes: ["bad scope"] }] },
      "test",
      true,
    ).problems;
    expect(problems).toEqual([expect.stringMatching(/^deviceClients \("tv"\): scopes/)]);
  });

  it("says which file cannot be read or parsed", () => {
    expect(problemsOf(() => loadSandboxSettings({ settingsFile: path.join(dir, "missing.json") }))).toEqual([
      expect.stringMatching(/missing\.json: ENOENT/),
    ]);
    const file = path.join(dir, "bad.json");
    writeFileSync(file, "{ not json");
    expect(problemsOf(() => loadSandboxSettings({ settingsFile: file }))).toEqual([expect.stringMatching(/bad\.json is not valid JSON/)]);
    writeFileSync(file, "[1]");
    expect(problemsOf(() => loadSandboxSettings({ settingsFile: file }))).toEqual([expect.stringMatching(/must hold a JSON object/)]);
  });
});
