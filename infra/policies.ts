/**
 * IAM documents of the authorizer, as plain functions of plain values so that tests assert on them whole.
 */

export interface PolicyStatement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Principal?: Record<string, string | string[]>;
  Action: string | string[];
  Resource?: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: PolicyStatement[];
}

/**
 * Who may assume the function's role: the Lambda service, nothing else.
 *
 * There is no `aws:SourceAccount` / `aws:SourceArn` condition: Lambda does not document setting either key
 * when it assumes an execution role, and a `StringEquals` on a key that is absent denies, which would leave
 * the function unable to start. The role trusts only `lambda.amazonaws.com`, and only principals allowed
 * `iam:PassRole` on it can attach it to a function.
 */
export function lambdaAssumeRolePolicy(): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }],
  };
}

export interface AuthorizerPolicyInputs {
  /** ARN of the function's own log group (without a trailing `:*`). */
  logGroupArn: string;
  /** ARNs of the SSM SecureString parameters holding HMAC shared secrets; empty when no issuer uses HMAC. */
  secretParameterArns: string[];
  region: string;
  /** DNS suffix of the partition (`amazonaws.com`, `amazonaws.com.cn`). */
  dnsSuffix: string;
}

/**
 * Everything the authorizer function may do, on exact resources:
 *
 * - write its own log group's streams (`<logGroupArn>:*` matches the group's log streams);
 * - when an HMAC issuer is configured, read exactly its SecureString parameters, and decrypt them.
 *
 * SecureString parameters encrypted with the AWS managed key `alias/aws/ssm` are decrypted by KMS on the
 * function's behalf; that key's ARN differs per account and region and cannot be known before it exists, so
 * `kms:Decrypt` names `Resource: "*"` and is narrowed by conditions instead: only through SSM in this region
 * (`kms:ViaService`), and only for these parameters (SSM puts the parameter's ARN into the encryption context
 * as `PARAMETER_ARN`). The statement cannot decrypt anything else with any key.
 */
export function authorizerRolePolicy(inputs: AuthorizerPolicyInputs): PolicyDocument {
  const statements: PolicyStatement[] = [
    {
      Sid: "WriteOwnLogs",
      Effect: "Allow",
      Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
      Resource: `${inputs.logGroupArn}:*`,
    },
  ];
  const arns = [...inputs.secretParameterArns].sort();
  if (arns.length > 0) {
    statements.push(
      { Sid: "ReadSharedSecrets", Effect: "Allow", Action: "ssm:GetParameter", Resource: arns.length === 1 ? arns[0] : arns },
      {
        Sid: "DecryptSharedSecretsThroughSsm",
        Effect: "Allow",
        Action: "kms:Decrypt",
        Resource: "*",
        Condition: {
          StringEquals: {
            "kms:ViaService": `ssm.${inputs.region}.${inputs.dnsSuffix}`,
            "kms:EncryptionContext:PARAMETER_ARN": arns.length === 1 ? arns[0] : arns,
          },
        },
      },
    );
  }
  return { Version: "2012-10-17", Statement: statements };
}

/** The ARN of an SSM parameter from its name (`/a/b` and `a` alike). */
export function ssmParameterArn(name: string, env: { partition: string; region: string; accountId: string }): string {
  return `arn:${env.partition}:ssm:${env.region}:${env.accountId}:parameter/${name.replace(/^\//, "")}`;
}
