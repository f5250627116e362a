/**
 * dynamodb-*, log-retention, lambda-log-groups-declared, api-stage-*, cognito-*, device-code-strength and
 * provisioning-template-*, passing and failing.
 */
import { checkStageAccessLogs, checkStageThrottling } from "../../policy/rules/api-stages";
import { checkIdentityPool, checkPasswordPolicy } from "../../policy/rules/cognito";
import { checkDeviceCodes, codeBits, DEVICE_CODES_DEFAULTS } from "../../policy/rules/device-codes";
import { checkTableEncryption, checkTablePointInTimeRecovery, checkTableTtl } from "../../policy/rules/dynamodb";
import { checkFunctionLogGroups, checkLogRetention, type StackResource } from "../../policy/rules/logs";
import { checkTemplateEnabled, checkTemplateHook } from "../../policy/rules/provisioning-template";
import { reported } from "./support";

describe("dynamodb-encryption, dynamodb-ttl, dynamodb-point-in-time-recovery", () => {
  const table = {
    name: "t",
    serverSideEncryption: { enabled: true },
    ttl: { attributeName: "ttl", enabled: true },
    pointInTimeRecovery: { enabled: true },
  };
  it("pass a table encrypted with a KMS key, with TTL and point-in-time recovery", () => {
    for (const check of [checkTableEncryption, checkTableTtl, checkTablePointInTimeRecovery]) expect(reported(check, table)).toEqual([]);
    expect(
      reported(checkTableEncryption, { ...table, serverSideEncryption: { enabled: true, kmsKeyArn: "arn:aws:kms:eu-west-1:1:key/k" } }),
    ).toEqual([]);
  });
  it("refuse a table under an AWS owned key, without TTL or an attribute, without point-in-time recovery", () => {
    expect(reported(checkTableEncryption, { name: "t" })).toEqual([expect.stringMatching(/^serverSideEncryption is not enabled/)]);
    expect(reported(checkTableTtl, { ...table, ttl: { enabled: false, attributeName: "ttl" } })).toHaveLength(1);
    expect(reported(checkTableTtl, { ...table, ttl: { enabled: true } })).toHaveLength(1);
    expect(reported(checkTablePointInTimeRecovery, { ...table, pointInTimeRecovery: { enabled: false } })).toEqual([
      expect.stringMatching(/^point-in-time recovery is off/),
    ]);
  });
});

describe("log-retention and lambda-log-groups-declared", () => {
  it("passes a retention within the maximum, and refuses none, never and more than the maximum", () => {
    expect(reported(checkLogRetention, { name: "/aws/lambda/f", retentionInDays: 30 })).toEqual([]);
    expect(reported(checkLogRetention, { name: "/aws/lambda/f" })).toEqual([
      "the log group has no retention period: its events would be kept for ever",
    ]);
    expect(reported(checkLogRetention, { name: "/aws/lambda/f", retentionInDays: 0 })).toHaveLength(1);
    expect(reported(checkLogRetention, { retentionInDays: 3653 })).toEqual([
      "the log group keeps events 3653 days; at most 365 are expected",
    ]);
    expect(reported(checkLogRetention, { retentionInDays: 3653 }, { maximumDays: 3653 })).toEqual([]);
  });

  it("finds a function whose log group the stack does not declare, by loggingConfig or by Lambda's default name", () => {
    const resources: StackResource[] = [
      { type: "aws:cloudwatch/logGroup:LogGroup", name: "a-logs", props: { name: "/custom/a" } },
      { type: "aws:lambda/function:Function", name: "a", props: { name: "a", loggingConfig: { logGroup: "/custom/a" } } },
      { type: "aws:cloudwatch/logGroup:LogGroup", name: "b-logs", props: { name: "/aws/lambda/b" } },
      { type: "aws:lambda/function:Function", name: "b", props: { name: "b" } },
      { type: "aws:lambda/function:Function", name: "c", props: { name: "c-function" } },
    ];
    const found: string[] = [];
    checkFunctionLogGroups(resources, (message, resource) => found.push(`${resource.name}: ${message}`));
    expect(found).toEqual([
      "c: function c logs to /aws/lambda/c-function, which this stack does not declare: Lambda would create it without retention",
    ]);
  });
});

describe("api-stage-throttling and api-stage-access-logs", () => {
  const stage = {
    name: "$default",
    defaultRouteSettings: { throttlingBurstLimit: 100, throttlingRateLimit: 50 },
    accessLogSettings: {
      destinationArn: "arn:aws:logs:eu-west-1:1:log-group:/aws/apigateway/x",
      format: '{"requestId":"$context.requestId"}',
    },
  };
  it("pass a throttled, access-logged stage", () => {
    expect(reported(checkStageThrottling, stage)).toEqual([]);
    expect(reported(checkStageAccessLogs, stage)).toEqual([]);
  });
  it("refuse a stage without limits or access logs", () => {
    expect(reported(checkStageThrottling, { name: "$default" })).toEqual([
      "the stage has no throttlingBurstLimit or throttlingRateLimit in defaultRouteSettings: only the account's limits apply",
    ]);
    expect(reported(checkStageThrottling, { defaultRouteSettings: { throttlingBurstLimit: 10, throttlingRateLimit: 0 } })).toEqual([
      "the stage has no throttlingRateLimit in defaultRouteSettings: only the account's limits apply",
    ]);
    expect(reported(checkStageAccessLogs, { ...stage, accessLogSettings: { destinationArn: "arn:x" } })).toHaveLength(1);
  });
});

describe("cognito-password-policy and cognito-no-unauthenticated-identities", () => {
  it("pass a 12-character minimum with short-lived temporary passwords, and a pool without guests", () => {
    expect(reported(checkPasswordPolicy, { passwordPolicy: { minimumLength: 12, temporaryPasswordValidityDays: 3 } })).toEqual([]);
    expect(reported(checkIdentityPool, { identityPoolName: "p", allowUnauthenticatedIdentities: false })).toEqual([]);
  });
  it("refuse Cognito's defaults (8 characters), long-lived temporary passwords, and guest identities", () => {
    expect(reported(checkPasswordPolicy, {})).toEqual([
      "passwords may be 8 characters; at least 12 are required (passwordPolicy.minimumLength)",
    ]);
    expect(reported(checkPasswordPolicy, { passwordPolicy: { minimumLength: 12, temporaryPasswordValidityDays: 30 } })).toEqual([
      "temporary passwords stay valid 30 days; at most 7 are allowed",
    ]);
    expect(
      reported(checkPasswordPolicy, { passwordPolicy: { minimumLength: 10 } }, { minimumLength: 10, maximumTemporaryPasswordDays: 7 }),
    ).toEqual([]);
    expect(reported(checkIdentityPool, { allowUnauthenticatedIdentities: true })).toEqual([
      expect.stringMatching(/^allowUnauthenticatedIdentities is on/),
    ]);
  });
});

describe("device-code-strength", () => {
  const settings = {
    codeExpirySeconds: 1800,
    deviceCodeFormat: "#aA",
    deviceCodeLength: 64,
    userCodeFormat: "B",
    userCodeLength: 8,
    allowWeakCodes: false,
  };
  const fn = (s: object) => ({ environment: { variables: { DEVICE_GRANT_CONFIG: JSON.stringify({ settings: s, clients: [] }) } } });

  it("passes the service's defaults and ignores other functions", () => {
    expect(reported(checkDeviceCodes, fn(settings))).toEqual([]);
    expect(reported(checkDeviceCodes, { environment: { variables: { AUTHORIZER_CONFIG: "{}" } } })).toEqual([]);
  });

  it("refuses weak codes, short codes, unknown formats, and lifetimes out of bounds", () => {
    expect(reported(checkDeviceCodes, fn({ ...settings, allowWeakCodes: true, deviceCodeLength: 16, userCodeLength: 6 }))).toEqual([
      "allowWeakCodes is on: the entropy floors are switched off",
      "the device code carries 95.3 bits; at least 128 are required",
      "the user code carries 25.9 bits; at least 30 are required",
    ]);
    expect(reported(checkDeviceCodes, fn({ ...settings, userCodeFormat: "Z", codeExpirySeconds: 86_400 }))).toEqual([
      'the user code\'s format "Z" and length 8 are not a code the service draws',
      "codes live 86400 seconds; from 60 to 1800 are allowed",
    ]);
    expect(
      reported(checkDeviceCodes, fn({ ...settings, codeExpirySeconds: 3600 }), {
        ...DEVICE_CODES_DEFAULTS,
        maximumCodeExpirySeconds: 3600,
      }),
    ).toEqual([]);
    expect(reported(checkDeviceCodes, { environment: { variables: { DEVICE_GRANT_CONFIG: "[]" } } })).toEqual([
      "DEVICE_GRANT_CONFIG has no settings object",
    ]);
  });

  it("counts a user code's letters once whatever their case, as the service matches them", () => {
    expect(codeBits("aA", 10, true)).toBeCloseTo(10 * Math.log2(26));
    expect(codeBits("aA", 10, false)).toBeCloseTo(10 * Math.log2(52));
  });
});

describe("provisioning-template-hook and provisioning-template-enabled", () => {
  const template = {
    name: "fleet-dev",
    type: "FLEET_PROVISIONING",
    enabled: true,
    preProvisioningHook: { targetArn: "arn:aws:lambda:eu-west-1:1:function:hook", payloadVersion: "2020-04-01" },
  };
  it("pass an enabled template with a hook", () => {
    expect(reported(checkTemplateHook, template)).toEqual([]);
    expect(reported(checkTemplateEnabled, template)).toEqual([]);
  });
  it("refuse an enabled template without a hook, and report a disabled one", () => {
    expect(reported(checkTemplateHook, { ...template, preProvisioningHook: undefined })).toEqual([
      "the template is enabled without a pre-provisioning hook: every claim certificate would provision any device",
    ]);
    expect(reported(checkTemplateHook, { ...template, enabled: false, preProvisioningHook: undefined })).toEqual([]);
    expect(reported(checkTemplateEnabled, { ...template, enabled: false })).toEqual([
      "the template is not enabled: devices asking to be provisioned through it are refused",
    ]);
  });
});
