/**
 * The device side of the project, as a library: what the OpenAM device-flow article and AWS IoT token signing do by hand with
 * curl and openssl.
 *
 * - `login()` runs the OAuth 2.0 device authorization grant (RFC 8628) against the device grant service:
 *   it asks for a code, hands it to `onCode` for display, polls the token endpoint honouring `interval`
 *   and `slow_down`, and stores the tokens in a file only the user can read (device-flow.ts).
 * - `token()` returns a current access token, refreshing it (refresh_token grant at the same token
 *   endpoint) when it expires within a minute (access-tokens.ts).
 * - `publish()` / `subscribe()` present that token to AWS IoT Core's custom authorizer (or the sandbox's
 *   gateway, which behaves the same): signed with the authorizer's token-signing key when one is
 *   configured, over MQTT (TCP/TLS: the CONNECT username's query; WebSocket: the upgrade request's query
 *   string or headers) or an HTTPS publish (headers). Refusals become `IotDeniedError`s that say which
 *   step was refused and how (iot-connect.ts, iot-messages.ts, iot-https.ts).
 *
 * `DeviceClient` only ties those parts to one configuration (options.ts); every name a caller needs is
 * exported from here. Nothing in the client logs or puts into an error message a token, a device or user
 * code, a signature or a secret.
 */
import { randomBytes } from "node:crypto";
import { type IClientOptions, type MqttClient } from "mqtt";
import { principalIdFor } from "../functions/authorizer/principal";
import { type CustomAuthCredentials, signToken } from "../functions/authorizer/custom-auth";
import { AccessTokens, type TokenOptions } from "./access-tokens";
import { login, type LoginOptions, type LoginResult } from "./device-flow";
import { type IotEndpoints } from "./endpoints";
import { DeviceClientError } from "./errors";
import { endQuietly, mqttConnectOptions, type MqttTransport, mqttUrlFor, openMqttConnection } from "./iot-connect";
import { publishOverHttps } from "./iot-https";
import { publishMessage, type PublishOptions, type SubscribeOptions, subscribeOn, type Subscription } from "./iot-messages";
import { type ClientContext, type DeviceClientOptions, resolveClientContext } from "./options";
import { jwtClaim, type StoredTokens } from "./token-file";

export * from "./errors";
export { REFRESH_MARGIN_SECONDS } from "./access-tokens";
export { type DeviceCode, type LoginOptions, type LoginResult } from "./device-flow";
export { DEFAULT_POLLING_INTERVAL_SECONDS, DEVICE_CODE_GRANT, SLOW_DOWN_STEP_SECONDS } from "../functions/shared/oauth";
export { type IotEndpoints } from "./endpoints";
export { type Transport } from "./iot-connect";
export { type PublishOptions, type SubscribeOptions, type Subscription } from "./iot-messages";
export { type DeviceClientOptions } from "./options";
export { defaultTokenFile, type StoredTokens } from "./token-file";

export class DeviceClient {
  readonly deviceAuthorizationEndpoint: string;
  readonly tokenEndpoint: string;
  readonly tokenFile: string;
  readonly endpoints: IotEndpoints;
  private readonly context: ClientContext;
  private readonly tokens: AccessTokens;

  constructor(private readonly options: DeviceClientOptions) {
    this.context = resolveClientContext(options);
    this.deviceAuthorizationEndpoint = this.context.deviceAuthorizationEndpoint;
    this.tokenEndpoint = this.context.tokenEndpoint;
    this.tokenFile = this.context.tokenFile;
    this.endpoints = this.context.endpoints;
    this.tokens = new AccessTokens(this.context);
  }

  // ---------------------------------------------------------------- OAuth

  /**
   * Runs the device flow to the end: the tokens are in `tokenFile` when it resolves. Rejects with
   * `AccessDeniedError`, `ExpiredCodeError`, another `LoginError` (the server's error code), or a
   * `ProtocolError`.
   */
  login(options: LoginOptions): Promise<LoginResult> {
    return login(this.context, options);
  }

  /** The stored tokens for this client and service, or `NotLoggedInError`. */
  storedTokens(): Promise<StoredTokens> {
    return this.tokens.stored();
  }

  /**
   * A current access token: the stored one while it is valid for more than `minValiditySeconds` (60), else
   * a refreshed one (stored before it is returned). Concurrent calls share one refresh.
   */
  token(options: TokenOptions = {}): Promise<string> {
    return this.tokens.current(options);
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
    if (topic === "" || /[+#]/.test(topic))
      throw new DeviceClientError(`Cannot publish to ${JSON.stringify(topic)}: a topic name is not empty and has no + or # wildcard`);
    const transport = options.transport ?? "mqtt";
    const qos = options.qos ?? 1;
    if (transport === "https") {
      return publishOverHttps(
        { httpUrl: this.endpoints.httpUrl, fetch: this.context.fetch, credentials: () => this.credentials() },
        topic,
        payload,
        qos,
      );
    }
    const { client } = await this.connect(transport);
    try {
      await publishMessage(client, transport, topic, payload, { qos, retain: options.retain ?? false });
    } finally {
      await endQuietly(client);
    }
  }

  /**
   * The mqtt.js options for a custom-auth connection: the credentials where IoT reads them for the
   * transport, and for TLS the SNI and (MQTT over TLS) ALPN `mqtt`, which AWS IoT needs on port 443.
   */
  mqttOptions(transport: MqttTransport, url: string, credentials: CustomAuthCredentials, clientId: string): IClientOptions {
    return mqttConnectOptions(this.options, transport, url, credentials, clientId);
  }

  /** Connects with custom auth; rejects with `IotDeniedError` on CONNACK "not authorized" or an HTTP 401/403 upgrade. */
  async connect(transport: MqttTransport): Promise<{ client: MqttClient; clientId: string }> {
    const url = mqttUrlFor(this.endpoints, transport);
    const credentials = await this.credentials();
    const clientId = this.mqttClientId(credentials.token);
    const client = await openMqttConnection(transport, url, this.mqttOptions(transport, url, credentials, clientId));
    return { client, clientId };
  }

  /**
   * Subscribes and delivers every message to `onMessage` until `close()` or until the server ends the
   * connection (IoT disconnects at the authorizer's `disconnectAfterInSeconds`, or when a refresh denies).
   */
  async subscribe(
    topicFilter: string,
    onMessage: (topic: string, payload: Buffer) => void,
    options: SubscribeOptions = {},
  ): Promise<Subscription> {
    const transport = options.transport ?? "mqtt";
    const { client, clientId } = await this.connect(transport);
    return subscribeOn(client, clientId, transport, topicFilter, options.qos ?? 1, onMessage);
  }
}
