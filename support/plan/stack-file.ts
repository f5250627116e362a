/**
 * A stack file (`Pulumi.<stack>.yaml`) as the offline plan reads it: its configuration as the Pulumi CLI would hand
 * it to the program (every key namespaced, `project:key` for a bare one), with every value Pulumi encrypted in the
 * file (`{ secure: v1:… }`) replaced by a placeholder, since the plan has no key to decrypt it, and the paths it
 * replaced listed so the plan can say so. A file that is missing or not a stack file is an error naming it.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { load } from "js-yaml";

/** What stands in for a secret the plan cannot read: base64 of 55 bytes, as long as any secret check asks. */
export const SECRET_PLACEHOLDER = Buffer.from("offline plan: stand-in for a secret it cannot decrypt").toString("base64");

export type ConfigValue = string | number | boolean | object;

export interface StackFile {
  stack: string;
  file: string;
  /** Fully qualified keys (`iot-enterprise-auth:issuers`, `aws:region`) and their values. */
  config: Record<string, ConfigValue>;
  /** Keys (with a `.path` inside structured values) whose encrypted values were replaced by the placeholder. */
  encrypted: string[];
}

export class StackFileError extends Error {}

/** The stacks with a file in `dir`: `Pulumi.dev.yaml` → `dev`, sorted. */
export function stackNames(dir: string): string[] {
  return readdirSync(dir)
    .flatMap((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1] ?? [])
    .sort();
}

/** `Pulumi.<stack>.yaml` → `<stack>`, or undefined for another name. */
export function stackOfFile(file: string): string | undefined {
  return /^Pulumi\.(.+)\.ya?ml$/.exec(path.basename(file))?.[1];
}

function isSecure(value: unknown): value is { secure: string } {
  return typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).length === 1 && "secure" in value;
}

/** The value with every `{ secure: … }` inside replaced, and the paths replaced. */
function withPlaceholders(value: unknown, at: string, replaced: string[]): unknown {
  if (isSecure(value)) {
    replaced.push(at);
    return SECRET_PLACEHOLDER;
  }
  if (Array.isArray(value)) return value.map((v, i) => withPlaceholders(v, `${at}[${i}]`, replaced));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withPlaceholders(v, `${at}.${k}`, replaced)]));
  }
  return value;
}

/** Reads `file` for `project`; throws StackFileError when it cannot be read as a stack file. */
export function readStackFile(file: string, project: string): StackFile {
  const stack = stackOfFile(file);
  if (stack === undefined) throw new StackFileError(`${file} is not named Pulumi.<stack>.yaml`);
  if (!existsSync(file)) throw new StackFileError(`${file} does not exist`);
  let parsed: unknown;
  try {
    parsed = load(readFileSync(file, "utf8"));
  } catch (err) {
    throw new StackFileError(`${file} is not valid YAML: ${(err as Error).message.split("\n")[0]}`);
  }
  const raw = (parsed as { config?: unknown } | null | undefined)?.config;
  if (parsed !== undefined && parsed !== null && (typeof parsed !== "object" || Array.isArray(parsed))) {
    throw new StackFileError(`${file} is not a stack file (a YAML mapping with a config: mapping)`);
  }
  if (raw !== undefined && raw !== null && (typeof raw !== "object" || Array.isArray(raw))) {
    throw new StackFileError(`${file}: config must be a mapping of settings`);
  }
  const config: Record<string, ConfigValue> = {};
  const encrypted: string[] = [];
  for (const [key, value] of Object.entries((raw ?? {}) as Record<string, unknown>)) {
    if (value === null || value === undefined) continue;
    const qualified = key.includes(":") ? key : `${project}:${key}`;
    config[qualified] = withPlaceholders(value, qualified, encrypted) as ConfigValue;
  }
  return { stack, file, config, encrypted };
}
