/**
 * IAM documents of the authorizer and the device grant, as plain functions of plain values so that tests assert on them whole.
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
  /** The customer managed key the parameters are encrypted with, when one is given: `kms:Decrypt` names it. */
  kmsKeyArn?: string;
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
 * as `PARAMETER_ARN`). The statement cannot decrypt anything else with any key. With a customer managed key
 * (`kmsKeyArn`), the statement names that key instead of `*`, under the same conditions.
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
  statements.push(
    ...readSecureStringStatements(inputs.secretParameterArns, {
      readSid: "ReadSharedSecrets",
      decryptSid: "DecryptSharedSecretsThroughSsm",
      region: inputs.region,
      dnsSuffix: inputs.dnsSuffix,
      kmsKeyArn: inputs.kmsKeyArn,
    }),
  );
  return { Version: "2012-10-17", Statement: statements };
}

/**
 * Reading exact SecureString parameters: `ssm:GetParameter` on their ARNs, and `kms:Decrypt` only through SSM in
 * this region and only with their ARNs as the `PARAMETER_ARN` encryption context (see `authorizerRolePolicy`).
 * With a customer managed key the decrypt statement names that key instead of `*`. No statements for no ARNs.
 */
export function readSecureStringStatements(
  parameterArns: string[],
  opts: { readSid: string; decryptSid: string; region: string; dnsSuffix: string; kmsKeyArn?: string },
): PolicyStatement[] {
  const arns = [...parameterArns].sort();
  if (arns.length === 0) return [];
  const resource = arns.length === 1 ? arns[0] : arns;
  return [
    { Sid: opts.readSid, Effect: "Allow", Action: "ssm:GetParameter", Resource: resource },
    {
      Sid: opts.decryptSid,
      Effect: "Allow",
      Action: "kms:Decrypt",
      Resource: opts.kmsKeyArn ?? "*",
      Condition: {
        StringEquals: {
          "kms:ViaService": `ssm.${opts.region}.${opts.dnsSuffix}`,
          "kms:EncryptionContext:PARAMETER_ARN": resource,
        },
      },
    },
  ];
}

export interface DeviceGrantPolicyInputs {
  /** ARN of the function's own log group (without a trailing `:*`). */
  logGroupArn: string;
  tableArn: string;
  /** The item actions the store performs on the table itself, e.g. `dynamodb:GetItem`. */
  tableActions: string[];
  /** Global secondary indexes the store queries, by name; each gets `dynamodb:Query` on its own ARN only. */
  queriedIndexes: string[];
  /** ARN of the SecureString parameter with the confidential clients' secrets; absent with public clients only. */
  clientSecretsParameterArn?: string;
  /** Customer managed KMS key encrypting the table (and the parameter), when one is given. */
  kmsKeyArn?: string;
  /** With `ID` in the token set: the asymmetric key the function signs ID tokens with, and how it signs. */
  idTokenSigning?: { keyArn: string; signingAlgorithm: string; messageType: string };
  region: string;
  dnsSuffix: string;
}

/**
 * Everything the device grant function may do, on exact resources:
 *
 * - write its own log group's streams;
 * - the store's item operations on the table's ARN (never `dynamodb:*`, never `Scan`, never another table), and
 *   `dynamodb:Query` on the named indexes' ARNs only;
 * - read the confidential clients' secrets parameter and decrypt it through SSM (as the authorizer reads its
 *   shared secrets);
 * - with a customer managed key on the table, use that key, and only through DynamoDB in this region
 *   (`kms:ViaService`): DynamoDB calls KMS with the caller's permissions when it needs the table key;
 * - with ID tokens, `kms:Sign` on the ID token key's ARN only, and only with the one signing algorithm and
 *   message type the function uses (`kms:SigningAlgorithm`, `kms:MessageType`): nothing else with that key.
 */
export function deviceGrantRolePolicy(inputs: DeviceGrantPolicyInputs): PolicyDocument {
  const statements: PolicyStatement[] = [
    {
      Sid: "WriteOwnLogs",
      Effect: "Allow",
      Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
      Resource: `${inputs.logGroupArn}:*`,
    },
    { Sid: "ReadWriteRequests", Effect: "Allow", Action: [...inputs.tableActions].sort(), Resource: inputs.tableArn },
  ];
  const indexArns = [...inputs.queriedIndexes].sort().map((index) => `${inputs.tableArn}/index/${index}`);
  if (indexArns.length > 0) {
    statements.push({
      Sid: "QueryIndexes",
      Effect: "Allow",
      Action: "dynamodb:Query",
      Resource: indexArns.length === 1 ? indexArns[0] : indexArns,
    });
  }
  if (inputs.kmsKeyArn !== undefined) {
    statements.push({
      Sid: "UseTableKeyThroughDynamoDb",
      Effect: "Allow",
      Action: ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
      Resource: inputs.kmsKeyArn,
      Condition: { StringEquals: { "kms:ViaService": `dynamodb.${inputs.region}.${inputs.dnsSuffix}` } },
    });
  }
  if (inputs.idTokenSigning !== undefined) {
    statements.push({
      Sid: "SignIdTokens",
      Effect: "Allow",
      Action: "kms:Sign",
      Resource: inputs.idTokenSigning.keyArn,
      Condition: {
        StringEquals: {
          "kms:SigningAlgorithm": inputs.idTokenSigning.signingAlgorithm,
          "kms:MessageType": inputs.idTokenSigning.messageType,
        },
      },
    });
  }
  statements.push(
    ...readSecureStringStatements(inputs.clientSecretsParameterArn === undefined ? [] : [inputs.clientSecretsParameterArn], {
      readSid: "ReadClientSecrets",
      decryptSid: "DecryptClientSecretsThroughSsm",
      region: inputs.region,
      dnsSuffix: inputs.dnsSuffix,
      kmsKeyArn: inputs.kmsKeyArn,
    }),
  );
  return { Version: "2012-10-17", Statement: statements };
}

/** The ARN of an SSM parameter from its name (`/a/b` and `a` alike). */
export function ssmParameterArn(name: string, env: { partition: string; region: string; accountId: string }): string {
  return `arn:${env.partition}:ssm:${env.region}:${env.accountId}:parameter/${name.replace(/^\//, "")}`;
}
