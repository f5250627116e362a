/**
 * The IAM and IoT policy documents of `FleetProvisioning`, as plain functions of plain values so that tests
 * assert on them whole. Why each statement is as narrow as it is: docs/fleet-provisioning.md#permissions.
 */
import { type PolicyDocument, type PolicyStatement } from "./policies";

/** Where the stack is deployed, resolved. */
export interface AccountScope {
  partition: string;
  region: string;
  accountId: string;
}

/** The AWS managed policy IoT's own examples attach to a provisioning role (note the `service-role/` path). */
export function thingsRegistrationPolicyArn(partition: string): string {
  return `arn:${partition}:iam::aws:policy/service-role/AWSIoTThingsRegistration`;
}

/** `arn:<partition>:iot:<region>:<account>:provisioningtemplate/<name>`: known before the template exists. */
export function provisioningTemplateArn(scope: AccountScope, templateName: string): string {
  return `arn:${scope.partition}:iot:${scope.region}:${scope.accountId}:provisioningtemplate/${templateName}`;
}

/**
 * Who may assume the provisioning role: IoT, for this account, from an IoT resource of this account and
 * region. IoT's confused-deputy guidance gives the `aws:SourceArn` form `arn:aws:iot:<region>:<account>:*`; it
 * does not document which resource ARN it presents while provisioning, so the role is not narrowed to the
 * template's ARN (a condition on a key IoT sets otherwise would break provisioning, not secure it).
 */
export function provisioningRoleTrustPolicy(scope: AccountScope): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Service: "iot.amazonaws.com" },
        Action: "sts:AssumeRole",
        Condition: {
          StringEquals: { "aws:SourceAccount": scope.accountId },
          ArnLike: { "aws:SourceArn": `arn:${scope.partition}:iot:${scope.region}:${scope.accountId}:*` },
        },
      },
    ],
  };
}

function writeOwnLogs(logGroupArn: string): PolicyStatement {
  return { Sid: "WriteOwnLogs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `${logGroupArn}:*` };
}

/** With a customer managed key on the table: that key, only through DynamoDB in this region. */
function tableKeyStatements(kmsKeyArn: string | undefined, region: string, dnsSuffix: string): PolicyStatement[] {
  if (kmsKeyArn === undefined) return [];
  return [
    {
      Sid: "UseTableKeyThroughDynamoDb",
      Effect: "Allow",
      Action: ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
      Resource: kmsKeyArn,
      Condition: { StringEquals: { "kms:ViaService": `dynamodb.${region}.${dnsSuffix}` } },
    },
  ];
}

export interface ProvisioningFunctionPolicyInputs {
  logGroupArn: string;
  tableArn: string;
  /** The item operations the function's store performs, e.g. `dynamodb:PutItem`. */
  tableActions: readonly string[];
  templateArn: string;
  scope: AccountScope;
  dnsSuffix: string;
  kmsKeyArn?: string;
}

/** The claim function: its logs, `CreateProvisioningClaim` for this template only, and its store's item writes. */
export function claimFunctionRolePolicy(inputs: ProvisioningFunctionPolicyInputs): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      writeOwnLogs(inputs.logGroupArn),
      { Sid: "CreateClaimsForThisTemplate", Effect: "Allow", Action: "iot:CreateProvisioningClaim", Resource: inputs.templateArn },
      { Sid: "RecordBindings", Effect: "Allow", Action: [...inputs.tableActions].sort(), Resource: inputs.tableArn },
      ...tableKeyStatements(inputs.kmsKeyArn, inputs.scope.region, inputs.dnsSuffix),
    ],
  };
}

/**
 * The hook: its logs, its store's item operations, and `DescribeThing` on things of this account and region
 * (the name it asks about is the device's, so no narrower resource exists).
 */
export function hookFunctionRolePolicy(inputs: Omit<ProvisioningFunctionPolicyInputs, "templateArn">): PolicyDocument {
  const { partition, region, accountId } = inputs.scope;
  return {
    Version: "2012-10-17",
    Statement: [
      writeOwnLogs(inputs.logGroupArn),
      { Sid: "ReadAndConsumeBindings", Effect: "Allow", Action: [...inputs.tableActions].sort(), Resource: inputs.tableArn },
      {
        Sid: "LookUpThingNames",
        Effect: "Allow",
        Action: "iot:DescribeThing",
        Resource: `arn:${partition}:iot:${region}:${accountId}:thing/*`,
      },
      ...tableKeyStatements(inputs.kmsKeyArn, region, inputs.dnsSuffix),
    ],
  };
}

/** Who may assume the identity pool's installer role: Cognito, for authenticated identities of this pool only. */
export function installerRoleTrustPolicy(identityPoolId: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Federated: "cognito-identity.amazonaws.com" },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: {
          StringEquals: { "cognito-identity.amazonaws.com:aud": identityPoolId },
          "ForAnyValue:StringLike": { "cognito-identity.amazonaws.com:amr": "authenticated" },
        },
      },
    ],
  };
}

/** The installer role's one permission: `CreateProvisioningClaim` for this template. */
export function installerRolePolicy(templateArn: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [{ Sid: "CreateClaimsForThisTemplate", Effect: "Allow", Action: "iot:CreateProvisioningClaim", Resource: templateArn }],
  };
}

/**
 * The IoT policy every provisioned device gets: connect only as its own thing (client id = thing name, and
 * the certificate attached to that thing), publish, receive and subscribe only in `<topicPrefix>/<thing name>`
 * and below. `${iot:Connection.Thing.ThingName}` is resolved by IoT at each request.
 */
export function devicePolicyDocument(scope: AccountScope, topicPrefix: string): PolicyDocument {
  const arn = (kind: string, rest: string) => `arn:${scope.partition}:iot:${scope.region}:${scope.accountId}:${kind}/${rest}`;
  const own = `${topicPrefix}/\${iot:Connection.Thing.ThingName}`;
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Action: "iot:Connect",
        Resource: arn("client", "${iot:Connection.Thing.ThingName}"),
        Condition: { Bool: { "iot:Connection.Thing.IsAttached": "true" } },
      },
      { Effect: "Allow", Action: ["iot:Publish", "iot:Receive"], Resource: [arn("topic", own), arn("topic", `${own}/*`)] },
      { Effect: "Allow", Action: "iot:Subscribe", Resource: [arn("topicfilter", own), arn("topicfilter", `${own}/*`)] },
    ],
  };
}
