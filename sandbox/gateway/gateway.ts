/**
 * The sandbox's stand-in for AWS IoT Core's device gateway with a custom authorizer (docs/aws-iot-custom-auth.md): an
 * MQTT broker (aedes) over TCP and over WebSocket, and the HTTPS publish endpoint `POST /topics/{topic}`
 * (plain HTTP on loopback). For every connection and every HTTP request it does what IoT does:
 *
 * 1. reads the authorizer name, the token signature and the token where IoT reads them (credentials.ts);
 * 2. refuses a missing or unknown authorizer name, and with token signing on a bad signature, without
 *    invoking the authorizer; then calls the authorizer (custom-authorizer.ts) and refuses an answer IoT
 *    would reject (authorizer-response.ts);
 * 3. enforces the returned policy documents per connection (permissions.ts; the MQTT hooks in
 *    mqtt-hooks.ts, the broker and its connections in mqtt-broker.ts; HTTP in http-publish.ts);
 * 4. calls the authorizer again after `refreshAfterInSeconds` and disconnects after
 *    `disconnectAfterInSeconds` (session-timers.ts);
 * 5. holds MQTT clients to IoT's protocol rules before aedes sees their packets: MQTT 3.1.1 and 5 only, QoS 0
 *    and 1, 128 KiB payloads, MQTT 5's CONNACK properties, topic aliases and forwarded properties
 *    (iot-mqtt-rules.ts, applied by the links in mqtt311.ts and mqtt5.ts).
 *
 * With `tls`, it also serves MQTT over TLS with client certificates, as IoT does on port 8883
 * (tls-listener.ts): a certificate authenticates the connection (certificate-auth.ts) and, with `provisioning`,
 * a claim certificate can call the device provisioning MQTT API (provisioning-topics.ts).
 *
 * Every refusal is one JSON log line without token, signature, username or password (log.ts). This file
 * wires the parts together behind `startIotGateway`; the listeners are in listeners.ts and tls-listener.ts.
 */
import { type Authorizer, CustomAuthorizer } from "./custom-authorizer";
import { GatewayLog, type LogWriter, stderrLogWriter } from "./log";
import { Listeners } from "./listeners";
import { httpPublishHandler } from "./http-publish";
import { MqttBroker } from "./mqtt-broker";
import { Permissions } from "./permissions";
import { type CertificateAuthority } from "./certificate-auth";
import { ProvisioningTopics, type ProvisioningService } from "./provisioning-topics";
import { SessionTimers } from "./session-timers";
import { TlsListener } from "./tls-listener";

export interface IotGatewayOptions {
  /** The authorizer core, e.g. `createAuthorizer(config)` from functions/authorizer/authorizer.ts. */
  authorizer: Authorizer;
  /** The name clients must send in `x-amz-customauthorizer-name`. */
  authorizerName: string;
  /** The header / query parameter holding the token. */
  tokenKeyName: string;
  /** The token signing public key (PEM); absent (and no `signingPublicKeys`) means signing is disabled. */
  signingPublicKeyPem?: string;
  /** Named token signing public keys, as the authorizer's `tokenSigningPublicKeys`: a token signed by any of them is accepted. */
  signingPublicKeys?: Readonly<Record<string, string>>;
  region: string;
  accountId: string;
  /** `aws` unless told otherwise. */
  partition?: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Ports; 0 (the default) picks a free one. */
  mqttPort?: number;
  wsPort?: number;
  httpPort?: number;
  /** One JSON object per refusal or forced disconnect; JSON lines on stderr by default. */
  logger?: LogWriter;
  /**
   * TEST ONLY: multiplies the authorizer's refresh and disconnect timers (seconds) into real time, so a
   * test can see `refreshAfterInSeconds: 300` (the minimum IoT allows) happen after 300 ms with 0.001.
   * Never set it in a running sandbox: it changes what "after 300 s" means.
   */
  timeScale?: number;
  /** How long the authorizer may take; IoT allows 5 s. */
  authorizerTimeoutMs?: number;
  /** MQTT over TLS with client certificates (IoT's port 8883); absent, the gateway has no such listener. */
  tls?: GatewayTlsOptions;
}

export interface GatewayTlsOptions {
  /** 0 (the default) picks a free one. */
  port?: number;
  caPem: string;
  certificatePem: string;
  privateKeyPem: string;
  certificates: CertificateAuthority;
  /** The device provisioning MQTT API's control plane. */
  provisioning?: ProvisioningService;
}

export interface IotGateway {
  mqttUrl: string;
  wsUrl: string;
  httpUrl: string;
  /** `mqtts://host:port`, with `tls`. */
  mqttsUrl?: string;
  /** How many times the authorizer has been invoked (connections, HTTP requests and refreshes). */
  authorizerInvocations(): number;
  /** How many requests were refused because the token signature did not verify (authorizer not invoked). */
  signatureRejections(): number;
  /** Replaces the authorizer's token signing keys, as `UpdateAuthorizer` does (a key rotation's add and remove steps). */
  setSigningPublicKeys(keys: Readonly<Record<string, string>>): void;
  stop(): Promise<void>;
}

export async function startIotGateway(options: IotGatewayOptions): Promise<IotGateway> {
  const host = options.host ?? "127.0.0.1";
  const timeScale = options.timeScale ?? 1;
  const authorizer = new CustomAuthorizer({
    authorizer: options.authorizer,
    authorizerName: options.authorizerName,
    signingPublicKeyPem: options.signingPublicKeyPem,
    signingPublicKeys: options.signingPublicKeys,
    timeoutMs: options.authorizerTimeoutMs ?? 5_000,
  });
  if (!(timeScale > 0) || !Number.isFinite(timeScale)) throw new Error(`timeScale must be a positive number; got ${options.timeScale}`);

  const log = new GatewayLog(options.logger ?? stderrLogWriter);
  const permissions = new Permissions(options.partition ?? "aws", options.region, options.accountId);
  const timers = new SessionTimers({ authorizer, permissions, log, timeScale });
  const tls = options.tls;
  const broker = await MqttBroker.start({
    tokenKeyName: options.tokenKeyName,
    authorizer,
    permissions,
    timers,
    log,
    ...(tls && { certificates: tls.certificates }),
    ...(tls?.provisioning && { provisioning: new ProvisioningTopics(tls.provisioning, log) }),
  });
  const listeners = new Listeners({
    host,
    accept: (stream, conn) => broker.accept(stream, conn),
    handleHttp: httpPublishHandler({ host, tokenKeyName: options.tokenKeyName, authorizer, permissions, broker, log }),
    log,
  });

  const tlsListener = tls && new TlsListener({ host, ...tls, accept: (stream, conn) => broker.accept(stream, conn), log });

  async function stop(): Promise<void> {
    broker.stopSessionTimers();
    await listeners.close();
    await tlsListener?.close();
    await broker.close();
  }

  try {
    const urls = await listeners.listen({ mqtt: options.mqttPort ?? 0, ws: options.wsPort ?? 0, http: options.httpPort ?? 0 });
    const mqttsUrl = await tlsListener?.listen(tls?.port ?? 0);
    return {
      ...urls,
      ...(mqttsUrl !== undefined && { mqttsUrl }),
      authorizerInvocations: () => authorizer.invocations(),
      signatureRejections: () => authorizer.signatureRejections(),
      setSigningPublicKeys: (keys) => authorizer.setSigningPublicKeys(keys),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
