/**
 * The small pieces both provisioning functions stand on: reading API Gateway's payload 2.0 event and its JWT
 * claims, the shapes a groups claim arrives in, classifying AWS failures, deadlines, parameter patterns, the
 * owner value, and both configurations' checks (every problem at once).
 */
import { callerScopes, checkCaller, claimValues } from "../../functions/provisioning-claim/caller";
import { loadProvisioningClaimConfig } from "../../functions/provisioning-claim/config";
import { loadPreProvisioningHookConfig } from "../../functions/pre-provisioning-hook/config";
import { classifyAwsFailure } from "../../functions/shared/aws-errors";
import { DeadlineError, withDeadline } from "../../functions/shared/deadline";
import { readHttpApiEvent } from "../../functions/shared/http-api-event";
import { loggable } from "../../functions/shared/logging";
import { ConfigurationError } from "../../functions/shared/problems";
import { anchoredPattern, isAcceptableThingName, ownerAttributeValue } from "../../functions/shared/provisioning-parameters";
import { awsError, claimEvent, REGION, TEMPLATE_ARN } from "./support";

describe("the payload 2.0 event", () => {
  it("reads method, path, lower-cased headers, a base64 body and the JWT authorizer's claims and scopes", () => {
    const event = claimEvent({ thingName: "AB-123456" }, { base64: true });
    (event.headers as Record<string, string>)["X-Trace"] = "t";
    expect(readHttpApiEvent(event)).toEqual({
      method: "POST",
      path: "/provisioning/claims",
      headers: { "content-type": "application/json", "user-agent": "installer-app/1.0", "x-trace": "t" },
      body: '{"thingName":"AB-123456"}',
      sourceIp: "203.0.113.9",
      claims: expect.objectContaining({ sub: expect.any(String), scope: "iot/provision" }),
      scopes: ["iot/provision"],
    });
  });

  it.each([null, 7, "x", [], { requestContext: { authorizer: { jwt: { claims: "[a b]" } } } }])("never throws on %p", (event) => {
    const request = readHttpApiEvent(event);
    expect(request.claims).toBeUndefined();
    expect(request.method).toBe("");
  });
});

describe("the caller", () => {
  it.each([
    ["API Gateway's rendering of an array", "[installers admins]", ["installers", "admins"]],
    ["a one-element rendering", "[installers]", ["installers"]],
    ["a JSON array", '["installers","admins"]', ["installers", "admins"]],
    ["a native array", ["installers", 5, "admins"], ["installers", "admins"]],
    ["a single value", "installers", ["installers"]],
    ["an empty rendering", "[]", []],
    ["nothing", undefined, []],
  ])("reads groups from %s", (_name, value, groups) => {
    expect(claimValues(value)).toEqual(groups);
  });

  it("takes scopes from the scope claim and from what API Gateway matched", () => {
    expect([...callerScopes({ scope: "openid iot/provision" }, ["other"])].sort()).toEqual(["iot/provision", "openid", "other"]);
  });

  it("needs a printable sub", () => {
    const rules = { groupsClaim: "cognito:groups" };
    expect(checkCaller({ sub: "" }, [], rules)).toMatchObject({ ok: false, reason: "no-identity" });
    expect(checkCaller({ sub: "a\nb" }, [], rules)).toMatchObject({ ok: false, reason: "no-identity" });
    expect(checkCaller({ sub: "auth0|abc" }, [], rules)).toEqual({ ok: true, sub: "auth0|abc" });
  });
});

describe("AWS failures", () => {
  it.each([
    [awsError("ThrottlingException", 400), "throttled"],
    [awsError("ProvisionedThroughputExceededException", 400), "throttled"],
    [Object.assign(new Error("x"), { name: "SomethingNew", $retryable: { throttling: true } }), "throttled"],
    [awsError("ServiceUnavailableException", 503), "unavailable"],
    [awsError("InternalFailureException", 500), "unavailable"],
    [new DeadlineError("Call"), "unavailable"],
    [Object.assign(new Error("connect"), { code: "ECONNREFUSED" }), "unavailable"],
    [awsError("ResourceNotFoundException", 404), "failed"],
    [awsError("UnauthorizedException", 401), "failed"],
    ["a string", "failed"],
  ])("classifies %p as %s", (error, kind) => {
    expect(classifyAwsFailure(error)).toBe(kind);
  });
});

describe("deadlines", () => {
  it("aborts a call that outlives its deadline and rejects with DeadlineError", async () => {
    let aborted = false;
    const call = (signal: AbortSignal) =>
      new Promise<never>(() => {
        signal.addEventListener("abort", () => (aborted = true));
      });
    await expect(withDeadline("Slow", 20, call)).rejects.toBeInstanceOf(DeadlineError);
    expect(aborted).toBe(true);
  });

  it("passes a timely answer through, and refuses to start with no time left", async () => {
    expect(await withDeadline("Quick", 1_000, async () => 42)).toBe(42);
    await expect(withDeadline("Late", 0, async () => 42)).rejects.toBeInstanceOf(DeadlineError);
  });
});

describe("parameters, owners and log values", () => {
  it("matches a declared pattern against the whole value, and thing names against IoT's rule too", () => {
    const pattern = anchoredPattern("AB-[0-9]+|CD-[0-9]+") as RegExp;
    expect(isAcceptableThingName("AB-1", pattern)).toBe(true);
    expect(isAcceptableThingName("xAB-1", pattern)).toBe(false);
    expect(isAcceptableThingName("CD-1x", pattern)).toBe(false);
    expect(isAcceptableThingName("AB-1", anchoredPattern(".*") as RegExp)).toBe(true);
    expect(isAcceptableThingName("a/b", anchoredPattern(".*") as RegExp)).toBe(false);
  });

  it("records an IoT-safe owner: the sub itself when it fits, a SHA-256 otherwise, distinct for distinct subs", () => {
    expect(ownerAttributeValue("7c3f6a2e-1b5d-4e8f-9a0b-2c4d6e8f0a1b")).toBe("7c3f6a2e-1b5d-4e8f-9a0b-2c4d6e8f0a1b");
    const hashed = ownerAttributeValue("auth0|5fe435b5cbbc85006b071eba");
    expect(hashed).toMatch(/^sha256-[0-9a-f]{64}$/);
    expect(ownerAttributeValue("auth0|other")).not.toBe(hashed);
    expect(ownerAttributeValue(hashed)).not.toBe(hashed);
  });

  it("keeps values others chose printable and short in logs", () => {
    expect(loggable('a"b\\c\n')).toBe("a?b?c?");
    expect(loggable("x".repeat(100))).toBe(`${"x".repeat(64)}…`);
    expect(loggable(5)).toBeUndefined();
  });
});

describe("configurations", () => {
  function problemsOf(load: () => unknown): string[] {
    try {
      load();
    } catch (err) {
      if (err instanceof ConfigurationError) return err.problems;
      throw err;
    }
    return [];
  }

  it("lists every problem of a claim configuration at once", () => {
    const problems = problemsOf(() =>
      loadProvisioningClaimConfig({
        templateName: "x".repeat(37),
        tableName: "t",
        region: "mars",
        thingNamePattern: "(",
        iotDeadlineMs: 0,
        extra: 1,
      }),
    );
    expect(problems).toEqual([
      'unknown setting "extra"',
      expect.stringMatching(/^templateName must be a provisioning template name/),
      expect.stringMatching(/^tableName must be a DynamoDB table name/),
      expect.stringMatching(/^region must be an AWS region/),
      'thingNamePattern "(" is not a valid regular expression',
      expect.stringMatching(/^iotDeadlineMs must be an integer from 1 to 25000 ms/),
    ]);
  });

  it("lists every problem of a hook configuration at once", () => {
    const problems = problemsOf(() =>
      loadPreProvisioningHookConfig({
        templateArn: "arn:aws:iot:eu-west-1:123456789012:thing/x",
        tableName: "claims",
        region: REGION,
        parameters: [
          { name: "ThingName", pattern: "[A-Z]+" },
          { name: "Owner", pattern: ".*" },
          { name: "ThingName", pattern: "" },
        ],
        thingNameParameter: "Serial",
        allowUnboundClaims: "yes",
        deadlineMs: 5_000,
      }),
    );
    expect(problems).toEqual([
      expect.stringMatching(/^templateArn must be a provisioning template ARN/),
      "parameters[2].name ThingName is declared twice",
      expect.stringMatching(/^parameters\[2\]\.pattern must be a regular expression/),
      "thingNameParameter Serial is not among the declared parameters",
      "ownerParameter Owner is set by the hook and must not be a parameter devices send",
      'allowUnboundClaims must be true or false; got "yes"',
      expect.stringMatching(/^deadlineMs must be an integer from 1 to 4500 ms \(IoT waits 5 s\)/),
    ]);
  });

  it("accepts a minimal hook configuration and fills in the defaults", () => {
    const config = loadPreProvisioningHookConfig({
      templateArn: TEMPLATE_ARN,
      tableName: "claims",
      region: REGION,
      parameters: [{ name: "ThingName", pattern: "[A-Z]+" }],
      thingNameParameter: "ThingName",
    });
    expect(config).toMatchObject({ ownerParameter: "Owner", allowUnboundClaims: false, deadlineMs: 2_500 });
  });
});
