/**
 * How `npm run bench` judges and prints what it measured, shared by every part.
 *
 * A timing is never judged from one run: the measured thing and its baseline run in alternating rounds
 * (A/B/A/B…, so a busy spell on the machine hits both), each round gives one ratio, and the verdict comes from
 * the spread of those ratios. The spread is their interquartile range (the middle half; a single disturbed round
 * moves neither end much), and min–max is printed beside it:
 * - PASS when the whole IQR is on the right side of the target;
 * - MISS when the whole IQR is on the wrong side: a clear miss, whatever the machine was doing;
 * - NOISY when the IQR straddles the target: the run could not tell, and says so instead of failing.
 * Exact measures (a size, a count of requests) are PASS or MISS. A part that reports `ok` alone (no verdict) is
 * PASS or MISS by it.
 */

export type Verdict = "PASS" | "MISS" | "NOISY";

export interface BenchResult {
  name: string;
  value: string;
  target: string;
  ok: boolean;
  /** When the measure has a spread: its verdict (`ok` is then `verdict !== "MISS"`). */
  verdict?: Verdict;
  /** The spread behind `value`, as printed. */
  spread?: string;
}

export interface Spread {
  rounds: number;
  median: number;
  q1: number;
  q3: number;
  min: number;
  max: number;
}

/** Quantile by linear interpolation between the closest ranks (the common "type 7" definition). */
function quantile(sorted: number[], q: number): number {
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  const high = Math.ceil(at);
  return sorted[low] + (sorted[high] - sorted[low]) * (at - low);
}

export function spreadOf(values: number[]): Spread {
  if (values.length === 0) throw new Error("no rounds to judge");
  const sorted = [...values].sort((a, b) => a - b);
  return {
    rounds: sorted.length,
    median: quantile(sorted, 0.5),
    q1: quantile(sorted, 0.25),
    q3: quantile(sorted, 0.75),
    min: sorted[0],
    max: sorted[sorted.length - 1],
  };
}

/** The target a ratio must meet: at least or at most `value`. */
export interface Target {
  atLeast?: number;
  atMost?: number;
}

export function verdictOf(spread: Spread, target: Target): Verdict {
  if (target.atLeast !== undefined) {
    if (spread.q1 >= target.atLeast) return "PASS";
    return spread.q3 < target.atLeast ? "MISS" : "NOISY";
  }
  if (target.atMost !== undefined) {
    if (spread.q3 <= target.atMost) return "PASS";
    return spread.q1 > target.atMost ? "MISS" : "NOISY";
  }
  throw new Error("a target needs atLeast or atMost");
}

/** A result for a ratio measured over rounds: the median as value, the spread and the verdict beside it. */
export function ratioResult(name: string, ratios: number[], target: Target, digits = 2): BenchResult {
  const spread = spreadOf(ratios);
  const verdict = verdictOf(spread, target);
  const f = (n: number): string => n.toFixed(digits);
  return {
    name,
    value: f(spread.median),
    target: target.atLeast !== undefined ? `≥ ${target.atLeast}` : `≤ ${target.atMost}`,
    ok: verdict !== "MISS",
    verdict,
    spread: `IQR ${f(spread.q1)}–${f(spread.q3)}, min–max ${f(spread.min)}–${f(spread.max)}, ${spread.rounds} rounds`,
  };
}

/** An exact measure: PASS or MISS. */
export function exactResult(name: string, value: string, target: string, ok: boolean): BenchResult {
  return { name, value, target, ok, verdict: ok ? "PASS" : "MISS" };
}

function verdictOfResult(result: BenchResult): Verdict {
  return result.verdict ?? (result.ok ? "PASS" : "MISS");
}

/**
 * Prints the table and what it means; returns the exit code: 1 when anything is a clear MISS, else 0 (a NOISY
 * measure is reported as undecided, not as a failure).
 */
export function printResults(results: BenchResult[], print: (line: string) => void = console.log): number {
  const width = Math.max(...results.map((r) => r.name.length));
  for (const r of results) {
    const spread = r.spread === undefined ? "" : `  (${r.spread})`;
    print(`${verdictOfResult(r).padEnd(5)}  ${r.name.padEnd(width)}  ${r.value.padStart(14)}  target ${r.target}${spread}`);
  }
  const misses = results.filter((r) => verdictOfResult(r) === "MISS");
  const noisy = results.filter((r) => verdictOfResult(r) === "NOISY");
  if (noisy.length > 0) {
    print("");
    print(
      `NOISY: ${noisy.map((r) => r.name).join("; ")}: the middle half of the rounds straddles the target, so this run cannot ` +
        "tell a pass from a miss (the machine was busy). Not counted as a miss; run `npm run bench` again on a quieter machine to decide.",
    );
  }
  if (misses.length > 0) {
    print("");
    print(`MISS: ${misses.map((r) => r.name).join("; ")}.`);
    return 1;
  }
  return 0;
}
