/**
 * `npm run bench`: the project's performance figures, each measured against a baseline or a target in the
 * same run. `npm run bench -- authorizer` or `-- device-grant` runs one part. Every part's results are printed in
 * one table by `results.ts`: PASS, MISS, or NOISY when a timing's spread straddles its target. Exits 1 only on a
 * clear MISS; a NOISY run says so and exits 0.
 */
import { benchAuthorizer } from "./authorizer";
import { benchDeviceGrant } from "./device-grant";
import { type BenchResult, printResults } from "./results";

const PARTS: Record<string, () => Promise<BenchResult[]>> = { authorizer: benchAuthorizer, "device-grant": benchDeviceGrant };

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !(w in PARTS));
  if (unknown.length > 0) throw new Error(`unknown part(s) ${unknown.join(", ")}; choose from ${Object.keys(PARTS).join(", ")}`);
  const results: BenchResult[] = [];
  for (const [name, run] of Object.entries(PARTS)) {
    if (wanted.length > 0 && !wanted.includes(name)) continue;
    results.push(...(await run()));
    console.log("");
  }
  process.exitCode = printResults(results);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
