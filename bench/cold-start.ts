/**
 * The authorizer's cold start, side by side with a minimal authorizer built on aws-jwt-verify
 * (`jwt-verify-authorizer.ts`), both bundled by `bundleFunction` as Lambda receives them (part of `npm run bench`).
 *
 * - Size: both bundles, minified; ours must stay within `BUNDLE_KIB`.
 * - Load: a fresh Node process per sample times `require()` of the bundle with a valid `AUTHORIZER_CONFIG` (what
 *   Lambda's init phase does). Ours and the baseline alternate, process by process (A/B/A/B…, the order swapped every
 *   round); a round is `SAMPLES` of each, and gives the ratio of their medians (ours / baseline), so that one
 *   disturbed process does not decide a round. `ratioResult` judges the rounds' ratios against `LOAD_RATIO`.
 * - Our first decision after the load (an HS256 token, so no network) is reported beside it.
 * Before any timing, the baseline must accept a valid token and refuse a tampered one: a broken baseline would
 * make the comparison meaningless.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Bundle, bundleFunction } from "../infra/esbuild-bundler";
import { type BenchResult, exactResult, ratioResult, spreadOf } from "./results";

export const BUNDLE_KIB = 80;
export const LOAD_RATIO = 1.3;
const ROUNDS = Number(process.env.BENCH_COLD_ROUNDS ?? 15);
const SAMPLES = 3;

export const AUTHORIZER_ENTRY = "functions/authorizer/index.ts";
export const BASELINE_ENTRY = "bench/jwt-verify-authorizer.ts";

type Handler = (event: unknown) => Promise<{ isAuthenticated: boolean }>;

export interface ColdStartInputs {
  dir: string;
  config: unknown;
  /** A valid HS256 token for our first decision. */
  hsToken: string;
  /** A valid RS256 token, its issuer's JWKS, and the same token tampered with, to check the baseline works. */
  rsToken: string;
  jwks: { keys: Record<string, unknown>[] };
  rsIssuer: string;
}

/** Writes a bundle where Lambda would find it: one index.js in its own directory. */
function written(dir: string, name: string, bundle: Bundle): string {
  const file = join(dir, `${name}.js`);
  writeFileSync(file, bundle.code);
  return file;
}

async function checkBaseline(file: string, inputs: ColdStartInputs): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loading the bundle as Lambda does
  const baseline = require(file) as { handler: Handler; verifier: { cacheJwks(jwks: unknown, issuer: string): void } };
  // aws-jwt-verify fetches over https only; the bench's JWKS server is plain http on loopback, so hand it the set.
  baseline.verifier.cacheJwks(inputs.jwks, inputs.rsIssuer);
  const tampered = `${inputs.rsToken.slice(0, -4)}AAAA`;
  if (
    !(await baseline.handler({ token: inputs.rsToken })).isAuthenticated ||
    (await baseline.handler({ token: tampered })).isAuthenticated
  ) {
    throw new Error("the aws-jwt-verify baseline does not decide correctly: the cold-start comparison would be meaningless");
  }
}

interface Sample {
  load: number;
  first: number;
}

/** The median load of a round's samples, with the first decision that went with it. */
function medianSample(samples: Sample[]): Sample {
  return [...samples].sort((a, b) => a.load - b.load)[Math.floor(samples.length / 2)];
}

function sample(file: string, config: unknown, token: string | undefined): Sample {
  const probe = `
    const { performance } = require("node:perf_hooks");
    const t0 = performance.now();
    const { handler } = require(${JSON.stringify(file)});
    const t1 = performance.now();
    console.debug = () => undefined;
    // The decision line (with its metric) is built and written as in Lambda, to a sink: stdout carries the sample only.
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = () => true;
    const token = ${JSON.stringify(token ?? null)};
    (token === null ? Promise.resolve({ isAuthenticated: true }) : handler({ token })).then((r) => {
      if (!r.isAuthenticated) process.exit(2);
      write(JSON.stringify({ load: t1 - t0, first: performance.now() - t1 }));
    });`;
  const env = { ...process.env, AUTHORIZER_CONFIG: JSON.stringify(config) };
  return JSON.parse(execFileSync(process.execPath, ["-e", probe], { env }).toString()) as Sample;
}

export async function benchColdStart(inputs: ColdStartInputs): Promise<BenchResult[]> {
  const ours = bundleFunction(AUTHORIZER_ENTRY);
  const baseline = bundleFunction(BASELINE_ENTRY);
  const oursFile = written(inputs.dir, "authorizer", ours);
  const baselineFile = written(inputs.dir, "jwt-verify-authorizer", baseline);
  await checkBaseline(baselineFile, inputs);

  const kib = (b: Bundle): number => b.bytes / 1024;
  console.log(`bundles: ours ${kib(ours).toFixed(1)} KiB, aws-jwt-verify authorizer ${kib(baseline).toFixed(1)} KiB`);

  const rounds: { ours: Sample; baseline: Sample }[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const ours: Sample[] = [];
    const base: Sample[] = [];
    for (let i = 0; i < 2 * SAMPLES; i++) {
      if ((i + round) % 2 === 0) ours.push(sample(oursFile, inputs.config, inputs.hsToken));
      else base.push(sample(baselineFile, inputs.config, undefined));
    }
    rounds.push({ ours: medianSample(ours), baseline: medianSample(base) });
  }
  const oursLoad = spreadOf(rounds.map((r) => r.ours.load));
  const baselineLoad = spreadOf(rounds.map((r) => r.baseline.load));
  const first = spreadOf(rounds.map((r) => r.ours.first));
  console.log(
    `cold start, ${ROUNDS} rounds of ${SAMPLES} + ${SAMPLES} alternating fresh processes: load ours ${oursLoad.median.toFixed(1)} ms ` +
      `(IQR ${oursLoad.q1.toFixed(1)}–${oursLoad.q3.toFixed(1)}), aws-jwt-verify authorizer ${baselineLoad.median.toFixed(1)} ms ` +
      `(IQR ${baselineLoad.q1.toFixed(1)}–${baselineLoad.q3.toFixed(1)}); our first HS256 decision ${first.median.toFixed(1)} ms`,
  );
  return [
    exactResult("bundle size (minified)", `${kib(ours).toFixed(1)} KiB`, `≤ ${BUNDLE_KIB} KiB`, kib(ours) <= BUNDLE_KIB),
    exactResult("aws-jwt-verify authorizer bundle", `${kib(baseline).toFixed(1)} KiB`, "(reported)", true),
    ratioResult(
      "cold start: load, ratio to aws-jwt-verify's",
      rounds.map((r) => r.ours.load / r.baseline.load),
      { atMost: LOAD_RATIO },
    ),
    exactResult("cold start: load bundle with valid config", `${oursLoad.median.toFixed(1)} ms`, "(reported)", true),
    exactResult("cold start: first HS256 decision", `${first.median.toFixed(1)} ms`, "(reported)", true),
  ];
}
