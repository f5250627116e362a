/**
 * Where a device reaches IoT. Two shapes: an AWS IoT data endpoint host (`xxxx-ats.iot.REGION.amazonaws.com`,
 * what `aws iot describe-endpoint --endpoint-type iot:Data-ATS` and the stack's `dataEndpoint` give), from
 * which the three custom-auth URLs follow (docs/aws-iot-custom-auth.md#ports-alpn-and-sni: all custom auth runs on 443, MQTT
 * needs ALPN `mqtt`
 * and SNI); or explicit URLs, as the local sandbox's gateway prints them.
 */

export interface IotEndpoints {
  /** `mqtt://host:port` or `mqtts://host:port` (MQTT over TCP or TLS). */
  mqttUrl?: string;
  /** `ws://host:port/mqtt` or `wss://host:port/mqtt`. */
  wsUrl?: string;
  /** `http://host:port` or `https://host:port`: `POST {httpUrl}/topics/{topic}`. */
  httpUrl?: string;
}

export class EndpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EndpointError";
  }
}

const HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$/;

/**
 * An endpoint string: a bare host (an AWS data endpoint: all three URLs on 443) or one URL whose scheme says
 * which transport it serves (`mqtt:`/`mqtts:`, `ws:`/`wss:`, `http:`/`https:`).
 */
export function parseIotEndpoint(endpoint: string): IotEndpoints {
  const value = endpoint.trim();
  if (HOST.test(value)) {
    const host = value.includes(":") ? value : `${value}:443`;
    return { mqttUrl: `mqtts://${host}`, wsUrl: `wss://${host}/mqtt`, httpUrl: `https://${host}` };
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new EndpointError(`IoT endpoint ${JSON.stringify(endpoint)} is neither a host name nor a URL`);
  }
  switch (url.protocol) {
    case "mqtt:":
    case "mqtts:":
    case "tcp:":
    case "ssl:":
      return { mqttUrl: value };
    case "ws:":
    case "wss:":
      return { wsUrl: url.pathname === "/" ? `${value.replace(/\/$/, "")}/mqtt` : value };
    case "http:":
    case "https:":
      return { httpUrl: value.replace(/\/+$/, "") };
    default:
      throw new EndpointError(
        `IoT endpoint ${JSON.stringify(endpoint)}: unknown scheme ${url.protocol} (use mqtt(s)://, ws(s):// or http(s)://, or a bare host)`,
      );
  }
}

/** Merges a bare or URL endpoint with explicit URLs; the explicit ones win. */
export function resolveIotEndpoints(endpoint: string | IotEndpoints | undefined): IotEndpoints {
  if (endpoint === undefined) return {};
  if (typeof endpoint === "string") return parseIotEndpoint(endpoint);
  return {
    ...(endpoint.mqttUrl !== undefined && { mqttUrl: endpoint.mqttUrl }),
    ...(endpoint.wsUrl !== undefined && { wsUrl: endpoint.wsUrl }),
    ...(endpoint.httpUrl !== undefined && { httpUrl: endpoint.httpUrl.replace(/\/+$/, "") }),
  };
}

/** `POST {httpUrl}/topics/{topic}?qos=1`: the topic's levels stay path segments, each one percent-encoded. */
export function httpPublishUrl(httpUrl: string, topic: string, qos: 0 | 1): string {
  const path = topic.split("/").map(encodeURIComponent).join("/");
  return `${httpUrl.replace(/\/+$/, "")}/topics/${path}?qos=${qos}`;
}
