/**
 * The arguments every component that deploys functions takes, with one name and one meaning in all of them
 * (`IotTokenAuthorizer`, `DeviceGrant`, `FleetProvisioning`): how children are named and tagged, how long their
 * logs are kept, the customer managed key for what they store, and the permissions boundary of the roles they
 * create. Organisations set these by policy; a team should not need a transformation to meet them.
 */
import type * as pulumi from "@pulumi/pulumi";
import { isMetricsNamespace } from "../functions/shared/metric-lines";
import { type Problem, problemAt } from "../functions/shared/problems";

export interface ComponentArgs {
  /**
   * Physical-name prefix of the children (functions, tables, log groups, parameters): default
   * `<component name>-<stack>`; 1-64 letters, digits, `-` or `_` (each component may allow fewer), unique in the
   * account and region.
   */
  resourcePrefix?: string;
  /** Tags for every child that takes them. */
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Retention of every log group the component creates, in days (default 30; one of CloudWatch Logs' values). */
  logRetentionDays?: number;
  /**
   * A customer managed KMS key (its ARN) for everything the component keeps at rest: tables, SecureString
   * parameters and log groups. Default: AWS owned or AWS managed keys. The key's policy must let CloudWatch Logs
   * (`logs.<region>.amazonaws.com`) use it; the functions' roles get exactly the key uses their reads need.
   */
  kmsKeyArn?: pulumi.Input<string>;
  /** ARN of the IAM managed policy set as the permissions boundary of every role the component creates. */
  permissionsBoundary?: pulumi.Input<string>;
  /**
   * CloudWatch namespace of the metrics the functions' decision lines carry (embedded metric format; default
   * `IotEnterpriseAuth`, set in the functions as `METRICS_NAMESPACE` only when given; empty turns them off).
   */
  metricsNamespace?: string;
}

const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]{1,128}$/;
const MANAGED_POLICY_ARN = /^arn:aws[a-z-]*:iam::(\d{12}|aws):policy\/[\w+=,.@/-]{1,1024}$/;

/** The checks of the shared arguments that can be made before deployment (values known now; outputs pass). */
export function checkComponentArgs(a: Partial<ComponentArgs>, problems: Problem[]): void {
  if (a.metricsNamespace !== undefined && a.metricsNamespace !== "" && !isMetricsNamespace(a.metricsNamespace)) {
    problems.push(
      problemAt(
        "metricsNamespace",
        `must be 1-255 of letters, digits and . - _ / # : or space, not under AWS/; got ${JSON.stringify(a.metricsNamespace)}`,
      ),
    );
  }
  if (typeof a.kmsKeyArn === "string" && !KMS_KEY_ARN.test(a.kmsKeyArn)) {
    problems.push(
      problemAt(
        "kmsKeyArn",
        `must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), not an alias; got ${JSON.stringify(a.kmsKeyArn)}`,
      ),
    );
  }
  if (typeof a.permissionsBoundary === "string" && !MANAGED_POLICY_ARN.test(a.permissionsBoundary)) {
    problems.push(
      problemAt(
        "permissionsBoundary",
        `must be the ARN of an IAM managed policy (arn:aws:iam::<account>:policy/<name>); got ${JSON.stringify(a.permissionsBoundary)}`,
      ),
    );
  }
}
