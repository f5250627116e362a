/**
 * The `DeviceGrant` component's arguments: what a stack passes, the defaults, and the checks that run before
 * any resource is declared. The stack's own configuration check (`stacks/config.ts`) calls
 * `deviceGrantProblems` to list these problems with every other one; the component throws them at once.
 */
import type * as pulumi from "@pulumi/pulumi";
import { ConfigurationError } from "../functions/authorizer/config";
import type { ClientRegistration, DeviceGrantSettings } from "../functions/device-grant/model";
import { checkClients, checkDeviceGrantSettings } from "../functions/device-grant/settings";
import { LOG_RETENTION_DAYS } from "./iot-token-authorizer";

export const DEVICE_GRANT_COMPONENT_DEFAULTS = {
  memorySize: 256,
  /** Seconds: a token poll may wait on the upstream token endpoint; API Gateway waits at most 30 s. */
  timeoutSeconds: 10,
  logRetentionDays: 30,
  architecture: "arm64" as "arm64" | "x86_64",
  throttlingBurstLimit: 100,
  throttlingRateLimit: 50,
} as const;

export interface DeviceGrantClient {
  /** The upstream IdP's client id (e.g. a `UserDirectory` client's). */
  clientId: pulumi.Input<string>;
  /** Shown on the confirmation page. */
  name: string;
  type: "public" | "confidential";
  /** Scopes the client may request. */
  scopes: string[];
  /** Confidential clients: the upstream client secret, stored in an SSM SecureString parameter. Pass it as a secret. */
  clientSecret?: pulumi.Input<string>;
}

export interface DeviceGrantUpstream {
  /** The `iss` of the upstream IdP (advertised, and compared by the function where it checks ID tokens). */
  issuer: pulumi.Input<string>;
  authorizationEndpoint: pulumi.Input<string>;
  tokenEndpoint: pulumi.Input<string>;
}

export interface DeviceGrantArgs {
  /** The grant's settings (seed 003's knobs and more); unset ones take `DEFAULT_DEVICE_GRANT_SETTINGS`. */
  settings?: Partial<DeviceGrantSettings>;
  clients: DeviceGrantClient[];
  /** Scopes advertised in the metadata; default: every scope some client may request. */
  scopes?: string[];
  /** The IdP the user signs in at on Approve. */
  upstream: DeviceGrantUpstream;
  /**
   * Serve the API on your own (short) domain, e.g. `device.example.com`: users type the `verification_uri`.
   * The default `execute-api` endpoint is then disabled, so there is one way in.
   */
  customDomain?: { domainName: string; certificateArn: pulumi.Input<string> };
  /** Customer managed KMS key for the table and the secrets parameter (default: AWS owned / managed keys). */
  kmsKeyArn?: pulumi.Input<string>;
  /** Stage throttling for every route: burst (requests) and steady rate (requests per second). */
  throttling?: { burstLimit?: number; rateLimit?: number };
  lambda?: { memorySize?: number; timeoutSeconds?: number; architecture?: "arm64" | "x86_64" };
  /** Retention of the function's and the access logs' log groups in days (default 30). */
  logRetentionDays?: number;
  /** Names the function, table and log groups (default `<component name>-<stack>`). */
  resourcePrefix?: string;
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

const RESOURCE_PREFIX = /^[A-Za-z0-9_-]{1,64}$/;
const DOMAIN_NAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

function isInteger(value: unknown, min: number, max: number): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max;
}

/** A stand-in for a client id that is not known yet (an Output), so the static checks can still run. */
function standInClientId(index: number): string {
  return `pendingclient${index}`;
}

export interface CheckedDeviceGrantArgs {
  resourcePrefix: string;
  settings: DeviceGrantSettings;
  /** The clients as checked, with stand-in ids where the real id is an Output. */
  clients: ClientRegistration[];
  scopes: string[];
  memorySize: number;
  timeoutSeconds: number;
  architecture: "arm64" | "x86_64";
  logRetentionDays: number;
  throttlingBurstLimit: number;
  throttlingRateLimit: number;
}

/** The checks of `checkDeviceGrantArgs`, returning the problems instead of throwing (the stack lists them with others). */
export function deviceGrantProblems(name: string, args: DeviceGrantArgs, stack: string): { checked: CheckedDeviceGrantArgs; problems: string[] } {
  const problems: string[] = [];
  const a = (args ?? {}) as Partial<DeviceGrantArgs>;
  const resourcePrefix = checkResourcePrefix(name, a, stack, problems);
  const settings = checkDeviceGrantSettings(a.settings ?? {});
  problems.push(...settings.problems);
  const clients = checkClientArgs(a, problems);
  const scopes = checkScopesArg(a, clients, problems);
  checkUpstreamArgs(a, problems);
  checkCustomDomainArgs(a, problems);
  const runtime = checkRuntimeArgs(a, problems);
  return { problems, checked: { resourcePrefix, settings: settings.settings, clients, scopes, ...runtime } };
}

function checkResourcePrefix(name: string, a: Partial<DeviceGrantArgs>, stack: string, problems: string[]): string {
  const resourcePrefix = a.resourcePrefix ?? `${name}-${stack}`.replace(/\./g, "-");
  if (!RESOURCE_PREFIX.test(resourcePrefix)) {
    problems.push(
      `resourcePrefix ${JSON.stringify(resourcePrefix)}${a.resourcePrefix === undefined ? " (derived from the component name and stack)" : ""} ` +
        `must be 1-64 letters, digits, - or _ (it names the function and the table)`,
    );
  }
  return resourcePrefix;
}

/** The function's client checks, with stand-in ids for ids not known yet, and a secret exactly for confidential clients. */
function checkClientArgs(a: Partial<DeviceGrantArgs>, problems: string[]): ClientRegistration[] {
  const rawClients = Array.isArray(a.clients) ? a.clients : [];
  const registrations = rawClients.map((c, i) => ({
    clientId: typeof c?.clientId === "string" ? c.clientId : standInClientId(i),
    name: c?.name,
    type: c?.type,
    scopes: c?.scopes,
  }));
  const clients = checkClients(Array.isArray(a.clients) ? registrations : a.clients);
  problems.push(...clients.problems);
  rawClients.forEach((c, i) => {
    const label = typeof c?.name === "string" && c.name ? `client ${c.name}` : `clients[${i}]`;
    if (c?.type === "confidential" && c.clientSecret === undefined) problems.push(`${label} is confidential and needs clientSecret`);
    if (c?.type !== "confidential" && c?.clientSecret !== undefined) problems.push(`${label} is public and must not have a clientSecret`);
  });
  return clients.clients;
}

/** The offered scopes (default: every scope some client may request), each client's among them. */
function checkScopesArg(a: Partial<DeviceGrantArgs>, clients: ClientRegistration[], problems: string[]): string[] {
  const scopes = a.scopes ?? [...new Set(clients.flatMap((c) => c.scopes))];
  if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every((s) => typeof s === "string" && s.length > 0)) {
    problems.push(`scopes must be a non-empty list of scope names`);
  } else {
    for (const client of clients) {
      const foreign = client.scopes.filter((s) => !scopes.includes(s));
      if (foreign.length > 0) problems.push(`client ${client.name}: scope(s) ${foreign.join(", ")} are not among the offered scopes`);
    }
  }
  return Array.isArray(scopes) ? scopes : [];
}

function checkUpstreamArgs(a: Partial<DeviceGrantArgs>, problems: string[]): void {
  const upstream = (a.upstream ?? {}) as Partial<DeviceGrantUpstream>;
  for (const key of ["issuer", "authorizationEndpoint", "tokenEndpoint"] as const) {
    const value = upstream[key];
    if (value === undefined) problems.push(`upstream.${key} is required`);
    else if (typeof value === "string" && !value.startsWith("https://")) problems.push(`upstream.${key} must use https; got ${value}`);
  }
}

function checkCustomDomainArgs(a: Partial<DeviceGrantArgs>, problems: string[]): void {
  if (a.customDomain === undefined) return;
  if (typeof a.customDomain.domainName !== "string" || !DOMAIN_NAME.test(a.customDomain.domainName)) {
    problems.push(`customDomain.domainName must be a lowercase DNS name; got ${JSON.stringify(a.customDomain.domainName)}`);
  }
  if (a.customDomain.certificateArn === undefined) problems.push(`customDomain.certificateArn is required (ACM, same region)`);
}

type RuntimeArgs = Pick<
  CheckedDeviceGrantArgs,
  "memorySize" | "timeoutSeconds" | "architecture" | "logRetentionDays" | "throttlingBurstLimit" | "throttlingRateLimit"
>;

/** The function's size and timeout, log retention, and the stage's throttling, with their defaults. */
function checkRuntimeArgs(a: Partial<DeviceGrantArgs>, problems: string[]): RuntimeArgs {
  const d = DEVICE_GRANT_COMPONENT_DEFAULTS;
  const fn = a.lambda ?? {};
  const memorySize = fn.memorySize ?? d.memorySize;
  if (!isInteger(memorySize, 128, 10_240)) problems.push(`lambda.memorySize must be an integer from 128 to 10240 MB; got ${JSON.stringify(memorySize)}`);
  const timeoutSeconds = fn.timeoutSeconds ?? d.timeoutSeconds;
  if (!isInteger(timeoutSeconds, 1, 10)) problems.push(`lambda.timeoutSeconds must be an integer from 1 to 10; got ${JSON.stringify(timeoutSeconds)}`);
  const architecture = fn.architecture ?? d.architecture;
  if (architecture !== "arm64" && architecture !== "x86_64") problems.push(`lambda.architecture must be arm64 or x86_64; got ${JSON.stringify(architecture)}`);
  const logRetentionDays = a.logRetentionDays ?? d.logRetentionDays;
  if (!(LOG_RETENTION_DAYS as readonly number[]).includes(logRetentionDays)) {
    problems.push(`logRetentionDays must be one of ${LOG_RETENTION_DAYS.join(", ")}; got ${JSON.stringify(logRetentionDays)}`);
  }
  const throttlingBurstLimit = a.throttling?.burstLimit ?? d.throttlingBurstLimit;
  if (!isInteger(throttlingBurstLimit, 1, 5_000)) {
    problems.push(`throttling.burstLimit must be an integer from 1 to 5000; got ${JSON.stringify(throttlingBurstLimit)}`);
  }
  const throttlingRateLimit = a.throttling?.rateLimit ?? d.throttlingRateLimit;
  if (!isInteger(throttlingRateLimit, 1, 10_000)) {
    problems.push(`throttling.rateLimit must be an integer from 1 to 10000; got ${JSON.stringify(throttlingRateLimit)}`);
  }
  return { memorySize, timeoutSeconds, architecture, logRetentionDays, throttlingBurstLimit, throttlingRateLimit };
}

/** Checks every argument and fills in defaults, or throws one `ConfigurationError` listing every problem. */
export function checkDeviceGrantArgs(name: string, args: DeviceGrantArgs, stack: string): CheckedDeviceGrantArgs {
  const { checked, problems } = deviceGrantProblems(name, args, stack);
  if (problems.length > 0) throw new ConfigurationError(problems, `DeviceGrant "${name}" arguments`);
  return checked;
}
