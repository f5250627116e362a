/**
 * The stack's secret settings as the plan supplies them. A secret the file holds encrypted is already a placeholder
 * (stack-file.ts). A secret setting the file does not hold at all (the dev stack's `sharedSecret`, which each team
 * sets with `pulumi config set --secret` and never commits in clear) is given the placeholder too, but only when the
 * configuration needs it: when the reader's problems with the placeholder are a strict subset of its problems without
 * it, one secret at a time. Either way the plan says which secrets it stood in for, so a reader knows `pulumi preview` needs them set.
 */
import { ConfigurationError } from "../../functions/shared/problems";
import { PROJECT, readStackConfig, SECRET_SETTINGS, type ConfigSource } from "../../stacks/config";
import { type ConfigValue, SECRET_PLACEHOLDER } from "./stack-file";

export interface PlannedSecrets {
  config: Record<string, ConfigValue>;
  /** Fully qualified keys Pulumi would treat as secret (every secret setting, given or not). */
  secretKeys: string[];
  /** Secret settings the file does not set, which the plan stood in for. */
  missing: string[];
}

function source(config: Record<string, ConfigValue>): ConfigSource {
  return {
    get(key) {
      const value = config[`${PROJECT}:${key}`];
      return value === undefined ? undefined : typeof value === "string" ? value : JSON.stringify(value);
    },
    keys: () => Object.keys(config).flatMap((k) => (k.startsWith(`${PROJECT}:`) ? [k.slice(PROJECT.length + 1)] : [])),
  };
}

/** The reader's problems with this configuration (none when it reads). */
export function configurationProblems(config: Record<string, ConfigValue>): string[] {
  try {
    readStackConfig(source(config));
    return [];
  } catch (err) {
    if (err instanceof ConfigurationError) return err.problems;
    throw err;
  }
}

/** Call under the mocks (the reader names resources after the stack). */
export function planSecrets(config: Record<string, ConfigValue>): PlannedSecrets {
  const secretKeys = SECRET_SETTINGS.map((s) => `${PROJECT}:${s}`);
  const absent = secretKeys.filter((k) => config[k] === undefined);
  if (absent.length === 0) return { config, secretKeys, missing: [] };
  // One secret at a time: a placeholder stands in for a secret only when it removes problems and adds none (a
  // placeholder is no valid JSON object, so it never stands in for a structured secret such as existingClientSecrets).
  let planned = config;
  const missing: string[] = [];
  for (const key of absent) {
    const without = new Set(configurationProblems(planned));
    const candidate = { ...planned, [key]: SECRET_PLACEHOLDER };
    const withIt = configurationProblems(candidate);
    if (withIt.length < without.size && withIt.every((p) => without.has(p))) {
      planned = candidate;
      missing.push(key.slice(PROJECT.length + 1));
    }
  }
  return { config: planned, secretKeys, missing };
}
