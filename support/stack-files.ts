/** Reads the project's Pulumi files, for tests that keep them and the code in agreement. */
import * as fs from "node:fs";
import * as path from "node:path";
import { load } from "js-yaml";
import { REPO_ROOT } from "../infra/repo-root";

export interface ProjectFile {
  name: string;
  description?: string;
  runtime: { name: string; options?: Record<string, unknown> };
  main?: string;
  config: Record<string, { type: string; description?: string; default?: unknown; secret?: boolean }>;
}

export function readProjectFile(): { project: ProjectFile; text: string } {
  const text = fs.readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8");
  return { project: load(text) as ProjectFile, text };
}

export function readStackFile(stack: string): Record<string, unknown> {
  const text = fs.readFileSync(path.join(REPO_ROOT, `Pulumi.${stack}.yaml`), "utf8");
  return (load(text) as { config: Record<string, unknown> }).config;
}
