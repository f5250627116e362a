/**
 * Who a client certificate is, from the sandbox's registry, as the gateway asks at CONNECT
 * (sandbox/gateway/certificate-auth.ts):
 *
 * - an unexpired claim certificate gets the claim's policy: connect with any client id, and publish, receive and
 *   subscribe on the fleet provisioning topics of its template only (`$aws/certificates/create/*`,
 *   `$aws/certificates/create-from-csr/*`, `$aws/provisioning-templates/<template>/provision/*`), the policy the
 *   developer guide gives claim certificates; its connection ends five minutes after it is made (the guide: the
 *   device gets its certificate within five minutes of connecting with the claim);
 * - an `ACTIVE` device certificate gets the policies attached to it, and the thing policy variables of the thing
 *   its client id names (DG: Thing policy variables): `iot:Connection.Thing.ThingName` when that thing exists,
 *   `iot:Connection.Thing.IsAttached` `true` only when this certificate is attached to it;
 * - a certificate the registry does not know, or not active, gets nothing.
 */
import { type CertificateAuthority, type CertificateDecision } from "../gateway/certificate-auth";
import { iotArn, type PolicyDocument } from "../gateway/policy";
import { type IotRegistry } from "./registry";

/** The device must have its own certificate within five minutes of connecting with the claim. */
export const CLAIM_CONNECTION_MS = 300_000;

export interface AccountScope {
  partition: string;
  region: string;
  accountId: string;
}

/** The claim certificate's policy: the provisioning topics of one template, nothing else. */
export function claimPolicy(scope: AccountScope, templateName: string): PolicyDocument {
  const arn = (kind: "topic" | "topicfilter", name: string) => iotArn(scope.partition, scope.region, scope.accountId, kind, name);
  const topics = [
    "$aws/certificates/create/*",
    "$aws/certificates/create-from-csr/*",
    `$aws/provisioning-templates/${templateName}/provision/*`,
  ];
  return {
    Version: "2012-10-17",
    Statement: [
      { Effect: "Allow", Action: "iot:Connect", Resource: "*" },
      { Effect: "Allow", Action: ["iot:Publish", "iot:Receive"], Resource: topics.map((t) => arn("topic", t)) },
      { Effect: "Allow", Action: "iot:Subscribe", Resource: topics.map((t) => arn("topicfilter", t)) },
    ],
  };
}

export class RegistryCertificates implements CertificateAuthority {
  constructor(
    private readonly registry: IotRegistry,
    private readonly scope: AccountScope,
    private readonly now: () => number = Date.now,
  ) {}

  authenticate(certificateId: string, clientId: string): CertificateDecision {
    const claim = this.registry.claim(certificateId);
    if (claim !== undefined) {
      return {
        ok: true,
        kind: "claim",
        session: { principalId: certificateId, policies: [claimPolicy(this.scope, claim.templateName)] },
        endsAt: this.now() + CLAIM_CONNECTION_MS,
      };
    }
    const certificate = this.registry.certificate(certificateId);
    if (certificate === undefined) return { ok: false, reason: "certificate-unknown" };
    if (certificate.status !== "ACTIVE") return { ok: false, reason: "certificate-inactive" };
    const thing = this.registry.thing(clientId);
    const attached = thing !== undefined && thing.principals.includes(certificateId);
    const policies = certificate.policies.map((name) => this.registry.policy(name)).filter((p): p is PolicyDocument => p !== undefined);
    return {
      ok: true,
      kind: "device",
      session: {
        principalId: certificateId,
        policies,
        ...(thing !== undefined && { variables: { "iot:Connection.Thing.ThingName": thing.thingName } }),
        conditions: { "iot:Connection.Thing.IsAttached": [attached ? "true" : "false"] },
      },
    };
  }
}
