/** docs/policy-pack.md says what the pack does: its policy table and its documented exceptions are the code's. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "../../infra/repo-root";
import { RESOURCE_RULES, STACK_RULES } from "../../policy/policies";
import { MANAGED_POLICY_EXCEPTIONS, WILDCARD_RESOURCE_EXCEPTIONS } from "../../policy/rules/iam-wildcards";
import { DEVICE_SCOPED_GRANT_PLACEHOLDERS, DEVICE_SCOPED_POLICY_VARIABLES } from "../../policy/rules/iot-resources";

const doc = readFileSync(path.join(REPO_ROOT, "docs", "policy-pack.md"), "utf8");

function section(heading: string): string {
  const start = doc.indexOf(`\n## ${heading}\n`);
  expect(start).toBeGreaterThan(-1);
  const end = doc.indexOf("\n## ", start + 1);
  return doc.slice(start, end === -1 ? undefined : end);
}

test("the policy table lists every policy, in order, with its enforcement level and the types it reads", () => {
  const rows = [...section("Policies").matchAll(/^\| `([\w-]+)` \| (\w+) \| ([^|]+) \|/gm)].map(([, name, level, reads]) => ({
    name,
    level,
    reads: [...reads.matchAll(/`([^`]+)`/g)].map((m) => m[1]).filter((token) => token.includes(":")),
  }));
  expect(rows).toEqual([
    ...RESOURCE_RULES.map((r) => ({ name: r.name, level: r.enforcementLevel, reads: Object.keys(r.checks) })),
    ...STACK_RULES.map((r) => ({ name: r.name, level: r.enforcementLevel, reads: [...r.reads] })),
  ]);
});

test("the documented exceptions are the code's", () => {
  const exceptions = section("Documented exceptions");
  for (const e of WILDCARD_RESOURCE_EXCEPTIONS) {
    for (const word of [...e.actions, ...e.conditionKeys]) expect(exceptions).toContain(`\`${word}\``);
  }
  for (const e of MANAGED_POLICY_EXCEPTIONS) expect(exceptions).toContain(`**\`${e.name}\`**`);
  for (const v of [...DEVICE_SCOPED_POLICY_VARIABLES, ...DEVICE_SCOPED_GRANT_PLACEHOLDERS]) expect(exceptions).toContain(`**\`${v}\`**`);
  expect(MANAGED_POLICY_EXCEPTIONS).toHaveLength(1);
  expect(WILDCARD_RESOURCE_EXCEPTIONS).toHaveLength(1);
});

test("the documented configuration numbers are the policies' defaults", () => {
  const table = section("Policies");
  for (const rule of RESOURCE_RULES) {
    for (const [key, value] of Object.entries(rule.defaults ?? {})) {
      const row = table.split("\n").find((l) => l.startsWith(`| \`${rule.name}\``)) ?? "";
      expect({ rule: rule.name, key, documented: row.includes(`\`${key}\` (${value})`) }).toEqual({
        rule: rule.name,
        key,
        documented: true,
      });
    }
  }
});
