/**
 * Opening an MQTT connection to AWS IoT Core's custom authorizer (or the sandbox's gateway, which behaves
 * the same), over TCP/TLS or a WebSocket, with the token where IoT reads it for that transport: the
 * CONNECT username's query for MQTT, the upgrade request's query string or headers for a WebSocket. A
 * refusal (CONNACK not authorized, HTTP 401/403 on the upgrade, a close without CONNACK) becomes an
 * `IotDeniedError` that says which step was refused and how.
 */
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import {
  type CustomAuthCredentials,
  customAuthHeaders,
  customAuthMqttUsername,
  customAuthQuery,
} from "../functions/authorizer/custom-auth";
import { type IotEndpoints } from "./endpoints";
import { DeviceClientError, IotConnectionError, IotDeniedError } from "./errors";
import { type DeviceClientOptions } from "./options";

export type Transport = "mqtt" | "wss" | "https";
/** The transports that hold a connection open (HTTPS only publishes). */
export type MqttTransport = Exclude<Transport, "https">;

/** The URL configured for the transport, or a `DeviceClientError` naming what to configure. */
export function mqttUrlFor(endpoints: IotEndpoints, transport: MqttTransport): string {
  const url = transport === "mqtt" ? endpoints.mqttUrl : endpoints.wsUrl;
  if (!url) {
    throw new DeviceClientError(
      transport === "mqtt"
        ? "No MQTT endpoint is configured for IoT (an AWS data endpoint host or an mqtt(s):// URL)"
        : "No WebSocket endpoint is configured for IoT (an AWS data endpoint host or a ws(s):// URL)",
    );
  }
  return url;
}

/**
 * The mqtt.js options for a custom-auth connection: the credentials where IoT reads them for the
 * transport, and for TLS the SNI and (MQTT over TLS) ALPN `mqtt`, which AWS IoT needs on port 443.
 */
export function mqttConnectOptions(
  options: Pick<DeviceClientOptions, "mqttProtocolVersion" | "connectTimeoutSeconds" | "wsCredentials">,
  transport: MqttTransport,
  url: string,
  credentials: CustomAuthCredentials,
  clientId: string,
): IClientOptions {
  const parsed = new URL(url);
  const secure = parsed.protocol === "mqtts:" || parsed.protocol === "ssl:" || parsed.protocol === "wss:";
  const mqttOptions: IClientOptions = {
    clientId,
    protocolVersion: options.mqttProtocolVersion ?? 4,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: (options.connectTimeoutSeconds ?? 15) * 1000,
    keepalive: 60,
    ...(secure && { servername: parsed.hostname, rejectUnauthorized: true }),
    // AWS IoT serves custom-auth MQTT on 443 and picks the protocol by ALPN (docs/aws-iot-custom-auth.md#ports-alpn-and-sni).
    ...(secure && transport === "mqtt" && { ALPNProtocols: ["mqtt"] }),
  };
  if (transport === "mqtt") {
    mqttOptions.username = customAuthMqttUsername(credentials);
  } else if ((options.wsCredentials ?? "query") === "query") {
    const query = customAuthQuery(credentials);
    mqttOptions.transformWsUrl = (wsUrl) => `${wsUrl}${wsUrl.includes("?") ? "&" : "?"}${query}`;
  } else {
    mqttOptions.wsOptions = { headers: customAuthHeaders(credentials) };
  }
  return mqttOptions;
}

/** Connects and waits for the CONNACK; rejects with `IotDeniedError` on CONNACK "not authorized" or an HTTP 401/403 upgrade. */
export async function openMqttConnection(transport: MqttTransport, url: string, options: IClientOptions): Promise<MqttClient> {
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
      done(
        new IotDeniedError(
          "connect",
          transport,
          `${url} closed the connection without accepting it (IoT does so when the authorizer or the iot:Connect policy refuses)`,
        ),
      );
    client.on("connect", onConnect);
    client.on("error", onError);
    client.on("close", onClose);
  });
  return client;
}

function connectError(err: Error & { code?: unknown }, transport: string, url: string): DeviceClientError {
  const code = err.code;
  // MQTT 3.1.1 CONNACK 4 (bad user name or password) / 5 (not authorized); MQTT 5: 134, 135.
  if (code === 4 || code === 5 || code === 134 || code === 135) {
    return new IotDeniedError(
      "connect",
      transport,
      `CONNACK ${code}: ${err.message} (the authorizer denied the token, or the policy does not allow iot:Connect for this client id)`,
    );
  }
  const status = /Unexpected server response: (\d{3})/.exec(err.message);
  if (status && (status[1] === "401" || status[1] === "403")) {
    return new IotDeniedError("connect", transport, `the WebSocket upgrade was refused with HTTP ${status[1]}`);
  }
  return new IotConnectionError(`Could not connect to ${url} over ${transport}: ${err.message}`);
}

/** Ends the connection without rejecting: it runs in `finally` and after failures, where a second error would hide the first. */
export async function endQuietly(client: MqttClient): Promise<void> {
  if (client.disconnected || !client.connected) {
    client.end(true);
    return;
  }
  await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
}
