/**
 * The device grant's outcome lines carry the embedded metric format: the Lambda handler as Lambda builds it, on
 * dynalite (SSM, which has no local stand-in, mocked), writes its lines through its default logger; each is valid
 * EMF (support/emf.ts) counting 1 under `DeviceGrantOutcomes` by `Endpoint` and `Outcome`, concurrent polls each
 * write exactly one line, and nothing a client sends becomes a dimension value.
 */
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { createHandler } from "../../functions/device-grant/index";
import {
  DEVICE_GRANT_ENDPOINTS,
  DEVICE_GRANT_METRIC,
  DEVICE_GRANT_OUTCOMES,
  describeDeviceGrantLine,
} from "../../functions/device-grant/metrics";
import { metricLogSink, OTHER } from "../../functions/shared/metric-lines";
import { basicAuthorizationHeader } from "../../functions/shared/oauth";
import { type LocalDynamo, startDynalite } from "../../sandbox/dynalite";
import { consoleClientConfig } from "../helpers/device-grant-config";
import { emfProblems, extractedMetrics } from "../../support/emf";

const ssm = mockClient(SSMClient);
const PARAMETER = "/device-grant/test/client-secrets";
const FUNCTION = "device-grant-prod";
const SECRET = "s3cret-value";
const saved = { ...process.env };
let dynamo: LocalDynamo;
let tableName: string;

beforeAll(async () => {
  dynamo = await startDynalite();
  tableName = await dynamo.createTable("metrics-test");
  Object.assign(process.env, { AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint, AWS_ACCESS_KEY_ID: "local", AWS_SECRET_ACCESS_KEY: "local" });
  ssm
    .on(GetParameterCommand, { Name: PARAMETER, WithDecryption: true })
    .resolves({ Parameter: { Value: JSON.stringify({ console: SECRET }) } });
});
afterAll(async () => {
  process.env = saved;
  ssm.restore();
  await dynamo?.stop();
});

function handler() {
  const lines: string[] = [];
  const handle = createHandler({
    environment: {
      AWS_LAMBDA_FUNCTION_NAME: FUNCTION,
      DEVICE_GRANT_CONFIG: consoleClientConfig(tableName, PARAMETER),
    },
    writeLine: (line) => lines.push(line),
  });
  return { handle, lines };
}

function post(path: string, body: string, client = "console", secret = SECRET): Record<string, unknown> {
  return {
    version: "2.0",
    rawPath: path,
    rawQueryString: "",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: basicAuthorizationHeader(client, secret) },
    body,
    isBase64Encoded: false,
    requestContext: { http: { method: "POST", sourceIp: "203.0.113.7", userAgent: "Console/2.0" } },
  };
}

/** The finest metric of each line, as `Endpoint/Outcome`, with every line checked as EMF on the way. */
function outcomes(lines: string[]): string[] {
  return lines.map((line) => {
    expect(emfProblems(line)).toEqual([]);
    const metric = extractedMetrics(line).at(-1) as { name: string; dimensions: Record<string, string>; value: number };
    expect(metric).toMatchObject({ name: DEVICE_GRANT_METRIC, value: 1 });
    expect(metric.dimensions.Function).toBe(FUNCTION);
    return `${metric.dimensions.Endpoint}/${metric.dimensions.Outcome}`;
  });
}

test("a device authorization and a pending poll are each one line: issued, then authorization_pending", async () => {
  const { handle, lines } = handler();
  const answer = await handle(post("/oauth2/device_authorization", "scope=openid"));
  expect(answer.statusCode).toBe(200);
  const { device_code } = JSON.parse(answer.body as string) as { device_code: string };
  const poll = await handle(
    post("/oauth2/token", `grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=${device_code}`),
  );
  expect(JSON.parse(poll.body as string).error).toBe("authorization_pending");
  expect(outcomes(lines)).toEqual(["device-authorization/issued", "token/authorization_pending"]);
  expect(JSON.parse(lines[0])).toMatchObject({ level: "INFO", message: { event: "device-authorization", clientId: "console" } });
  expect(extractedMetrics(lines[1]).map((m) => Object.keys(m.dimensions))).toEqual([
    ["Function", "Endpoint"],
    ["Function", "Endpoint", "Outcome"],
  ]);
});

test("40 concurrent polls of one code write exactly one line each, and the outcomes add up to the answers", async () => {
  const { handle, lines } = handler();
  const { device_code } = JSON.parse((await handle(post("/oauth2/device_authorization", "scope=openid"))).body as string);
  lines.length = 0;
  const body = `grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=${device_code}`;
  const answers = await Promise.all(Array.from({ length: 40 }, () => handle(post("/oauth2/token", body))));
  expect(lines).toHaveLength(40);
  const byAnswer = answers.map((a) => `token/${JSON.parse(a.body as string).error}`).sort();
  expect(outcomes(lines).sort()).toEqual(byAnswer);
});

test("a client's choices (client id, grant type, secret) never become dimension values", async () => {
  const { handle, lines } = handler();
  const chosen = 'evil\u0000"}{-client';
  await handle(post("/oauth2/token", "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=x", chosen, "x"));
  await handle(post("/oauth2/token", `grant_type=${encodeURIComponent(chosen)}`));
  await handle(post("/oauth2/token", "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=x", "console", chosen));
  expect(outcomes(lines)).toEqual([
    "client-authentication/refused",
    "token/invalid_client",
    "token/unsupported_grant_type",
    "client-authentication/refused",
    "token/invalid_client",
  ]);
  for (const line of lines)
    for (const { dimensions } of extractedMetrics(line)) {
      expect(DEVICE_GRANT_ENDPOINTS.has(dimensions.Endpoint)).toBe(true);
      if (dimensions.Outcome !== undefined)
        expect(DEVICE_GRANT_OUTCOMES.has(dimensions.Outcome) || dimensions.Outcome === OTHER).toBe(true);
      expect(JSON.stringify(dimensions)).not.toContain("evil");
    }
});

test("an outcome outside the closed set (an IdP's own error code) is counted as other; lines without a metric go to the fallback", () => {
  const lines: string[] = [];
  const plain: unknown[] = [];
  const keep = (fields: unknown) => void plain.push(fields);
  const sink = metricLogSink({
    namespace: "IotEnterpriseAuth",
    functionName: FUNCTION,
    describe: describeDeviceGrantLine,
    write: (line) => lines.push(line),
    fallback: { debug: keep, info: keep, warn: keep, error: keep },
  });
  sink.info({ event: "redeem", outcome: "idp_made_this_up" });
  sink.info({ event: "something-else" });
  expect(lines).toHaveLength(1);
  expect(extractedMetrics(lines[0]).at(-1)?.dimensions).toEqual({ Function: FUNCTION, Endpoint: "redeem", Outcome: OTHER });
  expect(plain).toEqual([{ event: "something-else" }]);
});

test("lines of many metrics through one sink (each metric's EMF text serialized once, then reused) each carry their own", () => {
  const lines: string[] = [];
  let clock = 1_795_990_000_000;
  const sink = metricLogSink({
    namespace: "IotEnterpriseAuth",
    functionName: FUNCTION,
    describe: describeDeviceGrantLine,
    write: (line) => lines.push(line),
    now: () => clock++,
  });
  const outcomes = ["authorization_pending", "slow_down", "expired_token", "access_denied", "authorization_pending"];
  for (const outcome of outcomes) sink.info({ event: "token", outcome, clientId: `client "${outcome}"\n` });
  expect(lines).toHaveLength(outcomes.length);
  lines.forEach((line, i) => {
    expect(line.endsWith("}\n")).toBe(true);
    expect(emfProblems(line)).toEqual([]);
    const parsed = JSON.parse(line);
    expect(parsed).toMatchObject({
      level: "INFO",
      message: { event: "token", outcome: outcomes[i], clientId: `client "${outcomes[i]}"\n` },
    });
    expect(parsed._aws.Timestamp).toBe(1_795_990_000_000 + i);
    expect(new Date(parsed.timestamp).getTime()).toBe(1_795_990_000_000 + i);
    expect(extractedMetrics(line).at(-1)?.dimensions).toEqual({ Function: FUNCTION, Endpoint: "token", Outcome: outcomes[i] });
  });
});

test("the validator refuses what CloudWatch would not extract", () => {
  const good = JSON.stringify({
    _aws: { Timestamp: 1, CloudWatchMetrics: [{ Namespace: "N", Dimensions: [["D"]], Metrics: [{ Name: "M", Unit: "Count" }] }] },
    D: "d",
    M: 1,
  });
  expect(emfProblems(good)).toEqual([]);
  expect(emfProblems(JSON.stringify({ message: JSON.parse(good) }))).toEqual(["no _aws object at the root"]);
  const bad = JSON.parse(good);
  bad.D = 7;
  bad.M = "one";
  bad._aws.CloudWatchMetrics[0].Metrics[0].Unit = "Things";
  bad._aws.CloudWatchMetrics[0].Extra = true;
  expect(emfProblems(JSON.stringify(bad))).toEqual([
    "_aws.CloudWatchMetrics[0] has an unknown member Extra",
    "dimension D has no valid string value at the root",
    "_aws.CloudWatchMetrics[0].Metrics[0].Unit Things is not a unit",
    "metric M has no numeric value at the root",
  ]);
  bad._aws.CloudWatchMetrics[0].Metrics = Array.from({ length: 101 }, () => ({ Name: "M" }));
  expect(emfProblems(JSON.stringify(bad))).toContain("_aws.CloudWatchMetrics[0].Metrics is not an array of at most 100");
});
