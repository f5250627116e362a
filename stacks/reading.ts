/**
 * How the stack's reader reads settings and collects problems: typed reads of `pulumi.Config` values that say what
 * is wrong with a value, and the list of problems found so far, with the components' problems named by the stack
 * settings a reader sets (`STACK_SETTING_NAMES`).
 */
import * as pulumi from "@pulumi/pulumi";
import { type Namer, type Problem } from "../functions/shared/problems";
import type { SCALAR_SETTINGS } from "./settings";

/** The part of `pulumi.Config` the reader uses, and the names of every setting the stack sets; tests pass a recording one. */
export interface ConfigSource {
  get(key: string): string | undefined;
  /** Every setting of the namespace the stack sets, so that one the program does not know is refused, not ignored. */
  keys(): string[];
}

/** The stack's settings under `namespace` (`iot-enterprise-auth:`), whatever the program's own project is called. */
export function namespaceConfig(namespace: string): ConfigSource {
  const config = new pulumi.Config(namespace);
  return {
    get: (key) => config.get(key),
    keys: () =>
      Object.keys(pulumi.runtime.allConfig())
        .filter((k) => k.startsWith(`${namespace}:`))
        .map((k) => k.slice(namespace.length + 1)),
  };
}

/** A string setting, with the empty string (the declared default of optional ones) read as unset. */
export function readOptionalString(source: ConfigSource, key: keyof typeof SCALAR_SETTINGS): string | undefined {
  const raw = source.get(key);
  return raw === undefined || raw === "" ? undefined : raw;
}

/** A namer that calls a component's paths by their stack settings (a listed path also renames the paths below it). */
export function stackNamer(table: Readonly<Record<string, string>>, extra: Readonly<Record<string, string>> = {}): Namer {
  const names: Record<string, string> = { ...table, ...extra };
  return (path, usual) => {
    if (Object.hasOwn(names, path)) return names[path];
    const prefix = Object.keys(names)
      .filter((k) => path.startsWith(`${k}.`) || path.startsWith(`${k}[`))
      .sort((x, y) => y.length - x.length)[0];
    return prefix === undefined ? (usual ?? path) : names[prefix] + path.slice(prefix.length);
  };
}

/** The problems found so far, as sentences, and which stack settings they are about. */
export class StackProblems {
  readonly sentences: string[] = [];
  private readonly settings = new Set<string>();

  /** A problem of the stack's own reading, about `setting`. */
  add(setting: string, text: string): void {
    this.settings.add(setting);
    this.sentences.push(text);
  }

  /** A component's problems, named with `name`, less those `skip` says are reported already. */
  addFrom(problems: readonly Problem[], name: Namer, skip: (problem: Problem) => boolean = () => false): void {
    for (const p of problems) if (!skip(p)) this.sentences.push(p.describe(name));
  }

  reported(setting: string): boolean {
    return this.settings.has(setting);
  }
}

export function readInteger(source: ConfigSource, key: keyof typeof SCALAR_SETTINGS, problems: StackProblems): number | undefined {
  const raw = source.get(key);
  if (raw === undefined) return undefined;
  if (!/^-?\d+$/.test(raw.trim())) {
    problems.add(key, `${key} must be an integer; got ${JSON.stringify(raw)}`);
    return undefined;
  }
  return Number(raw);
}

export function readBoolean(source: ConfigSource, key: keyof typeof SCALAR_SETTINGS, problems: StackProblems): boolean | undefined {
  const raw = source.get(key);
  if (raw === undefined) return undefined;
  if (raw !== "true" && raw !== "false") {
    problems.add(key, `${key} must be true or false; got ${JSON.stringify(raw)}`);
    return undefined;
  }
  return raw === "true";
}

/** A structured setting; `shape` says what it should be when it is not JSON at all (`a list of objects`). */
export function readJson(source: ConfigSource, key: string, problems: StackProblems, shape = "a list of objects"): unknown {
  const raw = source.get(key);
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    problems.add(key, `${key} must be ${shape} (set it in the stack file or with pulumi config set --path)`);
    return undefined;
  }
}
