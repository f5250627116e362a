/**
 * The `DeviceGrant` component's arguments: what a stack passes, the defaults, and the checks that run before
 * any resource is declared. The stack's own configuration check (`stacks/config.ts`) calls
 * `deviceGrantProblems` to list these problems with every other one; the component throws them at once.
 */
import type * as pulumi from "@pulumi/pulumi";
import { isIntegerInRange } from "../functions/shared/checks";
import { checkedOrThrow, nested, type Problem, problemAt, problemWithText, unknownFields } from "../functions/shared/problems";
import type { ClientRegistration, DeviceGrantSettings } from "../functions/device-grant/model";
import { inspectClients, inspectDeviceGrantSettings } from "../functions/device-grant/settings";
import { type Architecture, checkFunctionArgs, checkLogRetentionDays, checkResourcePrefix, type FunctionArgs } from "./bundled-function";
import { type ComponentArgs, checkComponentArgs } from "./component-args";
import { standInClientId } from "./stand-ins";

export const DEVICE_GRANT_DEFAULTS = {
  memorySize: 256,
  /** Seconds: a token poll may wait on the upstream token endpoint; API Gateway waits at most 30 s. */
  timeoutSeconds: 10,
  logRetentionDays: 30,
  architecture: "arm64" as Architecture,
  throttlingBurstLimit: 100,
  throttlingRateLimit: 50,
  deletionProtection: true,
} as const;

export interface DeviceGrantClient {
  /**
   * The upstream IdP's client id (e.g. a `UserDirectory` client's): the device authenticates with it here, and the
   * service exchanges the upstream code with it. Printable ASCII, at most 128 characters, unique among `clients`.
   */
  clientId: pulumi.Input<string>;
  /** Shown on the confirmation page ("Living-room TV wants to…"), so the user can tell which device asks. */
  name: string;
  /**
   * `public`: the device sends no secret (a TV cannot keep one). `confidential`: it authenticates with
   * `client_secret_basic` or `client_secret_post`, and needs `clientSecret`.
   */
  type: "public" | "confidential";
  /** Scopes the client may request (a request without `scope` gets all of them); each must be among `scopes`. */
  scopes: string[];
  /** Confidential clients: the upstream client secret, stored in an SSM SecureString parameter. Pass it as a secret. */
  clientSecret?: pulumi.Input<string>;
}

export interface DeviceGrantUpstream {
  /** The `iss` of the upstream IdP (https): the function checks the IdP's ID tokens against it. */
  issuer: pulumi.Input<string>;
  /** Where Approve sends the user's browser to sign in (authorization code + PKCE S256); https. */
  authorizationEndpoint: pulumi.Input<string>;
  /** Where the service exchanges the upstream code, and forwards refresh tokens; https. */
  tokenEndpoint: pulumi.Input<string>;
  /**
   * The IdP's JWKS, to verify its ID tokens (with `ID` in the token set); default: `<issuer>/.well-known/jwks.json`,
   * where Cognito publishes it.
   */
  jwksUri?: pulumi.Input<string>;
}

export interface DeviceGrantArgs extends ComponentArgs {
  /** The grant's settings (the AWS device-grant sample's knobs and more); unset ones take `DEFAULT_DEVICE_GRANT_SETTINGS`. */
  settings?: Partial<DeviceGrantSettings>;
  /** The device apps allowed to start a grant; at least one. An unknown client gets `invalid_client`. */
  clients: DeviceGrantClient[];
  /** Scopes advertised in the metadata (RFC 8414 `scopes_supported`); default: every scope some client may request. */
  scopes?: string[];
  /** The IdP the user signs in at on Approve. */
  upstream: DeviceGrantUpstream;
  /**
   * Serve the API on your own (short) domain, e.g. `device.example.com`: users type the `verification_uri`.
   * The default `execute-api` endpoint is then disabled, so there is one way in.
   */
  customDomain?: {
    /** The domain, a lowercase DNS name; point it (CNAME or alias) at the `customDomainTarget` output. */
    domainName: string;
    /** ACM certificate for `domainName`, in the stack's region (a regional API Gateway endpoint). */
    certificateArn: pulumi.Input<string>;
  };
  /**
   * With `ID` in `settings.resultTokenSet`: the algorithm of the service's own ID tokens, and so the spec of the
   * asymmetric KMS key the component creates for them (RS256: RSA_2048, the algorithm every OpenID Connect
   * client accepts by default; ES256: ECC_NIST_P256). Default RS256.
   */
  idTokenAlgorithm?: "RS256" | "ES256";
  /** Stage throttling for every route; past it API Gateway answers 429 before the function runs. */
  throttling?: {
    /** Requests API Gateway admits at once (default 100; 1 to 5,000). */
    burstLimit?: number;
    /** Steady requests per second (default 50; 1 to 10,000). */
    rateLimit?: number;
  };
  /**
   * The function: memory in MB (default 256), timeout in seconds (default 10, at most 10), instruction set,
   * reserved concurrency (default none).
   */
  lambda?: FunctionArgs;
  /**
   * Names the function, table and log groups (default `<component name>-<stack>`): 1-64 letters, digits, `-` or `_`,
   * unique in the account and region.
   */
  resourcePrefix?: string;
  /**
   * Refuse to delete the table until this is turned off (default `true`). The table holds only requests in flight,
   * but deleting it with the stack (or by a mistaken replacement) ends every sign-in under way.
   */
  deletionProtection?: boolean;
}

const DOMAIN_NAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

export interface CheckedDeviceGrantArgs {
  resourcePrefix: string;
  settings: DeviceGrantSettings;
  /** The clients as checked, with stand-in ids where the real id is an Output. */
  clients: ClientRegistration[];
  scopes: string[];
  memorySize: number;
  timeoutSeconds: number;
  architecture: Architecture;
  reservedConcurrency?: number;
  logRetentionDays: number;
  throttlingBurstLimit: number;
  throttlingRateLimit: number;
  deletionProtection: boolean;
}

/** The checks of `checkDeviceGrantArgs`, returning the problems instead of throwing (the stack lists them with others). */
export function deviceGrantProblems(
  name: string,
  args: DeviceGrantArgs,
  stack: string,
): { checked: CheckedDeviceGrantArgs; problems: Problem[] } {
  const problems: Problem[] = [];
  const a = (args ?? {}) as Partial<DeviceGrantArgs>;
  const resourcePrefix = checkResourcePrefix(name, a.resourcePrefix, stack, "the function and the table", problems);
  const settings = inspectDeviceGrantSettings(a.settings ?? {});
  problems.push(...settings.problems.map((p) => nested("settings", p)));
  const clients = checkClientArgs(a, problems);
  const scopes = checkScopesArg(a, clients, problems);
  checkUpstreamArgs(a, problems);
  checkCustomDomainArgs(a, problems);
  if (a.idTokenAlgorithm !== undefined && a.idTokenAlgorithm !== "RS256" && a.idTokenAlgorithm !== "ES256")
    problems.push(problemAt("idTokenAlgorithm", `must be RS256 or ES256; got ${JSON.stringify(a.idTokenAlgorithm)}`));
  const runtime = checkRuntimeArgs(a, problems);
  checkComponentArgs(a, problems);
  return { problems, checked: { resourcePrefix, settings: settings.settings, clients, scopes, ...runtime } };
}

/** The function's client checks, with stand-in ids for ids not known yet, and a secret exactly for confidential clients. */
function checkClientArgs(a: Partial<DeviceGrantArgs>, problems: Problem[]): ClientRegistration[] {
  const rawClients = Array.isArray(a.clients) ? a.clients : [];
  const registrations = rawClients.map((c, i) => ({
    clientId: typeof c?.clientId === "string" ? c.clientId : standInClientId(`client-${i}`),
    name: c?.name,
    type: c?.type,
    scopes: c?.scopes,
  }));
  const clients = inspectClients(Array.isArray(a.clients) ? registrations : a.clients);
  problems.push(...clients.problems);
  rawClients.forEach((c, i) => {
    const label = typeof c?.name === "string" && c.name ? `client ${c.name}` : `clients[${i}]`;
    const path = `clients[${i}].clientSecret`;
    if (c?.type === "confidential" && c.clientSecret === undefined)
      problems.push(problemWithText(path, `${label} is confidential and needs clientSecret`));
    if (c?.type !== "confidential" && c?.clientSecret !== undefined)
      problems.push(problemWithText(path, `${label} is public and must not have a clientSecret`));
  });
  return clients.clients;
}

/** The offered scopes (default: every scope some client may request), each client's among them. */
function checkScopesArg(a: Partial<DeviceGrantArgs>, clients: ClientRegistration[], problems: Problem[]): string[] {
  const scopes = a.scopes ?? [...new Set(clients.flatMap((c) => c.scopes))];
  if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every((s) => typeof s === "string" && s.length > 0)) {
    problems.push(problemAt("scopes", "must be a non-empty list of scope names"));
  } else {
    for (const client of clients) {
      const foreign = client.scopes.filter((s) => !scopes.includes(s));
      if (foreign.length > 0)
        problems.push(problemWithText("scopes", `client ${client.name}: scope(s) ${foreign.join(", ")} are not among the offered scopes`));
    }
  }
  return Array.isArray(scopes) ? scopes : [];
}

function checkUpstreamArgs(a: Partial<DeviceGrantArgs>, problems: Problem[]): void {
  const upstream = (a.upstream ?? {}) as Partial<DeviceGrantUpstream>;
  for (const key of ["issuer", "authorizationEndpoint", "tokenEndpoint", "jwksUri"] as const) {
    const value = upstream[key];
    const path = `upstream.${key}`;
    if (value === undefined) {
      if (key !== "jwksUri") problems.push(problemAt(path, "is required"));
    } else if (typeof value === "string" && !value.startsWith("https://")) problems.push(problemAt(path, `must use https; got ${value}`));
  }
}

function checkCustomDomainArgs(a: Partial<DeviceGrantArgs>, problems: Problem[]): void {
  if (a.customDomain === undefined) return;
  problems.push(...unknownFields(a.customDomain, ["domainName", "certificateArn"], "customDomain"));
  if (typeof a.customDomain.domainName !== "string" || !DOMAIN_NAME.test(a.customDomain.domainName)) {
    problems.push(problemAt("customDomain.domainName", `must be a lowercase DNS name; got ${JSON.stringify(a.customDomain.domainName)}`));
  }
  if (a.customDomain.certificateArn === undefined)
    problems.push(problemAt("customDomain.certificateArn", "is required (ACM, same region)"));
}

type RuntimeArgs = Pick<
  CheckedDeviceGrantArgs,
  | "memorySize"
  | "timeoutSeconds"
  | "architecture"
  | "reservedConcurrency"
  | "logRetentionDays"
  | "throttlingBurstLimit"
  | "throttlingRateLimit"
  | "deletionProtection"
>;

/** The function's size and timeout, log retention, and the stage's throttling, with their defaults. */
function checkRuntimeArgs(a: Partial<DeviceGrantArgs>, problems: Problem[]): RuntimeArgs {
  const d = DEVICE_GRANT_DEFAULTS;
  const fn = checkFunctionArgs(a.lambda, d, { max: 10 }, problems);
  const logRetentionDays = checkLogRetentionDays(a.logRetentionDays ?? d.logRetentionDays, problems);
  problems.push(...unknownFields(a.throttling, ["burstLimit", "rateLimit"], "throttling"));
  const throttlingBurstLimit = a.throttling?.burstLimit ?? d.throttlingBurstLimit;
  if (!isIntegerInRange(throttlingBurstLimit, 1, 5_000)) {
    problems.push(problemAt("throttling.burstLimit", `must be an integer from 1 to 5000; got ${JSON.stringify(throttlingBurstLimit)}`));
  }
  const throttlingRateLimit = a.throttling?.rateLimit ?? d.throttlingRateLimit;
  if (!isIntegerInRange(throttlingRateLimit, 1, 10_000)) {
    problems.push(problemAt("throttling.rateLimit", `must be an integer from 1 to 10000; got ${JSON.stringify(throttlingRateLimit)}`));
  }
  const deletionProtection = a.deletionProtection ?? d.deletionProtection;
  if (typeof deletionProtection !== "boolean") problems.push(problemAt("deletionProtection", "must be true or false"));
  return { ...fn, logRetentionDays, throttlingBurstLimit, throttlingRateLimit, deletionProtection };
}

/** Checks every argument and fills in defaults, or throws one `ConfigurationError` listing every problem. */
export function checkDeviceGrantArgs(name: string, args: DeviceGrantArgs, stack: string): CheckedDeviceGrantArgs {
  return checkedOrThrow(deviceGrantProblems(name, args, stack), `DeviceGrant "${name}" arguments`);
}
