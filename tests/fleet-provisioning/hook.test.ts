/**
 * The pre-provisioning hook's decision table, through its Lambda handler as IoT invokes it, with the claim
 * bindings in dynalite (the real conditional writes) and IoT's `DescribeThing` mocked at the SDK. Every case
 * checks the answer IoT gets, what the hook asked IoT, and the one log line naming the reason; races fire
 * real simultaneous invocations.
 */
import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import { DescribeThingCommand, IoTClient } from "@aws-sdk/client-iot";
import { mockClient } from "aws-sdk-client-mock";
import { createHandler, type HookResponse } from "../../functions/pre-provisioning-hook/index";
import { ClaimBindingStore } from "../../functions/shared/claim-binding-store";
import { type LocalDynamo, startDynalite } from "../../sandbox/dynalite";
import {
  awsError,
  certificateId,
  createBindingTable,
  hookEvent,
  INSTALLER_SUB,
  RecordingLog,
  REGION,
  TEMPLATE_ARN,
  unreachableDynamo,
} from "./support";

const iot = mockClient(IoTClient);
let dynamo: LocalDynamo;
let tableName: string;
let store: ClaimBindingStore;

beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo.stop();
});
beforeEach(async () => {
  iot.reset();
  iot.on(DescribeThingCommand).rejects(awsError("ResourceNotFoundException", 404));
  tableName = await createBindingTable(dynamo);
  store = new ClaimBindingStore({ client: dynamo.client, tableName });
});

const THING = "AB-123456";
const PARAMETERS = { ThingName: THING, Model: "heat-pump" };
const nowSeconds = () => Math.floor(Date.now() / 1000);

function setup(
  config: Record<string, unknown> = {},
  options: { store?: "dynalite" | "unreachable" | "missing-table"; now?: () => number } = {},
) {
  const log = new RecordingLog();
  const settings = {
    templateArn: TEMPLATE_ARN,
    tableName,
    region: REGION,
    parameters: [
      { name: "ThingName", pattern: "[A-Z]{2}-[0-9]{6}" },
      { name: "Model", pattern: "heat-pump|boiler" },
    ],
    thingNameParameter: "ThingName",
    ...config,
  };
  const where = options.store ?? "dynalite";
  const handle = createHandler({
    environment: { PRE_PROVISIONING_HOOK_CONFIG: JSON.stringify(settings) },
    store: (c) =>
      new ClaimBindingStore({
        client: where === "unreachable" ? unreachableDynamo() : dynamo.client,
        tableName: where === "missing-table" ? "no-such-table" : c.tableName,
      }),
    logger: log,
    ...(options.now && { now: options.now }),
  });
  return { handle, log };
}

/** A claim bound to the installer and `thing`, expiring in five minutes (or at `expiresAt`). */
async function bindClaim(thing = THING, expiresAt = nowSeconds() + 300): Promise<string> {
  const id = certificateId();
  const outcome = await store.record({
    certificateId: id,
    installerSub: INSTALLER_SUB,
    thingName: thing,
    createdAt: nowSeconds(),
    expiresAt,
    status: "bound",
  });
  expect(outcome).toBe("ok");
  return id;
}

async function item(pk: string) {
  return (await dynamo.client.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: pk } }, ConsistentRead: true }))).Item;
}

const DENY: HookResponse = { allowProvisioning: false };

/** The hook's one log line for the last decision. */
function decisionLine(log: RecordingLog) {
  const lines = log.lines.filter((l) => l.fields.event === "pre-provisioning");
  expect(lines).toHaveLength(1);
  return lines[0];
}

describe("a bound, unexpired, unused claim", () => {
  it("is allowed once, naming the owner and the bound thing, after the registry says the name is free", async () => {
    const claim = await bindClaim();
    const { handle, log } = setup();
    const event = hookEvent(claim, PARAMETERS);

    expect(await handle(event)).toEqual({ allowProvisioning: true, parameterOverrides: { ThingName: THING, Owner: INSTALLER_SUB } });
    expect(iot.commandCalls(DescribeThingCommand).map((c) => c.args[0].input)).toEqual([{ thingName: THING }]);
    expect(await item(`CLAIM#${claim}`)).toMatchObject({
      status: { S: "used" },
      usedAt: { N: expect.any(String) },
      deviceCertificateId: { S: event.certificateId },
    });
    expect(await item(`THING#${THING}`)).toMatchObject({ certificateId: { S: claim } });
    expect(decisionLine(log)).toEqual({
      level: "info",
      fields: {
        event: "pre-provisioning",
        decision: "allow",
        reason: "bound-claim",
        claimCertificateId: claim,
        certificateId: event.certificateId,
        clientId: event.clientId,
      },
    });
    expect(log.text).not.toContain("BEGIN CERTIFICATE");
  });

  it("is denied the second time", async () => {
    const claim = await bindClaim();
    const { handle, log } = setup();
    expect((await handle(hookEvent(claim, PARAMETERS))).allowProvisioning).toBe(true);
    log.lines.length = 0;
    expect(await handle(hookEvent(claim, PARAMETERS))).toEqual(DENY);
    expect(decisionLine(log)).toMatchObject({
      level: "warn",
      fields: { decision: "deny", reason: "already-used", claimCertificateId: claim },
    });
  });

  it("provisions exactly one device when 50 invocations race with it", async () => {
    const claim = await bindClaim();
    const { handle, log } = setup();
    const answers = await Promise.all(Array.from({ length: 50 }, () => handle(hookEvent(claim, PARAMETERS))));
    expect(answers.filter((a) => a.allowProvisioning)).toHaveLength(1);
    const reasons = log.lines.map((l) => l.fields.reason);
    expect(reasons.filter((r) => r === "bound-claim")).toHaveLength(1);
    expect(reasons.filter((r) => r === "already-used")).toHaveLength(49);
    expect(log.lines).toHaveLength(50);
  });

  it("lets one of two claims bound to the same thing name through when they race", async () => {
    const [first, second] = [await bindClaim(), await bindClaim()];
    const { handle, log } = setup();
    const answers = await Promise.all([handle(hookEvent(first, PARAMETERS)), handle(hookEvent(second, PARAMETERS))]);
    expect(answers.filter((a) => a.allowProvisioning)).toHaveLength(1);
    expect(log.lines.map((l) => l.fields.reason).sort()).toEqual(["bound-claim", "thing-name-taken"]);
  });
});

describe("denied claims", () => {
  it("denies a claim no installer bound, without asking the registry", async () => {
    const { handle, log } = setup();
    expect(await handle(hookEvent(certificateId(), PARAMETERS))).toEqual(DENY);
    expect(decisionLine(log).fields.reason).toBe("unbound");
    expect(iot.commandCalls(DescribeThingCommand)).toHaveLength(0);
  });

  it("denies an expired claim", async () => {
    const claim = await bindClaim(THING, nowSeconds() + 300);
    const { handle, log } = setup({}, { now: () => Date.now() + 301_000 });
    expect(await handle(hookEvent(claim, PARAMETERS))).toEqual(DENY);
    expect(decisionLine(log).fields.reason).toBe("expired");
    expect(await item(`CLAIM#${claim}`)).toMatchObject({ status: { S: "bound" } });
  });

  it("denies a claim bound to another thing name", async () => {
    const claim = await bindClaim("AB-654321");
    const { handle, log } = setup();
    expect(await handle(hookEvent(claim, PARAMETERS))).toEqual(DENY);
    expect(decisionLine(log).fields.reason).toBe("thing-name-mismatch");
  });

  it("denies another template's request", async () => {
    const claim = await bindClaim();
    const { handle, log } = setup();
    const other = TEMPLATE_ARN.replace(/provisioningtemplate\/.*/, "provisioningtemplate/another-template");
    expect(await handle(hookEvent(claim, PARAMETERS, { templateArn: other }))).toEqual(DENY);
    expect(decisionLine(log).fields.reason).toBe("template-mismatch");
    expect(await item(`CLAIM#${claim}`)).toMatchObject({ status: { S: "bound" } });
  });

  it("denies a thing name the registry already holds, and leaves the claim unused", async () => {
    iot.on(DescribeThingCommand, { thingName: THING }).resolves({ thingName: THING, thingId: "a-thing-id" });
    const claim = await bindClaim();
    const { handle, log } = setup();
    expect(await handle(hookEvent(claim, PARAMETERS))).toEqual(DENY);
    expect(decisionLine(log).fields.reason).toBe("thing-name-taken");
    expect(await item(`CLAIM#${claim}`)).toMatchObject({ status: { S: "bound" } });
  });
});

describe("parameters", () => {
  it.each([
    ["a missing parameter", { ThingName: THING }, "missing-parameter", "Model"],
    ["an extra parameter", { ...PARAMETERS, Location: "Seattle" }, "extra-parameter", "Location"],
    ["the owner, which only the hook sets", { ...PARAMETERS, Owner: "someone-else" }, "extra-parameter", "Owner"],
    ["a value off its pattern", { ...PARAMETERS, Model: "toaster" }, "malformed-parameter", "Model"],
    ["a partial match", { ...PARAMETERS, Model: "heat-pump2" }, "malformed-parameter", "Model"],
    ["a value that is not a string", { ...PARAMETERS, ThingName: 123456 }, "malformed-parameter", "ThingName"],
    ["an oversized value", { ...PARAMETERS, Model: "boiler".repeat(100) }, "malformed-parameter", "Model"],
    ["no parameters at all", {}, "missing-parameter", "ThingName"],
  ])("denies %s", async (_name, parameters, reason, parameter) => {
    const claim = await bindClaim();
    const { handle, log } = setup();
    expect(await handle(hookEvent(claim, parameters as Record<string, unknown>))).toEqual(DENY);
    expect(decisionLine(log).fields).toMatchObject({ decision: "deny", reason, parameter });
    expect(iot.commandCalls(DescribeThingCommand)).toHaveLength(0);
    expect(await item(`CLAIM#${claim}`)).toMatchObject({ status: { S: "bound" } });
  });
});

describe("failures deny, never throw", () => {
  it.each([
    ["cannot be reached", "unreachable"],
    ["has no table", "missing-table"],
  ] as const)("denies when the store %s", async (_name, where) => {
    const { handle, log } = setup({}, { store: where });
    expect(await handle(hookEvent(certificateId(), PARAMETERS))).toEqual(DENY);
    expect(decisionLine(log).fields.reason).toBe("store-unavailable");
  });

  it("denies when the registry throttles, and leaves the claim unused", async () => {
    iot.on(DescribeThingCommand).rejects(awsError("ThrottlingException", 400));
    const claim = await bindClaim();
    const { handle, log } = setup();
    expect(await handle(hookEvent(claim, PARAMETERS))).toEqual(DENY);
    expect(decisionLine(log).fields.reason).toBe("registry-unavailable");
    expect(await item(`CLAIM#${claim}`)).toMatchObject({ status: { S: "bound" } });
  });

  it("denies when the registry does not answer within the deadline", async () => {
    iot.on(DescribeThingCommand).callsFake(() => new Promise(() => {}));
    const claim = await bindClaim();
    const { handle, log } = setup({ deadlineMs: 100 });
    expect(await handle(hookEvent(claim, PARAMETERS))).toEqual(DENY);
    expect(decisionLine(log).fields.reason).toBe("registry-unavailable");
  });

  it.each([
    ["null", null],
    ["undefined", undefined],
    ["a string", "event"],
    ["an array", []],
    ["an empty object", {}],
    ["a numeric claim id", { ...hookEvent(certificateId(), PARAMETERS), claimCertificateId: 5 }],
    ["a claim id that is not hex", { ...hookEvent(certificateId(), PARAMETERS), claimCertificateId: "../".repeat(21) + "x" }],
    ["no device certificate", { ...hookEvent(certificateId(), PARAMETERS), certificateId: undefined }],
    ["parameters that are a string", { ...hookEvent(certificateId(), PARAMETERS), parameters: "ThingName=AB-123456" }],
  ])("denies a malformed event: %s", async (_name, event) => {
    const { handle, log } = setup();
    expect(await handle(event)).toEqual(DENY);
    expect(decisionLine(log).fields.reason).toBe("malformed-event");
  });

  it("denies everything, logging why, when its configuration is unusable", async () => {
    const log = new RecordingLog();
    const handle = createHandler({ environment: { PRE_PROVISIONING_HOOK_CONFIG: '{"templateArn":"arn:aws:iot:x"}' }, logger: log });
    expect(await handle(hookEvent(certificateId(), PARAMETERS))).toEqual(DENY);
    expect(log.lines).toEqual([{ level: "error", fields: expect.objectContaining({ decision: "deny", reason: "not-configured" }) }]);
    expect(log.lines[0].fields.detail).toMatch(/templateArn/);
  });
});

describe("the direct path (claims without a binding)", () => {
  it("admits an unbound claim once when configured to, recording the owner as unbound", async () => {
    const claim = certificateId();
    const { handle, log } = setup({ allowUnboundClaims: true });
    expect(await handle(hookEvent(claim, PARAMETERS))).toEqual({ allowProvisioning: true, parameterOverrides: { Owner: "unbound" } });
    expect(await handle(hookEvent(claim, PARAMETERS))).toEqual(DENY);
    expect(log.lines.map((l) => l.fields.reason)).toEqual(["unbound-claim", "already-used"]);
    expect(await item(`CLAIM#${claim}`)).toMatchObject({ status: { S: "used" }, unbound: { BOOL: true } });
  });

  it("still applies every other rule to unbound claims", async () => {
    const { handle, log } = setup({ allowUnboundClaims: true });
    expect(await handle(hookEvent(certificateId(), { ...PARAMETERS, Owner: "me" }))).toEqual(DENY);
    expect(decisionLine(log).fields.reason).toBe("extra-parameter");
  });
});
