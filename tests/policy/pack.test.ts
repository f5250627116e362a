/**
 * The pack loads and answers as `pulumi preview --policy-pack policy` uses it, without the CLI: started the way the
 * CLI's analyzer plugin starts it (tests/policy/analyzer.ts), driven over gRPC as the engine drives it.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "../../infra/repo-root";
import { RESOURCE_RULES, STACK_RULES } from "../../policy/policies";
import { PackUnderAnalyzer } from "./analyzer";

/** The engine's marker for a string it does not know yet during a preview (`@pulumi/policy`'s proxy.ts). */
const UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

let pack: PackUnderAnalyzer;
beforeAll(async () => {
  pack = await PackUnderAnalyzer.start();
});
afterAll(() => pack?.stop());

test("it serves the pack under its name and version, with every policy at its enforcement level and config", async () => {
  const info = await pack.info();
  const version = (JSON.parse(readFileSync(path.join(REPO_ROOT, "policy", "package.json"), "utf8")) as { version: string }).version;
  expect({ name: info.name, version: info.version }).toEqual({ name: "iot-enterprise-auth", version });
  expect(info.policies).toEqual([
    ...RESOURCE_RULES.map((r) => ({
      name: r.name,
      enforcementLevel: r.enforcementLevel,
      configKeys: Object.keys(r.defaults ?? {}).sort(),
    })),
    ...STACK_RULES.map((r) => ({ name: r.name, enforcementLevel: r.enforcementLevel, configKeys: [] })),
  ]);
});

test("a compliant resource gets no diagnostic, a violating one a mandatory diagnostic per violation", async () => {
  const table = {
    name: "t",
    serverSideEncryption: { enabled: true },
    ttl: { enabled: true, attributeName: "ttl" },
    pointInTimeRecovery: { enabled: true },
  };
  expect(await pack.analyze({ type: "aws:dynamodb/table:Table", name: "ok", props: table })).toEqual([]);
  const permission = { action: "lambda:InvokeFunction", function: "f", principal: "iot.amazonaws.com" };
  expect(await pack.analyze({ type: "aws:lambda/permission:Permission", name: "open", props: permission })).toEqual([
    {
      policy: "lambda-permission-source",
      enforcementLevel: "mandatory",
      message: expect.stringContaining("iot.amazonaws.com may invoke the function for any resource: set sourceArn"),
      // The engine knows which resource it asked about; the SDK leaves a resource diagnostic's URN empty.
      urn: "",
    },
  ]);
});

test("a value unknown during a preview makes the policy advisory for that resource, as the SDK does", async () => {
  const permission = { action: "lambda:InvokeFunction", function: "f", principal: "iot.amazonaws.com", sourceArn: UNKNOWN_STRING };
  const diagnostics = await pack.analyze({ type: "aws:lambda/permission:Permission", name: "new", props: permission });
  expect(diagnostics).toEqual([
    expect.objectContaining({
      policy: "lambda-permission-source",
      enforcementLevel: "advisory",
      message: expect.stringMatching(/can't run policy .* during preview/),
    }),
  ]);
});

test("the stack policy sees every resource and names the function without a declared log group", async () => {
  const diagnostics = await pack.analyzeStack([
    { type: "aws:cloudwatch/logGroup:LogGroup", name: "a-logs", props: { name: "/aws/lambda/a", retentionInDays: 7 } },
    { type: "aws:lambda/function:Function", name: "a", props: { name: "a" } },
    { type: "aws:lambda/function:Function", name: "b", props: { name: "b" } },
  ]);
  expect(diagnostics).toEqual([
    {
      policy: "lambda-log-groups-declared",
      enforcementLevel: "advisory",
      message: expect.stringContaining("function b logs to /aws/lambda/b, which this stack does not declare"),
      urn: "urn:pulumi:dev::iot-enterprise-auth::aws:lambda/function:Function::b",
    },
  ]);
});
