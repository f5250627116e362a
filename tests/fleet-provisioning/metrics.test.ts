/**
 * The claim function's and the pre-provisioning hook's decision lines carry the embedded metric format: the real
 * handlers, with their default loggers, write one valid EMF line per decision (support/emf.ts), and a thing name or
 * a parameter a device sent never becomes a dimension value.
 */
import { createHandler as createHookHandler } from "../../functions/pre-provisioning-hook/index";
import { HOOK_METRIC, HOOK_REASONS } from "../../functions/pre-provisioning-hook/metrics";
import { CLAIM_METRIC, describeClaimLine } from "../../functions/provisioning-claim/metrics";
import { createHandler as createClaimHandler } from "../../functions/provisioning-claim/index";
import { OTHER } from "../../functions/shared/metric-lines";
import { emfProblems, extractedMetrics } from "../../support/emf";

test("a hook that cannot start denies with one ERROR line counted as Deny / not-configured", async () => {
  const lines: string[] = [];
  const handle = createHookHandler({
    environment: { PRE_PROVISIONING_HOOK_CONFIG: "{", AWS_LAMBDA_FUNCTION_NAME: "hook-prod" },
    writeLine: (line) => lines.push(line),
  });
  const answers = await Promise.all(Array.from({ length: 20 }, () => handle({ parameters: { ThingName: "evil\u0000thing" } })));
  expect(answers.every((a) => a.allowProvisioning === false)).toBe(true);
  expect(lines.length).toBe(20);
  for (const line of lines) {
    expect(emfProblems(line)).toEqual([]);
    const metric = extractedMetrics(line).at(-1);
    expect(metric).toMatchObject({ name: HOOK_METRIC, value: 1 });
    expect(HOOK_REASONS.has(metric?.dimensions.Reason as string)).toBe(true);
    expect(metric?.dimensions).toMatchObject({ Function: "hook-prod", Decision: "Deny", Reason: "not-configured" });
  }
});

test("a claim function that cannot start answers server_error with one line counted as configuration-error", async () => {
  const lines: string[] = [];
  const handle = createClaimHandler({
    environment: { PROVISIONING_CLAIM_CONFIG: "{", AWS_LAMBDA_FUNCTION_NAME: "claims-prod" },
    writeLine: (line) => lines.push(line),
  });
  expect((await handle({})).statusCode).toBe(500);
  expect(lines.map(emfProblems)).toEqual([[]]);
  expect(extractedMetrics(lines[0])).toEqual([
    {
      namespace: "IotEnterpriseAuth",
      name: CLAIM_METRIC,
      dimensions: { Function: "claims-prod", Outcome: "configuration-error" },
      value: 1,
    },
  ]);
});

test("a claim outcome outside the closed set is other; a thing name is never a dimension", () => {
  expect(describeClaimLine({ event: "provisioning-claim", outcome: "issued", thingName: "tv-1" })).toEqual({
    name: CLAIM_METRIC,
    dimensions: { Outcome: "issued" },
  });
  expect(describeClaimLine({ event: "provisioning-claim", outcome: "made-up" })?.dimensions).toEqual({ Outcome: OTHER });
  expect(describeClaimLine({ event: "something-else" })).toBeUndefined();
});
