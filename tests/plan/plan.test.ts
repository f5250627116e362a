/**
 * `npm run plan -- --stack <name>` run as documented, as a child process: for every stack file in the repository
 * (enumerated, so a new one is covered the day it lands), for stack files that are broken, risky, or hold secrets,
 * and for bad command lines.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { dump } from "js-yaml";
import { REPO_ROOT } from "../../infra/repo-root";
import { POLICIES } from "../../policy/policies";
import { stackNames } from "../../support/plan/stack-file";
import { readStackFile } from "../../support/stack-files";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function plan(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile("npm", ["run", "plan", "--", ...args], { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "plan-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `Pulumi.<stack>.yaml` with the dev stack's configuration changed by `change`; returns its path. */
function stackFile(stack: string, change: (config: Record<string, unknown>) => void): string {
  const config = { ...readStackFile("dev") };
  change(config);
  const file = path.join(dir, `Pulumi.${stack}.yaml`);
  writeFileSync(file, dump({ config }));
  return file;
}

const STACKS = stackNames(REPO_ROOT);
const KEY = (k: string) => `iot-enterprise-auth:${k}`;

test("the repository has stack files to plan", () => {
  expect(STACKS).toContain("dev");
});

test.each(STACKS)("the committed stack %s plans with no mandatory violation", async (stack) => {
  const run = await plan("--stack", stack);
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
  expect(run.stdout).toContain(`Offline plan of stack ${stack} (Pulumi.${stack}.yaml)`);
  expect(run.stdout).toMatch(/^TYPE +NAME +PARENT +SETTINGS$/m);
  expect(run.stdout).toMatch(/^iot-enterprise-auth:iot:TokenAuthorizer +iot-auth +- *$/m);
  expect(run.stdout).toMatch(/^ {2}aws:iot\/authorizer:Authorizer +iot-auth-authorizer +iot-auth +signing on; .*keys primary RSA \d{4}/m);
  expect(run.stdout).toContain(`Policy pack iot-enterprise-auth (${POLICIES.length} policies): 0 mandatory`);
});

test("the dev stack's plan lists what it declares, says which secret it stood in for, and has no advisory either", async () => {
  const run = await plan("--stack", "dev");
  expect(run.stdout).toContain(
    "Secret sharedSecret is not in the stack file: the plan used a placeholder; pulumi preview needs pulumi config set --secret sharedSecret <value>.",
  );
  const count = Number(/^(\d+) resources:$/m.exec(run.stdout)?.[1]);
  const table = run.stdout.slice(run.stdout.indexOf("TYPE"), run.stdout.indexOf("\n\nPolicy pack")).split("\n");
  expect(table).toHaveLength(count + 1);
  expect(run.stdout).toMatch(/aws:dynamodb\/table:Table +device-grant-table +device-grant +encryption AWS managed key; TTL ttl; PITR on/);
  expect(run.stdout).toMatch(
    /aws:apigatewayv2\/stage:Stage +device-grant-stage +device-grant +throttling burst 20, rate 10; access logs arn:/,
  );
  expect(run.stdout).toMatch(
    /aws:iot\/provisioningTemplate:ProvisioningTemplate +fleet-template +fleet +FLEET_PROVISIONING enabled; hook arn:/,
  );
  expect(run.stdout).toContain("0 mandatory, 0 advisory violation(s).");
});

test("a secret encrypted in the stack file is replaced by a placeholder, and a secret in clear is never printed", async () => {
  const encrypted = stackFile(
    "encrypted",
    (c) => (c[KEY("sharedSecret")] = { secure: "v1:AAAAAAAAAAAAAAAA:bm90IGEgcmVhbCBjaXBoZXJ0ZXh0" }),
  );
  const run = await plan("--stack-file", encrypted);
  expect(run.code).toBe(0);
  expect(run.stdout).toContain("Secret iot-enterprise-auth:sharedSecret is encrypted in the stack file: the plan used a placeholder.");

  const secret = Buffer.from("a shared secret that must never be printed by the plan").toString("base64");
  const clear = stackFile("clear", (c) => (c[KEY("sharedSecret")] = secret));
  const shown = await plan("--stack-file", clear);
  expect(shown.code).toBe(0);
  expect(shown.stdout).toMatch(
    /iot-auth-issuer-0-secret +iot-auth +\/iot-enterprise-auth\/iot-auth-clear\/issuers\/0\/shared-secret; SecureString; value <secret>/,
  );
  expect(shown.stdout + shown.stderr).not.toContain(secret);
});

test("a broken stack file fails before anything is declared, with every problem listed", async () => {
  const file = stackFile("broken", (c) => {
    c[KEY("signingKeyBits")] = 1024;
    c[KEY("refreshAfterSeconds")] = 60;
    c[KEY("logRetentionDays")] = "a month";
  });
  const run = await plan("--stack-file", file);
  expect(run.code).toBe(1);
  expect(run.stdout).not.toContain("TYPE");
  expect(run.stderr).toContain("plan: stack broken is misconfigured; pulumi preview would refuse it with 3 problem(s):");
  expect(run.stderr).toContain("  - signingKeyBits must be one of 2048, 3072, 4096; got 1024");
  expect(run.stderr).toContain("  - refreshAfterSeconds must be an integer from 300 to 86400; got 60");
  expect(run.stderr).toContain('  - logRetentionDays must be an integer; got "a month"');
});

test("a stack the program accepts but the pack refuses exits 1, naming each mandatory violation and its resource", async () => {
  const file = stackFile("risky", (c) => {
    c[KEY("grants")] = [{ actions: ["iot:Subscribe"], resources: ["topicfilter/event/*"] }];
    c[KEY("allowWeakCodes")] = true;
    c[KEY("deviceCodeLength")] = 16;
  });
  const run = await plan("--stack-file", file);
  expect(run.code).toBe(1);
  expect(run.stdout).toContain("3 mandatory, 0 advisory violation(s).");
  expect(run.stdout).toMatch(
    /^ {2}mandatory {2}iot-policy-resources-scoped {2}aws:lambda\/function:Function iot-auth-function: grants\[0\]: resource "topicfilter\/event\/\*" has a wildcard/m,
  );
  expect(run.stdout).toMatch(
    /^ {2}mandatory {2}device-code-strength {2}aws:lambda\/function:Function device-grant-function: allowWeakCodes is on/m,
  );
});

test("a stack file that is missing or not YAML, and a bad command line, are refused with what to do", async () => {
  const missing = await plan("--stack", "nowhere");
  expect(missing.code).toBe(1);
  expect(missing.stderr).toMatch(/plan: .*Pulumi\.nowhere\.yaml does not exist \(stacks here: .*dev/);
  const notYaml = path.join(dir, "Pulumi.mangled.yaml");
  writeFileSync(notYaml, "config: [unclosed\n");
  const mangled = await plan("--stack-file", notYaml);
  expect(mangled.code).toBe(1);
  expect(mangled.stderr).toMatch(/is not valid YAML/);
  for (const args of [[], ["--stack"], ["--stack", "../etc"], ["--stacks", "dev"]]) {
    const run = await plan(...args);
    expect({ args, code: run.code }).toEqual({ args, code: 2 });
    expect(run.stderr).toContain("Usage: npm run plan -- --stack <name>");
  }
  const help = await plan("--help");
  expect(help.code).toBe(0);
  expect(help.stdout).toContain("Usage: npm run plan -- --stack <name>");
});

test("the plan commands the README and docs/policy-pack.md print work as printed", async () => {
  const lines = ["README.md", path.join("docs", "policy-pack.md")].flatMap((doc) =>
    readFileSync(path.join(REPO_ROOT, doc), "utf8")
      .split("\n")
      .filter((l) => l.startsWith("npm run plan -- ")),
  );
  expect(lines.length).toBeGreaterThanOrEqual(3);
  const staging = stackFile("staging", () => undefined);
  for (const line of new Set(lines)) {
    // What a reader fills in: the path of their own stack file.
    const args = line
      .replace(/#.*$/, "")
      .trim()
      .split(/\s+/)
      .slice(4)
      .map((w) => (w === "path/to/Pulumi.staging.yaml" ? staging : w));
    const run = await plan(...args);
    expect({ line, code: run.code }).toEqual({ line, code: 0 });
    expect(run.stdout).toContain("0 mandatory");
  }
});
