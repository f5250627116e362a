/**
 * The device grant's runtime configuration: the one document the functions read from `DEVICE_GRANT_CONFIG`
 * (the settings and clients as `settings.ts` checks them, the upstream IdP, the public base URL, the table,
 * the region and the secrets parameter). The same checks run in the `DeviceGrant` component at preview
 * and again with the real ids and URLs at deployment, in the Lambda at cold start and in the local
 * sandbox, and every check reports every problem at once.
 */
import { ConfigurationError } from "../authorizer/config";
import { type ClientRegistration, type DeviceGrantSettings } from "./model";
import { checkClients, checkDeviceGrantSettings, checkScopeList, isObject } from "./settings";

export { ConfigurationError };
// The local sandbox (and its test) still import the settings checks from here.
export { checkClients, checkDeviceGrantSettings, DEFAULT_DEVICE_GRANT_SETTINGS } from "./settings";

/** The environment variable holding the runtime configuration (one JSON document). */
export const DEVICE_GRANT_CONFIG_ENV = "DEVICE_GRANT_CONFIG";

const SSM_PARAMETER_NAME = /^\/?[A-Za-z0-9_.\-/]{1,1011}$/;
const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;
/** As in the authorizer's configuration (functions/authorizer/config.ts). */
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** The upstream IdP the user signs in at (authorization code with PKCE). */
export interface UpstreamConfig {
  /** The IdP's issuer (Cognito: `https://cognito-idp.REGION.amazonaws.com/POOL_ID`). */
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  /** Where the IdP sends the browser back: this service's `/callback`, as registered at the IdP. */
  redirectUri: string;
}

/** Everything the device grant functions read at cold start, from `DEVICE_GRANT_CONFIG`. */
export interface DeviceGrantConfig {
  settings: DeviceGrantSettings;
  clients: ClientRegistration[];
  /** Every scope the service offers (the metadata's `scopes_supported`); each client's scopes are among them. */
  scopes: string[];
  upstream: UpstreamConfig;
  /** Base of `verification_uri` (`<publicBaseUrl>/device`) and the other endpoints, without a trailing slash. */
  publicBaseUrl: string;
  tableName: string;
  region: string;
  /**
   * SSM SecureString parameter whose value is a JSON object `{ "<clientId>": "<secret>" }`: the secrets
   * of the confidential clients, read at cold start and never stored with requests. Required when any
   * client is confidential.
   */
  clientSecretsParameter?: string;
}

function checkUrl(value: unknown, where: string, problems: string[], allowPath = true): string {
  if (typeof value !== "string") {
    problems.push(`${where} must be a URL; got ${JSON.stringify(value)}`);
    return "";
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.push(`${where} ${JSON.stringify(value)} is not a URL`);
    return value;
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopback(url.hostname))) {
    problems.push(`${where} must use https (plain http is allowed on loopback only); got ${JSON.stringify(value)}`);
  }
  if (url.username || url.password) problems.push(`${where} must not carry credentials`);
  if (url.hash) problems.push(`${where} must not have a fragment`);
  if (!allowPath && url.search) problems.push(`${where} must not have a query`);
  return value;
}

/** Checks a whole runtime configuration and fills in setting defaults, or throws every problem at once. */
export function loadDeviceGrantConfig(raw: unknown): DeviceGrantConfig {
  const problems: string[] = [];
  const r = isObject(raw) ? raw : {};
  if (!isObject(raw)) problems.push("the device grant configuration must be a JSON object");
  const known = new Set(["settings", "clients", "scopes", "upstream", "publicBaseUrl", "tableName", "region", "clientSecretsParameter"]);
  for (const key of Object.keys(r)) if (!known.has(key)) problems.push(`unknown setting "${key}"`);

  const checkedSettings = checkDeviceGrantSettings(r.settings);
  problems.push(...checkedSettings.problems.map((p) => `settings: ${p}`));
  const checkedClients = checkClients(r.clients);
  problems.push(...checkedClients.problems);
  const scopes = checkScopeList(r.scopes, "scopes", problems);
  if (Array.isArray(r.scopes)) {
    for (const client of checkedClients.clients) {
      const foreign = client.scopes.filter((s) => !scopes.includes(s));
      if (foreign.length > 0) problems.push(`client ${client.clientId}: scope(s) ${foreign.join(", ")} are not among the offered scopes`);
    }
  }

  let upstream: UpstreamConfig = { issuer: "", authorizationEndpoint: "", tokenEndpoint: "", redirectUri: "" };
  if (!isObject(r.upstream)) {
    problems.push("upstream must be an object with issuer, authorizationEndpoint, tokenEndpoint and redirectUri");
  } else {
    const u = r.upstream;
    for (const key of Object.keys(u)) {
      if (!["issuer", "authorizationEndpoint", "tokenEndpoint", "redirectUri"].includes(key)) problems.push(`upstream: unknown setting "${key}"`);
    }
    upstream = {
      issuer: checkUrl(u.issuer, "upstream.issuer", problems),
      authorizationEndpoint: checkUrl(u.authorizationEndpoint, "upstream.authorizationEndpoint", problems),
      tokenEndpoint: checkUrl(u.tokenEndpoint, "upstream.tokenEndpoint", problems),
      redirectUri: checkUrl(u.redirectUri, "upstream.redirectUri", problems, false),
    };
  }

  const publicBaseUrl = checkUrl(r.publicBaseUrl, "publicBaseUrl", problems, false).replace(/\/+$/, "");

  const tableName = r.tableName;
  if (typeof tableName !== "string" || !TABLE_NAME.test(tableName)) {
    problems.push(`tableName must be a DynamoDB table name (3-255 letters, digits, _ . -); got ${JSON.stringify(tableName)}`);
  }
  const region = r.region;
  if (typeof region !== "string" || !REGION.test(region)) problems.push(`region must be an AWS region such as eu-west-1; got ${JSON.stringify(region)}`);

  const clientSecretsParameter = r.clientSecretsParameter;
  if (clientSecretsParameter !== undefined && (typeof clientSecretsParameter !== "string" || !SSM_PARAMETER_NAME.test(clientSecretsParameter))) {
    problems.push(`clientSecretsParameter ${JSON.stringify(clientSecretsParameter)} is not an SSM parameter name`);
  }
  // From the raw entries, so that a confidential client with another problem is still reported here.
  const confidential = (Array.isArray(r.clients) ? (r.clients as unknown[]) : []).flatMap((c, i) =>
    isObject(c) && c.type === "confidential" ? [typeof c.clientId === "string" && c.clientId ? c.clientId : `clients[${i}]`] : [],
  );
  if (confidential.length > 0 && clientSecretsParameter === undefined) {
    problems.push(`confidential client(s) ${confidential.join(", ")} need clientSecretsParameter (the SSM SecureString holding their secrets)`);
  }

  if (problems.length > 0) throw new ConfigurationError(problems, "device grant configuration");
  return {
    settings: checkedSettings.settings,
    clients: checkedClients.clients,
    scopes,
    upstream,
    publicBaseUrl,
    tableName: tableName as string,
    region: region as string,
    ...(clientSecretsParameter !== undefined && { clientSecretsParameter: clientSecretsParameter as string }),
  };
}

/** Reads the configuration from its JSON text (the `DEVICE_GRANT_CONFIG` environment variable). */
export function parseDeviceGrantConfig(json: string | undefined): DeviceGrantConfig {
  if (json === undefined || json.trim() === "") throw new ConfigurationError([`${DEVICE_GRANT_CONFIG_ENV} is not set`], "device grant configuration");
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    // The parser's message quotes the input; report only where it broke.
    const position = /position (\d+)/.exec((err as Error).message)?.[1];
    throw new ConfigurationError(
      [`${DEVICE_GRANT_CONFIG_ENV} is not valid JSON${position ? ` (error at character ${position})` : ""}`],
      "device grant configuration",
    );
  }
  return loadDeviceGrantConfig(raw);
}
