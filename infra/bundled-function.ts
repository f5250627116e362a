/**
 * What every function of this project gets, in one place: its own log group with retention (declared first,
 * or Lambda creates one without), an execution role only Lambda can assume, exactly one inline policy, and
 * the function itself (Node.js 22, bundled from this repository at program time, JSON logs), which waits for
 * the log group, the policy and whatever else it reads at cold start.
 *
 * The arguments every component takes for its function are checked here too (`lambda.memorySize`,
 * `lambda.timeoutSeconds`, `lambda.architecture`, `lambda.reservedConcurrency`, `logRetentionDays`,
 * `resourcePrefix`), so they mean the same and are refused with the same words in every component.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { isIntegerInRange } from "../functions/shared/checks";
import { type Problem, problem, problemAt, unknownFields } from "../functions/shared/problems";
import { functionArchive } from "./bundle";
import { lambdaAssumeRolePolicy } from "./policies";

export type Architecture = "arm64" | "x86_64";

/** The retention periods CloudWatch Logs accepts (`0`, never expire, is deliberately not offered). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** A component's `lambda` argument: the function's size, timeout, instruction set and reserved concurrency. */
export interface FunctionArgs {
  /** Memory in MB, and with it the function's share of CPU (128 to 10,240; default 256 in every component). */
  memorySize?: number;
  /**
   * Longest one invocation may run, in seconds: each component sets its own default and maximum from what waits on
   * the function (the authorizer 3, at most 4; the device grant 10, at most 10; the claim route 10, at most 25; the
   * pre-provisioning hook 4, at most 4).
   */
  timeoutSeconds?: number;
  /** Instruction set: `arm64` (default, cheaper per GB-second) or `x86_64`. The bundle is the same JavaScript either way. */
  architecture?: Architecture;
  /**
   * Concurrent executions set aside for this function (1 or more; default none, so it shares the account's
   * unreserved pool). Reserving guarantees the function that many executions whatever else in the account runs, and
   * caps it there: a flood of requests then throttles this function instead of every function in the account.
   */
  reservedConcurrency?: number;
}

export interface CheckedFunctionArgs {
  memorySize: number;
  timeoutSeconds: number;
  architecture: Architecture;
  /** Undefined: no reservation. */
  reservedConcurrency?: number;
}

/**
 * Checks a component's `lambda` argument against its defaults and its timeout ceiling (`why` says where the
 * ceiling comes from, e.g. IoT's 5 s budget), adding a problem per bad value; the defaults stand in for those.
 */
export function checkFunctionArgs(
  given: FunctionArgs | undefined,
  defaults: CheckedFunctionArgs,
  timeout: { max: number; why?: string },
  problems: Problem[],
): CheckedFunctionArgs {
  const fn = given ?? {};
  problems.push(...unknownFields(fn, ["memorySize", "timeoutSeconds", "architecture", "reservedConcurrency"], "lambda"));
  const memorySize = fn.memorySize ?? defaults.memorySize;
  if (!isIntegerInRange(memorySize, 128, 10_240)) {
    problems.push(problemAt("lambda.memorySize", `must be an integer from 128 to 10240 MB; got ${JSON.stringify(memorySize)}`));
  }
  const timeoutSeconds = fn.timeoutSeconds ?? defaults.timeoutSeconds;
  if (!isIntegerInRange(timeoutSeconds, 1, timeout.max)) {
    problems.push(
      problemAt(
        "lambda.timeoutSeconds",
        `must be an integer from 1 to ${timeout.max}${timeout.why ? `: ${timeout.why}` : ""}; got ${JSON.stringify(timeoutSeconds)}`,
      ),
    );
  }
  const architecture = fn.architecture ?? defaults.architecture;
  if (architecture !== "arm64" && architecture !== "x86_64") {
    problems.push(problemAt("lambda.architecture", `must be arm64 or x86_64; got ${JSON.stringify(architecture)}`));
  }
  const reservedConcurrency = fn.reservedConcurrency ?? defaults.reservedConcurrency;
  if (reservedConcurrency !== undefined && !isIntegerInRange(reservedConcurrency, 1, 1_000_000)) {
    problems.push(
      problemAt(
        "lambda.reservedConcurrency",
        `must be a whole number of executions, 1 or more (0 would stop the function; leave it out for none); got ${JSON.stringify(reservedConcurrency)}`,
      ),
    );
  }
  return { memorySize, timeoutSeconds, architecture, ...(reservedConcurrency !== undefined && { reservedConcurrency }) };
}

/** A log retention CloudWatch accepts, or a problem naming the allowed ones. */
export function checkLogRetentionDays(value: number, problems: Problem[]): number {
  if (!(LOG_RETENTION_DAYS as readonly number[]).includes(value)) {
    problems.push(problemAt("logRetentionDays", `must be one of ${LOG_RETENTION_DAYS.join(", ")}; got ${JSON.stringify(value)}`));
  }
  return value;
}

const RESOURCE_PREFIX = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The physical-name prefix of a component's children: the one given, or `<component name>-<stack>`. `names` says
 * what it names, for the message (e.g. "the function and the table").
 */
export function checkResourcePrefix(name: string, given: string | undefined, stack: string, names: string, problems: Problem[]): string {
  const resourcePrefix = given ?? `${name}-${stack}`.replace(/\./g, "-");
  if (!RESOURCE_PREFIX.test(resourcePrefix)) {
    const derived = given === undefined ? " (derived from the component name and stack)" : "";
    problems.push(
      problem(
        "resourcePrefix",
        (n) =>
          `${n("resourcePrefix")} ${JSON.stringify(resourcePrefix)}${derived} must be 1-64 letters, digits, - or _ (it names ${names})`,
      ),
    );
  }
  return resourcePrefix;
}

export interface BundledFunctionArgs {
  /** Physical name of the function; its log group is `/aws/lambda/<resourcePrefix>`. */
  resourcePrefix: string;
  description: string;
  /** Description of its execution role. */
  roleDescription: string;
  /** The function's entry, bundled with esbuild (`infra/bundle.ts`). */
  entry: string;
  architecture: Architecture;
  memorySize: number;
  timeoutSeconds: number;
  logRetentionDays: number;
  environment: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** The role's one policy document (JSON), given the ARN of the function's own log group. */
  policy: (logGroupArn: pulumi.Output<string>) => pulumi.Input<string>;
  /** Resources the function reads at cold start (a secret parameter, say): they exist before it runs. */
  dependsOn?: pulumi.Resource[];
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Concurrent executions reserved for the function (none when undefined). */
  reservedConcurrency?: number;
  /** ARN of the managed policy that bounds the execution role's permissions. */
  permissionsBoundary?: pulumi.Input<string>;
  /** Customer managed key that encrypts the log group (its key policy must let CloudWatch Logs use it). */
  kmsKeyArn?: pulumi.Input<string>;
  /** Namespace of the decision metrics, set as `METRICS_NAMESPACE` when given (the function's default otherwise). */
  metricsNamespace?: string;
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
    { name: `/aws/lambda/${resourcePrefix}`, retentionInDays: args.logRetentionDays, kmsKeyId: args.kmsKeyArn, tags },
    opts,
  );
  const role = new aws.iam.Role(
    `${name}-role`,
    {
      description: args.roleDescription,
      assumeRolePolicy: JSON.stringify(lambdaAssumeRolePolicy()),
      permissionsBoundary: args.permissionsBoundary,
      tags,
    },
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
      reservedConcurrentExecutions: args.reservedConcurrency,
      loggingConfig: { logFormat: "JSON", logGroup: logGroup.name, applicationLogLevel: "INFO", systemLogLevel: "WARN" },
      environment: {
        variables:
          args.metricsNamespace === undefined
            ? args.environment
            : pulumi.output(args.environment).apply((variables) => ({ ...variables, METRICS_NAMESPACE: args.metricsNamespace as string })),
      },
      tags,
    },
    // Without the log group first, Lambda creates its own, without retention; without the policy (and what
    // the function reads at start), the first invocations fail to log or to read their secrets.
    { parent, dependsOn: [logGroup, rolePolicy, ...(args.dependsOn ?? [])] },
  );
  return { logGroup, role, rolePolicy, fn };
}
