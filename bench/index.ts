/**
 * `npm run bench`: the project's performance figures, each measured against a baseline or a target in the
 * same run. `npm run bench -- authorizer` or `-- device-grant` runs one part. Exits 1 when a target is missed.
 */
import { type BenchResult, benchAuthorizer } from "./authorizer";
import { benchDeviceGrant } from "./device-grant";

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
  const width = Math.max(...results.map((r) => r.name.length));
  for (const r of results) console.log(`${r.ok ? "PASS" : "MISS"}  ${r.name.padEnd(width)}  ${r.value.padStart(14)}  target ${r.target}`);
  if (results.some((r) => !r.ok)) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
