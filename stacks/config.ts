/**
 * The stack configuration of the `iot-enterprise-auth` program: every setting, its type, default and
 * meaning in one table (`Pulumi.yaml` declares the same, and a test keeps the two equal), and the reader
 * that turns a stack's configuration into `IotTokenAuthorizer` arguments or one error listing every problem.
 */
import * as pulumi from "@pulumi/pulumi";
import { ConfigurationError, DEFAULT_SETTINGS } from "../functions/authorizer/config";
import { DEFAULT_DEVICE_GRANT_SETTINGS } from "../functions/device-grant/settings";
import type { DeviceGrantSettings } from "../functions/device-grant/model";
import { DEVICE_GRANT_COMPONENT_DEFAULTS, deviceGrantProblems, type DeviceGrantArgs } from "../infra/device-grant-args";
import {
  USER_DIRECTORY_DEFAULTS,
  userDirectoryProblems,
  type MfaMode,
  type UserDirectoryArgs,
  type UserDirectoryClient,
  type UserDirectoryDomainArgs,
  type UserDirectoryScope,
} from "../infra/user-directory";
import {
  checkIotTokenAuthorizerArgs,
  COMPONENT_DEFAULTS,
  type IotTokenAuthorizerArgs,
  type IotTokenAuthorizerIssuer,
  type RsaKeySize,
} from "../infra/iot-token-authorizer";

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
 * The `.invalid` domain (RFC 2606) means a stand-in that somehow stayed trusts nothing.
 */
export const PENDING_USER_POOL_ISSUER = "https://cognito-idp.user-pool.invalid/declared-by-this-stack";
export const PENDING_USER_POOL_JWKS_URI = `${PENDING_USER_POOL_ISSUER}/.well-known/jwks.json`;
export function pendingClientId(key: string): string {
  return `pending-${key}`;
}

interface ScalarSetting {
  type: "string" | "integer" | "boolean";
  default: string | number | boolean;
  description: string;
}

/** The scalar settings, as `Pulumi.yaml` declares them. */
export const SCALAR_SETTINGS = {
  tokenKeyName: {
    type: "string",
    default: DEFAULT_SETTINGS.tokenKeyName,
    description: "Name of the header, query parameter or MQTT username parameter that carries the token.",
  },
  refreshAfterSeconds: {
    type: "integer",
    default: DEFAULT_SETTINGS.refreshAfterSeconds,
    description: "Seconds before IoT re-checks a live connection's token (300 to 86400).",
  },
  disconnectAfterSeconds: {
    type: "integer",
    default: DEFAULT_SETTINGS.disconnectAfterSeconds,
    description: "Longest a connection may stay open, in seconds (300 to 86400; never past the token's expiry).",
  },
  clockToleranceSeconds: {
    type: "integer",
    default: DEFAULT_SETTINGS.clockToleranceSeconds,
    description: "Clock skew tolerated on exp, nbf and iat, in seconds (0 to 300).",
  },
  maxTokenBytes: {
    type: "integer",
    default: DEFAULT_SETTINGS.maxTokenBytes,
    description: "Tokens longer than this many bytes are refused before parsing (256 to 65536).",
  },
  signingEnabled: {
    type: "boolean",
    default: COMPONENT_DEFAULTS.signingEnabled,
    description: "Whether IoT checks the token's RSA signature before invoking the function (changing it replaces the authorizer).",
  },
  signingKeyBits: {
    type: "integer",
    default: COMPONENT_DEFAULTS.rsaBits,
    description: "Size of the generated token-signing RSA key: 2048, 3072 or 4096.",
  },
  enableCachingForHttp: {
    type: "boolean",
    default: COMPONENT_DEFAULTS.enableCachingForHttp,
    description: "Let IoT cache the function's answer on persistent HTTP connections.",
  },
  logRetentionDays: {
    type: "integer",
    default: COMPONENT_DEFAULTS.logRetentionDays,
    description: "Retention of the functions' and access logs' log groups in days (a CloudWatch Logs value such as 7, 30, 90, 365).",
  },
  functionMemoryMb: {
    type: "integer",
    default: COMPONENT_DEFAULTS.memorySize,
    description: "Memory of the authorizer function in MB (128 to 10240).",
  },
  functionTimeoutSeconds: {
    type: "integer",
    default: COMPONENT_DEFAULTS.timeoutSeconds,
    description: "Timeout of the authorizer function in seconds (1 to 4: IoT waits 5 s in all).",
  },
  deviceGrantEnabled: {
    type: "boolean",
    default: false,
    description: "Deploy the OAuth 2.0 device grant: a Cognito user pool, the device grant API, and trust in the pool's access tokens.",
  },
  codeExpirySeconds: {
    type: "integer",
    default: DEFAULT_DEVICE_GRANT_SETTINGS.codeExpirySeconds,
    description: "Device grant: lifetime of a device code and its user code, in seconds (60 to 86400).",
  },
  deviceCodeFormat: {
    type: "string",
    default: DEFAULT_DEVICE_GRANT_SETTINGS.deviceCodeFormat,
    description: "Device grant: characters of the device code (# digits, a/A letters, b/B consonants, ! specials).",
  },
  deviceCodeLength: {
    type: "integer",
    default: DEFAULT_DEVICE_GRANT_SETTINGS.deviceCodeLength,
    description: "Device grant: length of the device code (at least 128 bits of entropy unless allowWeakCodes).",
  },
  userCodeFormat: {
    type: "string",
    default: DEFAULT_DEVICE_GRANT_SETTINGS.userCodeFormat,
    description: "Device grant: characters of the user code, one case only (B = 20 uppercase consonants).",
  },
  userCodeLength: {
    type: "integer",
    default: DEFAULT_DEVICE_GRANT_SETTINGS.userCodeLength,
    description: "Device grant: length of the user code (at least 30 bits of entropy unless allowWeakCodes).",
  },
  userCodeMask: {
    type: "string",
    default: DEFAULT_DEVICE_GRANT_SETTINGS.userCodeMask,
    description: "Device grant: how the user code is shown, one # per character (change it with userCodeLength).",
  },
  pollingIntervalSeconds: {
    type: "integer",
    default: DEFAULT_DEVICE_GRANT_SETTINGS.pollingIntervalSeconds,
    description: "Device grant: minimum seconds between a device's polls (1 to 60).",
  },
  resultTokenSet: {
    type: "string",
    default: DEFAULT_DEVICE_GRANT_SETTINGS.resultTokenSet.join("+"),
    description: "Device grant: tokens the device receives, ACCESS required, joined by + (ACCESS, ID, REFRESH).",
  },
  maxFailedEntriesPerIp: {
    type: "integer",
    default: DEFAULT_DEVICE_GRANT_SETTINGS.maxFailedEntriesPerIp,
    description: "Device grant: wrong user codes one IP may enter per attemptWindowSeconds.",
  },
  maxFailedAttemptsPerCode: {
    type: "integer",
    default: DEFAULT_DEVICE_GRANT_SETTINGS.maxFailedAttemptsPerCode,
    description: "Device grant: failed attempts against one user code before it is locked.",
  },
  attemptWindowSeconds: {
    type: "integer",
    default: DEFAULT_DEVICE_GRANT_SETTINGS.attemptWindowSeconds,
    description: "Device grant: length of the rate-limit window, in seconds (60 to 86400).",
  },
  allowWeakCodes: {
    type: "boolean",
    default: DEFAULT_DEVICE_GRANT_SETTINGS.allowWeakCodes,
    description: "Device grant: accept codes below the entropy minimums (never for production).",
  },
  userPoolMfa: {
    type: "string",
    default: USER_DIRECTORY_DEFAULTS.mfa,
    description: "Device grant: multi-factor authentication with an authenticator app: OFF, OPTIONAL or ON.",
  },
  userPoolDeletionProtection: {
    type: "boolean",
    default: USER_DIRECTORY_DEFAULTS.deletionProtection,
    description: "Device grant: refuse to delete the user pool (and its users) until this is turned off.",
  },
  userPoolPrincipalPrefix: {
    type: "string",
    default: "cognito",
    description: "Device grant: principal id prefix of the user pool's users at the authorizer (letters and digits).",
  },
  apiThrottlingBurstLimit: {
    type: "integer",
    default: DEVICE_GRANT_COMPONENT_DEFAULTS.throttlingBurstLimit,
    description: "Device grant: burst of requests the API accepts before throttling (1 to 5000).",
  },
  apiThrottlingRateLimit: {
    type: "integer",
    default: DEVICE_GRANT_COMPONENT_DEFAULTS.throttlingRateLimit,
    description: "Device grant: steady requests per second the API accepts (1 to 10000).",
  },
} as const satisfies Record<string, ScalarSetting>;

/**
 * Settings that are lists of objects. Pulumi's project schema types only strings, integers, booleans and
 * arrays of those, so `Pulumi.yaml` documents these in comments instead of declaring them.
 */
export const STRUCTURED_SETTINGS = ["issuers", "grants", "deviceClients", "deviceScopes", "userPoolDomain", "deviceGrantDomain"] as const;

/**
 * The HMAC shared secret (base64, as OpenAM shows it), read by issuers that set `"sharedSecret": true`.
 * Set it with `pulumi config set --secret sharedSecret …`. Optional, so not declared in `Pulumi.yaml`
 * (a declared setting without a default is required of every stack).
 */
export const SECRET_SETTINGS = ["sharedSecret"] as const;

/** Where the component reports a problem with a setting, and the stack setting to name instead. */
const COMPONENT_PATH_TO_SETTING: Record<string, keyof typeof SCALAR_SETTINGS> = {
  "signing.enabled": "signingEnabled",
  "signing.rsaBits": "signingKeyBits",
  "lambda.memorySize": "functionMemoryMb",
  "lambda.timeoutSeconds": "functionTimeoutSeconds",
  "lambda.logRetentionDays": "logRetentionDays",
};

/** Long enough for any HMAC algorithm; only ever checked, never deployed. */
const STAND_IN_SECRET = Buffer.alloc(64).toString("base64");

/** The part of `pulumi.Config` the reader uses; tests pass a recording one. */
export interface ConfigSource {
  get(key: string): string | undefined;
}

/** An issuer as a stack configures it: an `IssuerConfig`, where HMAC issuers say `"sharedSecret": true`. */
type StackIssuer = Omit<IotTokenAuthorizerIssuer, "sharedSecret"> & { sharedSecret?: unknown };

function readInteger(source: ConfigSource, key: keyof typeof SCALAR_SETTINGS, problems: string[]): number | undefined {
  const raw = source.get(key);
  if (raw === undefined) return undefined;
  if (!/^-?\d+$/.test(raw.trim())) {
    problems.push(`${key} must be an integer; got ${JSON.stringify(raw)}`);
    return undefined;
  }
  return Number(raw);
}

function readBoolean(source: ConfigSource, key: keyof typeof SCALAR_SETTINGS, problems: string[]): boolean | undefined {
  const raw = source.get(key);
  if (raw === undefined) return undefined;
  if (raw !== "true" && raw !== "false") {
    problems.push(`${key} must be true or false; got ${JSON.stringify(raw)}`);
    return undefined;
  }
  return raw === "true";
}

function readJson(source: ConfigSource, key: string, problems: string[]): unknown {
  const raw = source.get(key);
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    problems.push(`${key} must be a list of objects (set it in the stack file or with pulumi config set --path)`);
    return undefined;
  }
}

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
}

/** Where the device grant's components report a problem, and the stack setting to name instead. */
const DEVICE_PATH_TO_SETTING: [string, string][] = [
  ["clients must", "deviceClients must"],
  ["domain.", "userPoolDomain."],
  ["customDomain.", "deviceGrantDomain."],
  ["scopes must list", "deviceScopes must list"],
  ["scopes[", "deviceScopes["],
  ["mfa ", "userPoolMfa "],
  ["deletionProtection ", "userPoolDeletionProtection "],
  ["throttling.burstLimit", "apiThrottlingBurstLimit"],
  ["throttling.rateLimit", "apiThrottlingRateLimit"],
];

function renameDeviceProblem(problem: string): string {
  const match = DEVICE_PATH_TO_SETTING.find(([path]) => problem.startsWith(path));
  return match ? match[1] + problem.slice(match[0].length) : problem;
}

/** The device grant's stack settings, checked by the components' own checks with stand-ins for deployed values. */
function readDeviceGrant(source: ConfigSource, problems: string[]): DeviceGrantStackConfig {
  const settings: Record<string, unknown> = {};
  for (const key of [
    "codeExpirySeconds",
    "deviceCodeLength",
    "userCodeLength",
    "pollingIntervalSeconds",
    "maxFailedEntriesPerIp",
    "maxFailedAttemptsPerCode",
    "attemptWindowSeconds",
  ] as const) {
    const value = readInteger(source, key, problems);
    if (value !== undefined) settings[key] = value;
  }
  for (const key of ["deviceCodeFormat", "userCodeFormat", "userCodeMask", "resultTokenSet"] as const) {
    const value = source.get(key);
    if (value !== undefined) settings[key] = value;
  }
  const allowWeakCodes = readBoolean(source, "allowWeakCodes", problems);
  if (allowWeakCodes !== undefined) settings.allowWeakCodes = allowWeakCodes;

  const clients = readJson(source, "deviceClients", problems);
  if (clients === undefined && !problems.some((p) => p.startsWith("deviceClients"))) {
    problems.push(`deviceClients is not set: list the kinds of device that sign users in (see Pulumi.dev.yaml)`);
  }
  const scopes = readJson(source, "deviceScopes", problems);
  const userPoolDomain = readJson(source, "userPoolDomain", problems);
  const deviceGrantDomain = readJson(source, "deviceGrantDomain", problems);
  const principalPrefix = source.get("userPoolPrincipalPrefix") ?? SCALAR_SETTINGS.userPoolPrincipalPrefix.default;

  const directory: Omit<UserDirectoryArgs, "callbackUrls"> = {
    clients: (clients ?? []) as UserDirectoryClient[],
    scopes: scopes as UserDirectoryScope[] | undefined,
    domain: userPoolDomain as UserDirectoryDomainArgs | undefined,
    mfa: source.get("userPoolMfa") as MfaMode | undefined,
    deletionProtection: readBoolean(source, "userPoolDeletionProtection", problems),
  };
  const grant: Omit<DeviceGrantArgs, "clients" | "upstream"> = {
    settings: settings as Partial<DeviceGrantSettings>,
    customDomain: deviceGrantDomain as DeviceGrantArgs["customDomain"],
    throttling: {
      burstLimit: readInteger(source, "apiThrottlingBurstLimit", problems),
      rateLimit: readInteger(source, "apiThrottlingRateLimit", problems),
    },
    logRetentionDays: readInteger(source, "logRetentionDays", problems),
  };

  const stack = pulumi.getStack();
  const checkedDirectory = userDirectoryProblems(USER_DIRECTORY_NAME, { ...directory, callbackUrls: ["https://device-grant.invalid/callback"] }, stack);
  const checkedGrant = deviceGrantProblems(
    DEVICE_GRANT_NAME,
    {
      ...grant,
      clients: checkedDirectory.checked.clients.map((c) => ({
        clientId: pendingClientId(c.key),
        name: c.name,
        type: c.type,
        scopes: c.scopes,
        ...(c.type === "confidential" && { clientSecret: "pending" }),
      })),
      upstream: {
        issuer: PENDING_USER_POOL_ISSUER,
        authorizationEndpoint: "https://user-pool.invalid/oauth2/authorize",
        tokenEndpoint: "https://user-pool.invalid/oauth2/token",
      },
    },
    stack,
  );
  // The grant re-checks the clients the directory checked; say each problem once.
  for (const problem of [...checkedDirectory.problems, ...checkedGrant.problems].map(renameDeviceProblem)) {
    if (!problems.includes(problem) && !/^clients\[\d+\]|^client pending-/.test(problem)) problems.push(problem);
  }
  return { directory, grant, principalPrefix };
}

/**
 * Reads the stack's configuration once and returns the components' arguments, or throws one
 * `ConfigurationError` naming every problem with the stack setting to fix. Nothing is declared before this
 * returns. The shared secret is marked secret as soon as it is read.
 */
export function readStackConfig(source: ConfigSource = new pulumi.Config(PROJECT)): StackConfig {
  const problems: string[] = [];

  const deviceGrantEnabled = readBoolean(source, "deviceGrantEnabled", problems) ?? SCALAR_SETTINGS.deviceGrantEnabled.default;
  const rawIssuers = readJson(source, "issuers", problems);
  if (rawIssuers === undefined && !deviceGrantEnabled && !problems.some((p) => p.startsWith("issuers"))) {
    problems.push(`issuers is not set: list the identity providers to trust (see Pulumi.dev.yaml)`);
  }
  const grants = readJson(source, "grants", problems);
  const sharedSecret = source.get("sharedSecret");

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
        problems.push(`${label}: sharedSecret must be true (the secret itself goes in the secret setting sharedSecret)`);
      } else if (sharedSecret === undefined || sharedSecret === "") {
        problems.push(`${label} reads the shared secret, but sharedSecret is not set: run pulumi config set --secret sharedSecret <base64 secret>`);
      }
      const usable = reference === true && sharedSecret !== undefined && sharedSecret !== "";
      // A missing secret is reported above; the component's checks then see a stand-in so they do not repeat it.
      issuersToCheck.push({ ...rest, sharedSecret: usable ? sharedSecret : STAND_IN_SECRET });
      issuers.push({ ...rest, sharedSecret: pulumi.secret(sharedSecret ?? "") });
    });
  } else if (rawIssuers !== undefined) {
    problems.push(`issuers must be a list of objects`);
  }
  if (sharedSecret !== undefined && !issuers.some((i) => i.sharedSecret !== undefined)) {
    problems.push(`sharedSecret is set but no issuer reads it: add "sharedSecret": true to the HMAC issuer`);
  }

  const signingEnabled = readBoolean(source, "signingEnabled", problems);
  const signingKeyBits = readInteger(source, "signingKeyBits", problems);
  const common = {
    grants: grants as IotTokenAuthorizerArgs["grants"],
    tokenKeyName: source.get("tokenKeyName"),
    refreshAfterSeconds: readInteger(source, "refreshAfterSeconds", problems),
    disconnectAfterSeconds: readInteger(source, "disconnectAfterSeconds", problems),
    clockToleranceSeconds: readInteger(source, "clockToleranceSeconds", problems),
    maxTokenBytes: readInteger(source, "maxTokenBytes", problems),
    // With signing off a key size means nothing; the stack default must not count as a conflicting setting.
    signing:
      signingEnabled === false
        ? { enabled: false }
        : { enabled: true, rsaBits: (signingKeyBits ?? COMPONENT_DEFAULTS.rsaBits) as RsaKeySize },
    enableCachingForHttp: readBoolean(source, "enableCachingForHttp", problems),
    lambda: {
      memorySize: readInteger(source, "functionMemoryMb", problems),
      timeoutSeconds: readInteger(source, "functionTimeoutSeconds", problems),
      logRetentionDays: readInteger(source, "logRetentionDays", problems),
    },
  } satisfies Omit<IotTokenAuthorizerArgs, "issuers">;

  const deviceGrant = deviceGrantEnabled ? readDeviceGrant(source, problems) : undefined;
  if (deviceGrant) {
    // The user pool's access tokens, for the device clients only: what the device grant hands to devices.
    const clientIds = (deviceGrant.directory.clients ?? []).map((c) => pendingClientId(String(c?.key)));
    const poolIssuer: IotTokenAuthorizerIssuer = {
      issuer: PENDING_USER_POOL_ISSUER,
      algorithms: ["RS256"],
      jwksUri: PENDING_USER_POOL_JWKS_URI,
      tokenUse: "access",
      ...(clientIds.length > 0 && { clientIds }),
      principalPrefix: deviceGrant.principalPrefix,
    };
    issuersToCheck.push(poolIssuer);
    issuers.push(poolIssuer);
  }

  try {
    checkIotTokenAuthorizerArgs(COMPONENT_NAME, { ...common, issuers: issuersToCheck as IotTokenAuthorizerIssuer[] }, pulumi.getStack());
  } catch (err) {
    if (!(err instanceof ConfigurationError)) throw err;
    const issuersReported = problems.some((p) => p.startsWith("issuers "));
    for (const problem of err.problems) {
      if (issuersReported && problem === "issuers must list at least one trusted issuer") continue;
      const path = Object.keys(COMPONENT_PATH_TO_SETTING).find((p) => problem.startsWith(p));
      const named = path ? COMPONENT_PATH_TO_SETTING[path] + problem.slice(path.length) : problem;
      // Said of the pool's stand-in, a problem is about its prefix setting.
      problems.push(named.replaceAll(PENDING_USER_POOL_ISSUER, `the device grant's user pool (userPoolPrincipalPrefix)`));
    }
  }

  if (problems.length > 0) throw new ConfigurationError([...new Set(problems)], `${PROJECT} stack configuration`);
  return { authorizer: { ...common, issuers }, ...(deviceGrant && { deviceGrant }) };
}
