/**
 * The device provisioning MQTT API on the gateway (docs/fleet-provisioning.md#the-device-provisioning-mqtt-api):
 * a client publishes a request on one of IoT's reserved topics and gets the answer on that topic plus
 * `/accepted` or `/rejected`, on the same connection and nowhere else.
 *
 * | request topic                                        | operation                  |
 * |------------------------------------------------------|----------------------------|
 * | `$aws/certificates/create/json`                      | `CreateKeysAndCertificate` |
 * | `$aws/certificates/create-from-csr/json`             | `CreateCertificateFromCsr` |
 * | `$aws/provisioning-templates/<name>/provision/json`  | `RegisterThing`            |
 *
 * The policy checks are the gateway's usual ones: publishing the request needs `iot:Publish` (mqtt-hooks.ts),
 * and the answer is delivered only to a client that subscribed to its topic beforehand (the guide: subscribe
 * before you publish, or you may not get the answer) and may receive it. A request is never forwarded to other
 * subscribers (the ownership token is a credential). Only connections made with a certificate may call the API
 * (the claim is who asks). The `cbor` payload format is not spoken here: such a request is logged, unanswered.
 */
import type * as AedesModule from "aedes";
import { type Connection } from "./connection";
import { type GatewayLog } from "./log";

export interface ProvisioningRejection {
  statusCode: number;
  errorCode: string;
  errorMessage: string;
}

export type ProvisioningAnswer = { accepted: object } | { rejected: ProvisioningRejection };

/** The control plane behind the topics (sandbox/provisioning/control-plane.ts). */
export interface ProvisioningService {
  createKeysAndCertificate(): Promise<ProvisioningAnswer>;
  createCertificateFromCsr(payload: Buffer): Promise<ProvisioningAnswer>;
  registerThing(
    templateName: string,
    payload: Buffer,
    caller: { claimCertificateId: string; clientId: string },
  ): Promise<ProvisioningAnswer>;
}

export interface ProvisioningRequest {
  operation: "create" | "create-from-csr" | "provision";
  format: string;
  templateName?: string;
}

const CERTIFICATES = /^\$aws\/certificates\/(create|create-from-csr)\/([^/]+)$/;
const REGISTER = /^\$aws\/provisioning-templates\/([^/]+)\/provision\/([^/]+)$/;

/** The request a topic names, or undefined when it is not a provisioning request topic. */
export function provisioningRequest(topic: string): ProvisioningRequest | undefined {
  const certificates = CERTIFICATES.exec(topic);
  if (certificates) return { operation: certificates[1] as "create" | "create-from-csr", format: certificates[2] };
  const register = REGISTER.exec(topic);
  return register ? { operation: "provision", templateName: register[1], format: register[2] } : undefined;
}

/** MQTT topic matching (`+`, `#`); a filter starting with a wildcard matches no `$` topic (MQTT 3.1.1 §4.7.2). */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith("$") && (filter.startsWith("+") || filter.startsWith("#"))) return false;
  const f = filter.split("/");
  const t = topic.split("/");
  for (let i = 0; i < f.length; i++) {
    if (f[i] === "#") return i === f.length - 1;
    if (i >= t.length || (f[i] !== "+" && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

type Subscriptions = Record<string, { qos?: number } | undefined>;

export class ProvisioningTopics {
  constructor(
    private readonly service: ProvisioningService,
    private readonly log: GatewayLog,
  ) {}

  /** Answers a request the connection was allowed to publish; never throws. */
  handle(conn: Connection, client: AedesModule.Client, topic: string, payload: Buffer): void {
    const request = provisioningRequest(topic);
    if (request === undefined) return;
    if (request.format !== "json") {
      this.log.connectionRefused(conn, "publish", "provisioning-format-unsupported", topic);
      return;
    }
    void this.answer(conn, request, payload).then(
      (answer) => this.deliver(client, topic, answer),
      () =>
        this.deliver(client, topic, {
          rejected: { statusCode: 500, errorCode: "InternalFailure", errorMessage: "An unexpected error has occurred." },
        }),
    );
  }

  private answer(conn: Connection, request: ProvisioningRequest, payload: Buffer): Promise<ProvisioningAnswer> {
    const claimCertificateId = conn.certificate?.certificateId;
    if (claimCertificateId === undefined || conn.clientId === undefined) {
      return Promise.resolve({
        rejected: { statusCode: 403, errorCode: "AccessDenied", errorMessage: "fleet provisioning needs a certificate connection" },
      });
    }
    if (request.operation === "create") return this.service.createKeysAndCertificate();
    if (request.operation === "create-from-csr") return this.service.createCertificateFromCsr(payload);
    return this.service.registerThing(request.templateName as string, payload, { claimCertificateId, clientId: conn.clientId });
  }

  /** Publishes the answer to this client only, if it subscribed to the answer's topic (aedes checks `iot:Receive`). */
  private deliver(client: AedesModule.Client, topic: string, answer: ProvisioningAnswer): void {
    const answerTopic = `${topic}/${"accepted" in answer ? "accepted" : "rejected"}`;
    const subscriptions = (client as unknown as { subscriptions?: Subscriptions }).subscriptions ?? {};
    const filter = Object.keys(subscriptions).find((f) => topicMatches(f, answerTopic));
    if (filter === undefined || client.closed) return;
    const qos = Math.min(subscriptions[filter]?.qos ?? 0, 1) as 0 | 1;
    const body = "accepted" in answer ? answer.accepted : answer.rejected;
    client.publish(
      { cmd: "publish", topic: answerTopic, payload: Buffer.from(JSON.stringify(body)), qos, retain: false, dup: false },
      () => undefined,
    );
  }
}
