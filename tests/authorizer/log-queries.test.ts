/**
 * The CloudWatch Logs Insights queries of docs/operations.md#why-was-this-device-refused name only fields our log
 * lines really write. The lines are produced here by the real authorizer and handler (a refusal, an allow with the
 * previous HS256 secret, a start-up failure), wrapped as Lambda's JSON log format wraps a logged object (its
 * `timestamp`, `level` and `requestId`, our fields under `message`), and every field a query names, and every value
 * it compares a field with, must be found in them.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { createAuthorizer } from "../../functions/authorizer/authorizer";
import { loadAuthorizerConfig } from "../../functions/authorizer/config";
import { createHandler } from "../../functions/authorizer/index";
import { type LogFields } from "../../functions/authorizer/logging";
import { Denial } from "../../functions/authorizer/errors";
import {
  cognitoClaims,
  HS_ISSUER,
  mqttEvent,
  NOW_MS,
  openamClaims,
  RecordingLogger,
  RS_ISSUER,
  rsaKey,
  SHARED_SECRET,
  SHARED_SECRET_BYTES,
  signHs,
  signRs,
} from "./fixtures";

const operations = readFileSync(path.join(__dirname, "../../docs/operations.md"), "utf8");
const QUERIES = [...operations.matchAll(/```logs-insights\n([\s\S]*?)```/g)].map((m) => m[1].trim());

/** Fields CloudWatch Logs adds to every event. */
const BUILT_IN = new Set(["@timestamp", "@message", "@logStream", "@log", "@requestId", "@ingestionTime"]);
/** Words of the query language (commands, operators, functions, sort orders). */
const KEYWORDS = new Set(
  "fields filter stats sort limit display parse dedup by as and or not like in desc asc count count_distinct bin sum avg min max earliest latest ispresent".split(
    " ",
  ),
);

/** The level names Lambda's JSON log format writes for console.warn, console.debug and console.error. */
const LEVELS: Record<string, string> = { warn: "WARN", debug: "DEBUG", error: "ERROR" };

/** A line as Lambda's Node.js runtime writes one logged object in JSON format, flattened to Logs Insights' dotted names. */
function lambdaLine(level: string, fields: LogFields): Record<string, unknown> {
  const event = JSON.parse(
    JSON.stringify({ timestamp: new Date(NOW_MS).toISOString(), level: LEVELS[level], requestId: "8f5a1b2c", message: fields }),
  );
  const flat: Record<string, unknown> = {};
  const walk = (value: unknown, prefix: string) => {
    if (typeof value === "object" && value !== null) for (const [k, v] of Object.entries(value)) walk(v, prefix ? `${prefix}.${k}` : k);
    else flat[prefix] = value;
  };
  walk(event, "");
  return flat;
}

/** Real lines: refusals of the kinds the queries look for, an allow with the previous secret, a start-up failure. */
async function realLines(): Promise<Record<string, unknown>[]> {
  const next = randomBytes(32);
  const logger = new RecordingLogger();
  const config = loadAuthorizerConfig({
    region: "eu-west-1",
    accountId: "123456789012",
    issuers: [{ issuer: HS_ISSUER, algorithms: ["HS256"], secret: next.toString("base64"), previousSecret: SHARED_SECRET }],
  });
  const authorize = createAuthorizer(config, { logger, now: () => NOW_MS });
  await authorize(mqttEvent(signHs(openamClaims(), randomBytes(32))));
  await authorize(mqttEvent(signHs(openamClaims({ exp: NOW_MS / 1000 - 3_600 }), next)));
  await authorize(mqttEvent(signHs(openamClaims(), SHARED_SECRET_BYTES)));
  // An RSA issuer whose JWKS lacks the token's key, as after an IdP's key rotation.
  const missingKey = { getKey: () => Promise.reject(new Denial("key-not-found", "no key with this kid in the issuer's JWKS")) };
  const rsConfig = loadAuthorizerConfig({
    region: "eu-west-1",
    accountId: "123456789012",
    issuers: [{ issuer: RS_ISSUER, algorithms: ["RS256"], jwksUri: "https://idp.example/jwks.json" }],
  });
  await createAuthorizer(rsConfig, { logger, now: () => NOW_MS, keySource: missingKey })(mqttEvent(signRs(cognitoClaims(), rsaKey("k1"))));
  const handler = createHandler({
    environment: {
      AUTHORIZER_CONFIG: JSON.stringify({ ...config, issuers: [{ issuer: HS_ISSUER, algorithms: ["HS256"], secretParameter: "/p" }] }),
    },
    readParameter: () => Promise.reject(Object.assign(new Error("denied"), { name: "AccessDeniedException" })),
    logger,
  });
  await handler(mqttEvent("a.b.c"));
  return logger.lines.map((l) => lambdaLine(l.level, l.fields));
}

/** The fields a query names (not its keywords, functions, aliases or literals) and the values it compares fields with. */
function namesOf(query: string): { fields: string[]; comparisons: [string, string][] } {
  const comparisons = [...query.matchAll(/([@\w.]+)\s*=\s*"([^"]*)"/g)].map((m): [string, string] => [m[1], m[2]]);
  const code = query.replace(/"[^"]*"|'[^']*'/g, " ").replace(/#.*$/gm, " ");
  const aliases = new Set([...code.matchAll(/\bas\s+(\w+)/g)].map((m) => m[1]));
  const fields = [...code.matchAll(/\d+[a-z]*|[@A-Za-z_][\w.]*(\s*\()?/g)]
    .filter((m) => !/^\d/.test(m[0]) && m[1] === undefined)
    .map((m) => m[0])
    .filter((word) => !KEYWORDS.has(word) && !aliases.has(word));
  return { fields: [...new Set(fields)], comparisons };
}

let lines: Record<string, unknown>[];
beforeAll(async () => {
  lines = await realLines();
});

test("docs/operations.md has the queries", () => {
  expect(QUERIES.length).toBeGreaterThanOrEqual(5);
});

test("the real lines are what the queries expect: refusals, an allow with the previous secret, a start-up failure", () => {
  expect(lines.map((l) => [l.level, l["message.outcome"], l["message.check"] ?? l["message.secretUsed"]])).toEqual([
    ["WARN", "deny", "signature-invalid"],
    ["WARN", "deny", "expired"],
    ["DEBUG", "allow", "previous"],
    ["WARN", "deny", "key-not-found"],
    ["ERROR", "deny", "configuration"],
  ]);
  expect(lines[0]["message.clientId"]).toBe("alice");
});

describe.each(QUERIES.map((q) => [q.split("\n")[0], q]))("the query %s", (_first, query) => {
  const { fields, comparisons } = namesOf(query);

  it("names only fields a real line has", () => {
    const missing = fields.filter((f) => !BUILT_IN.has(f) && !lines.some((l) => f in l));
    expect(missing).toEqual([]);
    expect(fields.length).toBeGreaterThan(0);
  });

  it("compares fields only with values a real line has", () => {
    for (const [field, value] of comparisons) {
      expect({ field, value, found: lines.some((l) => l[field] === value) }).toEqual({ field, value, found: true });
    }
  });
});
