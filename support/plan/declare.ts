/**
 * Runs the program (`defineStack`, stacks/program.ts) under Pulumi's mocks with a stack's configuration and returns
 * what it declared. The run ends as a real one does: when the runtime's queue of resource registrations has drained
 * (`pulumi.runtime.disconnect`), so resources declared inside `apply` callbacks are there too. A failure the program
 * reports asynchronously (a function's configuration refused once the deployed values are known) is collected, not
 * lost. The mock account and region are fixed; nothing is read from or sent to AWS.
 */
import * as pulumi from "@pulumi/pulumi";
import { PROJECT } from "../../stacks/config";
import { defineStack } from "../../stacks/program";
import { type RecordedResource, setupMocks } from "../pulumi-mocks";
import { planSecrets } from "./secrets";
import { type StackFile } from "./stack-file";

export interface DeclaredStack {
  resources: RecordedResource[];
  accountId: string;
  region: string;
  /** Secret settings the file does not set, stood in for. */
  missingSecrets: string[];
  /** Failures the program reported after declaring (rejected outputs, thrown callbacks), as messages. */
  failures: string[];
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Declares the stack; a `ConfigurationError` (every problem of the configuration) is thrown before anything is declared. */
export async function declareStack(file: StackFile): Promise<DeclaredStack> {
  const failures: string[] = [];
  const collect = (err: unknown) => failures.push(message(err));
  process.on("unhandledRejection", collect);
  process.on("uncaughtException", collect);
  try {
    const region = typeof file.config["aws:region"] === "string" ? file.config["aws:region"] : undefined;
    const mocks = setupMocks({ config: file.config, project: PROJECT, stack: file.stack, ...(region && { region }) });
    const secrets = planSecrets(file.config);
    pulumi.runtime.setAllConfig(
      Object.fromEntries(Object.entries(secrets.config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])),
      secrets.secretKeys,
    );
    defineStack();
    await pulumi.runtime.disconnect();
    return { resources: mocks.resources, accountId: mocks.accountId, region: mocks.region, missingSecrets: secrets.missing, failures };
  } finally {
    process.off("unhandledRejection", collect);
    process.off("uncaughtException", collect);
  }
}
