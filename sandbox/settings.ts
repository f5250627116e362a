/**
 * What the local sandbox is configured with, read from the same keys a deployed stack uses: by default the
 * `iot-enterprise-auth:*` entries of `Pulumi.dev.yaml` (so the sandbox behaves as the dev stack would), or a
 * sandbox settings file (`--settings <file.json>`) holding the same keys without the project prefix, e.g.
 *
 *     { "codeExpirySeconds": 600, "pollingIntervalSeconds": 2, "userCodeFormat": "B",
 *       "grants": [{ "actions": ["iot:Connect"], "resources": ["client/{principal}"] }, …] }
 *
 * Every value is checked by the functions' own checks (`checkDeviceGrantSettings`, `checkAuthorizerSettings`,
 * `checkClients`), so a setting the sandbox accepts is one a stack accepts, and every problem is reported at
 * once. The stack's `issuers` are all trusted, each stood in for by the local enterprise IdP (stack-issuers.ts).
 * Keys of the stack file that only matter on AWS (log retention, throttling…) are listed as ignored; in a
 * settings file, an unknown key is a problem (a typo must not pass silently).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { load } from "js-yaml";
import { type GrantRule, inspectAuthorizerSettings } from "../functions/authorizer/config";
import { principalPrefixProblem } from "../functions/authorizer/issuer-checks";
import { checkDeviceGrantSettings, DEFAULT_DEVICE_GRANT_SETTINGS, inspectClients } from "../functions/device-grant/settings";
import { isObject, REGION } from "../functions/shared/checks";
import { ConfigurationError, renderProblems } from "../functions/shared/problems";
import { standInIssuer, standInJwksUri } from "../infra/stand-ins";
import { type DeviceGrantSettings } from "../functions/device-grant/model";
import { readStackIssuers, type StackIssuer, withoutSecrets } from "./stack-issuers";
import { checkFleetSettings, FLEET_SETTING_KEYS, type FleetSandboxSettings } from "./provisioning/settings";

/** The Pulumi project's configuration namespace. */
export const STACK_CONFIG_PREFIX = "iot-enterprise-auth:";
/** The repository root (this file lives in `sandbox/`). */
export const REPO_ROOT = path.resolve(__dirname, "..");
export const DEFAULT_STACK_FILE = path.join(REPO_ROOT, "Pulumi.dev.yaml");

/** The device grant's own settings: `DeviceGrantSettings`' keys, the same names as the stack's. */
export const DEVICE_GRANT_KEYS = Object.keys(DEFAULT_DEVICE_GRANT_SETTINGS) as (keyof DeviceGrantSettings)[];
const AUTHORIZER_KEYS = ["grants", "tokenKeyName", "refreshAfterSeconds", "disconnectAfterSeconds", "clockToleranceSeconds"] as const;
/** `region` is the stack's `aws:region`. */
const OTHER_KEYS = ["userPoolPrincipalPrefix", "deviceClients", "region", "issuers"] as const;
export const SANDBOX_SETTING_KEYS: readonly string[] = [...DEVICE_GRANT_KEYS, ...AUTHORIZER_KEYS, ...OTHER_KEYS, ...FLEET_SETTING_KEYS];

/** The stack's defaults where the functions have none of their own (stacks/config.ts declares the same). */
export const SANDBOX_DEFAULTS = {
  region: "eu-west-1",
  principalPrefix: "cognito",
  deviceClient: { name: "Sandbox device", scopes: ["openid", "iot/device"] },
} as const;

export interface SandboxSettings {
  /** Where the settings came from, for the banner (`Pulumi.dev.yaml`, a file name, or "built in"). */
  source: string;
  region: string;
  deviceGrant: DeviceGrantSettings;
  authorizer: {
    grants: GrantRule[];
    tokenKeyName: string;
    refreshAfterSeconds: number;
    disconnectAfterSeconds: number;
    clockToleranceSeconds: number;
  };
  /** The stack's `issuers`, checked, without their secrets: the local enterprise IdP stands in for each (stack-issuers.ts). */
  issuers: StackIssuer[];
  /** The pool's principal id prefix at the authorizer (the stack's `userPoolPrincipalPrefix`). */
  principalPrefix: string;
  /** The device app client the sandbox registers: the stack's first public `deviceClients` entry. */
  deviceClient: { name: string; scopes: string[] };
  /** Keys of a stack file that the sandbox does not use. */
  ignored: string[];
  /** With `fleetProvisioningEnabled`: the claim route, the template and the installers' apps (provisioning/settings.ts). */
  fleetProvisioning?: FleetSandboxSettings;
}

/**
 * Checks stack-style settings (keys without the project prefix) and fills in defaults. With `strict`, a key
 * the sandbox does not know is a problem; otherwise it is returned in `ignored`.
 */
export function checkSandboxSettings(
  raw: Record<string, unknown>,
  source: string,
  strict: boolean,
): { settings: SandboxSettings; problems: string[] } {
  const problems: string[] = [];
  const ignored: string[] = [];
  for (const key of Object.keys(raw)) {
    if (SANDBOX_SETTING_KEYS.includes(key)) continue;
    if (strict) problems.push(`unknown setting "${key}" (known: ${SANDBOX_SETTING_KEYS.join(", ")})`);
    else ignored.push(key);
  }

  const grantRaw = Object.fromEntries(DEVICE_GRANT_KEYS.filter((k) => raw[k] !== undefined).map((k) => [k, raw[k]]));
  const deviceGrant = checkDeviceGrantSettings(grantRaw);
  problems.push(...deviceGrant.problems);

  const region = raw.region ?? SANDBOX_DEFAULTS.region;
  if (typeof region !== "string" || !REGION.test(region))
    problems.push(`region must be an AWS region such as eu-west-1; got ${JSON.stringify(region)}`);

  // The authorizer's own check, with a stand-in for the pool that only exists once the sandbox runs (as
  // stacks/config.ts does with the pool a stack has yet to declare).
  const principalPrefix = raw.userPoolPrincipalPrefix ?? SANDBOX_DEFAULTS.principalPrefix;
  const prefixProblem = principalPrefixProblem(principalPrefix);
  if (prefixProblem !== undefined) problems.push(`userPoolPrincipalPrefix ${prefixProblem}`);
  const standIn = standInIssuer("sandbox-user-pool");
  const stackIssuers = readStackIssuers(raw.issuers);
  problems.push(...stackIssuers.problems);
  const authorizer = inspectAuthorizerSettings({
    issuers: [
      ...stackIssuers.toCheck,
      {
        issuer: standIn,
        algorithms: ["RS256"],
        jwksUri: standInJwksUri("sandbox-user-pool"),
        tokenUse: "access",
        clientIds: ["sandbox"],
        principalPrefix: prefixProblem === undefined ? principalPrefix : SANDBOX_DEFAULTS.principalPrefix,
      },
    ],
    ...Object.fromEntries(AUTHORIZER_KEYS.filter((k) => raw[k] !== undefined).map((k) => [k, raw[k]])),
  });
  const poolPath = `issuers[${stackIssuers.toCheck.length}].issuer`;
  problems.push(
    ...renderProblems(authorizer.problems, (path, usual) =>
      path === poolPath ? "the device grant's user pool (userPoolPrincipalPrefix)" : (usual ?? path),
    ),
  );

  let deviceClient: { name: string; scopes: string[] } = {
    ...SANDBOX_DEFAULTS.deviceClient,
    scopes: [...SANDBOX_DEFAULTS.deviceClient.scopes],
  };
  if (raw.deviceClients !== undefined) {
    if (!Array.isArray(raw.deviceClients)) {
      problems.push("deviceClients must be a list such as [{ key: tv, name: Living-room TV, type: public, scopes: [openid, iot/device] }]");
    } else {
      // The sandbox registers one public client (a confidential one would need an SSM parameter for its secret).
      const entry = raw.deviceClients.find((c) => isObject(c) && c.type === "public") as Record<string, unknown> | undefined;
      if (entry === undefined) {
        problems.push("deviceClients has no public client: the sandbox registers the first public one as its device client");
      } else {
        const checked = inspectClients([{ clientId: "sandbox", name: entry.name, type: "public", scopes: entry.scopes }]);
        const entryName = `deviceClients (${JSON.stringify(entry.key ?? entry.name)})`;
        problems.push(...renderProblems(checked.problems, (path, usual) => (path === "clients[0]" ? entryName : (usual ?? path))));
        if (checked.clients.length === 1) deviceClient = { name: checked.clients[0].name, scopes: checked.clients[0].scopes };
      }
    }
  }

  const fleetProvisioning = checkFleetSettings(raw, source, problems);
  return {
    settings: {
      source,
      region: typeof region === "string" ? region : SANDBOX_DEFAULTS.region,
      deviceGrant: deviceGrant.settings,
      authorizer: {
        grants: authorizer.settings.grants,
        tokenKeyName: authorizer.settings.tokenKeyName,
        refreshAfterSeconds: authorizer.settings.refreshAfterSeconds,
        disconnectAfterSeconds: authorizer.settings.disconnectAfterSeconds,
        clockToleranceSeconds: authorizer.settings.clockToleranceSeconds,
      },
      issuers: withoutSecrets(authorizer.settings.issuers.filter((i) => i.issuer !== standIn)),
      principalPrefix: typeof principalPrefix === "string" ? principalPrefix : SANDBOX_DEFAULTS.principalPrefix,
      deviceClient,
      ignored,
      ...(fleetProvisioning && { fleetProvisioning }),
    },
    problems,
  };
}

/** A stack file's `iot-enterprise-auth:*` entries without the prefix, and `aws:region` as `region`. */
export function stackFileSettings(text: string, file: string): Record<string, unknown> {
  let document: unknown;
  try {
    document = load(text);
  } catch (err) {
    throw new ConfigurationError([`${file} is not valid YAML: ${(err as Error).message.split("\n")[0]}`], "sandbox settings");
  }
  const config = isObject(document) && isObject(document.config) ? document.config : {};
  const settings: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (key.startsWith(STACK_CONFIG_PREFIX)) settings[key.slice(STACK_CONFIG_PREFIX.length)] = value;
    else if (key === "aws:region") settings.region = value;
  }
  return settings;
}

export interface SettingsSource {
  /** A sandbox settings file (JSON, stack keys without the prefix); replaces the stack file. */
  settingsFile?: string;
  /** The stack file read when no settings file is given; `Pulumi.dev.yaml` by default. */
  stackFile?: string;
  /** Settings given in code (the demo, tests); replace both files. */
  settings?: Record<string, unknown>;
}

/** Reads and checks the sandbox's settings, or throws a `ConfigurationError` listing every problem. */
export function loadSandboxSettings(source: SettingsSource = {}): SandboxSettings {
  let raw: Record<string, unknown>;
  let name: string;
  let strict: boolean;
  if (source.settings !== undefined) {
    raw = source.settings;
    name = "built-in settings";
    strict = true;
  } else if (source.settingsFile !== undefined) {
    name = source.settingsFile;
    strict = true;
    let text: string;
    try {
      text = readFileSync(source.settingsFile, "utf8");
    } catch (err) {
      throw new ConfigurationError(
        [`cannot read the settings file ${source.settingsFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`],
        "sandbox settings",
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new ConfigurationError([`${source.settingsFile} is not valid JSON: ${(err as Error).message}`], "sandbox settings");
    }
    if (!isObject(parsed)) throw new ConfigurationError([`${source.settingsFile} must hold a JSON object of settings`], "sandbox settings");
    raw = parsed;
  } else {
    const file = source.stackFile ?? DEFAULT_STACK_FILE;
    name = path.relative(process.cwd(), file) || file;
    strict = false;
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw new ConfigurationError(
        [`cannot read the stack file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`],
        "sandbox settings",
      );
    }
    raw = stackFileSettings(text, file);
  }
  const { settings, problems } = checkSandboxSettings(raw, name, strict);
  if (problems.length > 0) throw new ConfigurationError(problems, `sandbox settings (${name})`);
  return settings;
}
