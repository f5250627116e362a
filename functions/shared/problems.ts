/**
 * How every check in this repository reports what is wrong with a configuration: a list of problems, each with
 * the path of the setting it is about (`lambda.timeoutSeconds`, `issuers[1].jwksUri`), reported all at once in
 * one `ConfigurationError`.
 *
 * A problem is not a finished string: it describes itself given the names its reader knows settings by. A
 * component's own checks name a setting by its path in the component's arguments; the stack program, whose
 * readers set `functionTimeoutSeconds` rather than `lambda.timeoutSeconds`, renders the same problems with its
 * own table of names (stacks/config.ts). So the wording of a message is never a contract between two modules:
 * only paths are.
 */

/**
 * The name a reader knows the setting at `path` by. `usual` is what the checker itself would call it (an issuer
 * by its URL, say); without a name of its own, a reader sees that, or the path.
 */
export type Namer = (path: string, usual?: string) => string;

export interface Problem {
  /** Where, as a path into the checked object: `refreshAfterSeconds`, `lambda.memorySize`, `issuers[0].jwksUri`. */
  readonly path: string;
  /** The sentence, naming settings through `name`. */
  describe(name: Namer): string;
}

/** Names each setting as its checker does. */
export const usualNames: Namer = (path, usual) => usual ?? path;

/** A problem whose sentence is written by `describe`, e.g. one that names an issuer by its URL. */
export function problem(path: string, describe: (name: Namer) => string): Problem {
  return { path, describe };
}

/** The common shape: the setting's name, then what is wrong with it (`maxTokenBytes must be an integer …`). */
export function problemAt(path: string, rest: string): Problem {
  return { path, describe: (name) => `${name(path)} ${rest}` };
}

/** A problem about no single setting (or one the sentence names by itself). */
export function problemWithText(path: string, text: string): Problem {
  return { path, describe: () => text };
}

/**
 * One problem per field of the object at `path` that is not among `known` (`userPoolDomain: unknown field "prefx"`,
 * with the closest known field when one is near): a misspelt optional field would otherwise be dropped unread.
 * Nothing for a value that is not a plain object (its own check says what it should be).
 */
export function unknownFields(value: unknown, known: readonly string[], path: string): Problem[] {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return [];
  return Object.keys(value)
    .filter((field) => !known.includes(field))
    .map((field) => {
      const near = closest(field, known);
      return problem(path, (name) => `${name(path)}: unknown field ${JSON.stringify(field)}${near ? ` (did you mean ${near}?)` : ""}`);
    });
}

/** The one of `candidates` within two edits of `word` (case aside), if any: a suggestion for a misspelling. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance <= 2 && (best === undefined || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

/**
 * A problem of a nested object, moved under `prefix`: its path becomes `prefix.path` (or `prefix[0]…`), and the
 * names it asks for are looked up under the prefix first, falling back to what the nested checker called them.
 */
export function nested(prefix: string, inner: Problem, decorate: (text: string) => string = (text) => text): Problem {
  const join = (path: string) => (path.startsWith("[") ? `${prefix}${path}` : `${prefix}.${path}`);
  return {
    path: join(inner.path),
    describe: (name) => decorate(inner.describe((path, usual) => name(join(path), usual ?? path))),
  };
}

/**
 * A check's result with its problems rendered as sentences: what a person reads, for checks that have two
 * faces (`inspectX` keeps the paths for callers that name settings their own way, `checkX` renders them).
 */
export function rendered<T extends { problems: Problem[] }>(result: T): Omit<T, "problems"> & { problems: string[] } {
  return { ...result, problems: renderProblems(result.problems) };
}

/** Renders problems as sentences, naming settings with `name` (their checkers' names by default). */
export function renderProblems(problems: readonly (Problem | string)[], name: Namer = usualNames): string[] {
  return problems.map((p) => (typeof p === "string" ? p : p.describe(name)));
}

/** The checked value when there is no problem; otherwise one `ConfigurationError` with every problem, about `subject`. */
export function checkedOrThrow<T>(result: { checked: T; problems: readonly Problem[] }, subject: string): T {
  if (result.problems.length > 0) throw new ConfigurationError(result.problems, subject);
  return result.checked;
}

/**
 * A configuration that cannot be used, with every problem found. `problems` are the rendered sentences (what an
 * operator reads); `details` keep the paths, for a caller that names settings differently.
 */
export class ConfigurationError extends Error {
  readonly problems: string[];
  readonly details: readonly Problem[];

  constructor(problems: readonly (Problem | string)[], subject = "authorizer configuration", name: Namer = usualNames) {
    const rendered = renderProblems(problems, name);
    super(`Invalid ${subject}: ${rendered.length} problem(s):\n${rendered.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigurationError";
    this.problems = rendered;
    this.details = problems.map((p) => (typeof p === "string" ? problemWithText("", p) : p));
  }
}
