/**
 * The pack's policies: each a name, what it enforces, its enforcement level (mandatory for security rules, advisory
 * where a team may reasonably differ), the resource types it reads, and a pure check in rules/. docs/policy-pack.md
 * has the same table, and a test keeps the two equal. `POLICIES` is what `new PolicyPack` takes; `RULES` is what
 * tests, docs and the offline plan read.
 */
import {
  type EnforcementLevel,
  type Policies,
  type PolicyConfigSchema,
  type ReportViolation,
  type ResourceValidationPolicy,
  type StackValidationPolicy,
} from "@pulumi/policy";
import { checkStageAccessLogs, checkStageThrottling } from "./rules/api-stages";
import { checkIdentityPool, checkPasswordPolicy, PASSWORD_POLICY_DEFAULTS } from "./rules/cognito";
import { checkDeviceCodes, DEVICE_CODES_DEFAULTS } from "./rules/device-codes";
import { checkTableEncryption, checkTablePointInTimeRecovery, checkTableTtl } from "./rules/dynamodb";
import { checkIamPolicy, checkIamRole, checkPolicyAttachment } from "./rules/iam-wildcards";
import { checkAuthorizerAudiences, checkAuthorizerGrants, checkIotPolicy } from "./rules/iot-resources";
import { checkLambdaPermission } from "./rules/lambda-permissions";
import { checkFunctionLogGroups, checkLogRetention, LOG_RETENTION_DEFAULTS, type StackResource } from "./rules/logs";
import { checkTemplateEnabled, checkTemplateHook } from "./rules/provisioning-template";
import { checkAuthorizerSigning, checkSigningKeySize, TOKEN_SIGNING_DEFAULTS } from "./rules/token-signing";
import { type Props, type Report } from "./rules/values";

export const PACK_NAME = "iot-enterprise-auth";

/** One check for each resource type it reads; the config is the policy's, with its schema's defaults filled in. */
type Check = (props: Props, report: Report, config: never) => void;

export interface ResourceRule {
  name: string;
  description: string;
  enforcementLevel: EnforcementLevel;
  checks: Readonly<Record<string, Check>>;
  /** Numbers a team may change with `--policy-pack-config`, and their defaults. */
  defaults?: Readonly<Record<string, number>>;
}

export interface StackRule {
  name: string;
  description: string;
  enforcementLevel: EnforcementLevel;
  /** The resource types it reads (for the documentation). */
  reads: readonly string[];
  check: (resources: readonly StackResource[], report: (message: string, resource: StackResource) => void) => void;
}

const T = {
  authorizer: "aws:iot/authorizer:Authorizer",
  privateKey: "tls:index/privateKey:PrivateKey",
  permission: "aws:lambda/permission:Permission",
  fn: "aws:lambda/function:Function",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  policy: "aws:iam/policy:Policy",
  userPolicy: "aws:iam/userPolicy:UserPolicy",
  groupPolicy: "aws:iam/groupPolicy:GroupPolicy",
  roleAttachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  iotPolicy: "aws:iot/policy:Policy",
  table: "aws:dynamodb/table:Table",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  stage: "aws:apigatewayv2/stage:Stage",
  userPool: "aws:cognito/userPool:UserPool",
  identityPool: "aws:cognito/identityPool:IdentityPool",
  template: "aws:iot/provisioningTemplate:ProvisioningTemplate",
} as const;

const iamPolicy: Check = checkIamPolicy;

export const RESOURCE_RULES: readonly ResourceRule[] = [
  {
    name: "iot-token-signing",
    description: "IoT authorizers check token signatures, with RSA keys of at least 2048 bits.",
    enforcementLevel: "mandatory",
    checks: { [T.authorizer]: checkAuthorizerSigning, [T.privateKey]: checkSigningKeySize },
    defaults: { ...TOKEN_SIGNING_DEFAULTS },
  },
  {
    name: "lambda-permission-source",
    description: "Lambda permissions name one service principal, the source ARN and the source account.",
    enforcementLevel: "mandatory",
    checks: { [T.permission]: checkLambdaPermission },
  },
  {
    name: "iam-no-wildcards",
    description: 'IAM policies allow no wildcard actions, no Resource "*" and no AWS managed policies beyond the documented exceptions.',
    enforcementLevel: "mandatory",
    checks: {
      [T.role]: checkIamRole,
      [T.rolePolicy]: iamPolicy,
      [T.policy]: iamPolicy,
      [T.userPolicy]: iamPolicy,
      [T.groupPolicy]: iamPolicy,
      [T.roleAttachment]: checkPolicyAttachment,
    },
  },
  {
    name: "iot-policy-resources-scoped",
    description: "IoT policies and the authorizer's grants use wildcards only below a device's own client id or principal.",
    enforcementLevel: "mandatory",
    checks: { [T.iotPolicy]: checkIotPolicy, [T.fn]: checkAuthorizerGrants },
  },
  {
    name: "authorizer-issuer-audience",
    description: "Every issuer the authorizer trusts names the audiences or client ids its tokens must carry.",
    enforcementLevel: "advisory",
    checks: { [T.fn]: checkAuthorizerAudiences },
  },
  {
    name: "dynamodb-encryption",
    description: "DynamoDB tables are encrypted with a KMS key (AWS managed or customer managed).",
    enforcementLevel: "mandatory",
    checks: { [T.table]: checkTableEncryption },
  },
  {
    name: "dynamodb-ttl",
    description: "DynamoDB tables remove expired items with time to live.",
    enforcementLevel: "mandatory",
    checks: { [T.table]: checkTableTtl },
  },
  {
    name: "dynamodb-point-in-time-recovery",
    description: "DynamoDB tables have point-in-time recovery.",
    enforcementLevel: "advisory",
    checks: { [T.table]: checkTablePointInTimeRecovery },
  },
  {
    name: "log-retention",
    description: "Log groups have a retention period, at most maximumDays.",
    enforcementLevel: "advisory",
    checks: { [T.logGroup]: checkLogRetention },
    defaults: { ...LOG_RETENTION_DEFAULTS },
  },
  {
    name: "api-stage-throttling",
    description: "API Gateway HTTP API stages have a burst and a rate limit.",
    enforcementLevel: "mandatory",
    checks: { [T.stage]: checkStageThrottling },
  },
  {
    name: "api-stage-access-logs",
    description: "API Gateway HTTP API stages write access logs.",
    enforcementLevel: "mandatory",
    checks: { [T.stage]: checkStageAccessLogs },
  },
  {
    name: "cognito-password-policy",
    description: "User pools require passwords of at least minimumLength characters and expire temporary passwords.",
    enforcementLevel: "mandatory",
    checks: { [T.userPool]: checkPasswordPolicy },
    defaults: { ...PASSWORD_POLICY_DEFAULTS },
  },
  {
    name: "cognito-no-unauthenticated-identities",
    description: "Identity pools give no credentials to unauthenticated identities.",
    enforcementLevel: "mandatory",
    checks: { [T.identityPool]: checkIdentityPool },
  },
  {
    name: "device-code-strength",
    description: "The device grant's codes carry enough entropy and expire within maximumCodeExpirySeconds.",
    enforcementLevel: "mandatory",
    checks: { [T.fn]: checkDeviceCodes },
    defaults: { ...DEVICE_CODES_DEFAULTS },
  },
  {
    name: "provisioning-template-hook",
    description: "Enabled fleet provisioning templates call a pre-provisioning hook.",
    enforcementLevel: "mandatory",
    checks: { [T.template]: checkTemplateHook },
  },
  {
    name: "provisioning-template-enabled",
    description: "Fleet provisioning templates are enabled.",
    enforcementLevel: "advisory",
    checks: { [T.template]: checkTemplateEnabled },
  },
];

export const STACK_RULES: readonly StackRule[] = [
  {
    name: "lambda-log-groups-declared",
    description: "Every Lambda function's log group is declared in the stack, so it has a retention period.",
    enforcementLevel: "advisory",
    reads: [T.fn, T.logGroup],
    check: checkFunctionLogGroups,
  },
];

function configSchema(defaults: Readonly<Record<string, number>> | undefined): PolicyConfigSchema | undefined {
  if (defaults === undefined) return undefined;
  return { properties: Object.fromEntries(Object.entries(defaults).map(([k, v]) => [k, { type: "integer", default: v, minimum: 0 }])) };
}

function resourcePolicy(rule: ResourceRule): ResourceValidationPolicy {
  return {
    name: rule.name,
    description: rule.description,
    enforcementLevel: rule.enforcementLevel,
    configSchema: configSchema(rule.defaults),
    validateResource: (args, reportViolation: ReportViolation) => {
      const check = rule.checks[args.type];
      if (check === undefined) return;
      const config = { ...rule.defaults, ...args.getConfig<Record<string, number>>() };
      (check as (props: Props, report: Report, config: Record<string, number>) => void)(args.props, (m) => reportViolation(m), config);
    },
  };
}

function stackPolicy(rule: StackRule): StackValidationPolicy {
  return {
    name: rule.name,
    description: rule.description,
    enforcementLevel: rule.enforcementLevel,
    validateStack: (args, reportViolation: ReportViolation) => {
      const urns = new Map<StackResource, string>();
      const resources = args.resources.map((r) => {
        const resource = { type: r.type, name: r.name, props: r.props };
        urns.set(resource, r.urn);
        return resource;
      });
      rule.check(resources, (message, resource) => reportViolation(message, urns.get(resource)));
    },
  };
}

export const POLICIES: Policies = [...RESOURCE_RULES.map(resourcePolicy), ...STACK_RULES.map(stackPolicy)];
