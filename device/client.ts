/**
 * The device side of the project, as a library: what seeds 000 and 001 do by hand with curl and openssl.
 *
 * - `login()` runs the OAuth 2.0 device authorization grant (RFC 8628) against the device grant service:
 *   it asks for a code, hands it to `onCode` for display, polls the token endpoint honouring `interval`
 *   and `slow_down`, and stores the tokens in a file only the user can read.
 * - `token()` returns a current access token, refreshing it (refresh_token grant at the same token
 *   endpoint) when it expires within a minute.
 * - `publish()` / `subscribe()` present that token to AWS IoT Core's custom authorizer (or the sandbox's
 *   gateway, which behaves the same): signed with the authorizer's token-signing key when one is
 *   configured, over MQTT (TCP/TLS: the CONNECT username's query; WebSocket: the upgrade request's query
 *   string or headers) or an HTTPS publish (headers). Refusals become `IotDeniedError`s that say which
 *   step was refused and how.
 *
 * Nothing here logs or puts into an error message a token, a device or user code, a signature or a secret.
 */
import { randomBytes } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleepFor } from "node:timers/promises";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { principalIdFor } from "../functions/authorizer/principal";
import { type CustomAuthCredentials, customAuthHeaders, customAuthMqttUsername, customAuthQuery, signToken } from "../functions/authorizer/custom-auth";
import { basicAuthorizationHeader } from "../functions/device-grant/http";
import { httpPublishUrl, type IotEndpoints, resolveIotEndpoints } from "./endpoints";
import {
  AccessDeniedError,
  DeviceClientError,
  ExpiredCodeError,
  IotConnectionError,
  IotDeniedError,
  LoginError,
  NotLoggedInError,
  ProtocolError,
} from "./errors";
import { jwtClaim, jwtExpiry, readTokenFile, type StoredTokens, writeTokenFile } from "./token-file";

export * from "./errors";
export { type IotEndpoints } from "./endpoints";
export { type StoredTokens } from "./token-file";

export const DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
/** RFC 8628 §3.2: the interval a client uses when the server names none. */
export const DEFAULT_INTERVAL_SECONDS = 5;
/** RFC 8628 §3.5: `slow_down` adds 5 seconds to this and every later interval. */
export const SLOW_DOWN_STEP_SECONDS = 5;
/** `token()` refreshes an access token that expires within this many seconds. */
export const REFRESH_MARGIN_SECONDS = 60;
/** Longest wait between polls after network errors (exponential back-off, RFC 8628 §3.5). */
const MAX_BACKOFF_SECONDS = 60;
const HTTP_TIMEOUT_MS = 30_000;

export type Transport = "mqtt" | "wss" | "https";

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
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
  /** Warnings for a person (never secrets); ignored by default. */
  warn?: (message: string) => void;
}

export interface DeviceCode {
  userCode: string;
  verificationUri: string;
  verificationUriComplete?: string;
  /** Seconds the code stays valid, as the server said. */
  expiresIn: number;
  /** Epoch milliseconds when it expires, by this client's clock. */
  expiresAt: number;
  /** Seconds between polls, as the server said (or 5). */
  interval: number;
}

export interface LoginOptions {
  /** Shows the code to the user; awaited before the first poll. */
  onCode: (code: DeviceCode) => void | Promise<void>;
  /** Called before each poll with the interval in force (after any `slow_down`). */
  onPoll?: (poll: { attempt: number; intervalSeconds: number }) => void;
  signal?: AbortSignal;
}

export interface LoginResult {
  expiresAt?: number;
  scope?: string;
  refreshable: boolean;
}

export interface PublishOptions {
  transport?: Transport;
  /** 1 by default: the publish is confirmed (PUBACK / HTTP 200) before `publish` resolves. */
  qos?: 0 | 1;
  retain?: boolean;
}

export interface SubscribeOptions {
  transport?: Exclude<Transport, "https">;
  qos?: 0 | 1;
}

export interface Subscription {
  /** The MQTT client id used. */
  clientId: string;
  /** Resolves when the connection ends: `undefined` after `close()`, an error when the server or network ended it. */
  readonly closed: Promise<DeviceClientError | undefined>;
  close(): Promise<void>;
}

interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in?: number;
  refresh_token?: string;
  scope?: string;
}

interface OAuthAnswer {
  status: number;
  body?: Record<string, unknown>;
}

const defaultSleep = (ms: number, signal?: AbortSignal): Promise<void> => sleepFor(ms, undefined, { signal });

export function defaultTokenFile(): string {
  const base = process.env.XDG_CONFIG_HOME || path.join(os.homedir(), ".config");
  return path.join(base, "iot-enterprise-auth", "device-token.json");
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

export class DeviceClient {
  readonly deviceAuthorizationEndpoint: string;
  readonly tokenEndpoint: string;
  readonly tokenFile: string;
  readonly endpoints: IotEndpoints;
  private readonly fetch: typeof fetch;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly now: () => number;
  private refreshing: Promise<StoredTokens> | undefined;

  constructor(private readonly options: DeviceClientOptions) {
    const base = options.baseUrl !== undefined ? trimSlash(options.baseUrl) : undefined;
    const deviceAuthorizationEndpoint = options.deviceAuthorizationEndpoint ?? (base && `${base}/oauth2/device_authorization`);
    const tokenEndpoint = options.tokenEndpoint ?? (base && `${base}/oauth2/token`);
    const problems: string[] = [];
    if (!options.clientId) problems.push("clientId is required");
    if (!deviceAuthorizationEndpoint || !tokenEndpoint) problems.push("baseUrl (or both deviceAuthorizationEndpoint and tokenEndpoint) is required");
    for (const [name, url] of [
      ["device authorization endpoint", deviceAuthorizationEndpoint],
      ["token endpoint", tokenEndpoint],
    ] as const) {
      if (url && !URL.canParse(url)) problems.push(`the ${name} ${JSON.stringify(url)} is not a URL`);
    }
    if (problems.length > 0) throw new DeviceClientError(`Invalid device client configuration: ${problems.join("; ")}`);
    this.deviceAuthorizationEndpoint = deviceAuthorizationEndpoint as string;
    this.tokenEndpoint = tokenEndpoint as string;
    this.tokenFile = options.tokenFile ?? defaultTokenFile();
    this.endpoints = resolveIotEndpoints(options.iotEndpoint);
    this.fetch = options.fetch ?? fetch;
    this.sleep = options.sleep ?? defaultSleep;
    this.now = options.now ?? Date.now;
  }

  // ---------------------------------------------------------------- OAuth

  /** Client authentication: client_secret_basic for a confidential client, `client_id` in the form for a public one. */
  private async postForm(url: string, fields: Record<string, string>, signal?: AbortSignal): Promise<OAuthAnswer> {
    const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded", accept: "application/json" };
    const form = new URLSearchParams(fields);
    if (this.options.clientSecret !== undefined) headers.authorization = basicAuthorizationHeader(this.options.clientId, this.options.clientSecret);
    else form.set("client_id", this.options.clientId);
    const timeout = AbortSignal.timeout(HTTP_TIMEOUT_MS);
    const response = await this.fetch(url, {
      method: "POST",
      headers,
      body: form.toString(),
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    const text = await response.text();
    let body: Record<string, unknown> | undefined;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
    } catch {
      body = undefined;
    }
    return { status: response.status, body };
  }

  private static describe(answer: OAuthAnswer): string {
    const error = typeof answer.body?.error === "string" ? answer.body.error : undefined;
    const description = typeof answer.body?.error_description === "string" ? answer.body.error_description : undefined;
    if (error) return `${error}${description ? `: ${description}` : ""}`;
    return `HTTP ${answer.status}${answer.body ? "" : " without a JSON body"}`;
  }

  private clientProblem(answer: OAuthAnswer, where: string): LoginError | undefined {
    const error = answer.body?.error;
    if (error === "invalid_client" || error === "unauthorized_client") {
      return new LoginError(
        error,
        `The device grant service at ${where} refused client ${this.options.clientId} (${DeviceClient.describe(answer)}): check the client id` +
          (this.options.clientSecret !== undefined ? " and secret" : " (a confidential client also needs its secret)"),
      );
    }
    return undefined;
  }

  /**
   * Runs the device flow to the end: the tokens are in `tokenFile` when it resolves. Rejects with
   * `AccessDeniedError`, `ExpiredCodeError`, another `LoginError` (the server's error code), or a
   * `ProtocolError`.
   */
  async login(options: LoginOptions): Promise<LoginResult> {
    const { signal } = options;
    let started: OAuthAnswer;
    try {
      started = await this.postForm(this.deviceAuthorizationEndpoint, this.options.scope ? { scope: this.options.scope } : {}, signal);
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new DeviceClientError(`Cannot reach the device grant service at ${this.deviceAuthorizationEndpoint}: ${networkReason(err)}`);
    }
    if (started.status !== 200) {
      throw (
        this.clientProblem(started, this.deviceAuthorizationEndpoint) ??
        (typeof started.body?.error === "string"
          ? new LoginError(started.body.error, `The device authorization request was refused: ${DeviceClient.describe(started)}`)
          : new ProtocolError(`The device authorization endpoint ${this.deviceAuthorizationEndpoint} answered ${DeviceClient.describe(started)}`))
      );
    }
    const b = started.body ?? {};
    const missing = ["device_code", "user_code", "verification_uri"].filter((k) => typeof b[k] !== "string" || b[k] === "");
    if (typeof b.expires_in !== "number" || !(b.expires_in > 0)) missing.push("expires_in");
    if (missing.length > 0) throw new ProtocolError(`The device authorization response lacks ${missing.join(", ")} (RFC 8628 §3.2)`);
    const deviceCode = b.device_code as string;
    let interval = typeof b.interval === "number" && b.interval > 0 ? b.interval : DEFAULT_INTERVAL_SECONDS;
    const expiresIn = b.expires_in as number;
    const expiresAt = this.now() + expiresIn * 1000;
    await options.onCode({
      userCode: b.user_code as string,
      verificationUri: b.verification_uri as string,
      ...(typeof b.verification_uri_complete === "string" && { verificationUriComplete: b.verification_uri_complete }),
      expiresIn,
      expiresAt,
      interval,
    });

    let backoff = 0;
    let lastFailure: string | undefined;
    for (let attempt = 1; ; attempt++) {
      // Wait before every poll, the first included (the user cannot have approved yet), as openid-client does.
      const wait = backoff > 0 ? backoff : interval;
      options.onPoll?.({ attempt, intervalSeconds: interval });
      await this.sleep(wait * 1000, signal);
      if (this.now() >= expiresAt) break;
      let answer: OAuthAnswer;
      try {
        answer = await this.postForm(this.tokenEndpoint, { grant_type: DEVICE_CODE_GRANT, device_code: deviceCode }, signal);
      } catch (err) {
        if (signal?.aborted) throw err;
        // RFC 8628 §3.5: back off exponentially on connection failures, up to a minute.
        backoff = Math.min(Math.max(backoff, interval) * 2, MAX_BACKOFF_SECONDS);
        lastFailure = `the token endpoint was unreachable (${networkReason(err)})`;
        continue;
      }
      if (answer.status === 200) {
        const tokens = this.readTokenResponse(answer, "device code");
        const stored = this.store(tokens, undefined);
        await writeTokenFile(this.tokenFile, stored);
        return { ...(stored.expiresAt !== undefined && { expiresAt: stored.expiresAt }), ...(stored.scope && { scope: stored.scope }), refreshable: stored.refreshToken !== undefined };
      }
      const error = typeof answer.body?.error === "string" ? answer.body.error : undefined;
      const description = typeof answer.body?.error_description === "string" ? answer.body.error_description : undefined;
      if (error === "authorization_pending") {
        backoff = 0;
        continue;
      }
      if (error === "slow_down") {
        backoff = 0;
        interval += SLOW_DOWN_STEP_SECONDS;
        continue;
      }
      if (error === "access_denied") throw new AccessDeniedError(description);
      if (error === "expired_token") throw new ExpiredCodeError(description);
      if (answer.status >= 500 || error === "temporarily_unavailable") {
        backoff = Math.min(Math.max(backoff, interval) * 2, MAX_BACKOFF_SECONDS);
        lastFailure = `the token endpoint answered ${DeviceClient.describe(answer)}`;
        continue;
      }
      const clientProblem = this.clientProblem(answer, this.tokenEndpoint);
      if (clientProblem) throw clientProblem;
      if (error) throw new LoginError(error, `The token endpoint refused the device code: ${DeviceClient.describe(answer)}`);
      throw new ProtocolError(`The token endpoint ${this.tokenEndpoint} answered ${DeviceClient.describe(answer)}`);
    }
    throw new ExpiredCodeError(lastFailure ? `the code ran out while ${lastFailure}` : "the code ran out while waiting for approval");
  }

  private readTokenResponse(answer: OAuthAnswer, grant: string): TokenResponse {
    const b = answer.body ?? {};
    if (typeof b.access_token !== "string" || b.access_token === "" || typeof b.token_type !== "string") {
      throw new ProtocolError(`The ${grant} token response lacks access_token or token_type`);
    }
    if (b.token_type.toLowerCase() !== "bearer") throw new ProtocolError(`The ${grant} token response has token_type ${b.token_type}, not Bearer`);
    return {
      access_token: b.access_token,
      token_type: b.token_type,
      ...(typeof b.expires_in === "number" && { expires_in: b.expires_in }),
      ...(typeof b.refresh_token === "string" && { refresh_token: b.refresh_token }),
      ...(typeof b.scope === "string" && { scope: b.scope }),
    };
  }

  private store(tokens: TokenResponse, previous: StoredTokens | undefined): StoredTokens {
    const obtainedAt = this.now();
    const expiresAt = tokens.expires_in !== undefined ? obtainedAt + tokens.expires_in * 1000 : jwtExpiry(tokens.access_token);
    // A refresh response may leave the refresh token out (RFC 6749 §6): the old one stays valid then.
    const refreshToken = tokens.refresh_token ?? previous?.refreshToken;
    const scope = tokens.scope ?? previous?.scope;
    return {
      version: 1,
      clientId: this.options.clientId,
      tokenEndpoint: this.tokenEndpoint,
      accessToken: tokens.access_token,
      tokenType: tokens.token_type,
      ...(refreshToken !== undefined && { refreshToken }),
      ...(scope !== undefined && { scope }),
      ...(expiresAt !== undefined && { expiresAt }),
      obtainedAt,
    };
  }

  /** The stored tokens for this client and service, or `NotLoggedInError`. */
  async storedTokens(): Promise<StoredTokens> {
    const stored = await readTokenFile(this.tokenFile);
    if (!stored) throw new NotLoggedInError(`Not logged in: no token file at ${this.tokenFile}. Run login first.`);
    if (stored.clientId !== this.options.clientId || stored.tokenEndpoint !== this.tokenEndpoint) {
      throw new NotLoggedInError(
        `The token file ${this.tokenFile} holds tokens of client ${stored.clientId} at ${stored.tokenEndpoint}, not of ${this.options.clientId} at ` +
          `${this.tokenEndpoint}: run login, or choose another token file.`,
      );
    }
    return stored;
  }

  /**
   * A current access token: the stored one while it is valid for more than `minValiditySeconds` (60), else
   * a refreshed one (stored before it is returned). Concurrent calls share one refresh.
   */
  async token(options: { minValiditySeconds?: number; forceRefresh?: boolean } = {}): Promise<string> {
    const stored = await this.storedTokens();
    const margin = (options.minValiditySeconds ?? REFRESH_MARGIN_SECONDS) * 1000;
    if (!options.forceRefresh && (stored.expiresAt === undefined || stored.expiresAt - this.now() > margin)) return stored.accessToken;
    if (!this.refreshing) {
      this.refreshing = this.refresh(stored).finally(() => {
        this.refreshing = undefined;
      });
    }
    return (await this.refreshing).accessToken;
  }

  private async refresh(stored: StoredTokens): Promise<StoredTokens> {
    const expired = stored.expiresAt !== undefined && stored.expiresAt <= this.now();
    if (stored.refreshToken === undefined) {
      throw new NotLoggedInError(`The access token ${expired ? "has expired" : "expires soon"} and there is no refresh token: run login again.`);
    }
    let answer: OAuthAnswer;
    try {
      answer = await this.postForm(this.tokenEndpoint, { grant_type: "refresh_token", refresh_token: stored.refreshToken });
    } catch (err) {
      throw new DeviceClientError(`Could not refresh the access token: the token endpoint ${this.tokenEndpoint} is unreachable (${networkReason(err)})`);
    }
    if (answer.status !== 200) {
      if (answer.body?.error === "invalid_grant") {
        throw new NotLoggedInError(`The refresh token was refused (${DeviceClient.describe(answer)}): run login again.`);
      }
      throw this.clientProblem(answer, this.tokenEndpoint) ?? new ProtocolError(`Refreshing the access token failed: ${DeviceClient.describe(answer)}`);
    }
    const next = this.store(this.readTokenResponse(answer, "refresh"), stored);
    await writeTokenFile(this.tokenFile, next);
    return next;
  }

  // ---------------------------------------------------------------- IoT

  /** The token and, with a signing key, its signature: what every custom-auth request carries. */
  async credentials(): Promise<CustomAuthCredentials> {
    const authorizerName = this.options.authorizerName;
    if (!authorizerName) throw new DeviceClientError("The IoT authorizer name is not configured (the stack's authorizerName)");
    const token = await this.token();
    return {
      authorizerName,
      tokenKeyName: this.options.tokenKeyName ?? "token",
      token,
      ...(this.options.signingKeyPem !== undefined && { signature: signToken(token, this.options.signingKeyPem) }),
    };
  }

  /** The MQTT client id: configured, or `{principal}-<8 hex>` from the token's `sub`. */
  mqttClientId(token: string): string {
    if (this.options.mqttClientId) return this.options.mqttClientId;
    const sub = jwtClaim(token, "sub");
    const principal = typeof sub === "string" && sub !== "" ? principalIdFor(sub, this.options.principalPrefix ?? "") : "device";
    return `${principal}-${randomBytes(4).toString("hex")}`;
  }

  /** Publishes one message; resolves once IoT accepted it (PUBACK or HTTP 200 at QoS 1). */
  async publish(topic: string, payload: string | Buffer, options: PublishOptions = {}): Promise<void> {
    if (topic === "" || /[+#]/.test(topic)) throw new DeviceClientError(`Cannot publish to ${JSON.stringify(topic)}: a topic name is not empty and has no + or # wildcard`);
    const transport = options.transport ?? "mqtt";
    const qos = options.qos ?? 1;
    if (transport === "https") return this.publishHttp(topic, payload, qos);
    const { client } = await this.connect(transport);
    try {
      await new Promise<void>((resolve, reject) => {
        const onClose = () =>
          reject(
            new IotDeniedError(
              "publish",
              transport,
              `the connection was closed before the publish to ${topic} was acknowledged (IoT disconnects a client that publishes where its policy does not allow)`,
            ),
          );
        client.once("close", onClose);
        client.publish(topic, typeof payload === "string" ? Buffer.from(payload, "utf8") : payload, { qos, retain: options.retain ?? false }, (err) => {
          client.off("close", onClose);
          if (!err) resolve();
          else if (typeof (err as { code?: unknown }).code === "number") reject(new IotDeniedError("publish", transport, `${err.message} (PUBACK reason ${(err as { code: number }).code})`));
          else reject(new IotConnectionError(`Publishing over ${transport} failed: ${err.message}`));
        });
      });
    } finally {
      await endQuietly(client);
    }
  }

  private async publishHttp(topic: string, payload: string | Buffer, qos: 0 | 1): Promise<void> {
    const httpUrl = this.endpoints.httpUrl;
    if (!httpUrl) throw new DeviceClientError("No HTTPS endpoint is configured for IoT (an AWS data endpoint host or an http(s) URL)");
    const credentials = await this.credentials();
    let response: Response;
    try {
      response = await this.fetch(httpPublishUrl(httpUrl, topic, qos), {
        method: "POST",
        headers: { ...customAuthHeaders(credentials), "content-type": "application/octet-stream" },
        body: typeof payload === "string" ? payload : new Uint8Array(payload),
        signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
      });
    } catch (err) {
      throw new IotConnectionError(`Publishing over https failed: ${httpUrl} is unreachable (${networkReason(err)})`);
    }
    const text = (await response.text()).slice(0, 500);
    if (response.ok) return;
    let message = text;
    try {
      const parsed = JSON.parse(text) as { message?: unknown };
      if (typeof parsed.message === "string") message = parsed.message;
    } catch {
      // not JSON: the text itself
    }
    if (response.status === 401 || response.status === 403) {
      throw new IotDeniedError("publish", "https", `HTTP ${response.status} for topic ${topic}${message ? ` (${message})` : ""}`);
    }
    throw new IotConnectionError(`Publishing over https to ${topic} failed: HTTP ${response.status}${message ? ` (${message})` : ""}`);
  }

  /**
   * The mqtt.js options for a custom-auth connection: the credentials where IoT reads them for the
   * transport, and for TLS the SNI and (MQTT over TLS) ALPN `mqtt`, which AWS IoT needs on port 443.
   */
  mqttOptions(transport: Exclude<Transport, "https">, url: string, credentials: CustomAuthCredentials, clientId: string): IClientOptions {
    const parsed = new URL(url);
    const secure = parsed.protocol === "mqtts:" || parsed.protocol === "ssl:" || parsed.protocol === "wss:";
    const options: IClientOptions = {
      clientId,
      protocolVersion: this.options.mqttProtocolVersion ?? 4,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: (this.options.connectTimeoutSeconds ?? 15) * 1000,
      keepalive: 60,
      ...(secure && { servername: parsed.hostname, rejectUnauthorized: true }),
      // AWS IoT serves custom-auth MQTT on 443 and picks the protocol by ALPN (FACTS.md §1).
      ...(secure && transport === "mqtt" && { ALPNProtocols: ["mqtt"] }),
    };
    if (transport === "mqtt") {
      options.username = customAuthMqttUsername(credentials);
    } else if ((this.options.wsCredentials ?? "query") === "query") {
      const query = customAuthQuery(credentials);
      options.transformWsUrl = (wsUrl) => `${wsUrl}${wsUrl.includes("?") ? "&" : "?"}${query}`;
    } else {
      options.wsOptions = { headers: customAuthHeaders(credentials) };
    }
    return options;
  }

  /** Connects with custom auth; rejects with `IotDeniedError` on CONNACK "not authorized" or an HTTP 401/403 upgrade. */
  async connect(transport: Exclude<Transport, "https">): Promise<{ client: MqttClient; clientId: string }> {
    const url = transport === "mqtt" ? this.endpoints.mqttUrl : this.endpoints.wsUrl;
    if (!url) {
      throw new DeviceClientError(
        transport === "mqtt"
          ? "No MQTT endpoint is configured for IoT (an AWS data endpoint host or an mqtt(s):// URL)"
          : "No WebSocket endpoint is configured for IoT (an AWS data endpoint host or a ws(s):// URL)",
      );
    }
    const credentials = await this.credentials();
    const clientId = this.mqttClientId(credentials.token);
    const options = this.mqttOptions(transport, url, credentials, clientId);
    const client = mqtt.connect(url, options);
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        client.off("connect", onConnect);
        client.off("error", onError);
        client.off("close", onClose);
        if (err) {
          client.end(true);
          reject(err);
        } else resolve();
      };
      const onConnect = () => done();
      const onError = (err: Error & { code?: unknown }) => done(connectError(err, transport, url));
      const onClose = () =>
        done(new IotDeniedError("connect", transport, `${url} closed the connection without accepting it (IoT does so when the authorizer or the iot:Connect policy refuses)`));
      client.on("connect", onConnect);
      client.on("error", onError);
      client.on("close", onClose);
    });
    return { client, clientId };
  }

  /**
   * Subscribes and delivers every message to `onMessage` until `close()` or until the server ends the
   * connection (IoT disconnects at the authorizer's `disconnectAfterInSeconds`, or when a refresh denies).
   */
  async subscribe(topicFilter: string, onMessage: (topic: string, payload: Buffer) => void, options: SubscribeOptions = {}): Promise<Subscription> {
    const transport = options.transport ?? "mqtt";
    const { client, clientId } = await this.connect(transport);
    let closing = false;
    let resolveClosed: (value: DeviceClientError | undefined) => void = () => undefined;
    const closed = new Promise<DeviceClientError | undefined>((resolve) => {
      resolveClosed = resolve;
    });
    try {
      await new Promise<void>((resolve, reject) => {
        const onClose = () =>
          reject(new IotDeniedError("subscribe", transport, `the connection was closed before the subscription to ${topicFilter} was acknowledged`));
        client.once("close", onClose);
        client.subscribe(topicFilter, { qos: options.qos ?? 1 }, (err, granted) => {
          client.off("close", onClose);
          // mqtt.js reports a SUBACK failure as an error carrying the SUBACK packet (its reason codes).
          const subackCodes = (err as { packet?: { granted?: unknown } } | null)?.packet?.granted;
          const refusedQos =
            granted?.find((g) => g.qos >= 128)?.qos ??
            (Array.isArray(subackCodes) ? (subackCodes as unknown[]).find((c): c is number => typeof c === "number" && c >= 128) : undefined);
          const errorCode = (err as { code?: unknown } | null)?.code;
          if (refusedQos !== undefined || typeof errorCode === "number") {
            const code = refusedQos ?? errorCode;
            reject(new IotDeniedError("subscribe", transport, `SUBACK ${code} for ${topicFilter} (the policy does not allow iot:Subscribe to this filter)`));
          } else if (err) reject(new IotConnectionError(`Subscribing over ${transport} failed: ${err.message}`));
          else resolve();
        });
      });
    } catch (err) {
      await endQuietly(client);
      throw err;
    }
    client.on("message", (topic, payload) => onMessage(topic, payload));
    client.on("error", () => undefined);
    client.once("close", () => {
      resolveClosed(closing ? undefined : new IotConnectionError(`The ${transport} connection was closed by the server (IoT disconnects at the authorizer's disconnectAfterInSeconds, or when a re-authorization denies)`));
    });
    return {
      clientId,
      closed,
      close: async () => {
        closing = true;
        await endQuietly(client);
        resolveClosed(undefined);
      },
    };
  }
}

/** fetch's "fetch failed" hides the reason in `cause` (ECONNREFUSED, ENOTFOUND, a TLS error…). */
function networkReason(err: unknown): string {
  const e = err as { message?: string; name?: string; cause?: { code?: string; message?: string } };
  if (e.name === "TimeoutError") return "no answer within 30 s";
  const cause = e.cause?.code ?? e.cause?.message;
  return cause ? `${e.message ?? "failed"}: ${cause}` : (e.message ?? String(err));
}

function connectError(err: Error & { code?: unknown }, transport: string, url: string): DeviceClientError {
  const code = err.code;
  // MQTT 3.1.1 CONNACK 4 (bad user name or password) / 5 (not authorized); MQTT 5: 134, 135.
  if (code === 4 || code === 5 || code === 134 || code === 135) {
    return new IotDeniedError("connect", transport, `CONNACK ${code}: ${err.message} (the authorizer denied the token, or the policy does not allow iot:Connect for this client id)`);
  }
  const status = /Unexpected server response: (\d{3})/.exec(err.message);
  if (status && (status[1] === "401" || status[1] === "403")) {
    return new IotDeniedError("connect", transport, `the WebSocket upgrade was refused with HTTP ${status[1]}`);
  }
  return new IotConnectionError(`Could not connect to ${url} over ${transport}: ${err.message}`);
}

async function endQuietly(client: MqttClient): Promise<void> {
  if (client.disconnected || !client.connected) {
    client.end(true);
    return;
  }
  await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
}
