/**
 * `npm run plan -- --stack <name>`: what `pulumi preview --policy-pack policy` would say about a stack, without the
 * Pulumi CLI, a backend or cloud credentials, so a pull request from a fork still gets a review. It reads
 * `Pulumi.<name>.yaml`, runs the program (`defineStack`) under Pulumi's mocks with that configuration (secrets it
 * cannot decrypt, or that the file leaves to `pulumi config set --secret`, replaced by a placeholder, and said so),
 * prints every resource it would declare with the settings that matter for review, and evaluates the policy pack
 * (policy/) over them. Exit status: 0 when the stack reads and no mandatory policy is violated; 1 on a stack file or
 * configuration error (every problem printed), a program failure or a mandatory violation; 2 on a usage error.
 */
import path from "node:path";
import { ConfigurationError } from "../functions/shared/problems";
import { REPO_ROOT } from "../infra/repo-root";
import { PACK_NAME, POLICIES } from "../policy/policies";
import { declareStack } from "../support/plan/declare";
import { resourceTable, violationLines } from "../support/plan/report";
import { readStackFile, StackFileError, stackNames, type StackFile } from "../support/plan/stack-file";
import { evaluatePolicies } from "../support/policy-evaluation";
import { PROJECT } from "../stacks/config";

export const USAGE = `Usage: npm run plan -- --stack <name>
       npm run plan -- --stack-file <path to Pulumi.<name>.yaml>

Runs the program offline, under Pulumi's mocks, with a stack's configuration; prints what it would declare (type,
name, parent, the settings that matter for review) and the policy pack's verdict (policy/, as
pulumi preview --policy-pack policy would run it). No Pulumi CLI, backend or AWS credentials are used: the account
is a mock one, and secrets the plan cannot read are replaced by a placeholder.

  --stack <name>        Pulumi.<name>.yaml at the repository root (stacks here: ${stackNames(REPO_ROOT).join(", ") || "none"})
  --stack-file <path>   another stack file; the stack is named after the file
  --help                this text

Exit status: 0 no mandatory violation; 1 a stack file or configuration error, a program failure or a mandatory
violation; 2 a usage error.
`;

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

function parseArgs(argv: readonly string[]): { file: string } | { help: true } | { usage: string } {
  if (argv.includes("--help") || argv.includes("-h")) return { help: true };
  if (argv.length !== 2) return { usage: "give exactly one of --stack <name> or --stack-file <path>" };
  const [flag, value] = argv;
  if (value === "" || value.startsWith("--")) return { usage: `${flag} needs a value` };
  if (flag === "--stack") {
    if (!/^[\w.-]+$/.test(value)) return { usage: `--stack ${JSON.stringify(value.slice(0, 64))} is not a stack name` };
    return { file: path.join(REPO_ROOT, `Pulumi.${value}.yaml`) };
  }
  if (flag === "--stack-file") return { file: path.resolve(value) };
  return { usage: `unknown option ${JSON.stringify(flag.slice(0, 64))}` };
}

function header(file: StackFile, region: string, accountId: string, missing: readonly string[]): string[] {
  const lines = [
    `Offline plan of stack ${file.stack} (${path.relative(process.cwd(), file.file) || file.file}): the program run under Pulumi's mocks,`,
    `account ${accountId} (a mock), region ${region}; nothing was read from or sent to AWS or a Pulumi backend.`,
  ];
  for (const key of file.encrypted) lines.push(`Secret ${key} is encrypted in the stack file: the plan used a placeholder.`);
  for (const key of missing) {
    lines.push(
      `Secret ${key} is not in the stack file: the plan used a placeholder; pulumi preview needs pulumi config set --secret ${key} <value>.`,
    );
  }
  return lines;
}

/** Runs the plan; resolves to the exit status. */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  const args = parseArgs(argv);
  if ("help" in args) {
    io.out(USAGE);
    return 0;
  }
  if ("usage" in args) {
    io.err(`plan: ${args.usage}\n\n${USAGE}`);
    return 2;
  }
  let file: StackFile;
  try {
    file = readStackFile(args.file, PROJECT);
  } catch (err) {
    if (!(err instanceof StackFileError)) throw err;
    io.err(`plan: ${err.message} (stacks here: ${stackNames(REPO_ROOT).join(", ") || "none"})\n`);
    return 1;
  }
  let declared: Awaited<ReturnType<typeof declareStack>>;
  try {
    declared = await declareStack(file);
  } catch (err) {
    if (!(err instanceof ConfigurationError)) throw err;
    io.err(`plan: stack ${file.stack} is misconfigured; pulumi preview would refuse it with ${err.problems.length} problem(s):\n`);
    io.err(err.problems.map((p) => `  - ${p}\n`).join(""));
    return 1;
  }
  io.out([...header(file, declared.region, declared.accountId, declared.missingSecrets), ""].join("\n") + "\n");
  io.out(`${declared.resources.length} resources:\n${resourceTable(declared.resources).join("\n")}\n\n`);
  if (declared.failures.length > 0) {
    io.err(`plan: the program failed after declaring:\n${declared.failures.map((f) => `  - ${f}\n`).join("")}`);
    return 1;
  }
  const resources = declared.resources.map((r) => ({ ...r, inputs: r.inputs, state: r.state }));
  const violations = await evaluatePolicies(POLICIES, resources);
  const mandatory = violations.filter((v) => v.enforcementLevel === "mandatory").length;
  io.out(
    `Policy pack ${PACK_NAME} (${POLICIES.length} policies): ${mandatory} mandatory, ${violations.length - mandatory} advisory violation(s).\n`,
  );
  if (violations.length > 0) io.out(`${violationLines(violations, declared.resources).join("\n")}\n`);
  return mandatory > 0 ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2), { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) }).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`plan: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
