/**
 * `FleetProvisioning`: fleet provisioning by trusted user, as the IoT Atlas write-up "Device Bootstrap - Trusted
 * User" describes it, with the parts a security team asks for. An installer signed in at the user directory gets
 * a claim certificate bound to them and to one thing name; the device exchanges it once, through IoT's fleet
 * provisioning MQTT API, for its own certificate, thing and policy; a pre-provisioning hook denies everything
 * else. Its arguments and their checks are in `fleet-provisioning-args.ts`; who may ask for claims (the route,
 * the identity pool) in `fleet-provisioning-access.ts`; the template body in `provisioning-template.ts`.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { loadPreProvisioningHookConfig, PRE_PROVISIONING_HOOK_CONFIG_ENV } from "../functions/pre-provisioning-hook/config";
import { loadProvisioningClaimConfig, PROVISIONING_CLAIM_CONFIG_ENV } from "../functions/provisioning-claim/config";
import {
  CLAIM_BINDING_TABLE_DEFINITION,
  CLAIM_FUNCTION_TABLE_ACTIONS,
  HOOK_FUNCTION_TABLE_ACTIONS,
  PARTITION_KEY,
  TTL_ATTRIBUTE,
} from "../functions/shared/claim-binding-table";
import { REPO_ROOT } from "./bundle";
import { defineBundledFunction } from "./bundled-function";
import { declareClaimRoute, declareIdentityPool } from "./fleet-provisioning-access";
import { checkFleetProvisioningArgs, type CheckedFleetProvisioningArgs, type FleetProvisioningArgs } from "./fleet-provisioning-args";
import {
  type AccountScope,
  claimFunctionRolePolicy,
  devicePolicyDocument,
  hookFunctionRolePolicy,
  provisioningRoleTrustPolicy,
  provisioningTemplateArn,
  thingsRegistrationPolicyArn,
} from "./fleet-provisioning-policies";
import { deviceParameters } from "./provisioning-template";

export const PROVISIONING_CLAIM_ENTRY = path.join(REPO_ROOT, "functions", "provisioning-claim", "index.ts");
export const PRE_PROVISIONING_HOOK_ENTRY = path.join(REPO_ROOT, "functions", "pre-provisioning-hook", "index.ts");

/** The hook's AWS calls share this budget: a second under the function's timeout, at most 2.5 s (IoT waits 5 s). */
export function hookDeadlineMs(timeoutSeconds: number): number {
  return Math.max(250, Math.min(2_500, timeoutSeconds * 1_000 - 1_000));
}

/**
 * Fleet provisioning by trusted user. It creates:
 *
 * - the claim binding table (on demand, TTL, point-in-time recovery, encryption);
 * - the claim function and the pre-provisioning hook (Node.js 22, bundled at program time), each with its log
 *   group and a role allowed exactly what it calls, on exact ARNs;
 * - the device policy (an IoT policy: each device its own client id and topic tree);
 * - the provisioning role IoT assumes to create things (`AWSIoTThingsRegistration`, trusted by IoT for this
 *   account and region only);
 * - the template (enabled, `FLEET_PROVISIONING`, the hook with payload version 2020-04-01), after IoT's
 *   permission to invoke the hook for this template and account exists;
 * - the claim route with its JWT authorizer, on an API of its own or an existing one;
 * - optionally the identity pool of the direct path.
 *
 * Every argument is checked, and the template body held to IoT's limits, before anything is declared.
 */
export class FleetProvisioning extends pulumi.ComponentResource {
  /** The provisioning template's name: devices publish to `$aws/provisioning-templates/<templateName>/provision/json`. */
  readonly templateName: pulumi.Output<string>;
  /** The template's ARN (the only resource of the claim function's `iot:CreateProvisioningClaim`). */
  readonly templateArn: pulumi.Output<string>;
  /** `POST` here, with an installer's access token, for a claim. */
  readonly claimEndpoint: pulumi.Output<string>;
  /** The role IoT assumes to create each device's thing and certificate and attach its policy. */
  readonly provisioningRoleArn: pulumi.Output<string>;
  /** The claim function's name (`<resourcePrefix>-claim`). */
  readonly claimFunctionName: pulumi.Output<string>;
  /** The claim function's ARN. */
  readonly claimFunctionArn: pulumi.Output<string>;
  /** The claim function's execution role, to attach what your organisation adds to every role. */
  readonly claimFunctionRoleArn: pulumi.Output<string>;
  /** The claim function's log group (`/aws/lambda/<resourcePrefix>-claim`). */
  readonly claimLogGroupName: pulumi.Output<string>;
  /** The pre-provisioning hook's name (`<resourcePrefix>-hook`). */
  readonly hookFunctionName: pulumi.Output<string>;
  /** The hook's ARN (the template's `preProvisioningHook` target). */
  readonly hookFunctionArn: pulumi.Output<string>;
  /** The hook's execution role, to attach what your organisation adds to every role. */
  readonly hookFunctionRoleArn: pulumi.Output<string>;
  /** The hook's log group (`/aws/lambda/<resourcePrefix>-hook`): every provisioning decision is logged there. */
  readonly hookLogGroupName: pulumi.Output<string>;
  /** The claim binding table: which installer and thing name each claim certificate was issued for, until it is used. */
  readonly tableName: pulumi.Output<string>;
  /** The binding table's ARN. */
  readonly tableArn: pulumi.Output<string>;
  /** The IoT policy every provisioned device's certificate gets (`<resourcePrefix>-device`): its own client id and topics. */
  readonly devicePolicyName: pulumi.Output<string>;
  /** With the direct path: the identity pool; otherwise undefined. */
  readonly identityPoolId: pulumi.Output<string | undefined>;
  /** With the direct path: the identity pool's authenticated role, which may create claims; otherwise undefined. */
  readonly installerRoleArn: pulumi.Output<string | undefined>;

  constructor(name: string, args: FleetProvisioningArgs, opts?: pulumi.ComponentResourceOptions) {
    const checked = checkFleetProvisioningArgs(name, args, pulumi.getStack());
    super("iot-enterprise-auth:iot:FleetProvisioning", name, {}, opts);
    const parent = { parent: this };
    const region = aws.getRegionOutput({}, parent).region;
    const accountId = aws.getCallerIdentityOutput({}, parent).accountId;
    const partitionInfo = aws.getPartitionOutput({}, parent);
    const account = pulumi
      .all([partitionInfo.partition, region, accountId])
      .apply(([partition, regionName, id]): AccountScope => ({ partition, region: regionName, accountId: id }));
    const computedTemplateArn = account.apply((a) => provisioningTemplateArn(a, checked.templateName));
    const scope: ChildScope = {
      name,
      component: this,
      args,
      checked,
      account,
      dnsSuffix: partitionInfo.dnsSuffix,
      templateArn: computedTemplateArn,
    };

    const table = declareTable(scope);
    const hook = declareHook(scope, table);
    const claim = declareClaimFunction(scope, table);
    const { template, provisioningRole, devicePolicy } = declareTemplate(scope, hook.fn, accountId);
    const access = { name, parent: this, args, checked };
    const claimEndpoint = declareClaimRoute(access, claim.fn);
    const direct = declareIdentityPool(access, { templateArn: computedTemplateArn, region, dnsSuffix: partitionInfo.dnsSuffix });

    this.templateName = template.name;
    this.templateArn = template.arn;
    this.claimEndpoint = claimEndpoint;
    this.provisioningRoleArn = provisioningRole.arn;
    this.claimFunctionName = claim.fn.name;
    this.claimFunctionArn = claim.fn.arn;
    this.claimFunctionRoleArn = claim.role.arn;
    this.claimLogGroupName = claim.logGroup.name;
    this.hookFunctionName = hook.fn.name;
    this.hookFunctionArn = hook.fn.arn;
    this.hookFunctionRoleArn = hook.role.arn;
    this.hookLogGroupName = hook.logGroup.name;
    this.tableName = table.name;
    this.tableArn = table.arn;
    this.devicePolicyName = devicePolicy.name;
    this.identityPoolId = direct?.identityPoolId ?? pulumi.output(undefined);
    this.installerRoleArn = direct?.installerRoleArn ?? pulumi.output(undefined);
    this.registerOutputs({
      templateName: this.templateName,
      templateArn: this.templateArn,
      claimEndpoint: this.claimEndpoint,
      provisioningRoleArn: this.provisioningRoleArn,
      claimFunctionName: this.claimFunctionName,
      claimFunctionArn: this.claimFunctionArn,
      claimFunctionRoleArn: this.claimFunctionRoleArn,
      claimLogGroupName: this.claimLogGroupName,
      hookFunctionName: this.hookFunctionName,
      hookFunctionArn: this.hookFunctionArn,
      hookFunctionRoleArn: this.hookFunctionRoleArn,
      hookLogGroupName: this.hookLogGroupName,
      tableName: this.tableName,
      tableArn: this.tableArn,
      devicePolicyName: this.devicePolicyName,
      identityPoolId: this.identityPoolId,
      installerRoleArn: this.installerRoleArn,
    });
  }
}

/** What every child of one `FleetProvisioning` is declared with. */
interface ChildScope {
  name: string;
  component: FleetProvisioning;
  args: FleetProvisioningArgs;
  checked: CheckedFleetProvisioningArgs;
  account: pulumi.Output<AccountScope>;
  dnsSuffix: pulumi.Output<string>;
  /** Known before the template exists, so the hook's configuration and permission do not wait for it. */
  templateArn: pulumi.Output<string>;
}

/** The binding table, laid out as functions/shared/claim-binding-table.ts defines it. */
function declareTable({ name, component, args, checked }: ChildScope): aws.dynamodb.Table {
  return new aws.dynamodb.Table(
    `${name}-table`,
    {
      name: `${checked.resourcePrefix}-claims`,
      billingMode: "PAY_PER_REQUEST",
      deletionProtectionEnabled: checked.deletionProtection,
      hashKey: PARTITION_KEY,
      attributes: (CLAIM_BINDING_TABLE_DEFINITION.AttributeDefinitions ?? []).map((a) => ({
        name: a.AttributeName as string,
        type: a.AttributeType as string,
      })),
      ttl: { attributeName: TTL_ATTRIBUTE, enabled: true },
      pointInTimeRecovery: { enabled: true },
      serverSideEncryption: args.kmsKeyArn === undefined ? { enabled: true } : { enabled: true, kmsKeyArn: args.kmsKeyArn },
      tags: args.tags,
    },
    { parent: component },
  );
}

/** The hook, its configuration checked by its own loader once every ARN is known. */
function declareHook(scope: ChildScope, table: aws.dynamodb.Table) {
  const { name, component, args, checked, account } = scope;
  const prefix = `${checked.resourcePrefix}-hook`;
  const config = pulumi.all([scope.templateArn, table.name, account]).apply(([templateArn, tableName, a]) =>
    loadPreProvisioningHookConfig({
      templateArn,
      tableName,
      region: a.region,
      parameters: deviceParameters(checked.template),
      thingNameParameter: checked.template.thingNameParameter,
      ownerParameter: checked.template.ownerParameter,
      allowUnboundClaims: checked.allowUnboundClaims,
      deadlineMs: hookDeadlineMs(checked.hookFunction.timeoutSeconds),
    }),
  );
  return defineBundledFunction(
    `${name}-hook`,
    {
      resourcePrefix: prefix,
      description: "Fleet provisioning pre-provisioning hook: deny by default; one bound, unexpired claim provisions one device",
      roleDescription: `Execution role of the pre-provisioning hook ${prefix}`,
      entry: PRE_PROVISIONING_HOOK_ENTRY,
      ...checked.hookFunction,
      logRetentionDays: checked.logRetentionDays,
      kmsKeyArn: args.kmsKeyArn,
      permissionsBoundary: args.permissionsBoundary,
      metricsNamespace: args.metricsNamespace,
      environment: { [PRE_PROVISIONING_HOOK_CONFIG_ENV]: config.apply((c) => JSON.stringify(c)) },
      policy: (logGroupArn) =>
        pulumi
          .all([logGroupArn, table.arn, account, scope.dnsSuffix, args.kmsKeyArn])
          .apply(([logArn, tableArn, a, dnsSuffix, kmsKeyArn]) =>
            JSON.stringify(
              hookFunctionRolePolicy({
                logGroupArn: logArn,
                tableArn,
                tableActions: HOOK_FUNCTION_TABLE_ACTIONS,
                scope: a,
                dnsSuffix,
                kmsKeyArn,
              }),
            ),
          ),
      tags: args.tags,
    },
    component,
  );
}

/** The claim function, its configuration checked by its own loader once the table is known. */
function declareClaimFunction(scope: ChildScope, table: aws.dynamodb.Table) {
  const { name, component, args, checked, account } = scope;
  const prefix = `${checked.resourcePrefix}-claim`;
  const config = pulumi.all([table.name, account]).apply(([tableName, a]) =>
    loadProvisioningClaimConfig({
      templateName: checked.templateName,
      tableName,
      region: a.region,
      thingNamePattern: checked.template.thingNamePattern,
      requiredScope: checked.scope,
      ...(checked.requiredGroup !== undefined && { requiredGroup: checked.requiredGroup }),
    }),
  );
  return defineBundledFunction(
    `${name}-claim`,
    {
      resourcePrefix: prefix,
      description: "Fleet provisioning claims: CreateProvisioningClaim for a signed-in installer, bound to them and one thing name",
      roleDescription: `Execution role of the provisioning claim function ${prefix}`,
      entry: PROVISIONING_CLAIM_ENTRY,
      ...checked.claimFunction,
      logRetentionDays: checked.logRetentionDays,
      kmsKeyArn: args.kmsKeyArn,
      permissionsBoundary: args.permissionsBoundary,
      metricsNamespace: args.metricsNamespace,
      environment: { [PROVISIONING_CLAIM_CONFIG_ENV]: config.apply((c) => JSON.stringify(c)) },
      policy: (logGroupArn) =>
        pulumi
          .all([logGroupArn, table.arn, scope.templateArn, account, scope.dnsSuffix, args.kmsKeyArn])
          .apply(([logArn, tableArn, templateArn, a, dnsSuffix, kmsKeyArn]) =>
            JSON.stringify(
              claimFunctionRolePolicy({
                logGroupArn: logArn,
                tableArn,
                tableActions: CLAIM_FUNCTION_TABLE_ACTIONS,
                templateArn,
                scope: a,
                dnsSuffix,
                kmsKeyArn,
              }),
            ),
          ),
      tags: args.tags,
    },
    component,
  );
}

/**
 * The device policy, the provisioning role, IoT's permission to invoke the hook (this template, this account),
 * and the template itself, declared after all three: an enabled template is used at once.
 */
function declareTemplate(scope: ChildScope, hook: aws.lambda.Function, accountId: pulumi.Output<string>) {
  const { name, component, args, checked, account } = scope;
  const parent = { parent: component };
  const devicePolicy = new aws.iot.Policy(
    `${name}-device-policy`,
    {
      name: checked.template.devicePolicyName,
      policy: account.apply((a) => JSON.stringify(devicePolicyDocument(a, checked.template.topicPrefix))),
      tags: args.tags,
    },
    parent,
  );
  const provisioningRole = new aws.iam.Role(
    `${name}-provisioning-role`,
    {
      description: `Lets AWS IoT create the things, certificates and policy attachments of template ${checked.templateName}`,
      assumeRolePolicy: account.apply((a) => JSON.stringify(provisioningRoleTrustPolicy(a))),
      permissionsBoundary: args.permissionsBoundary,
      tags: args.tags,
    },
    parent,
  );
  const registration = new aws.iam.RolePolicyAttachment(
    `${name}-provisioning-registration`,
    { role: provisioningRole.name, policyArn: account.apply((a) => thingsRegistrationPolicyArn(a.partition)) },
    parent,
  );
  const hookPermission = new aws.lambda.Permission(
    `${name}-hook-invoke`,
    {
      function: hook.name,
      action: "lambda:InvokeFunction",
      principal: "iot.amazonaws.com",
      sourceArn: scope.templateArn,
      sourceAccount: accountId,
    },
    parent,
  );
  const template = new aws.iot.ProvisioningTemplate(
    `${name}-template`,
    {
      name: checked.templateName,
      description: args.description ?? `Fleet provisioning by trusted user (${checked.resourcePrefix})`,
      enabled: true,
      type: "FLEET_PROVISIONING",
      provisioningRoleArn: provisioningRole.arn,
      templateBody: checked.templateBody,
      preProvisioningHook: { targetArn: hook.arn, payloadVersion: "2020-04-01" },
      tags: args.tags,
    },
    { parent: component, dependsOn: [devicePolicy, registration, hookPermission] },
  );
  return { template, provisioningRole, devicePolicy };
}
