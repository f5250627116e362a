/**
 * The policies as the offline plan evaluates them (support/policy-evaluation.ts): each resource rule only on its
 * types, each with its config's defaults or the pack config's values, enforcement levels as configured; and the pack
 * is self-contained and agrees with the service's own constants.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { FORMAT_CLASSES, entropyBits } from "../../functions/device-grant/codes";
import { DEVICE_GRANT_CONFIG_ENV } from "../../functions/device-grant/config";
import { DEFAULT_DEVICE_GRANT_SETTINGS, MIN_DEVICE_CODE_BITS, MIN_USER_CODE_BITS } from "../../functions/device-grant/settings";
import { REPO_ROOT } from "../../infra/repo-root";
import { POLICIES } from "../../policy/policies";
import * as codes from "../../policy/rules/device-codes";
import { evaluatePolicies, type EvaluatedResource } from "../../support/policy-evaluation";

function resource(type: string, name: string, inputs: Record<string, unknown>, parent?: string): EvaluatedResource {
  const urn = `urn:pulumi:dev::iot-enterprise-auth::${type}::${name}`;
  return { type, name, urn, inputs, state: inputs, ...(parent && { parent }) };
}

const LONG_LOGS = resource("aws:cloudwatch/logGroup:LogGroup", "logs", { name: "/aws/lambda/f", retentionInDays: 400 });
const OPEN_POOL = resource("aws:cognito/identityPool:IdentityPool", "pool", { allowUnauthenticatedIdentities: true });

test("each rule reads only its own types, and reports at its enforcement level", async () => {
  const violations = await evaluatePolicies(POLICIES, [LONG_LOGS, OPEN_POOL]);
  expect(violations).toEqual([
    {
      policy: "log-retention",
      enforcementLevel: "advisory",
      message: "the log group keeps events 400 days; at most 365 are expected",
      urn: LONG_LOGS.urn,
    },
    { policy: "cognito-no-unauthenticated-identities", enforcementLevel: "mandatory", message: expect.any(String), urn: OPEN_POOL.urn },
  ]);
});

test("the pack config changes a rule's numbers and enforcement level, or disables it", async () => {
  const config = {
    "log-retention": { maximumDays: 400, enforcementLevel: "mandatory" as const },
    "cognito-no-unauthenticated-identities": "disabled" as const,
  };
  expect(await evaluatePolicies(POLICIES, [LONG_LOGS, OPEN_POOL], { config })).toEqual([]);
  const stricter = { "log-retention": { maximumDays: 30, enforcementLevel: "mandatory" as const } };
  expect(await evaluatePolicies(POLICIES, [LONG_LOGS], { config: stricter })).toEqual([
    expect.objectContaining({ policy: "log-retention", enforcementLevel: "mandatory", message: expect.stringContaining("at most 30") }),
  ]);
});

test("the stack rule gets every resource's state and its parent", async () => {
  const parent = resource("iot-enterprise-auth:iot:TokenAuthorizer", "iot-auth", {});
  const fn = resource("aws:lambda/function:Function", "iot-auth-function", { name: "iot-auth-dev" }, parent.urn);
  const seen: unknown[] = [];
  const spy = {
    name: "spy",
    description: "records what a stack policy sees",
    validateStack: (args: { resources: { name: string; parent?: { name: string } }[] }) => {
      seen.push(...args.resources.map((r) => ({ name: r.name, parent: r.parent?.name })));
    },
  };
  await evaluatePolicies([spy as never], [parent, fn]);
  expect(seen).toEqual([
    { name: "iot-auth", parent: undefined },
    { name: "iot-auth-function", parent: "iot-auth" },
  ]);
});

test("the pack imports nothing from outside its folder but node's own modules and @pulumi/policy", () => {
  const dir = path.join(REPO_ROOT, "policy");
  const files = readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts") && !f.includes("node_modules"));
  expect(files.length).toBeGreaterThan(10);
  for (const file of files) {
    const text = readFileSync(path.join(dir, file), "utf8");
    for (const [, target] of text.matchAll(/from "([^"]+)"/g)) {
      const inside = target.startsWith(".") && path.resolve(path.dirname(path.join(dir, file)), target).startsWith(dir + path.sep);
      expect({ file, target, allowed: inside || target.startsWith("node:") || target === "@pulumi/policy" }).toEqual({
        file,
        target,
        allowed: true,
      });
    }
  }
});

test("the pack's copy of the code formats, entropy floors and configuration variable agree with the service", () => {
  expect(codes.FORMAT_ALPHABETS).toEqual(FORMAT_CLASSES);
  expect(codes.DEVICE_GRANT_CONFIG_ENV).toBe(DEVICE_GRANT_CONFIG_ENV);
  expect(codes.DEVICE_CODES_DEFAULTS).toMatchObject({
    minimumDeviceCodeBits: MIN_DEVICE_CODE_BITS,
    minimumUserCodeBits: MIN_USER_CODE_BITS,
  });
  expect(DEFAULT_DEVICE_GRANT_SETTINGS.codeExpirySeconds).toBeLessThanOrEqual(codes.DEVICE_CODES_DEFAULTS.maximumCodeExpirySeconds);
  for (const format of ["#", "aA", "#aA", "b", "B", "!", "#aA!", "bB"]) {
    expect(codes.codeBits(format, 12, false)).toBeCloseTo(entropyBits(format, 12));
    expect(codes.codeBits(format, 12, true)).toBeCloseTo(entropyBits(format, 12, { caseInsensitive: true }));
  }
});
