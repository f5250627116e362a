/**
 * Which policy check IoT Core makes for each thing a connection does, against the policy documents its
 * authorizer returned: `iot:Connect` on `client/<client id>` at CONNECT (and again at each refresh),
 * `iot:Publish` (and `iot:RetainPublish` for a retained message) on `topic/<name>` per PUBLISH,
 * `iot:Subscribe` on `topicfilter/<filter as sent>` per subscription, `iot:Receive` on `topic/<name>` per
 * delivered message. `${iot:ClientId}` is a policy variable wherever there is a client id (not over HTTP); a
 * session authenticated by certificate adds its thing's variables and condition keys (certificate-auth.ts).
 * No session (not authenticated yet) allows nothing.
 */
import { type Session } from "./authorizer-response";
import { type ConnectAttribute } from "./connection";
import { evaluatePolicies, iotArn, type IotPolicyAction } from "./policy";

export class Permissions {
  constructor(
    private readonly partition: string,
    private readonly region: string,
    private readonly accountId: string,
  ) {}

  mayConnect(session: Session | undefined, clientId: string | undefined, attributes: readonly ConnectAttribute[]): boolean {
    return this.allows(session, "iot:Connect", this.arn("client", clientId ?? ""), clientId, { "iot:ConnectAttributes": attributes });
  }

  mayPublish(session: Session | undefined, topic: string, retain: boolean, clientId: string | undefined): boolean {
    return (
      this.allows(session, "iot:Publish", this.arn("topic", topic), clientId) &&
      (!retain || this.allows(session, "iot:RetainPublish", this.arn("topic", topic), clientId))
    );
  }

  maySubscribe(session: Session | undefined, filter: string, clientId: string | undefined): boolean {
    return this.allows(session, "iot:Subscribe", this.arn("topicfilter", filter), clientId);
  }

  mayReceive(session: Session | undefined, topic: string, clientId: string | undefined): boolean {
    return this.allows(session, "iot:Receive", this.arn("topic", topic), clientId);
  }

  private arn(kind: "client" | "topic" | "topicfilter", name: string): string {
    return iotArn(this.partition, this.region, this.accountId, kind, name);
  }

  private allows(
    session: Session | undefined,
    action: IotPolicyAction,
    resource: string,
    clientId: string | undefined,
    conditions: Record<string, readonly string[]> = {},
  ): boolean {
    if (session === undefined) return false;
    const variables: Record<string, string> = { ...session.variables, ...(clientId !== undefined && { "iot:ClientId": clientId }) };
    const context = { ...session.conditions, ...conditions };
    return evaluatePolicies(session.policies, { action, resource, conditions: context }, variables) === "allow";
  }
}
