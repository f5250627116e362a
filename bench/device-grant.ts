/**
 * Load on the device grant (part of `npm run bench`): many concurrent device flows, from device authorization
 * to tokens, against the real Lambda handler behind the local API Gateway adapter, on dynalite, with
 * cognito-local as the IdP (the local chain of sandbox/device-grant-chain.ts, as the tests and the sandbox use it). Reports the
 * service's requests per
 * second and latency (the IdP's sign-in is timed separately and left out), errors (must be zero), and the
 * DynamoDB requests per completed flow, by operation: on AWS, the number that sets the cost of a sign-in.
 * Targets: at most 10 requests per flow, one per pending poll, and no `Query` or `Scan` (no index is read);
 * functions/device-grant/table.ts says where each request goes.
 *
 * Each flow is what a TV and its user do: device authorization, one pending poll, the pre-filled code form,
 * the confirmation page, Approve, sign-in at the IdP, the callback, and the poll that gets the tokens.
 */
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { startDeviceGrantChain } from "../sandbox/device-grant-chain";
import { approve, openConfirmation, ScriptedUser } from "../sandbox/scripted-user";
import { authorizeDevice, pollToken } from "../support/device-flow";
import { type BenchResult } from "./authorizer";

const FLOWS = Number(process.env.BENCH_FLOWS ?? 200);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 20);
/** DynamoDB requests a completed flow may cost (issue 10 §2.10). */
export const MAX_REQUESTS_PER_FLOW = 10;
/** Where a bench browser says it is (the local API Gateway reports it as the source address). */
const USER_ADDRESS = /\(bench-user (10\.\d+\.\d+\.\d+)\)/;
let users = 0;

/** The item operations a flow may use: no Query (no index), no Scan. */
const KEY_OPERATIONS = new Set(["GetItem", "PutItem", "UpdateItem"]);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export async function benchDeviceGrant(): Promise<BenchResult[]> {
  console.log(`== Device authorization grant: ${FLOWS} flows, ${CONCURRENCY} at a time ==`);
  // The service's clock runs ahead of the wall clock by what the devices have waited (see `flow`).
  let offsetMs = 0;
  const user = { username: "bench-user", password: `${randomBytes(12).toString("base64url")}-Aa1!`, email: "bench-user@example.com" };
  const grant = await startDeviceGrantChain({
    clients: [{ appName: "tv", displayName: "Bench TV", type: "public", scopes: ["openid", "iot/device"] }],
    user,
    region: "us-east-1",
    clock: { now: () => Date.now() + offsetMs },
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
    settings: { pollingIntervalSeconds: 1 },
    // Each flow's user at an address of its own, as people are: its browser names it in its User-Agent.
    sourceIp: (request) => USER_ADDRESS.exec(request.headers["user-agent"] ?? "")?.[1] ?? request.socket.remoteAddress ?? "",
  });
  const [client] = grant.clients;
  let dynamoRequests = 0;
  const byOperation = new Map<string, number>();
  grant.dynamo.client.middlewareStack.add(
    (next, context) => async (args) => {
      dynamoRequests++;
      const operation = String(context.commandName ?? "?").replace(/Command$/, "");
      byOperation.set(operation, (byOperation.get(operation) ?? 0) + 1);
      return next(args);
    },
    { step: "initialize", name: "benchRequestCounter" },
  );

  // One pending poll on its own, before the concurrent run, so its requests can be told apart.
  const probe = await authorizeDevice(grant.url, client);
  const beforePoll = dynamoRequests;
  await pollToken(grant.url, probe.device_code, client);
  const perPendingPoll = dynamoRequests - beforePoll;
  dynamoRequests = 0;
  byOperation.clear();

  const latencies: number[] = [];
  let idpMs = 0;
  let errors = 0;
  let completed = 0;
  const firstErrors: string[] = [];
  async function timed<T>(call: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await call();
    } finally {
      latencies.push(performance.now() - started);
    }
  }

  async function flow(): Promise<void> {
    const authorization = await timed(() => authorizeDevice(grant.url, client));
    const pending = await timed(() => pollToken(grant.url, authorization.device_code, client));
    if (pending.body.error !== "authorization_pending") throw new Error(`first poll: ${JSON.stringify(pending.body)}`);
    const browser = new ScriptedUser();
    const n = ++users;
    browser.userAgent = `${browser.userAgent} (bench-user 10.0.${n >> 8}.${n & 255})`;
    // openConfirmation is two requests (the pre-filled form, then its submission); count both.
    const confirmation = await timed(() => openConfirmation(browser, authorization));
    latencies.push(latencies[latencies.length - 1]);
    const idpUrl = await timed(() => approve(browser, confirmation));
    const idpStarted = performance.now();
    const callbackUrl = await browser.signInAtCognito(idpUrl, user.username, user.password);
    idpMs += performance.now() - idpStarted;
    const callback = await timed(() => browser.get(callbackUrl));
    if (callback.status !== 200) throw new Error(`callback answered ${callback.status}`);
    // The device waits its interval before polling again.
    offsetMs += authorization.interval * 1000;
    const tokens = await timed(() => pollToken(grant.url, authorization.device_code, client));
    if (tokens.status !== 200 || typeof tokens.body.access_token !== "string")
      throw new Error(`final poll: ${tokens.status} ${JSON.stringify(tokens.body.error)}`);
    completed++;
  }

  const started = performance.now();
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < FLOWS) {
          next++;
          try {
            await flow();
          } catch (err) {
            errors++;
            if (firstErrors.length < 3) firstErrors.push((err as Error).message);
          }
        }
      }),
    );
  } finally {
    await grant.stop();
  }
  const wallSeconds = (performance.now() - started) / 1000;
  const serviceSeconds = wallSeconds - idpMs / 1000 / CONCURRENCY;
  latencies.sort((a, b) => a - b);
  const perFlow = completed > 0 ? dynamoRequests / completed : NaN;

  console.log(
    `${completed} flows in ${wallSeconds.toFixed(1)} s (${(completed / wallSeconds).toFixed(1)} flows/s); ` +
      `${latencies.length} service requests, ≈ ${(latencies.length / serviceSeconds).toFixed(0)} requests/s excluding IdP sign-in time; ` +
      `latency p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms`,
  );
  const operations = [...byOperation].sort(([a], [b]) => a.localeCompare(b));
  console.log(
    `DynamoDB requests: ${dynamoRequests} (${perFlow.toFixed(1)} per completed flow, target ≤ ${MAX_REQUESTS_PER_FLOW}; ` +
      `${perPendingPoll} per pending poll)`,
  );
  for (const [operation, n] of operations) console.log(`  ${operation.padEnd(10)} ${(n / Math.max(1, completed)).toFixed(1)} per flow`);
  for (const message of firstErrors) console.log(`error: ${message}`);
  return [
    { name: "device flows completed", value: `${completed}/${FLOWS}`, target: "all", ok: completed === FLOWS },
    { name: "device flow errors", value: String(errors), target: "0", ok: errors === 0 },
    {
      name: "service latency p50 / p99",
      value: `${percentile(latencies, 50).toFixed(1)} / ${percentile(latencies, 99).toFixed(1)} ms`,
      target: "(reported)",
      ok: true,
    },
    {
      name: "DynamoDB requests per flow",
      value: `${perFlow.toFixed(1)} (${operations.map(([op, n]) => `${op} ${(n / Math.max(1, completed)).toFixed(1)}`).join(", ")})`,
      target: `≤ ${MAX_REQUESTS_PER_FLOW}, GetItem/PutItem/UpdateItem only`,
      ok: perFlow <= MAX_REQUESTS_PER_FLOW && operations.every(([op]) => KEY_OPERATIONS.has(op)),
    },
    { name: "DynamoDB requests per pending poll", value: String(perPendingPoll), target: "1", ok: perPendingPoll === 1 },
  ];
}
