import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { REPO_ROOT } from "../../infra/bundle";
import { checkDeviceGrantArgs } from "../../infra/device-grant-args";
import { checkIotTokenAuthorizerArgs, IOT_TOKEN_AUTHORIZER_DEFAULTS } from "../../infra/iot-token-authorizer-args";
import { checkUserDirectoryArgs } from "../../infra/user-directory-args";
import {
  DEVICE_GRANT_NAME,
  PROJECT,
  USER_DIRECTORY_NAME,
  readStackConfig,
  SCALAR_SETTINGS,
  SECRET_SETTINGS,
  STRUCTURED_SETTINGS,
  type ConfigSource,
} from "../../stacks/config";
import { setupMocks } from "../../support/pulumi-mocks";
import { readProjectFile, readStackFile } from "../../support/stack-files";

const OPENAM_ISSUER = JSON.stringify([
  { issuer: "https://openam.example.com:8443/openam/oauth2", algorithms: ["HS256"], sharedSecret: true },
]);
const OPENAM_PREFIXED = JSON.stringify([{ ...JSON.parse(OPENAM_ISSUER)[0], principalPrefix: "openam" }]);
const DEVICE_CLIENTS = JSON.stringify([{ key: "tv", name: "TV" }]);
const DEVICE_AND_INSTALLER_CLIENTS = JSON.stringify([
  { key: "tv", name: "TV" },
  { key: "installer", name: "Installer app", scopes: ["openid", "iot/provision"] },
]);
const SECRET = Buffer.alloc(32, 1).toString("base64");

const UPSTREAM = { issuer: "https://idp.example", authorizationEndpoint: "https://idp.example/a", tokenEndpoint: "https://idp.example/t" };

/** A config source over plain values that records which settings the program asks for. */
function recordingSource(values: Record<string, string>): ConfigSource & { read: Set<string> } {
  const read = new Set<string>();
  return {
    read,
    get(key: string) {
      read.add(key);
      return values[key];
    },
    keys: () => Object.keys(values),
  };
}

beforeEach(() => {
  setupMocks({ project: PROJECT });
});

describe("Pulumi.yaml", () => {
  const { project, text } = readProjectFile();

  it("names the project, the TypeScript runtime and the program in stacks/", () => {
    expect(project.name).toBe(PROJECT);
    expect(project.runtime).toEqual({ name: "nodejs", options: { typescript: true } });
    expect(project.main).toBe("stacks/");
    expect(fs.existsSync(path.join(REPO_ROOT, "stacks", "index.ts"))).toBe(true);
  });

  it("declares every scalar setting exactly as the program defines it", () => {
    const declared = Object.fromEntries(
      Object.entries(project.config).map(([k, v]) => [k, { type: v.type, default: v.default, description: v.description }]),
    );
    expect(declared).toEqual(SCALAR_SETTINGS);
  });

  it("declares settings only with Pulumi's schema types, and no key twice under the project prefix", () => {
    for (const [k, v] of Object.entries(project.config)) {
      expect(["string", "integer", "boolean", "array"]).toContain(v.type);
      expect(k.startsWith(`${PROJECT}:`)).toBe(false);
    }
  });

  it("documents the settings it cannot declare", () => {
    for (const k of [...STRUCTURED_SETTINGS, ...SECRET_SETTINGS]) {
      expect(text).toMatch(new RegExp(`^#\\s+${k} \\(`, "m"));
      expect(project.config).not.toHaveProperty(k);
    }
  });

  it("covers every setting the program reads, and the program reads every declared one", () => {
    // With the device grant and fleet provisioning on, so that their settings are read too.
    const source = recordingSource({
      issuers: OPENAM_PREFIXED,
      sharedSecret: SECRET,
      deviceGrantEnabled: "true",
      deviceClients: DEVICE_AND_INSTALLER_CLIENTS,
      fleetProvisioningEnabled: "true",
    });
    readStackConfig(source);
    const known = new Set([...Object.keys(SCALAR_SETTINGS), ...STRUCTURED_SETTINGS, ...SECRET_SETTINGS]);
    expect([...source.read].filter((k) => !known.has(k))).toEqual([]);
    expect([...known].filter((k) => !source.read.has(k))).toEqual([]);
  });

  it("has defaults that give the same stack as leaving every setting unset", () => {
    const defaults = Object.fromEntries(Object.entries(project.config).map(([k, v]) => [k, String(v.default)]));
    const common = { issuers: OPENAM_PREFIXED, sharedSecret: SECRET, deviceClients: DEVICE_CLIENTS };
    const unset = readStackConfig(recordingSource({ ...common, deviceGrantEnabled: "true" }));
    const explicit = readStackConfig(recordingSource({ ...defaults, ...common, deviceGrantEnabled: "true" }));
    // Unset settings reach the components as undefined and take their defaults; the declared ones must agree.
    const resolved = (config: typeof unset) => {
      const args = config.authorizer;
      const { sharedSecrets: _secrets, ...rest } = checkIotTokenAuthorizerArgs("iot-auth", args, "dev");
      const grant = config.deviceGrant;
      if (!grant) throw new Error("the device grant is on in both");
      const directory = checkUserDirectoryArgs(
        USER_DIRECTORY_NAME,
        { ...grant.directory, callbackUrls: ["https://x.example/callback"] },
        "dev",
      );
      const device = checkDeviceGrantArgs(
        DEVICE_GRANT_NAME,
        { ...grant.grant, clients: [{ clientId: "c", name: "TV", type: "public", scopes: ["iot/device"] }], upstream: UPSTREAM },
        "dev",
      );
      return {
        ...rest,
        enableCachingForHttp: args.enableCachingForHttp ?? IOT_TOKEN_AUTHORIZER_DEFAULTS.enableCachingForHttp,
        directory,
        device,
        principalPrefix: grant.principalPrefix,
      };
    };
    expect(resolved(explicit)).toEqual(resolved(unset));
    expect(explicit.authorizer.refreshAfterSeconds).toBe(3_600);
    // And with the device grant off (the default), the authorizer alone, as before.
    const off = readStackConfig(recordingSource({ ...defaults, issuers: OPENAM_ISSUER, sharedSecret: SECRET }));
    expect(off.deviceGrant).toBeUndefined();
    expect(off.authorizer.issuers).toHaveLength(1);
  });
});

describe("Pulumi.dev.yaml", () => {
  const config = readStackFile("dev");
  const { project } = readProjectFile();

  it("sets the region and only settings the project knows", () => {
    expect(config["aws:region"]).toBe("eu-west-1");
    const known = new Set([...Object.keys(SCALAR_SETTINGS), ...STRUCTURED_SETTINGS, ...SECRET_SETTINGS]);
    for (const k of Object.keys(config).filter((k) => !k.startsWith("aws:"))) {
      expect(k.startsWith(`${PROJECT}:`)).toBe(true);
      expect(known).toContain(k.slice(PROJECT.length + 1));
    }
  });

  it("gives declared settings values of their declared type", () => {
    for (const [k, v] of Object.entries(config)) {
      const declared = project.config[k.slice(PROJECT.length + 1)];
      if (!declared) continue;
      const type = { string: "string", integer: "number", boolean: "boolean" }[declared.type];
      expect(typeof v).toBe(type);
      if (declared.type === "integer") expect(Number.isInteger(v)).toBe(true);
    }
  });

  it("keeps the shared secret out of the file", () => {
    expect(config).not.toHaveProperty(`${PROJECT}:sharedSecret`);
  });

  it("is a configuration the program accepts once the secret is set", () => {
    const values: Record<string, string> = { sharedSecret: SECRET };
    for (const [k, v] of Object.entries(config)) {
      if (k.startsWith(`${PROJECT}:`)) values[k.slice(PROJECT.length + 1)] = typeof v === "string" ? v : JSON.stringify(v);
    }
    const read = readStackConfig(recordingSource(values));
    expect(read.authorizer.issuers).toHaveLength(2);
    expect(pulumi.Output.isInstance(read.authorizer.issuers[0].sharedSecret)).toBe(true);
    expect(read.deviceGrant?.directory.clients.map((c) => c.key)).toEqual(["tv", "printer", "installer"]);
  });
});
