/**
 * Fleet provisioning by trusted user from the device client (docs/fleet-provisioning.md#the-flow), as a library:
 *
 * - `requestClaim`: the installer's app asks the claim route for a claim certificate for one thing name,
 *   with the installer's access token;
 * - `exchangeClaim`: the device connects to IoT over TLS with the claim certificate, subscribes to the answers
 *   and calls the device provisioning MQTT API: `CreateKeysAndCertificate` (or, given a CSR,
 *   `CreateCertificateFromCsr`, so the private key never leaves the device), then `RegisterThing` with the
 *   template's parameters;
 * - `connectAsThing`: the device connects with its own certificate, its client id the thing name (the device
 *   policy allows nothing else).
 *
 * Works against AWS IoT (port 8883, Amazon's CA in Node's trust store) and the sandbox's gateway (its CA file).
 * Errors say what refused and how (`ProvisioningError`), never with a key, a token or a certificate in them.
 */
import { type IClientOptions, type MqttClient } from "mqtt";
import { DeviceClientError, IotConnectionError, IotDeniedError } from "./errors";
import { openMqttConnection } from "./iot-connect";

/** Something on the way refused: the claim route (HTTP status, OAuth error) or IoT (statusCode, errorCode). */
export class ProvisioningError extends DeviceClientError {}

export interface Claim {
  certificateId: string;
  certificatePem: string;
  privateKey: string;
  expiresAt: string;
  thingName: string;
}

export interface DeviceCredentials {
  certificateId: string;
  certificatePem: string;
  /** Absent when the device sent a CSR (its key is its own). */
  privateKey?: string;
}

export interface Provisioned extends DeviceCredentials {
  thingName: string;
  deviceConfiguration: Record<string, string>;
}

export interface TlsEndpoint {
  /** `mqtts://host:8883`. */
  mqttsUrl: string;
  /** The CA to trust (PEM), when it is not a public one (the sandbox's). */
  caPem?: string;
  /** How long to wait for a CONNACK or an answer. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

function safe(text: unknown): string {
  return String(text ?? "").slice(0, 300);
}

/** `POST <claimUrl>` `{"thingName": …}` with the installer's token; the claim, or a `ProvisioningError` saying why not. */
export async function requestClaim(
  claimUrl: string,
  accessToken: string,
  thingName: string,
  fetchImpl: typeof fetch = fetch,
): Promise<Claim> {
  let response: Response;
  try {
    response = await fetchImpl(claimUrl, {
      method: "POST",
      headers: { authorization: `Bearer ${accessToken}`, "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ thingName }),
    });
  } catch (err) {
    throw new IotConnectionError(`Could not reach the claim route ${claimUrl}: ${(err as Error).message}`);
  }
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // reported below with the status
  }
  if (response.status === 201 && typeof body.certificatePem === "string" && typeof body.privateKey === "string")
    return body as unknown as Claim;
  const why = body.error !== undefined ? `${safe(body.error)}: ${safe(body.error_description)}` : safe(body.message ?? "no JSON answer");
  const retry = response.headers.get("retry-after");
  const hint =
    response.status === 401 || response.status === 403
      ? " (the token must be an installer app's, with the scope iot/provision, of a user in the installers' group)"
      : retry !== null
        ? ` (try again in ${safe(retry)} s)`
        : "";
  throw new ProvisioningError(`The claim route refused the claim for ${thingName}: HTTP ${response.status} ${why}${hint}`);
}

/** Connects over TLS with a client certificate; rejects with what refused it. */
export async function connectWithCertificate(
  endpoint: TlsEndpoint,
  credentials: { certificatePem: string; privateKey: string },
  clientId: string,
  protocolVersion: 4 | 5 = 4,
): Promise<MqttClient> {
  const options: IClientOptions = {
    clientId,
    cert: credentials.certificatePem,
    key: credentials.privateKey,
    ...(endpoint.caPem !== undefined && { ca: endpoint.caPem }),
    protocolVersion,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: endpoint.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    keepalive: 60,
  };
  try {
    return await openMqttConnection("mqtt", endpoint.mqttsUrl, options);
  } catch (err) {
    if (err instanceof IotDeniedError) {
      // A certificate refused in the TLS handshake (expired, unknown) ends in a close without CONNACK.
      throw new ProvisioningError(
        `IoT refused the connection as ${clientId}: ${err.detail}. An expired or unknown certificate is refused in the TLS handshake; ` +
          "an inactive one, or one whose policy does not allow this client id, with CONNACK 5",
      );
    }
    throw err;
  }
}

/** One request of the device provisioning MQTT API: subscribes to both answers, publishes, waits for one. */
export async function provisioningRequest(
  client: MqttClient,
  topic: string,
  payload: string,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<Record<string, unknown>> {
  await client.subscribeAsync([`${topic}/accepted`, `${topic}/rejected`], { qos: 1 });
  const answer = new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(
      () => finish(new IotConnectionError(`no answer on ${topic}/accepted or /rejected within ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
    const onMessage = (t: string, message: Buffer) => {
      if (t !== `${topic}/accepted` && t !== `${topic}/rejected`) return;
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(message.toString("utf8")) as Record<string, unknown>;
      } catch {
        // an unreadable answer is a rejection below
      }
      if (t.endsWith("/accepted")) finish(undefined, body);
      else
        finish(
          new ProvisioningError(`IoT rejected ${topic}: ${safe(body.statusCode)} ${safe(body.errorCode)}: ${safe(body.errorMessage)}`),
        );
    };
    const onClose = () => finish(new IotConnectionError(`the connection closed before IoT answered ${topic}`));
    function finish(err?: Error, body?: Record<string, unknown>) {
      clearTimeout(timer);
      client.off("message", onMessage);
      client.off("close", onClose);
      if (err) reject(err);
      else resolve(body as Record<string, unknown>);
    }
    client.on("message", onMessage);
    client.once("close", onClose);
  });
  await client.publishAsync(topic, payload, { qos: 1 });
  return answer;
}

/**
 * The exchange on one claim connection: a certificate (a new key, or for `csrPem` the device's own), then
 * `RegisterThing` with `parameters`. The client id is the thing name, as the device will use.
 */
export async function exchangeClaim(
  endpoint: TlsEndpoint,
  claim: Pick<Claim, "certificatePem" | "privateKey">,
  request: { templateName: string; thingName: string; parameters: Record<string, string>; csrPem?: string },
): Promise<Provisioned> {
  const client = await connectWithCertificate(endpoint, claim, request.thingName);
  try {
    const created =
      request.csrPem === undefined
        ? await provisioningRequest(client, "$aws/certificates/create/json", "", endpoint.timeoutMs)
        : await provisioningRequest(
            client,
            "$aws/certificates/create-from-csr/json",
            JSON.stringify({ certificateSigningRequest: request.csrPem }),
            endpoint.timeoutMs,
          );
    const registered = await provisioningRequest(
      client,
      `$aws/provisioning-templates/${request.templateName}/provision/json`,
      JSON.stringify({ certificateOwnershipToken: created.certificateOwnershipToken, parameters: request.parameters }),
      endpoint.timeoutMs,
    );
    return {
      certificateId: String(created.certificateId),
      certificatePem: String(created.certificatePem),
      ...(typeof created.privateKey === "string" && { privateKey: created.privateKey }),
      thingName: String(registered.thingName),
      deviceConfiguration: (registered.deviceConfiguration ?? {}) as Record<string, string>,
    };
  } finally {
    await client.endAsync(true).catch(() => undefined);
  }
}
