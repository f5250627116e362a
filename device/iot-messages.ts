/**
 * Using an open custom-auth MQTT connection: one publish, confirmed by PUBACK at QoS 1, or a subscription
 * that delivers messages until it is closed or the server ends it. IoT refuses what the policy does not
 * allow in its own way per operation (a failing PUBACK, a SUBACK reason code of 128 or more, or simply
 * closing the connection); each becomes an `IotDeniedError`.
 */
import { type MqttClient } from "mqtt";
import { type DeviceClientError, IotConnectionError, IotDeniedError } from "./errors";
import { endQuietly, type MqttTransport, type Transport } from "./iot-connect";

export interface PublishOptions {
  transport?: Transport;
  /** 1 by default: the publish is confirmed (PUBACK / HTTP 200) before `publish` resolves. */
  qos?: 0 | 1;
  retain?: boolean;
}

export interface SubscribeOptions {
  transport?: MqttTransport;
  qos?: 0 | 1;
}

export interface Subscription {
  /** The MQTT client id used. */
  clientId: string;
  /** Resolves when the connection ends: `undefined` after `close()`, an error when the server or network ended it. */
  readonly closed: Promise<DeviceClientError | undefined>;
  close(): Promise<void>;
}

/** Publishes on the connection; resolves once the broker took it (PUBACK at QoS 1). */
export function publishMessage(
  client: MqttClient,
  transport: MqttTransport,
  topic: string,
  payload: string | Buffer,
  options: { qos: 0 | 1; retain: boolean },
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onClose = () =>
      reject(
        new IotDeniedError(
          "publish",
          transport,
          `the connection was closed before the publish to ${topic} was acknowledged (IoT disconnects a client that publishes where its policy does not allow)`,
        ),
      );
    client.once("close", onClose);
    client.publish(topic, typeof payload === "string" ? Buffer.from(payload, "utf8") : payload, options, (err) => {
      client.off("close", onClose);
      if (!err) resolve();
      else if (typeof (err as { code?: unknown }).code === "number")
        reject(new IotDeniedError("publish", transport, `${err.message} (PUBACK reason ${(err as { code: number }).code})`));
      else reject(new IotConnectionError(`Publishing over ${transport} failed: ${err.message}`));
    });
  });
}

/**
 * Subscribes on the connection and delivers every message to `onMessage` until `close()` or until the
 * server ends the connection (IoT disconnects at the authorizer's `disconnectAfterInSeconds`, or when a
 * refresh denies). The connection is the subscription's: it is ended when the SUBACK refuses.
 */
export async function subscribeOn(
  client: MqttClient,
  clientId: string,
  transport: MqttTransport,
  topicFilter: string,
  qos: 0 | 1,
  onMessage: (topic: string, payload: Buffer) => void,
): Promise<Subscription> {
  let closing = false;
  let resolveClosed: (value: DeviceClientError | undefined) => void = () => undefined;
  const closed = new Promise<DeviceClientError | undefined>((resolve) => {
    resolveClosed = resolve;
  });
  try {
    await awaitSuback(client, transport, topicFilter, qos);
  } catch (err) {
    await endQuietly(client);
    throw err;
  }
  client.on("message", (topic, payload) => onMessage(topic, payload));
  client.on("error", () => undefined);
  client.once("close", () => {
    resolveClosed(
      closing
        ? undefined
        : new IotConnectionError(
            `The ${transport} connection was closed by the server (IoT disconnects at the authorizer's disconnectAfterInSeconds, or when a re-authorization denies)`,
          ),
    );
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

function awaitSuback(client: MqttClient, transport: MqttTransport, topicFilter: string, qos: 0 | 1): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onClose = () =>
      reject(
        new IotDeniedError("subscribe", transport, `the connection was closed before the subscription to ${topicFilter} was acknowledged`),
      );
    client.once("close", onClose);
    client.subscribe(topicFilter, { qos }, (err, granted) => {
      client.off("close", onClose);
      // mqtt.js reports a SUBACK failure as an error carrying the SUBACK packet (its reason codes).
      const subackCodes = (err as { packet?: { granted?: unknown } } | null)?.packet?.granted;
      const refusedQos =
        granted?.find((g) => g.qos >= 128)?.qos ??
        (Array.isArray(subackCodes) ? (subackCodes as unknown[]).find((c): c is number => typeof c === "number" && c >= 128) : undefined);
      const errorCode = (err as { code?: unknown } | null)?.code;
      if (refusedQos !== undefined || typeof errorCode === "number") {
        const code = refusedQos ?? errorCode;
        reject(
          new IotDeniedError(
            "subscribe",
            transport,
            `SUBACK ${code} for ${topicFilter} (the policy does not allow iot:Subscribe to this filter)`,
          ),
        );
      } else if (err) reject(new IotConnectionError(`Subscribing over ${transport} failed: ${err.message}`));
      else resolve();
    });
  });
}
