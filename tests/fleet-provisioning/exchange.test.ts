/**
 * Both functions on one binding table (dynalite), IoT's control plane mocked at the SDK: what the claim route
 * binds is exactly what the hook lets through, for the thing it was issued for, once, with the installer
 * recorded as owner.
 */
import { CreateProvisioningClaimCommand, DescribeThingCommand, IoTClient } from "@aws-sdk/client-iot";
import { mockClient } from "aws-sdk-client-mock";
import { createHandler as createHookHandler } from "../../functions/pre-provisioning-hook/index";
import { createHandler as createClaimHandler } from "../../functions/provisioning-claim/index";
import { ClaimBindingStore } from "../../functions/shared/claim-binding-store";
import { type LocalDynamo, startDynalite } from "../../sandbox/dynalite";
import {
  awsError,
  certificateId,
  claimEvent,
  createBindingTable,
  hookEvent,
  INSTALLER_SUB,
  iotClaimAnswer,
  RecordingLog,
  REGION,
  TEMPLATE_ARN,
  TEMPLATE_NAME,
} from "./support";

const iot = mockClient(IoTClient);
let dynamo: LocalDynamo;

beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo.stop();
});
beforeEach(() => {
  iot.reset();
  iot.on(DescribeThingCommand).rejects(awsError("ResourceNotFoundException", 404));
});

async function deployment() {
  const tableName = await createBindingTable(dynamo);
  const bindings = () => new ClaimBindingStore({ client: dynamo.client, tableName });
  const pattern = "[A-Z]{2}-[0-9]{6}";
  const claim = createClaimHandler({
    environment: {
      PROVISIONING_CLAIM_CONFIG: JSON.stringify({ templateName: TEMPLATE_NAME, tableName, region: REGION, thingNamePattern: pattern }),
    },
    bindings,
    logger: new RecordingLog(),
  });
  const hook = createHookHandler({
    environment: {
      PRE_PROVISIONING_HOOK_CONFIG: JSON.stringify({
        templateArn: TEMPLATE_ARN,
        tableName,
        region: REGION,
        parameters: [{ name: "ThingName", pattern }],
        thingNameParameter: "ThingName",
      }),
    },
    store: bindings,
    logger: new RecordingLog(),
  });
  return { claim, hook };
}

async function issueClaim(claim: Awaited<ReturnType<typeof deployment>>["claim"], thingName: string): Promise<string> {
  const id = certificateId();
  iot.on(CreateProvisioningClaimCommand).resolvesOnce(iotClaimAnswer(id, new Date(Date.now() + 300_000)));
  const result = await claim(claimEvent({ thingName }));
  expect(result.statusCode).toBe(201);
  return JSON.parse(result.body).certificateId;
}

it("lets the claim an installer was issued provision the thing it names, once, owned by that installer", async () => {
  const { claim, hook } = await deployment();
  const id = await issueClaim(claim, "AB-123456");
  expect(await hook(hookEvent(id, { ThingName: "AB-123456" }))).toEqual({
    allowProvisioning: true,
    parameterOverrides: { ThingName: "AB-123456", Owner: INSTALLER_SUB },
  });
  expect(await hook(hookEvent(id, { ThingName: "AB-123456" }))).toEqual({ allowProvisioning: false });
});

it("does not let a claim issued for one thing provision another", async () => {
  const { claim, hook } = await deployment();
  const id = await issueClaim(claim, "AB-123456");
  expect(await hook(hookEvent(id, { ThingName: "CD-654321" }))).toEqual({ allowProvisioning: false });
  // The refused attempt did not spend the claim: the device it was issued for still can.
  expect((await hook(hookEvent(id, { ThingName: "AB-123456" }))).allowProvisioning).toBe(true);
});
