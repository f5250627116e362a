/**
 * The authorizer's decision lines carry the embedded metric format: the real handler, with its default logger,
 * writes one line per decision, each valid EMF (support/emf.ts), counting 1 under `AuthorizerDecisions` by
 * `Decision` and `Check`, with values from closed sets only, whatever a device sends.
 */
import { randomBytes } from "node:crypto";
import { createHandler } from "../../functions/authorizer/index";
import { AUTHORIZER_CHECKS, AUTHORIZER_METRIC } from "../../functions/authorizer/metrics";
import { DEFAULT_METRICS_NAMESPACE, OTHER } from "../../functions/shared/metric-lines";
import { emfProblems, extractedMetrics } from "../../support/emf";
import { HS_ISSUER, mqttEvent, openamClaims, SHARED_SECRET, signHs } from "./fixtures";

const FUNCTION = "iot-auth-prod-authorizer";
const config = JSON.stringify({
  region: "eu-west-1",
  accountId: "123456789012",
  issuers: [{ issuer: HS_ISSUER, algorithms: ["HS256"], secret: SHARED_SECRET, audiences: ["iot"] }],
});

function handler(extra: Record<string, string> = {}) {
  const lines: string[] = [];
  const handle = createHandler({
    environment: { AUTHORIZER_CONFIG: config, AWS_LAMBDA_FUNCTION_NAME: FUNCTION, ...extra },
    writeLine: (line) => lines.push(line),
  });
  return { handle, lines };
}

const now = Math.floor(Date.now() / 1000);
const valid = () => signHs(openamClaims({ iat: now, exp: now + 3600 }));
const expired = () => signHs(openamClaims({ iat: now - 7200, exp: now - 3600 }));
const forged = () => signHs(openamClaims({ iat: now, exp: now + 3600 }), randomBytes(32));

/** The metric a line publishes with its finest dimension set. */
const finest = (line: string) => extractedMetrics(line).at(-1);

test("an allow is one line at INFO, valid EMF, AuthorizerDecisions = 1 by Function and Decision", async () => {
  const { handle, lines } = handler();
  expect(await handle(mqttEvent(valid()))).toMatchObject({ isAuthenticated: true });
  expect(lines).toHaveLength(1);
  expect(lines[0].endsWith("\n")).toBe(true);
  expect(lines[0].trimEnd()).not.toContain("\n");
  expect(emfProblems(lines[0])).toEqual([]);
  const line = JSON.parse(lines[0]);
  expect(line).toMatchObject({ level: "INFO", message: { outcome: "allow", principalId: "bob" } });
  expect(extractedMetrics(lines[0])).toEqual([
    { namespace: DEFAULT_METRICS_NAMESPACE, name: AUTHORIZER_METRIC, dimensions: { Function: FUNCTION, Decision: "Allow" }, value: 1 },
  ]);
});

test("a denial is one WARN line counted by Decision and by Decision and Check", async () => {
  const { handle, lines } = handler();
  await handle(mqttEvent(expired()));
  await handle(mqttEvent(forged()));
  expect(lines.map(emfProblems)).toEqual([[], []]);
  expect(JSON.parse(lines[0])).toMatchObject({ level: "WARN", message: { outcome: "deny", check: "expired" } });
  expect(extractedMetrics(lines[0])).toEqual([
    { namespace: DEFAULT_METRICS_NAMESPACE, name: AUTHORIZER_METRIC, dimensions: { Function: FUNCTION, Decision: "Deny" }, value: 1 },
    {
      namespace: DEFAULT_METRICS_NAMESPACE,
      name: AUTHORIZER_METRIC,
      dimensions: { Function: FUNCTION, Decision: "Deny", Check: "expired" },
      value: 1,
    },
  ]);
  expect(finest(lines[1])?.dimensions).toEqual({ Function: FUNCTION, Decision: "Deny", Check: "signature-invalid" });
});

test("METRICS_NAMESPACE names the namespace", async () => {
  const { handle, lines } = handler({ METRICS_NAMESPACE: "Acme/IoTAuth" });
  await handle(mqttEvent(valid()));
  expect(finest(lines[0])?.namespace).toBe("Acme/IoTAuth");
});

test("a configuration failure is counted as a denial by the configuration check", async () => {
  const lines: string[] = [];
  const handle = createHandler({
    environment: { AUTHORIZER_CONFIG: "{", AWS_LAMBDA_FUNCTION_NAME: FUNCTION },
    writeLine: (line) => lines.push(line),
  });
  await handle(mqttEvent(valid()));
  expect(lines.map(emfProblems)).toEqual([[]]);
  expect(JSON.parse(lines[0]).level).toBe("ERROR");
  expect(finest(lines[0])?.dimensions).toEqual({ Function: FUNCTION, Decision: "Deny", Check: "configuration" });
});

test("300 concurrent requests write exactly 300 lines, each valid, and the counts match the answers", async () => {
  const { handle, lines } = handler();
  const kinds = [valid, expired, forged];
  const answers = await Promise.all(Array.from({ length: 300 }, (_, i) => handle(mqttEvent(kinds[i % 3]()))));
  expect(lines).toHaveLength(300);
  expect(lines.flatMap(emfProblems)).toEqual([]);
  const counts: Record<string, number> = {};
  for (const line of lines) {
    const m = finest(line) as { dimensions: Record<string, string>; value: number };
    const key = [m.dimensions.Decision, m.dimensions.Check].filter(Boolean).join("/");
    counts[key] = (counts[key] ?? 0) + m.value;
  }
  expect(counts).toEqual({ Allow: 100, "Deny/expired": 100, "Deny/signature-invalid": 100 });
  expect(answers.filter((a) => a.isAuthenticated)).toHaveLength(100);
});

test("what a device chooses (issuer, client id, alg, claims) never becomes a dimension value", async () => {
  const { handle, lines } = handler();
  const chosen = 'evil-\u0000\u2028"}{dimension';
  const tokens = [
    signHs(openamClaims({ iss: chosen, iat: now, exp: now + 3600 })),
    signHs(openamClaims({ iat: now, exp: now + 3600, aud: chosen })),
    signHs(openamClaims({ iat: now, exp: now + 3600, sub: chosen })),
    `${Buffer.from(JSON.stringify({ alg: chosen })).toString("base64url")}.e30.x`,
    chosen,
  ];
  for (const token of tokens) await handle(mqttEvent(token, { protocolData: { mqtt: { username: "d", clientId: chosen } } }));
  expect(lines).toHaveLength(tokens.length);
  for (const line of lines) {
    expect(emfProblems(line)).toEqual([]);
    for (const metric of extractedMetrics(line)) {
      const { Function: fn, Decision, Check, ...rest } = metric.dimensions;
      expect(fn).toBe(FUNCTION);
      expect(["Allow", "Deny"]).toContain(Decision);
      if (Check !== undefined) expect(AUTHORIZER_CHECKS.has(Check) || Check === OTHER).toBe(true);
      expect(rest).toEqual({});
    }
  }
});
