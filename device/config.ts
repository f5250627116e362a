/**
 * The device CLI's settings, from three layers, each field taken from the first layer that has it:
 * command-line flags, then `DEVICE_*` environment variables, then a file: the JSON of
 * `pulumi stack output --json` (a deployed stack) or the sandbox's `sandbox.json` (`npm start`).
 *
 * The OAuth endpoints and the IoT URLs are resolved within each layer before the layers are merged, so a
 * `--base-url` flag replaces a stack's endpoints rather than mixing with them.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { EndpointError, type IotEndpoints, resolveIotEndpoints } from "./endpoints";
import { type DeviceClientOptions } from "./options";
import { chooseIdp, type IdpChoice } from "./idp-selection";

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.length === 1 ? problems[0] : `${problems.length} problems:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** The client options a layer can set; DeviceClientOptions documents each. */
type LayeredOption =
  | "deviceAuthorizationEndpoint"
  | "tokenEndpoint"
  | "clientId"
  | "clientSecret"
  | "scope"
  | "authorizerName"
  | "tokenKeyName"
  | "signingKeyPem"
  | "tokenFile"
  | "mqttClientId"
  | "principalPrefix";

/** One layer's settings, before merging; the IoT endpoint is split into a URL per transport so layers merge transport by transport. */
export type SettingsLayer = Partial<Pick<DeviceClientOptions, LayeredOption>> & IotEndpoints;

/** The raw, string-valued options a layer is read from (flag names in camel case). */
export interface RawSettings {
  baseUrl?: string;
  deviceAuthorizationEndpoint?: string;
  tokenEndpoint?: string;
  clientId?: string;
  clientSecret?: string;
  scope?: string;
  iotEndpoint?: string;
  mqttUrl?: string;
  wsUrl?: string;
  httpUrl?: string;
  authorizerName?: string;
  tokenKeyName?: string;
  /** A PEM file's path. */
  signingKey?: string;
  tokenFile?: string;
  mqttClientId?: string;
  principalPrefix?: string;
  /** The key in a stack's `deviceClientIds` map. */
  client?: string;
  stackOutput?: string;
  sandbox?: string;
  /** An identity provider of the sandbox file, by key (`enterprise`, `cognito`) or principal prefix. */
  idp?: string;
  /** An IdP's issuer URL: the device flow's endpoints come from its metadata (device/discovery.ts). */
  issuer?: string;
}

/** `DEVICE_*` variable → setting. */
export const ENVIRONMENT_VARIABLES: Record<string, keyof RawSettings> = {
  DEVICE_BASE_URL: "baseUrl",
  DEVICE_CLIENT_ID: "clientId",
  DEVICE_CLIENT_SECRET: "clientSecret",
  DEVICE_CLIENT: "client",
  DEVICE_SCOPE: "scope",
  DEVICE_IOT_ENDPOINT: "iotEndpoint",
  DEVICE_MQTT_URL: "mqttUrl",
  DEVICE_WS_URL: "wsUrl",
  DEVICE_HTTP_URL: "httpUrl",
  DEVICE_AUTHORIZER_NAME: "authorizerName",
  DEVICE_TOKEN_KEY_NAME: "tokenKeyName",
  DEVICE_SIGNING_KEY: "signingKey",
  DEVICE_TOKEN_FILE: "tokenFile",
  DEVICE_MQTT_CLIENT_ID: "mqttClientId",
  DEVICE_PRINCIPAL_PREFIX: "principalPrefix",
  DEVICE_STACK_OUTPUT: "stackOutput",
  DEVICE_SANDBOX: "sandbox",
  DEVICE_IDP: "idp",
  DEVICE_ISSUER: "issuer",
};

export function rawFromEnvironment(env: NodeJS.ProcessEnv): RawSettings {
  const raw: RawSettings = {};
  for (const [variable, key] of Object.entries(ENVIRONMENT_VARIABLES)) {
    const value = env[variable];
    if (value !== undefined && value !== "") raw[key] = value;
  }
  return raw;
}

function readPem(file: string, cwd: string, problems: string[], what: string): string | undefined {
  try {
    const pem = readFileSync(path.resolve(cwd, file), "utf8");
    if (!pem.includes("PRIVATE KEY-----")) {
      problems.push(`${what} ${file} is not a PEM private key`);
      return undefined;
    }
    return pem;
  } catch (err) {
    problems.push(`cannot read ${what} ${file}: ${(err as Error).message}`);
    return undefined;
  }
}

function endpointsLayer(
  raw: { iotEndpoint?: string; mqttUrl?: string; wsUrl?: string; httpUrl?: string },
  label: string,
  problems: string[],
): IotEndpoints {
  let base: IotEndpoints = {};
  try {
    if (raw.iotEndpoint) base = resolveIotEndpoints(raw.iotEndpoint);
  } catch (err) {
    if (err instanceof EndpointError) problems.push(`${label}: ${err.message}`);
    else throw err;
  }
  return { ...base, ...resolveIotEndpoints({ mqttUrl: raw.mqttUrl, wsUrl: raw.wsUrl, httpUrl: raw.httpUrl }) };
}

/** Flags or environment: strings only, files named by path. */
export function layerFromRaw(raw: RawSettings, label: string, cwd: string, problems: string[]): SettingsLayer {
  const base = raw.baseUrl?.replace(/\/+$/, "");
  return compact({
    deviceAuthorizationEndpoint: raw.deviceAuthorizationEndpoint ?? (base && `${base}/oauth2/device_authorization`),
    tokenEndpoint: raw.tokenEndpoint ?? (base && `${base}/oauth2/token`),
    clientId: raw.clientId,
    clientSecret: raw.clientSecret,
    scope: raw.scope,
    ...endpointsLayer(raw, label, problems),
    authorizerName: raw.authorizerName,
    tokenKeyName: raw.tokenKeyName,
    signingKeyPem: raw.signingKey !== undefined ? readPem(raw.signingKey, cwd, problems, `${label}: the signing key`) : undefined,
    tokenFile: raw.tokenFile !== undefined ? path.resolve(cwd, raw.tokenFile) : undefined,
    mqttClientId: raw.mqttClientId,
    principalPrefix: raw.principalPrefix,
  });
}

function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== "")) as T;
}

function readJson(file: string, cwd: string, what: string, problems: string[]): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = readFileSync(path.resolve(cwd, file), "utf8");
  } catch (err) {
    problems.push(`cannot read ${what} ${file}: ${(err as Error).message}`);
    return undefined;
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // reported below
  }
  problems.push(`${what} ${file} is not a JSON object`);
  return undefined;
}

const SECRET_PLACEHOLDER = "[secret]";

function str(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/**
 * `pulumi stack output --json`: the exports of stacks/index.ts (flat; a nested `deviceGrant` object is read
 * too). Secrets show as "[secret]" unless `--show-secrets` was given: then the private key and client
 * secrets are missing, and the message says how to get them.
 */
export function layerFromStackOutput(file: string, cwd: string, clientKey: string | undefined, problems: string[]): SettingsLayer {
  const what = "the stack output";
  const json = readJson(file, cwd, what, problems);
  if (!json) return {};
  const nested = typeof json.deviceGrant === "object" && json.deviceGrant !== null ? (json.deviceGrant as Record<string, unknown>) : {};
  const pick = (key: string): unknown => json[key] ?? nested[key];
  const layer: SettingsLayer = {};
  const deviceAuthorizationEndpoint = str(pick("deviceAuthorizationEndpoint"));
  const tokenEndpoint = str(pick("deviceTokenEndpoint")) ?? str(pick("tokenEndpoint"));
  if (deviceAuthorizationEndpoint) layer.deviceAuthorizationEndpoint = deviceAuthorizationEndpoint;
  if (tokenEndpoint) layer.tokenEndpoint = tokenEndpoint;

  const ids = pick("deviceClientIds");
  if (typeof ids === "object" && ids !== null) {
    const entries = Object.entries(ids as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === "string");
    const chosen = clientKey !== undefined ? entries.find(([k]) => k === clientKey) : entries.length === 1 ? entries[0] : undefined;
    if (clientKey !== undefined && !chosen) {
      problems.push(`${what} has no device client ${JSON.stringify(clientKey)} (it has ${entries.map(([k]) => k).join(", ") || "none"})`);
    } else if (chosen) {
      layer.clientId = chosen[1];
      const secrets = pick("deviceClientSecrets");
      const secret = typeof secrets === "object" && secrets !== null ? (secrets as Record<string, unknown>)[chosen[0]] : secrets;
      if (secret === SECRET_PLACEHOLDER) layer.clientSecret = SECRET_PLACEHOLDER;
      else if (str(secret)) layer.clientSecret = secret as string;
    } else if (entries.length > 1) {
      layerHints.set(
        layer,
        `the stack has several device clients (${entries.map(([k]) => k).join(", ")}): choose one with --client KEY or --client-id`,
      );
    }
  }
  const dataEndpoint = str(pick("dataEndpoint"));
  if (dataEndpoint) Object.assign(layer, endpointsLayer({ iotEndpoint: dataEndpoint }, what, problems));
  const authorizerName = str(pick("authorizerName"));
  if (authorizerName) layer.authorizerName = authorizerName;
  const tokenKeyName = str(pick("tokenKeyName"));
  if (tokenKeyName) layer.tokenKeyName = tokenKeyName;
  const principalPrefix = pick("userPoolPrincipalPrefix");
  if (typeof principalPrefix === "string") layer.principalPrefix = principalPrefix;
  const privateKeyPem = pick("privateKeyPem");
  if (privateKeyPem === SECRET_PLACEHOLDER) layer.signingKeyPem = SECRET_PLACEHOLDER;
  else if (str(privateKeyPem)) layer.signingKeyPem = privateKeyPem as string;
  return layer;
}

/** Problems a layer cannot report itself (they matter only when no higher layer settles the field). */
const layerHints = new WeakMap<SettingsLayer, string>();

/**
 * The sandbox's `sandbox.json` (written by `npm start`): its URLs, the device client, the authorizer and
 * the signing key's file (relative to the JSON file). Names follow `startSandbox`'s result.
 */
export function layerFromSandbox(file: string, cwd: string, problems: string[], choice: IdpChoice = {}): SettingsLayer {
  const what = "the sandbox file";
  const json = readJson(file, cwd, what, problems);
  if (!json) return {};
  const dir = path.dirname(path.resolve(cwd, file));
  const base = str(json.deviceGrantUrl)?.replace(/\/+$/, "");
  const gateway = typeof json.gateway === "object" && json.gateway !== null ? (json.gateway as Record<string, unknown>) : {};
  const pick = (key: string): string | undefined => str(json[key]) ?? str(gateway[key]);
  const signingKeyFile = str(json.signingKeyFile) ?? str(json.signingPrivateKeyFile);
  const inlineKey = str(json.signingPrivateKeyPem);
  // `--idp`/`--issuer`: the device flow, client and principal prefix of one of its `idps` (device/idp-selection.ts).
  const chosen = choice.idp !== undefined || choice.issuer !== undefined ? chooseIdp(json, choice, problems) : undefined;
  return compact({
    deviceAuthorizationEndpoint: str(json.deviceAuthorizationEndpoint) ?? (base && `${base}/oauth2/device_authorization`),
    tokenEndpoint: str(json.tokenEndpoint) ?? (base && `${base}/oauth2/token`),
    clientId: str(json.clientId),
    clientSecret: str(json.clientSecret),
    ...endpointsLayer({ mqttUrl: pick("mqttUrl"), wsUrl: pick("wsUrl"), httpUrl: pick("httpUrl") }, what, problems),
    authorizerName: str(json.authorizerName),
    tokenKeyName: str(json.tokenKeyName),
    principalPrefix: typeof json.principalPrefix === "string" ? json.principalPrefix : undefined,
    signingKeyPem:
      inlineKey ??
      (signingKeyFile !== undefined ? readPem(path.resolve(dir, signingKeyFile), cwd, problems, `${what}'s signing key`) : undefined),
    ...chosen,
  });
}

export interface ResolvedSettings {
  options: DeviceClientOptions;
  /** `--issuer`: the IdP whose metadata gives the device flow's endpoints (not yet in `options`). */
  issuer?: string;
  /** Where each field came from, for `--verbose`-style explanations and tests. */
  sources: Partial<Record<keyof SettingsLayer, string>>;
}

/**
 * Merges flags > environment > file. `require` names the fields the command needs; every missing one is
 * reported at once, each with the flag and variable that set it.
 */
export function resolveSettings(
  flags: RawSettings,
  env: NodeJS.ProcessEnv,
  cwd: string,
  require: (keyof SettingsLayer)[],
  extra: Pick<DeviceClientOptions, "mqttProtocolVersion" | "wsCredentials"> & { unsigned?: boolean } = {},
): ResolvedSettings {
  const problems: string[] = [];
  const layers = readLayers(flags, env, cwd, problems);
  const { merged, sources } = mergeLayers(layers);
  if (extra.unsigned) delete merged.signingKeyPem;
  const issuer = flags.issuer ?? rawFromEnvironment(env).issuer;
  if (issuer !== undefined) {
    // Discovery gives the endpoints (cli-commands.ts); a base URL beside it would name a second server.
    if ((flags.baseUrl ?? rawFromEnvironment(env).baseUrl) !== undefined)
      problems.push("--issuer and --base-url name two servers: give one");
    delete merged.deviceAuthorizationEndpoint;
    delete merged.tokenEndpoint;
    require = require.filter((f) => f !== "deviceAuthorizationEndpoint" && f !== "tokenEndpoint");
  }
  problems.push(...unusableSettings(merged, layers, require));
  if (problems.length > 0) throw new ConfigError(problems);
  return { options: clientOptions(merged, extra), sources, ...(issuer !== undefined && { issuer }) };
}

/** The layers, highest first, each with its label; the file layer is a stack output or a sandbox file, not both. */
function readLayers(flags: RawSettings, env: NodeJS.ProcessEnv, cwd: string, problems: string[]): [string, SettingsLayer][] {
  const fromEnv = rawFromEnvironment(env);
  const layers: [string, SettingsLayer][] = [
    ["flags", layerFromRaw(flags, "flags", cwd, problems)],
    ["environment", layerFromRaw(fromEnv, "environment", cwd, problems)],
  ];
  const stackOutput = flags.stackOutput ?? fromEnv.stackOutput;
  const sandbox = flags.sandbox ?? fromEnv.sandbox;
  if (stackOutput !== undefined && sandbox !== undefined) problems.push("--stack-output and --sandbox name two deployments: give one");
  const clientKey = flags.client ?? fromEnv.client;
  const choice = { idp: flags.idp ?? fromEnv.idp, issuer: flags.issuer ?? fromEnv.issuer };
  if (choice.idp !== undefined && sandbox === undefined) problems.push("--idp picks an identity provider of a sandbox: give --sandbox too");
  if (stackOutput !== undefined) layers.push(["stack output", layerFromStackOutput(stackOutput, cwd, clientKey, problems)]);
  else if (sandbox !== undefined) layers.push(["sandbox file", layerFromSandbox(sandbox, cwd, problems, choice)]);
  return layers;
}

function mergeLayers(layers: [string, SettingsLayer][]): { merged: SettingsLayer; sources: ResolvedSettings["sources"] } {
  const merged: SettingsLayer = {};
  const sources: ResolvedSettings["sources"] = {};
  const fields: (keyof SettingsLayer)[] = [
    "deviceAuthorizationEndpoint",
    "tokenEndpoint",
    "clientId",
    "clientSecret",
    "scope",
    "mqttUrl",
    "wsUrl",
    "httpUrl",
    "authorizerName",
    "tokenKeyName",
    "signingKeyPem",
    "tokenFile",
    "mqttClientId",
    "principalPrefix",
  ];
  for (const field of fields) {
    for (const [label, layer] of layers) {
      if (layer[field] !== undefined) {
        merged[field] = layer[field];
        sources[field] = label;
        break;
      }
    }
  }
  return { merged, sources };
}

/** What keeps the merged settings from working: required fields missing (saying how to set each), secrets hidden. */
function unusableSettings(merged: SettingsLayer, layers: [string, SettingsLayer][], require: (keyof SettingsLayer)[]): string[] {
  const problems: string[] = [];
  const hint = layers.map(([, l]) => layerHints.get(l)).find((h) => h !== undefined);
  const howToSet: Record<string, string> = {
    deviceAuthorizationEndpoint: "the device grant's base URL (--base-url or DEVICE_BASE_URL)",
    tokenEndpoint: "the device grant's base URL (--base-url or DEVICE_BASE_URL)",
    clientId: hint ?? "the OAuth client id (--client-id or DEVICE_CLIENT_ID)",
    authorizerName: "the IoT authorizer's name (--authorizer-name or DEVICE_AUTHORIZER_NAME)",
    mqttUrl: "an MQTT endpoint (--iot-endpoint HOST, --mqtt-url or DEVICE_MQTT_URL)",
    wsUrl: "a WebSocket endpoint (--iot-endpoint HOST, --ws-url or DEVICE_WS_URL)",
    httpUrl: "an HTTPS endpoint (--iot-endpoint HOST, --http-url or DEVICE_HTTP_URL)",
  };
  const missing = new Set<string>();
  for (const field of require) if (merged[field] === undefined) missing.add(howToSet[field] ?? field);
  for (const m of missing) problems.push(`missing ${m}`);
  if (merged.clientSecret === SECRET_PLACEHOLDER) {
    problems.push(
      "the stack output hides the client secret: run `pulumi stack output --json --show-secrets > FILE`, or give --client-secret / DEVICE_CLIENT_SECRET",
    );
  }
  if (merged.signingKeyPem === SECRET_PLACEHOLDER) {
    problems.push(
      "the stack output hides the token-signing private key: run `pulumi stack output --json --show-secrets > FILE`, give --signing-key FILE, or --unsigned when the authorizer has signing disabled",
    );
  }
  return problems;
}

function clientOptions(
  merged: SettingsLayer,
  extra: Pick<DeviceClientOptions, "mqttProtocolVersion" | "wsCredentials">,
): DeviceClientOptions {
  const iotEndpoint: IotEndpoints = compact({ mqttUrl: merged.mqttUrl, wsUrl: merged.wsUrl, httpUrl: merged.httpUrl });
  return compact({
    deviceAuthorizationEndpoint: merged.deviceAuthorizationEndpoint,
    tokenEndpoint: merged.tokenEndpoint,
    clientId: merged.clientId as string,
    clientSecret: merged.clientSecret,
    scope: merged.scope,
    iotEndpoint,
    authorizerName: merged.authorizerName,
    tokenKeyName: merged.tokenKeyName,
    signingKeyPem: merged.signingKeyPem,
    tokenFile: merged.tokenFile,
    mqttClientId: merged.mqttClientId,
    principalPrefix: merged.principalPrefix,
    mqttProtocolVersion: extra.mqttProtocolVersion,
    wsCredentials: extra.wsCredentials,
  });
}
