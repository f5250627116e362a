/**
 * The Lambda handler as Lambda builds it, with nothing injected: its own DynamoDB client (pointed at dynalite
 * through the SDK's standard `AWS_ENDPOINT_URL_DYNAMODB` variable, as any endpoint override would be) and its
 * own SSM reader for the confidential clients' secrets. SSM has no local stand-in, so it alone is mocked,
 * with aws-sdk-client-mock, and the test checks the request the function makes of it.
 */
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { createHandler } from "../../functions/device-grant/index";
import { DynamoStore } from "../../functions/device-grant/dynamo-store";
import { basicAuthorizationHeader } from "../../functions/shared/oauth";
import { type LocalDynamo, startDynalite } from "../../sandbox/dynalite";
import { consoleClientConfig } from "../helpers/device-grant-config";

const ssm = mockClient(SSMClient);
const PARAMETER = "/device-grant/test/client-secrets";
const saved = { ...process.env };
let dynamo: LocalDynamo;
let tableName: string;

beforeAll(async () => {
  dynamo = await startDynalite();
  tableName = await dynamo.createTable("wiring-test");
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
  });
});
afterAll(async () => {
  process.env = saved;
  await dynamo?.stop();
});

function environment(): NodeJS.ProcessEnv {
  return {
    DEVICE_GRANT_CONFIG: consoleClientConfig(tableName, PARAMETER),
  };
}

function deviceAuthorization(secret: string): Record<string, unknown> {
  return {
    version: "2.0",
    rawPath: "/oauth2/device_authorization",
    rawQueryString: "",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: basicAuthorizationHeader("console", secret) },
    body: "scope=openid",
    isBase64Encoded: false,
    requestContext: { http: { method: "POST", sourceIp: "203.0.113.7", userAgent: "Console/2.0" } },
  };
}

test("reads the client secrets from SSM once, decrypted, and stores the request in its DynamoDB table", async () => {
  ssm.reset();
  ssm
    .on(GetParameterCommand, { Name: PARAMETER, WithDecryption: true })
    .resolves({ Parameter: { Value: JSON.stringify({ console: "s3cret-value" }) } });
  const handler = createHandler({
    environment: environment(),
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
  });

  const answer = await handler(deviceAuthorization("s3cret-value"));
  expect(answer.statusCode).toBe(200);
  const body = JSON.parse(answer.body as string) as { device_code: string; user_code: string };
  const stored = await new DynamoStore({ client: dynamo.client, tableName }).getByUserCode(body.user_code.replace("-", ""));
  expect(stored).toMatchObject({
    clientId: "console",
    scopes: ["openid"],
    status: "pending",
    deviceIp: "203.0.113.7",
    deviceSoftware: "Console/2.0",
  });

  expect((await handler(deviceAuthorization("wrong"))).statusCode).toBe(401);
  expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(1);
});
