/**
 * The device grant's runtime configuration: the one document the functions read from `DEVICE_GRANT_CONFIG`
 * (the settings and clients as `settings.ts` checks them, the upstream IdP, the public base URL, the table,
 * the region and the secrets parameter). The same checks run in the `DeviceGrant` component at preview
 * and again with the real ids and URLs at deployment, in the Lambda at cold start and in the local
 * sandbox, and every check reports every problem at once.
 */
import { isHttpsOrLoopback, isObject, parseUrl, REGION, SSM_PARAMETER_NAME } from "../shared/checks";
import { ConfigurationError, nested, type Problem, problem, problemAt, problemWithText } from "../shared/problems";
import { type ClientRegistration, type DeviceGrantSettings } from "./model";
import { checkScopeList, inspectClients, inspectDeviceGrantSettings } from "./settings";

/** The environment variable holding the runtime configuration (one JSON document). */
export const DEVICE_GRANT_CONFIG_ENV = "DEVICE_GRANT_CONFIG";

const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;
const KNOWN_KEYS = new Set([
  "settings",
  "clients",
  "scopes",
  "upstream",
  "publicBaseUrl",
  "tableName",
  "region",
  "clientSecretsParameter",
  "idTokenKey",
]);
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;

/** The upstream IdP the user signs in at (authorization code with PKCE). */
export interface UpstreamConfig {
  /** The IdP's issuer (Cognito: `https://cognito-idp.REGION.amazonaws.com/POOL_ID`). */
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  /** Where the IdP sends the browser back: this service's `/callback`, as registered at the IdP. */
  redirectUri: string;
  /** The IdP's JWKS, to verify its ID tokens (required with `ID` in `resultTokenSet`). */
  jwksUri?: string;
}

/** The KMS key the service signs its own ID tokens with (with `ID` in `resultTokenSet`, on AWS). */
export interface IdTokenKeyConfig {
  kmsKeyArn: string;
  algorithm: "RS256" | "ES256";
  /** Its public key (SPKI PEM), as KMS `GetPublicKey` returns it: published at the JWKS route. */
  publicKeyPem: string;
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
  /** The KMS signing key of the service's ID tokens; absent in the sandbox and tests, which pass a local signer. */
  idTokenKey?: IdTokenKeyConfig;
}

/** A URL setting: https (plain http on loopback only), no credentials, no fragment, and no query where `allowQuery` is false. */
function checkUrl(value: unknown, path: string, problems: Problem[], allowQuery = true): string {
  if (typeof value !== "string") {
    problems.push(problemAt(path, `must be a URL; got ${JSON.stringify(value)}`));
    return "";
  }
  const url = parseUrl(value);
  if (url === undefined) {
    problems.push(problemAt(path, `${JSON.stringify(value)} is not a URL`));
    return value;
  }
  if (!isHttpsOrLoopback(url))
    problems.push(problemAt(path, `must use https (plain http is allowed on loopback only); got ${JSON.stringify(value)}`));
  if (url.username || url.password) problems.push(problemAt(path, "must not carry credentials"));
  if (url.hash) problems.push(problemAt(path, "must not have a fragment"));
  if (!allowQuery && url.search) problems.push(problemAt(path, "must not have a query"));
  return value;
}

const UPSTREAM_KEYS = ["issuer", "authorizationEndpoint", "tokenEndpoint", "redirectUri", "jwksUri"] as const;

function checkUpstream(raw: unknown, problems: Problem[]): UpstreamConfig {
  if (!isObject(raw)) {
    problems.push(problemAt("upstream", "must be an object with issuer, authorizationEndpoint, tokenEndpoint and redirectUri"));
    return { issuer: "", authorizationEndpoint: "", tokenEndpoint: "", redirectUri: "" };
  }
  for (const key of Object.keys(raw)) {
    if (!(UPSTREAM_KEYS as readonly string[]).includes(key))
      problems.push(problem(`upstream.${key}`, (name) => `${name("upstream")}: unknown setting "${key}"`));
  }
  return {
    issuer: checkUrl(raw.issuer, "upstream.issuer", problems),
    authorizationEndpoint: checkUrl(raw.authorizationEndpoint, "upstream.authorizationEndpoint", problems),
    tokenEndpoint: checkUrl(raw.tokenEndpoint, "upstream.tokenEndpoint", problems),
    redirectUri: checkUrl(raw.redirectUri, "upstream.redirectUri", problems, false),
    ...(raw.jwksUri !== undefined && { jwksUri: checkUrl(raw.jwksUri, "upstream.jwksUri", problems) }),
  };
}

/** The ID token key, when given: a KMS key ARN, RS256 or ES256, a public key PEM. */
function checkIdTokenKey(raw: unknown, problems: Problem[]): IdTokenKeyConfig | undefined {
  if (raw === undefined) return undefined;
  if (!isObject(raw)) {
    problems.push(problemAt("idTokenKey", "must be an object with kmsKeyArn, algorithm and publicKeyPem"));
    return undefined;
  }
  const before = problems.length;
  if (typeof raw.kmsKeyArn !== "string" || !KMS_KEY_ARN.test(raw.kmsKeyArn))
    problems.push(problemAt("idTokenKey.kmsKeyArn", `must be a KMS key ARN; got ${JSON.stringify(raw.kmsKeyArn)}`));
  if (raw.algorithm !== "RS256" && raw.algorithm !== "ES256")
    problems.push(problemAt("idTokenKey.algorithm", `must be RS256 or ES256; got ${JSON.stringify(raw.algorithm)}`));
  if (typeof raw.publicKeyPem !== "string" || !raw.publicKeyPem.includes("-----BEGIN PUBLIC KEY-----"))
    problems.push(problemAt("idTokenKey.publicKeyPem", "must be a public key in PEM (SPKI)"));
  return problems.length === before ? (raw as unknown as IdTokenKeyConfig) : undefined;
}

/** The clients and the offered scopes; every client's scopes must be among those offered. */
function checkClientsAndScopes(r: Record<string, unknown>, problems: Problem[]): { clients: ClientRegistration[]; scopes: string[] } {
  const checkedClients = inspectClients(r.clients);
  problems.push(...checkedClients.problems);
  const scopes = checkScopeList(r.scopes, "scopes", (name) => name("scopes"), problems);
  if (Array.isArray(r.scopes)) {
    for (const client of checkedClients.clients) {
      const foreign = client.scopes.filter((s) => !scopes.includes(s));
      if (foreign.length > 0) {
        problems.push(
          problemWithText("scopes", `client ${client.clientId}: scope(s) ${foreign.join(", ")} are not among the offered scopes`),
        );
      }
    }
  }
  return { clients: checkedClients.clients, scopes };
}

/** The secrets parameter: a valid name, and present whenever a client is confidential. */
function checkSecretsParameter(r: Record<string, unknown>, problems: Problem[]): string | undefined {
  const parameter = r.clientSecretsParameter;
  if (parameter !== undefined && (typeof parameter !== "string" || !SSM_PARAMETER_NAME.test(parameter))) {
    problems.push(problemAt("clientSecretsParameter", `${JSON.stringify(parameter)} is not an SSM parameter name`));
  }
  // From the raw entries, so that a confidential client with another problem is still reported here.
  const confidential = (Array.isArray(r.clients) ? (r.clients as unknown[]) : []).flatMap((c, i) =>
    isObject(c) && c.type === "confidential" ? [typeof c.clientId === "string" && c.clientId ? c.clientId : `clients[${i}]`] : [],
  );
  if (confidential.length > 0 && parameter === undefined) {
    problems.push(
      problem(
        "clientSecretsParameter",
        (name) =>
          `confidential client(s) ${confidential.join(", ")} need ${name("clientSecretsParameter")} (the SSM SecureString holding their secrets)`,
      ),
    );
  }
  return typeof parameter === "string" ? parameter : undefined;
}

/** Checks a whole runtime configuration and fills in setting defaults, or throws every problem at once. */
export function loadDeviceGrantConfig(raw: unknown): DeviceGrantConfig {
  const problems: Problem[] = [];
  const r = isObject(raw) ? raw : {};
  if (!isObject(raw)) problems.push(problemWithText("", "the device grant configuration must be a JSON object"));
  for (const key of Object.keys(r)) if (!KNOWN_KEYS.has(key)) problems.push(problemWithText(key, `unknown setting "${key}"`));

  const checkedSettings = inspectDeviceGrantSettings(r.settings);
  problems.push(...checkedSettings.problems.map((p) => nested("settings", p, (text) => `settings: ${text}`)));
  const { clients, scopes } = checkClientsAndScopes(r, problems);
  const upstream = checkUpstream(r.upstream, problems);
  const publicBaseUrl = checkUrl(r.publicBaseUrl, "publicBaseUrl", problems, false).replace(/\/+$/, "");
  const tableName = r.tableName;
  if (typeof tableName !== "string" || !TABLE_NAME.test(tableName)) {
    problems.push(problemAt("tableName", `must be a DynamoDB table name (3-255 letters, digits, _ . -); got ${JSON.stringify(tableName)}`));
  }
  const region = r.region;
  if (typeof region !== "string" || !REGION.test(region))
    problems.push(problemAt("region", `must be an AWS region such as eu-west-1; got ${JSON.stringify(region)}`));
  const clientSecretsParameter = checkSecretsParameter(r, problems);
  const idTokenKey = checkIdTokenKey(r.idTokenKey, problems);
  if (checkedSettings.settings.resultTokenSet.includes("ID") && isObject(r.upstream) && r.upstream.jwksUri === undefined)
    problems.push(problemAt("upstream.jwksUri", "is required with ID in resultTokenSet (the IdP's ID tokens are verified against it)"));

  if (problems.length > 0) throw new ConfigurationError(problems, "device grant configuration");
  return {
    settings: checkedSettings.settings,
    clients,
    scopes,
    upstream,
    publicBaseUrl,
    tableName: tableName as string,
    region: region as string,
    ...(clientSecretsParameter !== undefined && { clientSecretsParameter }),
    ...(idTokenKey !== undefined && { idTokenKey }),
  };
}

/** Reads the configuration from its JSON text (the `DEVICE_GRANT_CONFIG` environment variable). */
export function parseDeviceGrantConfig(json: string | undefined): DeviceGrantConfig {
  if (json === undefined || json.trim() === "")
    throw new ConfigurationError([`${DEVICE_GRANT_CONFIG_ENV} is not set`], "device grant configuration");
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
