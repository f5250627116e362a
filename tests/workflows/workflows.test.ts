/**
 * The GitHub Actions workflows, checked offline: each file against GitHub's workflow schema (SchemaStore's, vendored in
 * .github/schemas with its source), then what this project asks of them: actions pinned to a major version, AWS
 * credentials only through OIDC with `id-token: write` where they are used and nowhere else, no stored AWS keys, no
 * expression pasted into a shell script, the policy pack and the plan command as this repository has them, previews
 * for this repository's branches only, deploys per environment that never overlap. The stack-listing step is run.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Ajv from "ajv";
import { load } from "js-yaml";
import { REPO_ROOT } from "../../infra/repo-root";
import { stackNames } from "../../support/plan/stack-file";

type Step = { uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string>; id?: string };
type Job = {
  uses?: string;
  if?: string;
  needs?: string | string[];
  permissions?: Record<string, string>;
  environment?: { name: string };
  concurrency?: { group: string; "cancel-in-progress": boolean };
  strategy?: { matrix: Record<string, unknown> };
  steps?: Step[];
};
type Workflow = { on: Record<string, unknown>; permissions?: Record<string, string>; jobs: Record<string, Job> };

const DIR = path.join(REPO_ROOT, ".github", "workflows");
const FILES = readdirSync(DIR).filter((f) => f.endsWith(".yml") || f.endsWith(".yaml"));
const text = (file: string) => readFileSync(path.join(DIR, file), "utf8");
const workflow = (file: string) => load(text(file)) as Workflow;
const steps = (wf: Workflow) => Object.values(wf.jobs).flatMap((j) => j.steps ?? []);

const schema = JSON.parse(readFileSync(path.join(REPO_ROOT, ".github", "schemas", "github-workflow.json"), "utf8")) as object;
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

test("the workflows are the pull request's, the deploy's and the checks both call", () => {
  expect(FILES.sort()).toEqual(["checks.yml", "deploy.yml", "pull-request.yml"]);
});

test.each(FILES)("%s is a valid workflow by GitHub's workflow schema", (file) => {
  const ok = validate(workflow(file));
  expect({ file, errors: ok ? [] : validate.errors }).toEqual({ file, errors: [] });
});

test("the schema refuses what GitHub would refuse", () => {
  const broken = load(text("deploy.yml").replace("runs-on: ubuntu-latest", "runs_on: ubuntu-latest")) as object;
  expect(validate(broken)).toBe(false);
  expect(validate({ on: "push", jobs: { a: { "runs-on": "ubuntu-latest", steps: [{ uses: "x@v1", run: "both" }] } } })).toBe(false);
});

test.each(FILES)("%s pins every action to a major version or a commit, and never pastes an expression into a script", (file) => {
  const wf = workflow(file);
  for (const step of steps(wf).filter((s) => s.uses)) expect(step.uses).toMatch(/^[\w.-]+\/[\w.-]+@(v\d+|[0-9a-f]{40})$/);
  for (const job of Object.values(wf.jobs).filter((j) => j.uses)) expect(job.uses).toMatch(/^\.\/\.github\/workflows\/[\w-]+\.yml$/);
  for (const step of steps(wf).filter((s) => s.run)) expect(step.run).not.toContain("${{");
});

test.each(FILES)("%s gets AWS credentials only through OIDC, in the jobs that use them", (file) => {
  expect(text(file)).not.toMatch(/AWS_SECRET_ACCESS_KEY|AWS_ACCESS_KEY_ID|aws-access-key-id|aws-secret-access-key|aws-session-token/i);
  const wf = workflow(file);
  expect(wf.permissions).toEqual({ contents: "read" });
  for (const [name, job] of Object.entries(wf.jobs)) {
    const aws = (job.steps ?? []).filter((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
    expect({ name, idToken: job.permissions?.["id-token"] }).toEqual({ name, idToken: aws.length > 0 ? "write" : undefined });
    for (const step of aws) expect(step.with?.["role-to-assume"]).toMatch(/^\$\{\{ vars\.AWS_\w+_ROLE_ARN \}\}$/);
  }
});

test("the checks run the README's test command and the plan command of package.json for every stack", () => {
  const wf = workflow("checks.yml");
  expect(Object.keys(wf.on)).toEqual(["workflow_call"]);
  expect(wf.jobs.test.steps?.map((s) => s.run).filter(Boolean)).toEqual(["bash .ci/run"]);
  const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
  expect(pkg.scripts.plan).toBe("ts-node --transpile-only scripts/plan.ts");
  const plan = wf.jobs.plan.steps?.find((s) => s.run?.startsWith("npm run plan"));
  expect(plan).toEqual({ run: 'npm run plan -- --stack "$STACK"', env: { STACK: "${{ matrix.stack }}" } });
  expect(wf.jobs.plan.strategy?.matrix.stack).toBe("${{ fromJSON(needs.stacks.outputs.names) }}");
  expect(JSON.stringify(wf.jobs)).not.toContain("secrets.");
});

test("the checks' stack list, run as the workflow runs it, is every stack file in the repository", () => {
  const script = workflow("checks.yml").jobs.stacks.steps?.find((s) => s.id === "list")?.run ?? "";
  const dir = mkdtempSync(path.join(os.tmpdir(), "workflow-"));
  try {
    const output = path.join(dir, "output");
    execFileSync("bash", ["-e", "-c", script], { cwd: REPO_ROOT, env: { ...process.env, GITHUB_OUTPUT: output } });
    const line = readFileSync(output, "utf8").trim();
    expect(line.startsWith("names=")).toBe(true);
    expect(JSON.parse(line.slice("names=".length))).toEqual(stackNames(REPO_ROOT));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("pull requests get the checks, and this repository's branches a pulumi preview per stack with the pack, one comment per stack", () => {
  const wf = workflow("pull-request.yml");
  expect(wf.on).toEqual({ pull_request: { branches: ["main"] } });
  expect(wf.jobs.checks.uses).toBe("./.github/workflows/checks.yml");
  const preview = wf.jobs.preview;
  expect(preview.if).toBe("github.event.pull_request.head.repo.full_name == github.repository");
  expect(preview.permissions).toEqual({ contents: "read", "id-token": "write", "pull-requests": "write" });
  const pulumi = preview.steps?.find((s) => s.uses?.startsWith("pulumi/actions@"));
  expect(pulumi?.with).toMatchObject({
    command: "preview",
    "stack-name": "${{ matrix.stack }}",
    "comment-on-pr": true,
    "edit-pr-comment": true,
  });
  expect(existsSync(path.join(REPO_ROOT, String(pulumi?.with?.policyPacks), "PulumiPolicy.yaml"))).toBe(true);
  expect(preview.strategy?.matrix.stack).toBe("${{ fromJSON(needs.checks.outputs.stacks) }}");
});

test("pushes to main deploy every stack in its own environment, one deploy of a stack at a time, after the checks", () => {
  const wf = workflow("deploy.yml");
  expect(wf.on).toEqual({ push: { branches: ["main"] } });
  const up = wf.jobs.up;
  expect(up.needs).toBe("checks");
  expect(up.environment).toEqual({ name: "${{ matrix.stack }}" });
  expect(up.concurrency).toEqual({ group: "deploy-${{ matrix.stack }}", "cancel-in-progress": false });
  const pulumi = up.steps?.find((s) => s.uses?.startsWith("pulumi/actions@"));
  expect(pulumi?.with).toMatchObject({ command: "up", "stack-name": "${{ matrix.stack }}", policyPacks: "policy" });
  expect(up.strategy?.matrix.stack).toBe("${{ fromJSON(needs.checks.outputs.stacks) }}");
});
