/**
 * The claim route's Lambda handler, as API Gateway invokes it, against a real DynamoDB wire protocol (dynalite)
 * and AWS IoT's control plane mocked at the SDK (aws-sdk-client-mock: it has no local stand-in here). Every
 * answer is checked whole: status, the JSON error, `Retry-After`, `Cache-Control`, what reached IoT and the
 * table, and that the private key never reaches a log line.
 */
import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import { CreateProvisioningClaimCommand, IoTClient } from "@aws-sdk/client-iot";
import { mockClient } from "aws-sdk-client-mock";
import { createHandler } from "../../functions/provisioning-claim/index";
import { ClaimBindingStore } from "../../functions/shared/claim-binding-store";
import { type LocalDynamo, startDynalite } from "../../sandbox/dynalite";
import {
  awsError,
  certificateId,
  CLAIM_PRIVATE_KEY,
  claimEvent,
  createBindingTable,
  INSTALLER_SUB,
  iotClaimAnswer,
  RecordingLog,
  REGION,
  TEMPLATE_NAME,
  unreachableDynamo,
} from "./support";

const iot = mockClient(IoTClient);
let dynamo: LocalDynamo;
let tableName: string;

beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo.stop();
});
beforeEach(async () => {
  iot.reset();
  tableName = await createBindingTable(dynamo);
});

const THING = "AB-123456";
const inFiveMinutes = () => new Date(Date.now() + 300_000);

function setup(config: Record<string, unknown> = {}, store: "dynalite" | "unreachable" = "dynalite") {
  const log = new RecordingLog();
  const settings = {
    templateName: TEMPLATE_NAME,
    tableName,
    region: REGION,
    thingNamePattern: "[A-Z]{2}-[0-9]{6}",
    requiredScope: "iot/provision",
    requiredGroup: "installers",
    ...config,
  };
  const handle = createHandler({
    environment: { PROVISIONING_CLAIM_CONFIG: JSON.stringify(settings) },
    bindings: (c) => new ClaimBindingStore({ client: store === "dynalite" ? dynamo.client : unreachableDynamo(), tableName: c.tableName }),
    logger: log,
  });
  return { handle, log };
}

async function storedBinding(id: string) {
  const { Item } = await dynamo.client.send(
    new GetItemCommand({ TableName: tableName, Key: { pk: { S: `CLAIM#${id}` } }, ConsistentRead: true }),
  );
  return Item;
}

describe("a signed-in installer in the group", () => {
  it("gets the certificate, key and expiry, never cached, after the claim is bound to them and the thing", async () => {
    const id = certificateId();
    const expiration = inFiveMinutes();
    iot.on(CreateProvisioningClaimCommand).resolves(iotClaimAnswer(id, expiration));
    const { handle, log } = setup();

    const result = await handle(claimEvent({ thingName: THING }));

    expect(result.statusCode).toBe(201);
    expect(result.headers).toMatchObject({
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store",
      pragma: "no-cache",
    });
    const body = JSON.parse(result.body);
    expect(body).toEqual({
      certificateId: id,
      certificatePem: expect.stringContaining("-----BEGIN CERTIFICATE-----"),
      privateKey: CLAIM_PRIVATE_KEY,
      expiresAt: expiration.toISOString(),
      expiresIn: expect.any(Number),
      thingName: THING,
      templateName: TEMPLATE_NAME,
    });
    expect(body.expiresIn).toBeGreaterThan(200);
    expect(body.expiresIn).toBeLessThanOrEqual(300);
    // Exactly one IoT call, for exactly this template.
    expect(iot.commandCalls(CreateProvisioningClaimCommand).map((c) => c.args[0].input)).toEqual([{ templateName: TEMPLATE_NAME }]);
    expect(await storedBinding(id)).toEqual({
      pk: { S: `CLAIM#${id}` },
      ttl: { N: String(Math.floor(expiration.getTime() / 1000) + 86_400) },
      certificateId: { S: id },
      installerSub: { S: INSTALLER_SUB },
      thingName: { S: THING },
      createdAt: { N: expect.any(String) },
      expiresAt: { N: String(Math.floor(expiration.getTime() / 1000)) },
      status: { S: "bound" },
    });
    expect(log.lines).toEqual([
      { level: "info", fields: { event: "provisioning-claim", outcome: "issued", certificateId: id, thingName: THING } },
    ]);
    expect(log.text).not.toContain("PRIVATE KEY");
  });

  it("reads a base64-encoded body and API Gateway's native-array groups alike", async () => {
    iot.on(CreateProvisioningClaimCommand).resolves(iotClaimAnswer(certificateId(), inFiveMinutes()));
    const { handle } = setup();
    const claims = { sub: INSTALLER_SUB, scope: "openid iot/provision", "cognito:groups": ["admins", "installers"] };
    const result = await handle(claimEvent({ thingName: THING }, { base64: true, claims }));
    expect(result.statusCode).toBe(201);
  });

  it("needs no group when none is configured", async () => {
    iot.on(CreateProvisioningClaimCommand).resolves(iotClaimAnswer(certificateId(), inFiveMinutes()));
    const { handle } = setup({ requiredGroup: undefined });
    const result = await handle(claimEvent({ thingName: THING }, { claims: { sub: INSTALLER_SUB, scope: "iot/provision" } }));
    expect(result.statusCode).toBe(201);
  });
});

describe("IoT throttling and unavailability", () => {
  it("answers 429 with Retry-After when IoT throttles, and records nothing", async () => {
    iot.on(CreateProvisioningClaimCommand).rejects(awsError("ThrottlingException", 400));
    const { handle, log } = setup();
    const result = await handle(claimEvent({ thingName: THING }));
    expect(result.statusCode).toBe(429);
    expect(result.headers["retry-after"]).toBe("2");
    expect(result.headers["cache-control"]).toBe("no-store");
    expect(JSON.parse(result.body)).toEqual({ error: "slow_down", error_description: expect.any(String) });
    expect(log.lines[0].fields).toMatchObject({ outcome: "iot-failed", kind: "throttled", error: "ThrottlingException" });
  });

  it.each([
    ["ServiceUnavailableException", awsError("ServiceUnavailableException", 503)],
    ["InternalFailureException", awsError("InternalFailureException", 500)],
    ["a broken connection", Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })],
  ])("answers 503 with Retry-After when IoT is unavailable (%s)", async (_name, error) => {
    iot.on(CreateProvisioningClaimCommand).rejects(error);
    const { handle } = setup();
    const result = await handle(claimEvent({ thingName: THING }));
    expect(result.statusCode).toBe(503);
    expect(result.headers["retry-after"]).toBe("5");
    expect(JSON.parse(result.body)).toEqual({ error: "temporarily_unavailable", error_description: expect.any(String) });
  });

  it("answers 503 when IoT does not answer within the deadline", async () => {
    iot.on(CreateProvisioningClaimCommand).callsFake(() => new Promise(() => {}));
    const { handle, log } = setup({ iotDeadlineMs: 50 });
    const result = await handle(claimEvent({ thingName: THING }));
    expect(result.statusCode).toBe(503);
    expect(log.lines[0].fields).toMatchObject({ kind: "unavailable", error: "DeadlineError" });
  });

  it("answers a plain JSON 500 when the template is missing, without a trace", async () => {
    iot.on(CreateProvisioningClaimCommand).rejects(awsError("ResourceNotFoundException", 404));
    const { handle } = setup();
    const result = await handle(claimEvent({ thingName: THING }));
    expect(result.statusCode).toBe(500);
    expect(JSON.parse(result.body)).toEqual({
      error: "server_error",
      error_description: "the provisioning template could not issue a claim",
    });
  });

  it("never returns an answer from IoT it cannot use", async () => {
    iot.on(CreateProvisioningClaimCommand).resolves({ ...iotClaimAnswer(certificateId(), inFiveMinutes()), keyPair: undefined });
    const { handle } = setup();
    const result = await handle(claimEvent({ thingName: THING }));
    expect(result.statusCode).toBe(500);
    expect(result.body).not.toContain("CERTIFICATE");
  });
});

describe("who may ask", () => {
  it.each([
    ["another group only", "[admins]"],
    ["no groups claim", undefined],
    ["a group whose name only contains installers", "[installers-emea]"],
  ])("refuses with 403 a caller not in the required group (%s), and never calls IoT", async (_name, groups) => {
    const { handle, log } = setup();
    const claims = { sub: INSTALLER_SUB, scope: "iot/provision", ...(groups !== undefined && { "cognito:groups": groups }) };
    const result = await handle(claimEvent({ thingName: THING }, { claims }));
    expect(result.statusCode).toBe(403);
    expect(JSON.parse(result.body)).toEqual({ error: "access_denied", error_description: expect.any(String) });
    expect(iot.commandCalls(CreateProvisioningClaimCommand)).toHaveLength(0);
    expect(log.lines).toEqual([
      { level: "warn", fields: { event: "provisioning-claim", outcome: "refused", reason: "missing-group", status: 403 } },
    ]);
  });

  it("refuses with 403 a token without the provisioning scope", async () => {
    const { handle } = setup();
    const claims = { sub: INSTALLER_SUB, scope: "openid", "cognito:groups": "[installers]" };
    const result = await handle(claimEvent({ thingName: THING }, { claims, scopes: [] }));
    expect(result.statusCode).toBe(403);
    expect(JSON.parse(result.body).error).toBe("insufficient_scope");
  });

  it.each([
    ["no authorizer context", null],
    ["no sub", { scope: "iot/provision", "cognito:groups": "[installers]" }],
  ])("refuses with 401 a request without an identity (%s)", async (_name, claims) => {
    const { handle } = setup();
    const result = await handle(claimEvent({ thingName: THING }, { claims }));
    expect(result.statusCode).toBe(401);
    expect(result.headers["www-authenticate"]).toBe("Bearer");
    expect(iot.commandCalls(CreateProvisioningClaimCommand)).toHaveLength(0);
  });
});

describe("bad requests", () => {
  it.each([
    ["no thing name", { body: {} }],
    ["a thing name off the pattern", { body: { thingName: "AB-12345" } }],
    ["a thing name with a topic wildcard", { body: { thingName: "AB-123456/#" } }],
    ["a thing name that is not a string", { body: { thingName: 123456 } }],
    ["an extra field", { body: { thingName: THING, owner: "someone-else" } }],
    ["a JSON array", { body: "[]" }],
    ["JSON null", { body: "null" }],
    ["not JSON", { body: "thingName=AB-123456" }],
    ["a form content type", { body: { thingName: THING }, contentType: "application/x-www-form-urlencoded" }],
    ["an oversized body", { body: { thingName: THING, padding: "x".repeat(5_000) } }],
  ] as [string, { body: unknown; contentType?: string }][])(
    "answers 400 invalid_request to %s, and never calls IoT",
    async (_name, { body, contentType }) => {
      const { handle } = setup();
      const result = await handle(claimEvent(body, { contentType }));
      expect(result.statusCode).toBe(400);
      expect(JSON.parse(result.body)).toEqual({ error: "invalid_request", error_description: expect.any(String) });
      expect(result.headers["cache-control"]).toBe("no-store");
      expect(iot.commandCalls(CreateProvisioningClaimCommand)).toHaveLength(0);
    },
  );

  it("answers 405 to another method", async () => {
    const { handle } = setup();
    const result = await handle(claimEvent({ thingName: THING }, { method: "GET" }));
    expect(result.statusCode).toBe(405);
    expect(result.headers.allow).toBe("POST");
  });

  it.each([null, "a string", 42, { requestContext: "odd" }])("answers JSON, never throws, for a strange event (%p)", async (event) => {
    const { handle } = setup();
    const result = await handle(event);
    expect([400, 401, 405]).toContain(result.statusCode);
    expect(() => JSON.parse(result.body)).not.toThrow();
  });
});

describe("recording the binding", () => {
  it("records a certificate id once: of 20 simultaneous records, exactly one wins", async () => {
    const store = new ClaimBindingStore({ client: dynamo.client, tableName });
    const id = certificateId();
    const binding = {
      certificateId: id,
      installerSub: INSTALLER_SUB,
      thingName: THING,
      createdAt: 1,
      expiresAt: 2_000_000_000,
      status: "bound" as const,
    };
    const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => store.record({ ...binding, installerSub: `installer-${i}` })));
    expect(outcomes.filter((o) => o === "ok")).toHaveLength(1);
    expect(outcomes.filter((o) => o === "conflict")).toHaveLength(19);
  });

  it("hands the key to one caller only when IoT reports the same certificate twice at once", async () => {
    const id = certificateId();
    iot.on(CreateProvisioningClaimCommand).resolves(iotClaimAnswer(id, inFiveMinutes()));
    const { handle, log } = setup();
    const results = await Promise.all(Array.from({ length: 10 }, () => handle(claimEvent({ thingName: THING }))));
    expect(results.filter((r) => r.statusCode === 201)).toHaveLength(1);
    const refused = results.filter((r) => r.statusCode !== 201);
    expect(refused.map((r) => r.statusCode)).toEqual(Array(9).fill(500));
    for (const r of refused) expect(r.body).not.toContain("PRIVATE KEY");
    expect(log.lines.filter((l) => l.fields.outcome === "binding-conflict")).toHaveLength(9);
  });

  it("answers 503 with Retry-After, and no key, when the table cannot be reached", async () => {
    iot.on(CreateProvisioningClaimCommand).resolves(iotClaimAnswer(certificateId(), inFiveMinutes()));
    const { handle, log } = setup({}, "unreachable");
    const result = await handle(claimEvent({ thingName: THING }));
    expect(result.statusCode).toBe(503);
    expect(result.headers["retry-after"]).toBe("5");
    expect(result.body).not.toContain("PRIVATE KEY");
    expect(log.lines[0].fields).toMatchObject({ outcome: "store-failed" });
  });
});

describe("configuration", () => {
  it("answers a JSON 500 and logs every problem once when the configuration is unusable", async () => {
    const log = new RecordingLog();
    const handle = createHandler({
      environment: {
        PROVISIONING_CLAIM_CONFIG: JSON.stringify({ templateName: "a name that is far too long for IoT's limit", region: "nowhere" }),
      },
      logger: log,
    });
    const result = await handle(claimEvent({ thingName: THING }));
    expect(result.statusCode).toBe(500);
    expect(JSON.parse(result.body).error).toBe("server_error");
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0].fields.reason).toMatch(/templateName.*\n.*tableName.*\n.*region/s);
  });
});
