/**
 * What the authorizer costs, measured against baselines taken in the same run (part of `npm run bench`).
 *
 * - Warm throughput of the deployed handler (the minified bundle, loaded as Lambda loads it) over thousands
 *   of distinct tokens: token extraction, verification, claim checks, policy. RS256 with its key cached, as
 *   a ratio to bare `crypto.verify` of the same tokens; HS256 as a ratio to bare HMAC-SHA256 of the same
 *   tokens. These decision ratios are taken with the decision metrics off (`METRICS_NAMESPACE` empty), as the
 *   targets were set for the decision; what the decision line with its metric adds (an INFO line built per
 *   decision, docs/operations.md#decisions-as-metrics) is measured on its own, as the ratio of the handler with
 *   metrics off to the handler as deployed. The bare loop and the handler alternate round by round (A/B/A/B…,
 *   the order swapped every round), each round gives one ratio, and `results.ts` judges their spread (PASS, MISS,
 *   or NOISY when the machine was too busy to tell). The number of JWKS requests made during the measured loops is printed: it must be 0.
 * - The bundle's size and cold start, side by side with an aws-jwt-verify authorizer (`cold-start.ts`).
 *
 * Targets: RS256 ≥ 0.4, HS256 ≥ 0.15, the metric line ≥ 0.65 (it may add at most about half an HS256 decision),
 * bundle ≤ 80 KiB, load ≤ 1.3× aws-jwt-verify's.
 */
import { createHmac, randomBytes, verify, type KeyObject } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleFunction } from "../infra/esbuild-bundler";
import { JwksServer } from "../support/jwks-server";
import {
  cognitoClaims,
  HS_ISSUER,
  openamClaims,
  RS_ISSUER,
  rsaKey,
  SHARED_SECRET,
  SHARED_SECRET_BYTES,
  signHs,
  signRs,
} from "../support/tokens";
import { AUTHORIZER_ENTRY, benchColdStart } from "./cold-start";
import { type BenchResult, exactResult, ratioResult } from "./results";

export { type BenchResult } from "./results";

const RS_TOKENS = Number(process.env.BENCH_RS_TOKENS ?? 2_000);
const HS_TOKENS = Number(process.env.BENCH_HS_TOKENS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const TARGETS = { rs256: 0.4, hs256: 0.15, metricLine: 0.65 };

type Handler = (event: unknown) => Promise<{ isAuthenticated: boolean }>;

/** ns per item of one run of `run` over `count` items. */
async function nsPerItem(count: number, run: () => void | Promise<void>): Promise<number> {
  const started = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - started) / count;
}

/**
 * `ROUNDS` alternating rounds of the baseline and the measured loop (the order swapped every round); per round,
 * baseline time / measured time, so a higher ratio is a cheaper handler.
 */
async function alternatingRatios(
  count: number,
  bare: () => void | Promise<void>,
  full: () => Promise<void>,
): Promise<{ ratios: number[]; bare: number[]; full: number[] }> {
  const out = { ratios: [] as number[], bare: [] as number[], full: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    let b: number;
    let f: number;
    if (round % 2 === 0) {
      b = await nsPerItem(count, bare);
      f = await nsPerItem(count, full);
    } else {
      f = await nsPerItem(count, full);
      b = await nsPerItem(count, bare);
    }
    out.ratios.push(b / f);
    out.bare.push(b);
    out.full.push(f);
  }
  return out;
}

function signingInput(token: string): { input: Buffer; signature: Buffer } {
  const dot = token.lastIndexOf(".");
  return { input: Buffer.from(token.slice(0, dot)), signature: Buffer.from(token.slice(dot + 1), "base64url") };
}

/**
 * A signature as devices send it next to the token (RSA-2048, base64, URL-encoded): IoT has checked it before
 * the function runs, so its value does not matter here, but its length and encoding are part of the username
 * the function parses.
 */
const SIGNATURE = encodeURIComponent(randomBytes(256).toString("base64"));

/** The MQTT CONNECT event IoT sends, token in the username as devices send it (docs/aws-iot-custom-auth.md#mqtt). */
function event(token: string, i: number): unknown {
  return {
    protocols: ["tls", "mqtt"],
    protocolData: {
      tls: { serverName: "example-ats.iot.eu-west-1.amazonaws.com" },
      mqtt: {
        username: `device?x-amz-customauthorizer-name=bench&x-amz-customauthorizer-signature=${SIGNATURE}&token=${token}&SDK=IoTDeviceSDK%2Fjs`,
        clientId: `c${i}`,
      },
    },
    connectionMetadata: { id: `connection-${i}` },
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** The same bundle loaded twice: as deployed (decision lines with their metric) and with the metrics off. */
interface Handlers {
  deployed: Handler;
  metricsOff: Handler;
}

async function throughput(handlers: Handlers, key: ReturnType<typeof rsaKey>, jwks: JwksServer): Promise<BenchResult[]> {
  const handler = handlers.metricsOff;
  const now = Math.floor(Date.now() / 1000);
  console.log(`Signing ${RS_TOKENS} RS256 and ${HS_TOKENS} HS256 distinct tokens…`);
  const times = { iat: now, exp: now + 3600 };
  const rsTokens = Array.from({ length: RS_TOKENS }, (_, i) => signRs(cognitoClaims({ ...times, sub: `device${i}` }), key));
  const hsTokens = Array.from({ length: HS_TOKENS }, (_, i) => signHs(openamClaims({ ...times, sub: `user${i}` })));
  const rsEvents = rsTokens.map(event);
  const hsEvents = hsTokens.map(event);

  // Warm-up: the first RS256 token fetches the key set; every token must be accepted.
  for (const [events, name] of [
    [rsEvents, "RS256"],
    [hsEvents, "HS256"],
  ] as const) {
    for (const e of events) {
      for (const h of [handlers.deployed, handlers.metricsOff])
        if (!(await h(e)).isAuthenticated) throw new Error(`a valid ${name} token was denied: the benchmark is measuring denials`);
    }
  }
  const requestsBefore = jwks.requests;

  const rsParts = rsTokens.map(signingInput);
  const publicKey: KeyObject = key.publicKey;
  const rs = await alternatingRatios(
    RS_TOKENS,
    () => {
      for (const { input, signature } of rsParts) if (!verify("sha256", input, publicKey, signature)) throw new Error("bad");
    },
    async () => {
      for (const e of rsEvents) await handler(e);
    },
  );
  const hsParts = hsTokens.map(signingInput);
  const hs = await alternatingRatios(
    HS_TOKENS,
    () => {
      for (const { input } of hsParts) createHmac("sha256", SHARED_SECRET_BYTES).update(input).digest();
    },
    async () => {
      for (const e of hsEvents) await handler(e);
    },
  );
  const line = await alternatingRatios(
    HS_TOKENS,
    async () => {
      for (const e of hsEvents) await handlers.metricsOff(e);
    },
    async () => {
      for (const e of hsEvents) await handlers.deployed(e);
    },
  );
  const hotPathRequests = jwks.requests - requestsBefore;

  console.log("");
  for (const [name, m] of [
    ["RS256 (key cached)", rs],
    ["HS256", hs],
  ] as const) {
    const full = median(m.full);
    console.log(
      `${name}: bare ${(median(m.bare) / 1000).toFixed(2)} µs/token, full handler ${(full / 1000).toFixed(2)} µs/token ` +
        `(${Math.round(1e9 / full).toLocaleString("en")} decisions/s, metrics off), medians of ${ROUNDS} alternating rounds`,
    );
  }
  const deployed = median(line.full);
  console.log(
    `HS256 as deployed (decision line with its metric): ${(deployed / 1000).toFixed(2)} µs/token ` +
      `(${Math.round(1e9 / deployed).toLocaleString("en")} decisions/s), ${(median(line.bare) / 1000).toFixed(2)} µs with metrics off`,
  );
  return [
    ratioResult("RS256 ratio to bare", rs.ratios, { atLeast: TARGETS.rs256 }),
    ratioResult("HS256 ratio to bare", hs.ratios, { atLeast: TARGETS.hs256 }),
    ratioResult("HS256 metric line: metrics off / deployed", line.ratios, { atLeast: TARGETS.metricLine }),
    exactResult("JWKS requests during measured loops", String(hotPathRequests), "0", hotPathRequests === 0),
  ];
}

export async function benchAuthorizer(): Promise<BenchResult[]> {
  console.log("== IoT custom authorizer ==");
  const jwks = await JwksServer.start();
  const key = rsaKey("bench-key");
  jwks.behaviour.keys = [key.jwk];
  const config = {
    region: "eu-west-1",
    accountId: "123456789012",
    issuers: [
      { issuer: RS_ISSUER, algorithms: ["RS256"], jwksUri: jwks.uri, tokenUse: "access", clientIds: ["tvclient"], principalPrefix: "c" },
      { issuer: HS_ISSUER, algorithms: ["HS256"], secret: SHARED_SECRET, audiences: ["iot"], principalPrefix: "o" },
    ],
  };
  const dir = mkdtempSync(join(tmpdir(), "authorizer-bench-"));
  const bundlePath = join(dir, "index.js");
  writeFileSync(bundlePath, bundleFunction(AUTHORIZER_ENTRY).code);
  try {
    process.env.AUTHORIZER_CONFIG = JSON.stringify(config);
    // In Lambda the function's application log level (INFO) drops the per-request debug lines; so here. The decision
    // lines with their metric (written to stdout whole, docs/operations.md#decisions-as-metrics) are still built,
    // then dropped instead of printed: Lambda's log transport is not what this measures.
    console.debug = () => undefined;
    const stdoutWrite = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) =>
      typeof chunk === "string" && chunk.startsWith('{"timestamp":') ? true : stdoutWrite(chunk, ...rest)) as typeof process.stdout.write;
    // The handler reads METRICS_NAMESPACE when its module loads: a second copy of the bundle loads with it empty.
    const metricsOffPath = join(dir, "index-metrics-off.js");
    writeFileSync(metricsOffPath, readFileSync(bundlePath));
    process.env.METRICS_NAMESPACE = "";
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loading the bundle exactly as Lambda does
    const metricsOff = (require(metricsOffPath) as { handler: Handler }).handler;
    delete process.env.METRICS_NAMESPACE;
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loading the bundle exactly as Lambda does
    const deployed = (require(bundlePath) as { handler: Handler }).handler;
    const results = await throughput({ deployed, metricsOff }, key, jwks);
    const now = Math.floor(Date.now() / 1000);
    const times = { iat: now, exp: now + 3600 };
    results.push(
      ...(await benchColdStart({
        dir,
        config,
        hsToken: signHs(openamClaims(times)),
        rsToken: signRs(cognitoClaims(times), key),
        jwks: { keys: [key.jwk] },
        rsIssuer: RS_ISSUER,
      })),
    );
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await jwks.stop();
  }
}
