/**
 * The reader of the `iot-enterprise-auth` program's stack configuration: it turns a stack's settings
 * (stacks/settings.ts lists them all) into the components' arguments, or one `ConfigurationError` listing every
 * problem, each named by the stack setting to fix. The components' own checks find the problems; their paths are
 * renamed to stack settings through `STACK_SETTING_NAMES`, so no message's wording is a contract.
 */
import { type OperationsAlarmsArgs } from "../infra/operations-alarms-args";
import { readOperationsAlarms } from "./alarms-config";
import * as pulumi from "@pulumi/pulumi";
import type { DeviceGrantSettings } from "../functions/device-grant/model";
import { ConfigurationError, usualNames } from "../functions/shared/problems";
import { deviceGrantProblems, type DeviceGrantArgs } from "../infra/device-grant-args";
import {
  IOT_TOKEN_AUTHORIZER_DEFAULTS,
  iotTokenAuthorizerProblems,
  type IotTokenAuthorizerArgs,
  type IotTokenAuthorizerIssuer,
  type RsaKeySize,
  type TokenSigningKeyArgs,
} from "../infra/iot-token-authorizer-args";
import { STAND_IN_SECRET, standInClientId, standInIssuer, standInJwksUri, standInUrl } from "../infra/stand-ins";
import { userDirectoryProblems, type UserDirectoryArgs, type UserDirectoryClient } from "../infra/user-directory-args";
import {
  type DirectoryNeeds,
  directoryNeeds,
  type FleetProvisioningStackConfig,
  isInstallerApp,
  readFleetProvisioning,
  withDirectoryNeeds,
} from "./fleet-provisioning-config";
import { checkKnownSettings, readReservedConcurrency, readSharedArgs, type SharedArgs } from "./common-config";
import { readUserPoolSettings, withAdoptedSecrets } from "./user-pool-config";
import { type ConfigSource, namespaceConfig, readBoolean, readInteger, readJson, StackProblems, stackNamer } from "./reading";
import { SCALAR_SETTINGS, STACK_SETTING_NAMES } from "./settings";

export { type ConfigSource } from "./reading";

export { SCALAR_SETTINGS, SECRET_SETTINGS, STRUCTURED_SETTINGS } from "./settings";

export const PROJECT = "iot-enterprise-auth";
/** The component's name in this program; with the stack it names the function and authorizer (`iot-auth-dev`). */
export const COMPONENT_NAME = "iot-auth";
/** Names of the device grant's components (`device-grant-dev` names its function and table). */
export const USER_DIRECTORY_NAME = "users";
export const DEVICE_GRANT_NAME = "device-grant";

/**
 * Stand-ins for what the user pool only knows once it exists: the stack's configuration is checked (its issuers
 * listed, prefixes compared) with these before anything is declared; the program then hands the authorizer the
 * pool's real issuer, JWKS URI and client ids as outputs, which the component checks again once they are known.
 */
export const PENDING_USER_POOL_ISSUER = standInIssuer("user-pool");
export const PENDING_USER_POOL_JWKS_URI = standInJwksUri("user-pool");
export function pendingClientId(key: string): string {
  return standInClientId(key);
}
/** What a problem about the user pool's stand-in issuer calls it: the setting that decides its namespace. */
const USER_POOL_NAME = "the device grant's user pool (userPoolPrincipalPrefix)";

/** An issuer as a stack configures it: an `IssuerConfig`, where HMAC issuers say `"sharedSecret": true`. */
type StackIssuer = Omit<IotTokenAuthorizerIssuer, "sharedSecret"> & { sharedSecret?: unknown };

/** The device grant's part of the stack: the components' arguments, less what only exists once deployed. */
export interface DeviceGrantStackConfig {
  /** `UserDirectory` arguments without `callbackUrls` (the device grant's `/callback`, known once its API exists). */
  directory: Omit<UserDirectoryArgs, "callbackUrls">;
  /** `DeviceGrant` arguments without the clients and upstream endpoints (the user pool's, known once it exists). */
  grant: Omit<DeviceGrantArgs, "clients" | "upstream">;
  /** Principal id prefix of the pool's users at the authorizer. */
  principalPrefix: string;
}

export interface StackConfig {
  /**
   * The authorizer's arguments. With the device grant on, its issuers end with the user pool's, given the
   * `PENDING_USER_POOL_*` stand-ins and `pendingClientId`s that the program replaces with the pool's values.
   */
  authorizer: IotTokenAuthorizerArgs;
  /** Absent unless `deviceGrantEnabled`. */
  deviceGrant?: DeviceGrantStackConfig;
  /** Absent unless `fleetProvisioningEnabled` (which needs the device grant). */
  fleetProvisioning?: FleetProvisioningStackConfig;
  /** Absent unless `alarmsEnabled`, `alarmTopicArn` or `alarmEmails`: the alarms' settings; the program adds what to watch. */
  alarms?: OperationsAlarmsArgs;
}

const DEVICE_GRANT_INTEGERS = [
  "codeExpirySeconds",
  "deviceCodeLength",
  "userCodeLength",
  "pollingIntervalSeconds",
  "maxFailedEntriesPerIp",
  "maxFailedAttemptsPerCode",
  "attemptWindowSeconds",
  "approvalLockSeconds",
] as const;
const DEVICE_GRANT_STRINGS = ["deviceCodeFormat", "userCodeFormat", "userCodeMask", "resultTokenSet"] as const;

/** The device grant function's own settings, as the stack gives them. */
function readDeviceGrantSettings(source: ConfigSource, problems: StackProblems): Partial<DeviceGrantSettings> {
  const settings: Record<string, unknown> = {};
  for (const key of DEVICE_GRANT_INTEGERS) {
    const value = readInteger(source, key, problems);
    if (value !== undefined) settings[key] = value;
  }
  for (const key of DEVICE_GRANT_STRINGS) {
    const value = source.get(key);
    if (value !== undefined) settings[key] = value;
  }
  const allowWeakCodes = readBoolean(source, "allowWeakCodes", problems);
  if (allowWeakCodes !== undefined) settings.allowWeakCodes = allowWeakCodes;
  return settings as Partial<DeviceGrantSettings>;
}

/** The device grant's stack settings, checked by the components' own checks with stand-ins for deployed values. */
function readDeviceGrant(
  source: ConfigSource,
  problems: StackProblems,
  needs: DirectoryNeeds | undefined,
  shared: SharedArgs,
): DeviceGrantStackConfig {
  const clients = readJson(source, "deviceClients", problems);
  if (clients === undefined && !problems.reported("deviceClients")) {
    problems.add("deviceClients", `deviceClients is not set: list the kinds of device that sign users in (see Pulumi.dev.yaml)`);
  }
  const given: Omit<UserDirectoryArgs, "callbackUrls"> = {
    clients: withAdoptedSecrets(source, (clients ?? []) as UserDirectoryClient[], problems),
    ...readUserPoolSettings(source, problems),
    ...(shared.tags !== undefined && { tags: shared.tags }),
  };
  const directory = needs === undefined ? given : withDirectoryNeeds(given, needs);
  const grant: Omit<DeviceGrantArgs, "clients" | "upstream"> = {
    ...shared,
    settings: readDeviceGrantSettings(source, problems),
    customDomain: readJson(source, "deviceGrantDomain", problems, "an object") as DeviceGrantArgs["customDomain"],
    throttling: {
      burstLimit: readInteger(source, "apiThrottlingBurstLimit", problems),
      rateLimit: readInteger(source, "apiThrottlingRateLimit", problems),
    },
    lambda: { reservedConcurrency: readReservedConcurrency(source, "deviceGrantReservedConcurrency", problems) },
    deletionProtection: readBoolean(source, "tableDeletionProtection", problems),
  };
  const principalPrefix = source.get("userPoolPrincipalPrefix") ?? SCALAR_SETTINGS.userPoolPrincipalPrefix.default;

  const stack = pulumi.getStack();
  const checkedDirectory = userDirectoryProblems(
    USER_DIRECTORY_NAME,
    { ...directory, callbackUrls: [standInUrl("device-grant", "/callback")] },
    stack,
  );
  const checkedGrant = deviceGrantProblems(
    DEVICE_GRANT_NAME,
    {
      ...grant,
      clients: checkedDirectory.checked.clients.map((c) => ({
        clientId: pendingClientId(c.key),
        name: c.name,
        type: c.type,
        scopes: c.scopes,
        ...(c.type === "confidential" && { clientSecret: STAND_IN_SECRET }),
      })),
      upstream: {
        issuer: PENDING_USER_POOL_ISSUER,
        authorizationEndpoint: standInUrl("user-pool", "/oauth2/authorize"),
        tokenEndpoint: standInUrl("user-pool", "/oauth2/token"),
      },
    },
    stack,
  );
  problems.addFrom(checkedDirectory.problems, stackNamer(STACK_SETTING_NAMES.userDirectory));
  // The grant's clients are the directory's, already checked: say each problem once.
  problems.addFrom(
    checkedGrant.problems,
    stackNamer(STACK_SETTING_NAMES.deviceGrant),
    (p) => p.path === "clients" || p.path.startsWith("clients["),
  );
  return { directory, grant, principalPrefix };
}

/** The issuers as the stack lists them, with HMAC issuers reading the secret setting `sharedSecret`. */
function readIssuers(
  source: ConfigSource,
  deviceGrantEnabled: boolean,
  problems: StackProblems,
): { issuers: IotTokenAuthorizerIssuer[]; issuersToCheck: unknown[] } {
  const rawIssuers = readJson(source, "issuers", problems);
  if (rawIssuers === undefined && !deviceGrantEnabled && !problems.reported("issuers")) {
    problems.add("issuers", `issuers is not set: list the identity providers to trust (see Pulumi.dev.yaml)`);
  }
  const sharedSecret = source.get("sharedSecret");
  const previous = readPreviousSharedSecret(source);
  // The secret itself is checked in plain text (by the component's checks) but only ever passed on as a secret.
  const issuersToCheck: unknown[] = [];
  const issuers: IotTokenAuthorizerIssuer[] = [];
  if (Array.isArray(rawIssuers)) {
    rawIssuers.forEach((entry: unknown, i) => {
      if (typeof entry !== "object" || entry === null || !("sharedSecret" in entry)) {
        issuersToCheck.push(entry);
        issuers.push(entry as IotTokenAuthorizerIssuer);
        return;
      }
      const { sharedSecret: reference, ...rest } = entry as StackIssuer;
      const label = typeof rest.issuer === "string" && rest.issuer ? `issuer ${rest.issuer}` : `issuers[${i}]`;
      if (reference !== true) {
        problems.add("issuers", `${label}: sharedSecret must be true (the secret itself goes in the secret setting sharedSecret)`);
      } else if (sharedSecret === undefined || sharedSecret === "") {
        problems.add(
          "sharedSecret",
          `${label} reads the shared secret, but sharedSecret is not set: run pulumi config set --secret sharedSecret <base64 secret>`,
        );
      }
      const usable = reference === true && sharedSecret !== undefined && sharedSecret !== "";
      // A missing secret is reported above; the component's checks then see a stand-in so they do not repeat it.
      issuersToCheck.push({ ...rest, sharedSecret: usable ? sharedSecret : STAND_IN_SECRET, ...previous.toCheck });
      issuers.push({ ...rest, sharedSecret: pulumi.secret(sharedSecret ?? ""), ...previous.toUse });
    });
  } else if (rawIssuers !== undefined) {
    problems.add("issuers", `issuers must be a list of objects`);
  }
  if (sharedSecret !== undefined && !issuers.some((i) => i.sharedSecret !== undefined)) {
    problems.add("sharedSecret", `sharedSecret is set but no issuer reads it: add "sharedSecret": true to the HMAC issuer`);
  }
  if (previous.toUse.previousSharedSecret !== undefined && !issuers.some((i) => i.sharedSecret !== undefined)) {
    problems.add("previousSharedSecret", `previousSharedSecret is set but no issuer reads sharedSecret: it only serves a rotation of it`);
  }
  return { issuers, issuersToCheck };
}

/** The secret setting `previousSharedSecret` (a rotation's second secret), for issuers that read `sharedSecret`. */
function readPreviousSharedSecret(source: ConfigSource): {
  toCheck: { previousSharedSecret?: string };
  toUse: { previousSharedSecret?: pulumi.Output<string> };
} {
  const value = source.get("previousSharedSecret");
  if (value === undefined || value === "") return { toCheck: {}, toUse: {} };
  return { toCheck: { previousSharedSecret: value }, toUse: { previousSharedSecret: pulumi.secret(value) } };
}

/** Token signing: off, the one generated key of `signingKeyBits`, or the named keys of `signingKeys`. */
function readSigning(source: ConfigSource, problems: StackProblems): IotTokenAuthorizerArgs["signing"] {
  const signingEnabled = readBoolean(source, "signingEnabled", problems);
  const signingKeyBits = readInteger(source, "signingKeyBits", problems);
  const keys = readJson(source, "signingKeys", problems) as TokenSigningKeyArgs[] | undefined;
  // With signing off a key size means nothing; the stack default must not count as a conflicting setting.
  if (signingEnabled === false) return { enabled: false, ...(keys !== undefined && { keys }) };
  if (keys === undefined) return { enabled: true, rsaBits: (signingKeyBits ?? IOT_TOKEN_AUTHORIZER_DEFAULTS.rsaBits) as RsaKeySize };
  if (signingKeyBits !== undefined && signingKeyBits !== IOT_TOKEN_AUTHORIZER_DEFAULTS.rsaBits) {
    problems.add("signingKeyBits", "signingKeyBits sizes the one generated key; with signingKeys, give each generated key its rsaBits");
  }
  return { enabled: true, keys };
}

/** The authorizer's arguments other than its issuers. */
function readAuthorizerArgs(source: ConfigSource, problems: StackProblems, shared: SharedArgs): Omit<IotTokenAuthorizerArgs, "issuers"> {
  const grants = readJson(source, "grants", problems);
  return {
    grants: grants as IotTokenAuthorizerArgs["grants"],
    tokenKeyName: source.get("tokenKeyName"),
    refreshAfterSeconds: readInteger(source, "refreshAfterSeconds", problems),
    disconnectAfterSeconds: readInteger(source, "disconnectAfterSeconds", problems),
    clockToleranceSeconds: readInteger(source, "clockToleranceSeconds", problems),
    maxTokenBytes: readInteger(source, "maxTokenBytes", problems),
    signing: readSigning(source, problems),
    enableCachingForHttp: readBoolean(source, "enableCachingForHttp", problems),
    lambda: {
      memorySize: readInteger(source, "functionMemoryMb", problems),
      timeoutSeconds: readInteger(source, "functionTimeoutSeconds", problems),
      reservedConcurrency: readReservedConcurrency(source, "functionReservedConcurrency", problems),
    },
    domainConfiguration: readJson(source, "iotDomainConfiguration", problems, "an object") as IotTokenAuthorizerArgs["domainConfiguration"],
    ...shared,
  };
}

/** The user pool as an issuer: its access tokens, for the device clients only (what the device grant hands to devices). */
function userPoolIssuer(deviceGrant: DeviceGrantStackConfig): IotTokenAuthorizerIssuer {
  const clientIds = (deviceGrant.directory.clients ?? []).filter((c) => !isInstallerApp(c)).map((c) => pendingClientId(String(c?.key)));
  return {
    issuer: PENDING_USER_POOL_ISSUER,
    algorithms: ["RS256"],
    jwksUri: PENDING_USER_POOL_JWKS_URI,
    tokenUse: "access",
    ...(clientIds.length > 0 && { clientIds }),
    principalPrefix: deviceGrant.principalPrefix,
  };
}

/**
 * Reads the stack's configuration once and returns the components' arguments, or throws one
 * `ConfigurationError` naming every problem with the stack setting to fix. Nothing is declared before this
 * returns. The shared secret is marked secret as soon as it is read.
 */
export function readStackConfig(source: ConfigSource = namespaceConfig(PROJECT)): StackConfig {
  const problems = new StackProblems();
  checkKnownSettings(source, problems);
  const deviceGrantEnabled = readBoolean(source, "deviceGrantEnabled", problems) ?? SCALAR_SETTINGS.deviceGrantEnabled.default;
  const { issuers, issuersToCheck } = readIssuers(source, deviceGrantEnabled, problems);
  const shared = readSharedArgs(source, problems);
  const common = readAuthorizerArgs(source, problems, shared);
  const fleetEnabled = readBoolean(source, "fleetProvisioningEnabled", problems) ?? SCALAR_SETTINGS.fleetProvisioningEnabled.default;
  if (fleetEnabled && !deviceGrantEnabled) {
    problems.add(
      "fleetProvisioningEnabled",
      "fleetProvisioningEnabled needs deviceGrantEnabled: installers sign in to the device grant's user pool, and the claim route is served on its API",
    );
  }
  const needs = fleetEnabled ? directoryNeeds(source) : undefined;
  const deviceGrant = deviceGrantEnabled ? readDeviceGrant(source, problems, needs, shared) : undefined;
  const fleetProvisioning =
    fleetEnabled && deviceGrant ? readFleetProvisioning(source, problems, deviceGrant.directory, shared) : undefined;
  const alarms = readOperationsAlarms(source, problems, shared, common.lambda?.timeoutSeconds);
  const extraNames: Record<string, string> = {};
  if (deviceGrant) {
    const poolIssuer = userPoolIssuer(deviceGrant);
    extraNames[`issuers[${issuersToCheck.length}].issuer`] = USER_POOL_NAME;
    issuersToCheck.push(poolIssuer);
    issuers.push(poolIssuer);
  }

  const checked = iotTokenAuthorizerProblems(
    COMPONENT_NAME,
    { ...common, issuers: issuersToCheck as IotTokenAuthorizerIssuer[] },
    pulumi.getStack(),
  );
  // "issuers must list at least one" says again what the stack's reading of `issuers` already said.
  problems.addFrom(
    checked.problems,
    stackNamer(STACK_SETTING_NAMES.authorizer, extraNames),
    (p) => p.path === "issuers" && problems.reported("issuers"),
  );

  if (problems.sentences.length > 0)
    throw new ConfigurationError([...new Set(problems.sentences)], `${PROJECT} stack configuration`, usualNames);
  return {
    authorizer: { ...common, issuers },
    ...(deviceGrant && { deviceGrant }),
    ...(fleetProvisioning && { fleetProvisioning }),
    ...(alarms && { alarms }),
  };
}
