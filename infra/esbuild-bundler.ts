/**
 * The esbuild half of infra/bundle.ts: builds a function's bundle from its TypeScript source. Only this repository
 * loads it (the components while sources are present, `npm run build`, the benchmarks); the installed package ships
 * prebuilt bundles and neither this file nor esbuild.
 *
 * The output depends only on the source files and the esbuild version, never on the machine: builds run relative to
 * the repository root, without source maps, and keep licence comments at the end of the file.
 *
 * A function may leave out of its bundle what its libraries load but its path never runs: a `bundle-aliases.json`
 * beside its entry maps package names to smaller stand-ins, files relative to that directory (the authorizer's
 * replaces jose 6 with two node:crypto functions, see functions/authorizer/shims/). esbuild's `alias` applies them;
 * jest applies the same file to those libraries (tests/helpers/resolver.cjs), so tests run what ships.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { type BuildOptions, buildSync } from "esbuild";
import { REPO_ROOT } from "./repo-root";

export interface Bundle {
  /** The bundled JavaScript, to be stored as `index.js`. */
  code: string;
  /** Size of `code` in bytes (UTF-8). */
  bytes: number;
  /** Hex SHA-256 of `code`, handy for logs and tests. */
  sha256: string;
}

export interface BundleOptions {
  /** Build again even when this entry was already bundled in this process. */
  bypassCache?: boolean;
  /** Minify the output (default `true`; turned off only to measure what minification saves). */
  minify?: boolean;
}

/**
 * The Lambda Node.js 22 runtime provides the AWS SDK v3, so it stays out of the bundle: smaller code,
 * a faster cold start, and the runtime's SDK patches without a redeploy.
 */
export const EXTERNAL_MODULES = ["@aws-sdk/*"];

/** The file beside an entry that lists its stand-ins, `{ "package": "./relative/path.ts" }`. */
export const ALIASES_FILE = "bundle-aliases.json";

/**
 * The stand-ins declared beside `absoluteEntry`, as esbuild takes them: package name → path relative to the
 * repository root (`./…`), so that no absolute path reaches the output. Empty when there is no such file.
 */
export function bundleAliases(absoluteEntry: string): Record<string, string> {
  const dir = path.dirname(absoluteEntry);
  const file = path.join(dir, ALIASES_FILE);
  if (!fs.existsSync(file)) return {};
  const declared = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
  const aliases: Record<string, string> = {};
  for (const [name, target] of Object.entries(declared)) {
    const resolved = typeof target === "string" ? path.resolve(dir, target) : "";
    if (!fs.existsSync(resolved)) throw new Error(`${path.relative(REPO_ROOT, file)}: ${name} → ${String(target)}, no such file`);
    aliases[name] = `./${path.relative(REPO_ROOT, resolved).split(path.sep).join("/")}`;
  }
  return aliases;
}

const cache = new Map<string, Bundle>();

/**
 * Bundles `entry` (a path relative to the repository root, or absolute) with esbuild: CommonJS for the
 * `nodejs22.x` runtime, minified, with `@aws-sdk/*` left as `require` calls. Results are cached per entry
 * for the life of the process, so several components sharing a function bundle it once.
 */
export function bundleFunction(entry: string, opts: BundleOptions = {}): Bundle {
  const minify = opts.minify ?? true;
  const absoluteEntry = path.resolve(REPO_ROOT, entry);
  const key = `${absoluteEntry}\0${minify}`;
  const cached = cache.get(key);
  if (cached && !opts.bypassCache) return cached;

  const options: BuildOptions = {
    absWorkingDir: REPO_ROOT,
    // A relative entry keeps the absolute checkout path out of anything esbuild writes into the output.
    entryPoints: [path.relative(REPO_ROOT, absoluteEntry)],
    bundle: true,
    write: false,
    platform: "node",
    format: "cjs",
    target: "node22",
    minify,
    legalComments: "eof",
    sourcemap: false,
    external: EXTERNAL_MODULES,
    alias: bundleAliases(absoluteEntry),
    charset: "utf8",
    logLevel: "silent",
  };
  const result = buildSync(options);
  const file = result.outputFiles?.[0];
  if (!file) throw new Error(`esbuild produced no output for ${entry}`);
  const code = file.text;
  const bundle: Bundle = {
    code,
    bytes: Buffer.byteLength(code, "utf8"),
    sha256: createHash("sha256").update(code).digest("hex"),
  };
  cache.set(key, bundle);
  return bundle;
}
