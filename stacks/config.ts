/**
 * The stack configuration of the `iot-enterprise-auth` program: every setting, its type, default and
 * meaning in one table (`Pulumi.yaml` declares the same, and a test keeps the two equal), and the reader
 * that turns a stack's configuration into `IotTokenAuthorizer` arguments or one error listing every problem.
 */
import * as pulumi from "@pulumi/pulumi";
import { ConfigurationError, DEFAULT_SETTINGS } from "../functions/authorizer/config";
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
    description: "Retention of the function's log group in days (a CloudWatch Logs value such as 7, 30, 90, 365).",
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
} as const satisfies Record<string, ScalarSetting>;

/**
 * Settings that are lists of objects. Pulumi's project schema types only strings, integers, booleans and
 * arrays of those, so `Pulumi.yaml` documents these in comments instead of declaring them.
 */
export const STRUCTURED_SETTINGS = ["issuers", "grants"] as const;

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

/**
 * Reads the stack's configuration once and returns the component's arguments, or throws one
 * `ConfigurationError` naming every problem with the stack setting to fix. Nothing is declared before this
 * returns. The shared secret is marked secret as soon as it is read.
 */
export function readStackConfig(source: ConfigSource = new pulumi.Config(PROJECT)): IotTokenAuthorizerArgs {
  const problems: string[] = [];

  const rawIssuers = readJson(source, "issuers", problems);
  if (rawIssuers === undefined && !problems.some((p) => p.startsWith("issuers"))) {
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

  try {
    checkIotTokenAuthorizerArgs(COMPONENT_NAME, { ...common, issuers: issuersToCheck as IotTokenAuthorizerIssuer[] }, pulumi.getStack());
  } catch (err) {
    if (!(err instanceof ConfigurationError)) throw err;
    const issuersReported = problems.some((p) => p.startsWith("issuers "));
    for (const problem of err.problems) {
      if (issuersReported && problem === "issuers must list at least one trusted issuer") continue;
      const path = Object.keys(COMPONENT_PATH_TO_SETTING).find((p) => problem.startsWith(p));
      problems.push(path ? COMPONENT_PATH_TO_SETTING[path] + problem.slice(path.length) : problem);
    }
  }

  if (problems.length > 0) throw new ConfigurationError(problems, `${PROJECT} stack configuration`);
  return { ...common, issuers };
}
