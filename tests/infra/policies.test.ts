import { authorizerRolePolicy, lambdaAssumeRolePolicy, ssmParameterArn } from "../../infra/policies";

const env = { partition: "aws-cn", region: "cn-north-1", accountId: "123456789012" };

describe("authorizerRolePolicy", () => {
  it("lists several secret parameters in a stable order, in both the read and the decrypt statement", () => {
    const arns = [ssmParameterArn("/b/secret", env), ssmParameterArn("a", env)];
    const policy = authorizerRolePolicy({
      logGroupArn: "arn:aws-cn:logs:cn-north-1:123456789012:log-group:/aws/lambda/x",
      secretParameterArns: arns,
      region: "cn-north-1",
      dnsSuffix: "amazonaws.com.cn",
    });
    const sorted = ["arn:aws-cn:ssm:cn-north-1:123456789012:parameter/a", "arn:aws-cn:ssm:cn-north-1:123456789012:parameter/b/secret"];
    expect(policy.Statement.slice(1)).toEqual([
      { Sid: "ReadSharedSecrets", Effect: "Allow", Action: "ssm:GetParameter", Resource: sorted },
      {
        Sid: "DecryptSharedSecretsThroughSsm",
        Effect: "Allow",
        Action: "kms:Decrypt",
        Resource: "*",
        Condition: {
          StringEquals: { "kms:ViaService": "ssm.cn-north-1.amazonaws.com.cn", "kms:EncryptionContext:PARAMETER_ARN": sorted },
        },
      },
    ]);
  });

  it("never grants a wildcard resource without a condition", () => {
    const policy = authorizerRolePolicy({
      logGroupArn: "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/x",
      secretParameterArns: ["arn:aws:ssm:eu-west-1:123456789012:parameter/p"],
      region: "eu-west-1",
      dnsSuffix: "amazonaws.com",
    });
    for (const statement of policy.Statement) {
      expect(statement.Effect).toBe("Allow");
      const resources = ([] as string[]).concat(statement.Resource ?? []);
      if (resources.includes("*")) expect(statement.Condition).toBeDefined();
      for (const action of ([] as string[]).concat(statement.Action)) expect(action).not.toContain("*");
    }
  });
});

describe("lambdaAssumeRolePolicy", () => {
  it("trusts the Lambda service only", () => {
    expect(lambdaAssumeRolePolicy().Statement).toEqual([
      { Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" },
    ]);
  });
});
