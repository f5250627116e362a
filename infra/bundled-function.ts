/**
 * What every function of this project gets, in one place: its own log group with retention (declared first,
 * or Lambda creates one without), an execution role only Lambda can assume, exactly one inline policy, and
 * the function itself (Node.js 22, bundled from this repository at program time, JSON logs), which waits for
 * the log group, the policy and whatever else it reads at cold start.
 */
import type * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { functionArchive } from "./bundle";
import { lambdaAssumeRolePolicy } from "./policies";

export interface BundledFunctionArgs {
  /** Physical name of the function; its log group is `/aws/lambda/<resourcePrefix>`. */
  resourcePrefix: string;
  description: string;
  /** Description of its execution role. */
  roleDescription: string;
  /** The function's entry, bundled with esbuild (`infra/bundle.ts`). */
  entry: string;
  architecture: "arm64" | "x86_64";
  memorySize: number;
  timeoutSeconds: number;
  logRetentionDays: number;
  environment: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** The role's one policy document (JSON), given the ARN of the function's own log group. */
  policy: (logGroupArn: pulumi.Output<string>) => pulumi.Input<string>;
  /** Resources the function reads at cold start (a secret parameter, say): they exist before it runs. */
  dependsOn?: pulumi.Resource[];
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

export interface BundledFunction {
  logGroup: aws.cloudwatch.LogGroup;
  role: aws.iam.Role;
  rolePolicy: aws.iam.RolePolicy;
  fn: aws.lambda.Function;
}

/** Declares the function and what it needs as children of `parent`, named `<name>-logs`, `-role`, `-policy`, `-function`. */
export function defineBundledFunction(name: string, args: BundledFunctionArgs, parent: pulumi.Resource): BundledFunction {
  const opts = { parent };
  const { resourcePrefix, tags } = args;
  const logGroup = new aws.cloudwatch.LogGroup(
    `${name}-logs`,
    { name: `/aws/lambda/${resourcePrefix}`, retentionInDays: args.logRetentionDays, tags },
    opts,
  );
  const role = new aws.iam.Role(
    `${name}-role`,
    { description: args.roleDescription, assumeRolePolicy: JSON.stringify(lambdaAssumeRolePolicy()), tags },
    opts,
  );
  const rolePolicy = new aws.iam.RolePolicy(`${name}-policy`, { role: role.name, policy: args.policy(logGroup.arn) }, opts);
  const fn = new aws.lambda.Function(
    `${name}-function`,
    {
      name: resourcePrefix,
      description: args.description,
      runtime: aws.lambda.Runtime.NodeJS22dX,
      architectures: [args.architecture],
      handler: "index.handler",
      code: functionArchive(args.entry),
      role: role.arn,
      memorySize: args.memorySize,
      timeout: args.timeoutSeconds,
      loggingConfig: { logFormat: "JSON", logGroup: logGroup.name, applicationLogLevel: "INFO", systemLogLevel: "WARN" },
      environment: { variables: args.environment },
      tags,
    },
    // Without the log group first, Lambda creates its own, without retention; without the policy (and what
    // the function reads at start), the first invocations fail to log or to read their secrets.
    { parent, dependsOn: [logGroup, rolePolicy, ...(args.dependsOn ?? [])] },
  );
  return { logGroup, role, rolePolicy, fn };
}
