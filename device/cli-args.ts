/**
 * The device CLI's command line: flags with a value or none, positionals, and the checks each command
 * applies (its positionals, which command-specific flags it accepts, enumerated values). Mistakes are
 * `UsageError`s, which the CLI answers with exit code 2 and the usage text.
 */
import { type RawSettings } from "./config";
import { PROVISION_BOOLEAN_FLAGS, PROVISION_VALUE_FLAGS } from "./provision-flags";

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Flags that take a value, by name, and the setting they fill. */
const VALUE_FLAGS: Record<string, keyof RawSettings | "transport" | "count" | "qos" | "mqttVersion" | "wsCredentials"> = {
  "base-url": "baseUrl",
  "client-id": "clientId",
  client: "client",
  "client-secret": "clientSecret",
  scope: "scope",
  "iot-endpoint": "iotEndpoint",
  "mqtt-url": "mqttUrl",
  "ws-url": "wsUrl",
  "http-url": "httpUrl",
  "authorizer-name": "authorizerName",
  "token-key-name": "tokenKeyName",
  "signing-key": "signingKey",
  "token-file": "tokenFile",
  "mqtt-client-id": "mqttClientId",
  "principal-prefix": "principalPrefix",
  "stack-output": "stackOutput",
  sandbox: "sandbox",
  idp: "idp",
  issuer: "issuer",
  transport: "transport",
  count: "count",
  qos: "qos",
  "mqtt-version": "mqttVersion",
  "ws-credentials": "wsCredentials",
};
const BOOLEAN_FLAGS = new Set<string>(["help", "no-qr", "unsigned", "refresh", "retain", ...PROVISION_BOOLEAN_FLAGS]);
/** `provision`'s own flags with a value (provision-flags.ts); they are not settings of the other commands. */
const COMMAND_VALUE_FLAGS = new Set<string>(PROVISION_VALUE_FLAGS);

export interface ParsedArgs {
  command: string | undefined;
  positionals: string[];
  values: Record<string, string>;
  booleans: Set<string>;
}

export function parseArgs(argv: string[]): ParsedArgs {
  const positionals: string[] = [];
  const values: Record<string, string> = {};
  const booleans = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === "-h") {
      booleans.add("help");
      continue;
    }
    if (!arg.startsWith("--") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    if (BOOLEAN_FLAGS.has(name)) {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`);
      booleans.add(name);
    } else if (name in VALUE_FLAGS || COMMAND_VALUE_FLAGS.has(name)) {
      let value: string | undefined;
      if (eq !== -1) value = arg.slice(eq + 1);
      else {
        value = argv[i + 1];
        i++;
      }
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      if (name in values) throw new UsageError(`--${name} is given twice`);
      values[name] = value;
    } else {
      throw new UsageError(`unknown option --${name}`);
    }
  }
  return { command: positionals.shift(), positionals, values, booleans };
}

/** The flags that are settings, for resolveSettings' top layer; the others choose how a command runs. */
export function settingsFlags(args: ParsedArgs): RawSettings {
  const raw: RawSettings = {};
  for (const [flag, value] of Object.entries(args.values)) {
    if (COMMAND_VALUE_FLAGS.has(flag)) continue;
    const key = VALUE_FLAGS[flag];
    if (key === "transport" || key === "count" || key === "qos" || key === "mqttVersion" || key === "wsCredentials") continue;
    raw[key] = value;
  }
  return raw;
}

/** An enumerated flag's value, or `fallback` when it is absent. */
export function oneOf<T extends string>(args: ParsedArgs, flag: string, allowed: readonly T[], fallback: T): T {
  const value = args.values[flag];
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`--${flag} must be one of ${allowed.join(", ")}`);
  return value as T;
}

/** Exactly the positionals a command takes, with a hint for the usual mistake: an unquoted message. */
export function expectPositionals(args: ParsedArgs, names: string[]): string[] {
  if (args.positionals.length !== names.length) {
    throw new UsageError(
      names.length === 0
        ? `${args.command} takes no arguments`
        : `${args.command} needs ${names.map((n) => `<${n}>`).join(" ")}${args.positionals.length > names.length ? ` (got ${args.positionals.length} arguments; quote a message with spaces)` : ""}`,
    );
  }
  return args.positionals;
}

/** Refuses a command-specific flag given to a command it does not apply to, rather than ignoring it. */
export function allowOnly(args: ParsedArgs, flags: string[]): void {
  const commandFlags = [
    ...["transport", "count", "qos", "mqtt-version", "ws-credentials", "refresh", "retain", "no-qr"],
    ...PROVISION_VALUE_FLAGS,
    ...PROVISION_BOOLEAN_FLAGS,
  ];
  for (const flag of [...Object.keys(args.values), ...args.booleans]) {
    if (commandFlags.includes(flag) && !flags.includes(flag)) throw new UsageError(`--${flag} does not apply to ${args.command}`);
  }
}
