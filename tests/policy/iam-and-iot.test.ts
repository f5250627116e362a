/** iam-no-wildcards, iot-policy-resources-scoped and authorizer-issuer-audience, passing and failing, with the documented exceptions. */
import { checkIamPolicy, checkIamRole, checkPolicyAttachment } from "../../policy/rules/iam-wildcards";
import { checkAuthorizerAudiences, checkAuthorizerGrants, checkIotPolicy, wildcardProblem } from "../../policy/rules/iot-resources";
import { policyDocument, reported } from "./support";

const LOGS = {
  Sid: "WriteOwnLogs",
  Effect: "Allow",
  Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
  Resource: "arn:aws:logs:eu-west-1:1:log-group:/x:*",
};
const DECRYPT_VIA_SSM = {
  Sid: "Decrypt",
  Effect: "Allow",
  Action: "kms:Decrypt",
  Resource: "*",
  Condition: {
    StringEquals: {
      "kms:ViaService": "ssm.eu-west-1.amazonaws.com",
      "kms:EncryptionContext:PARAMETER_ARN": "arn:aws:ssm:eu-west-1:1:parameter/p",
    },
  },
};

describe("iam-no-wildcards", () => {
  it("passes exact actions on named resources, and the documented kms:Decrypt-through-SSM exception", () => {
    expect(reported(checkIamPolicy, { policy: policyDocument(LOGS, DECRYPT_VIA_SSM) })).toEqual([]);
  });

  it('refuses wildcard actions, NotAction, NotResource and Resource "*" outside the exception', () => {
    const policy = policyDocument(
      { Effect: "Allow", Action: ["dynamodb:*", "s3:Get*"], Resource: "arn:aws:dynamodb:eu-west-1:1:table/t" },
      { Sid: "Everything", Effect: "Allow", NotAction: "iam:*", Resource: "*" },
      { Effect: "Allow", Action: "sqs:SendMessage", NotResource: "arn:aws:sqs:eu-west-1:1:q" },
      { Effect: "Allow", Action: "kms:Decrypt", Resource: "*" },
      { Effect: "Deny", Action: "*", Resource: "*" },
    );
    expect(reported(checkIamPolicy, { policy })).toEqual([
      'policy, statement 1 allows the wildcard action "dynamodb:*": list the actions it needs',
      'policy, statement 1 allows the wildcard action "s3:Get*": list the actions it needs',
      "policy, statement Everything allows NotAction (every action but iam:*): list the actions instead",
      'policy, statement Everything allows iam:* on Resource "*": name the resources, or see the documented exceptions',
      "policy, statement 3 allows NotResource: name the resources instead",
      'policy, statement 4 allows kms:Decrypt on Resource "*": name the resources, or see the documented exceptions',
    ]);
    expect(reported(checkIamPolicy, { policy: "not json" })).toEqual(["the policy is not a JSON policy document with a Statement"]);
  });

  it("checks a role's trust policy, inline policies and managed policies", () => {
    const trust = policyDocument({ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" });
    expect(reported(checkIamRole, { assumeRolePolicy: trust })).toEqual([]);
    const open = policyDocument({ Effect: "Allow", Principal: { AWS: "*" }, Action: "sts:AssumeRole" });
    expect(
      reported(checkIamRole, {
        assumeRolePolicy: open,
        inlinePolicies: [{ name: "extra", policy: policyDocument({ Effect: "Allow", Action: "*", Resource: "*" }) }],
        managedPolicyArns: ["arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::aws:policy/service-role/AWSIoTThingsRegistration"],
      }),
    ).toEqual([
      'trust policy, statement 1 lets any principal ("*") in',
      'inline policy "extra", statement 1 allows the wildcard action "*": list the actions it needs',
      'inline policy "extra", statement 1 allows * on Resource "*": name the resources, or see the documented exceptions',
      expect.stringMatching(/^the AWS managed policy "AdministratorAccess" is not reviewed by this pack/),
    ]);
  });

  it("lets a role have the documented AWS managed policy, and the stack's own customer managed policies", () => {
    expect(reported(checkPolicyAttachment, { policyArn: "arn:aws:iam::aws:policy/service-role/AWSIoTThingsRegistration" })).toEqual([]);
    expect(reported(checkPolicyAttachment, { policyArn: "arn:aws-cn:iam::aws:policy/service-role/AWSIoTThingsRegistration" })).toEqual([]);
    expect(reported(checkPolicyAttachment, { policyArn: "arn:aws:iam::123456789012:policy/ours" })).toEqual([]);
    expect(reported(checkPolicyAttachment, { policyArn: "arn:aws:iam::aws:policy/AWSIoTFullAccess" })).toHaveLength(1);
  });
});

describe("iot-policy-resources-scoped", () => {
  const arn = (rest: string) => `arn:aws:iot:eu-west-1:123456789012:${rest}`;
  const own = "${iot:Connection.Thing.ThingName}";

  it("passes a device policy whose wildcards are below the thing's own name", () => {
    const policy = policyDocument(
      { Effect: "Allow", Action: "iot:Connect", Resource: arn(`client/${own}`) },
      { Effect: "Allow", Action: ["iot:Publish", "iot:Receive"], Resource: [arn(`topic/devices/${own}`), arn(`topic/devices/${own}/*`)] },
      { Effect: "Allow", Action: "iot:Subscribe", Resource: arn("topicfilter/devices/${iot:ClientId}/*") },
      { Effect: "Allow", Action: "iot:Publish", Resource: arn("topic/literal/${*}") },
      { Effect: "Deny", Action: "iot:*", Resource: "*" },
    );
    expect(reported(checkIotPolicy, { policy })).toEqual([]);
  });

  it('refuses "*", wildcards before the device\'s own name, wildcard regions or accounts, and NotResource', () => {
    const policy = policyDocument(
      { Effect: "Allow", Action: "iot:Connect", Resource: "*" },
      { Effect: "Allow", Action: "iot:Publish", Resource: [arn("topic/devices/*"), arn(`topic/*/${own}`), arn("topic/a?c")] },
      { Effect: "Allow", Action: "iot:Subscribe", Resource: `arn:aws:iot:*:*:topicfilter/devices/${own}` },
      { Effect: "Allow", Action: "iot:Receive", NotResource: arn("topic/x") },
    );
    expect(reported(checkIotPolicy, { policy })).toEqual([
      'statement 1 allows iot:Connect on "*": name the client, topic or topic filter',
      expect.stringMatching(/^statement 2: resource ".*topic\/devices\/\*" has a wildcard before any of/),
      expect.stringMatching(/^statement 2: resource ".*topic\/\*\/\$\{iot:Connection.Thing.ThingName\}" has a wildcard/),
      expect.stringMatching(/^statement 2: resource ".*topic\/a\?c" has a wildcard/),
      expect.stringMatching(/^statement 3: resource .* has a wildcard region or account$/),
      "statement 4 allows NotResource: name the resources instead",
    ]);
  });

  it("checks the authorizer's grants in its AUTHORIZER_CONFIG, and leaves the defaults and other functions alone", () => {
    const fn = (config: unknown) => ({ environment: { variables: { AUTHORIZER_CONFIG: JSON.stringify(config) } } });
    const grants = [
      { actions: ["iot:Connect"], resources: ["client/{principal}", "client/{principal}-*"] },
      { actions: ["iot:Publish"], resources: ["topic/event/{principal}/*"] },
    ];
    expect(reported(checkAuthorizerGrants, fn({ issuers: [], grants }))).toEqual([]);
    expect(reported(checkAuthorizerGrants, fn({ issuers: [] }))).toEqual([]);
    expect(reported(checkAuthorizerGrants, { environment: { variables: { OTHER: "x" } } })).toEqual([]);
    const wide = [{ actions: ["iot:Subscribe"], resources: ["topicfilter/event/*", "*", "topicfilter/{claims.team}/*"] }];
    expect(reported(checkAuthorizerGrants, fn({ grants: wide }))).toEqual([
      expect.stringMatching(/^grants\[0\]: resource "topicfilter\/event\/\*" has a wildcard before any of \{principal\}/),
      'grants[0] allows "*": name the client, topic or topic filter',
      expect.stringMatching(/^grants\[0\]: resource "topicfilter\/\{claims.team\}\/\*" has a wildcard/),
    ]);
    expect(reported(checkAuthorizerGrants, { environment: { variables: { AUTHORIZER_CONFIG: "{" } } })).toEqual([
      "AUTHORIZER_CONFIG is not a JSON object",
    ]);
  });

  it("counts IAM's escaped characters as literal", () => {
    expect(wildcardProblem("topic/a/${*}/${?}", ["{principal}"])).toBeUndefined();
    expect(wildcardProblem("client/{principal}*", ["{principal}"])).toBeUndefined();
  });
});

describe("authorizer-issuer-audience", () => {
  const fn = (config: unknown) => ({ environment: { variables: { AUTHORIZER_CONFIG: JSON.stringify(config) } } });

  it("passes issuers that name their audiences or client ids, and functions that are not the authorizer", () => {
    const issuers = [
      { issuer: "https://openam.example.com/oauth2", algorithms: ["HS256"], audiences: ["deviceagent"] },
      { issuer: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_x", algorithms: ["RS256"], clientIds: ["abc"], tokenUse: "access" },
    ];
    expect(reported(checkAuthorizerAudiences, fn({ issuers }))).toEqual([]);
    expect(reported(checkAuthorizerAudiences, { environment: { variables: { OTHER: "x" } } })).toEqual([]);
    expect(reported(checkAuthorizerAudiences, { environment: { variables: { AUTHORIZER_CONFIG: "{" } } })).toEqual([]);
  });

  it("reports an issuer that accepts tokens issued to any application", () => {
    const issuers = [
      { issuer: "https://idp.example.com", algorithms: ["RS256"], tokenUse: "access" },
      { issuer: "https://other.example.com", algorithms: ["RS256"], audiences: [], clientIds: [] },
      { issuer: "https://fine.example.com", algorithms: ["RS256"], audiences: ["iot"] },
    ];
    expect(reported(checkAuthorizerAudiences, fn({ issuers }))).toEqual([
      'issuers[0] ("https://idp.example.com") accepts tokens its IdP issued to any application: set audiences or clientIds',
      'issuers[1] ("https://other.example.com") accepts tokens its IdP issued to any application: set audiences or clientIds',
    ]);
  });
});
