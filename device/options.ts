/**
 * The device client's configuration: what a caller gives (`DeviceClientOptions`, also the shape the CLI's
 * settings layers fill), and the checked form every part of the client shares (`ClientContext`): OAuth
 * endpoints derived from the base URL, IoT endpoints resolved, ports for HTTP, waiting and time defaulted.
 * Checking happens once, here, so a misconfigured client fails when it is built, naming every problem.
 */
import { setTimeout as sleepFor } from "node:timers/promises";
import { type IotEndpoints, resolveIotEndpoints } from "./endpoints";
import { DeviceClientError } from "./errors";
import { defaultTokenFile } from "./token-file";

export interface DeviceClientOptions {
  /** The device grant service's base URL (its `/oauth2/device_authorization` and `/oauth2/token`). */
  baseUrl?: string;
  /** Overrides `${baseUrl}/oauth2/device_authorization` (a stack's `deviceAuthorizationEndpoint`). */
  deviceAuthorizationEndpoint?: string;
  /** Overrides `${baseUrl}/oauth2/token` (a stack's `deviceTokenEndpoint`). */
  tokenEndpoint?: string;
  clientId: string;
  /** A confidential client's secret: sent with client_secret_basic. Public clients send `client_id` only. */
  clientSecret?: string;
  /** Space-separated scopes to ask for; the service's defaults for the client when absent. */
  scope?: string;
  /** An AWS IoT data endpoint host, one URL, or the URLs per transport (the sandbox prints them). */
  iotEndpoint?: string | IotEndpoints;
  authorizerName?: string;
  /** The authorizer's `tokenKeyName`; `token` by default (the project's default). */
  tokenKeyName?: string;
  /** PEM private key for IoT's token-signature validation; absent when the authorizer has signing disabled. */
  signingKeyPem?: string;
  /** Where the tokens live; `~/.config/iot-enterprise-auth/device-token.json` by default. */
  tokenFile?: string;
  /**
   * The MQTT client id. The project's default policy allows `{principal}` and `{principal}-*`, where the
   * principal is the token's `sub` as the authorizer derives it; the default here is `{principal}-<random>`
   * (right for an authorizer with the default `principalClaim`, given its `principalPrefix`).
   */
  mqttClientId?: string;
  /**
   * The authorizer's `principalPrefix` for this IdP (the sandbox's pool uses `cognito`; its sandbox.json
   * says so): the default MQTT client id starts with `principalIdFor(sub, principalPrefix)`.
   */
  principalPrefix?: string;
  /** MQTT protocol level: 4 (3.1.1, the default) or 5. */
  mqttProtocolVersion?: 4 | 5;
  /** How the WebSocket upgrade carries the credentials: the query string (as browsers must) or headers. */
  wsCredentials?: "query" | "headers";
  /** Seconds to wait for an MQTT CONNACK. */
  connectTimeoutSeconds?: number;
  /** Ports, for tests: HTTP, waiting and time. */
  fetch?: typeof fetch;
  sleep?: Sleep;
  now?: () => number;
  /** Warnings for a person (never secrets); ignored by default. */
  warn?: (message: string) => void;
}

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** The options once checked, with every default filled in: what the login, token and IoT parts work from. */
export interface ClientContext {
  readonly options: DeviceClientOptions;
  readonly deviceAuthorizationEndpoint: string;
  readonly tokenEndpoint: string;
  readonly tokenFile: string;
  readonly endpoints: IotEndpoints;
  readonly fetch: typeof fetch;
  readonly sleep: Sleep;
  readonly now: () => number;
}

const defaultSleep: Sleep = (ms, signal) => sleepFor(ms, undefined, { signal });

function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

/** Checks the options, reporting every problem at once as a `DeviceClientError`. */
export function resolveClientContext(options: DeviceClientOptions): ClientContext {
  const base = options.baseUrl !== undefined ? trimSlash(options.baseUrl) : undefined;
  const deviceAuthorizationEndpoint = options.deviceAuthorizationEndpoint ?? (base && `${base}/oauth2/device_authorization`);
  const tokenEndpoint = options.tokenEndpoint ?? (base && `${base}/oauth2/token`);
  const problems: string[] = [];
  if (!options.clientId) problems.push("clientId is required");
  if (!deviceAuthorizationEndpoint || !tokenEndpoint)
    problems.push("baseUrl (or both deviceAuthorizationEndpoint and tokenEndpoint) is required");
  for (const [name, url] of [
    ["device authorization endpoint", deviceAuthorizationEndpoint],
    ["token endpoint", tokenEndpoint],
  ] as const) {
    if (url && !URL.canParse(url)) problems.push(`the ${name} ${JSON.stringify(url)} is not a URL`);
  }
  if (problems.length > 0) throw new DeviceClientError(`Invalid device client configuration: ${problems.join("; ")}`);
  return {
    options,
    deviceAuthorizationEndpoint: deviceAuthorizationEndpoint as string,
    tokenEndpoint: tokenEndpoint as string,
    tokenFile: options.tokenFile ?? defaultTokenFile(),
    endpoints: resolveIotEndpoints(options.iotEndpoint),
    fetch: options.fetch ?? fetch,
    sleep: options.sleep ?? defaultSleep,
    now: options.now ?? Date.now,
  };
}
