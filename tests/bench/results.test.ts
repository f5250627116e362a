/**
 * How `npm run bench` judges a timing (bench/results.ts, issue 10 §3.11): from the spread of per-round ratios of
 * alternating rounds, a clear pass, a clear miss, or NOISY when a busy machine leaves it undecided, which must not
 * fail the run. Results that only say `ok` (the device-grant part's) print as before.
 */
import { type BenchResult, exactResult, printResults, ratioResult, spreadOf, verdictOf } from "../../bench/results";

test("the spread: median and quartiles by interpolation, min and max", () => {
  expect(spreadOf([5, 1, 4, 2, 3])).toEqual({ rounds: 5, median: 3, q1: 2, q3: 4, min: 1, max: 5 });
  expect(spreadOf([1, 2, 3, 4])).toMatchObject({ median: 2.5, q1: 1.75, q3: 3.25 });
  expect(() => spreadOf([])).toThrow();
});

test.each([
  // ratios, target, verdict
  [[0.55, 0.58, 0.6, 0.61, 0.62], { atLeast: 0.4 }, "PASS"],
  [[0.2, 0.3, 0.35, 0.37, 0.7], { atLeast: 0.4 }, "MISS"], // one lucky round does not make a pass
  [[0.12, 0.14, 0.15, 0.18, 0.2], { atLeast: 0.15 }, "NOISY"],
  [[1.05, 1.1, 1.12, 1.15, 1.9], { atMost: 1.3 }, "PASS"], // one disturbed round does not make a miss
  [[1.4, 1.45, 1.5, 1.6, 1.0], { atMost: 1.3 }, "MISS"],
  [[1.1, 1.2, 1.28, 1.35, 1.4], { atMost: 1.3 }, "NOISY"],
] as const)("ratios %j against %j: %s", (ratios, target, verdict) => {
  expect(verdictOf(spreadOf([...ratios]), target)).toBe(verdict);
  expect(ratioResult("r", [...ratios], target)).toMatchObject({ verdict, ok: verdict !== "MISS" });
});

test("a NOISY run says why and exits 0; a clear MISS exits 1; ok-only results print as PASS or MISS", () => {
  const lines: string[] = [];
  const noisy = ratioResult("cold start: load, ratio to aws-jwt-verify's", [1.1, 1.2, 1.28, 1.35, 1.4], { atMost: 1.3 });
  const deviceGrant: BenchResult = { name: "device flow errors", value: "0", target: "0", ok: true };
  expect(
    printResults([noisy, deviceGrant, exactResult("bundle size (minified)", "36.0 KiB", "≤ 80 KiB", true)], (l) => lines.push(l)),
  ).toBe(0);
  expect(lines[0]).toMatch(
    /^NOISY {2}cold start: load, ratio to aws-jwt-verify's +1\.28 {2}target ≤ 1\.3 {2}\(IQR 1\.20–1\.35, min–max 1\.10–1\.40, 5 rounds\)$/,
  );
  expect(lines[1]).toMatch(/^PASS {3}device flow errors +0 {2}target 0$/);
  expect(lines.join("\n")).toMatch(
    /NOISY: cold start: load, ratio to aws-jwt-verify's: the middle half of the rounds straddles the target/,
  );

  const failing: BenchResult = { name: "device flows completed", value: "199/200", target: "all", ok: false };
  const out: string[] = [];
  expect(printResults([failing, noisy], (l) => out.push(l))).toBe(1);
  expect(out[0]).toMatch(/^MISS {3}device flows completed/);
  expect(out.at(-1)).toBe("MISS: device flows completed.");
});
