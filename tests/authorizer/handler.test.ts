import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { createHandler } from "../../functions/authorizer/index";
import { HS_ISSUER, mqttEvent, openamClaims, RecordingLogger, SHARED_SECRET, signHs } from "./fixtures";

const ssm = mockClient(SSMClient);
const PARAMETER = "/iot-enterprise-auth/dev/openam-shared-secret";
const environment = {
  AUTHORIZER_CONFIG: JSON.stringify({
    region: "eu-west-1",
    accountId: "123456789012",
    issuers: [{ issuer: HS_ISSUER, algorithms: ["HS256"], secretParameter: PARAMETER, audiences: ["iot"] }],
  }),
};

beforeEach(() => ssm.reset());

function handler(env: Record<string, string | undefined> = environment) {
  const logger = new RecordingLogger();
  return { handle: createHandler({ environment: env, logger }), logger };
}

// Tokens are signed at the real current time here: the handler uses the real clock.
const now = Math.floor(Date.now() / 1000);
const claims = () => openamClaims({ iat: now, exp: now + 3600 });

test("reads the shared secret from SSM once per cold start, decrypted, and verifies with it", async () => {
  ssm.on(GetParameterCommand, { Name: PARAMETER, WithDecryption: true }).resolves({ Parameter: { Value: SHARED_SECRET } });
  const { handle, logger } = handler();
  for (let i = 0; i < 3; i++) {
    expect(await handle(mqttEvent(signHs(claims())))).toMatchObject({ isAuthenticated: true, principalId: "bob" });
  }
  expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(1);
  expect(logger.text).not.toContain(SHARED_SECRET);
});

test("a throttled SSM is retried; the secret still arrives", async () => {
  const throttled = Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" });
  ssm
    .on(GetParameterCommand)
    .rejectsOnce(throttled)
    .resolves({ Parameter: { Value: SHARED_SECRET } });
  const { handle } = handler();
  expect(await handle(mqttEvent(signHs(claims())))).toMatchObject({ isAuthenticated: true });
  expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(2);
});

test("a missing parameter denies, logs the configuration problem once, and never throws", async () => {
  ssm.on(GetParameterCommand).rejects(Object.assign(new Error("not found"), { name: "ParameterNotFound" }));
  const { handle, logger } = handler();
  expect(await handle(mqttEvent(signHs(claims())))).toMatchObject({ isAuthenticated: false, policyDocuments: [] });
  expect(await handle(mqttEvent(signHs(claims())))).toMatchObject({ isAuthenticated: false });
  expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(1); // not retried on every request
  expect(logger.lines).toEqual([
    {
      level: "error",
      fields: expect.objectContaining({ check: "configuration", reason: expect.stringMatching(/could not be read: ParameterNotFound/) }),
    },
  ]);
});

test("a weak secret in SSM is refused like a weak configuration", async () => {
  ssm.on(GetParameterCommand).resolves({ Parameter: { Value: Buffer.alloc(8).toString("base64") } });
  const { handle, logger } = handler();
  expect(await handle(mqttEvent(signHs(claims())))).toMatchObject({ isAuthenticated: false });
  expect(logger.lines[0].fields.reason).toMatch(/decodes to 8 bytes; HS256 needs at least 32/);
});

test.each([
  ["missing", undefined],
  ["not JSON", "{"],
  ["unsafe", JSON.stringify({ region: "eu-west-1", accountId: "123456789012", issuers: [{ issuer: "x", algorithms: ["none"] }] })],
])("a %s AUTHORIZER_CONFIG denies every request", async (_name, value) => {
  const { handle, logger } = handler({ AUTHORIZER_CONFIG: value });
  expect(await handle(mqttEvent(signHs(claims())))).toMatchObject({ isAuthenticated: false });
  expect(logger.lines[0]).toMatchObject({ level: "error", fields: { check: "configuration" } });
  expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(0);
});

test("the exported handler is built from the environment lazily and never throws", async () => {
  const { handler: lambdaHandler } = await import("../../functions/authorizer/index");
  // The configuration line carries its metric, so it is written to stdout whole (docs/operations.md#decisions-as-metrics).
  const written: string[] = [];
  const spy = jest.spyOn(process.stdout, "write").mockImplementation((chunk) => (written.push(String(chunk)), true));
  try {
    expect(await lambdaHandler({})).toMatchObject({ isAuthenticated: false });
  } finally {
    spy.mockRestore();
  }
  expect(written.map((line) => JSON.parse(line))).toEqual([
    expect.objectContaining({
      level: "ERROR",
      message: expect.objectContaining({ check: "configuration", reason: expect.stringMatching(/AUTHORIZER_CONFIG is not set/) }),
      Decision: "Deny",
      Check: "configuration",
    }),
  ]);
});
