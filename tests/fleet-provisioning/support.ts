/**
 * What the fleet provisioning tests share: a claim binding table in dynalite (created from the one layout the
 * component declares), the events API Gateway and IoT send, an IoT claim answer with a real private key, and
 * a logger that records every line.
 */
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CLAIM_BINDING_TABLE_DEFINITION } from "../../functions/shared/claim-binding-table";
import { type LogFields, type LogSink } from "../../functions/shared/logging";
import { type LocalDynamo } from "../../sandbox/dynalite";

export const REGION = "eu-west-1";
export const ACCOUNT = "123456789012";
export const TEMPLATE_NAME = "installers-fleet";
export const TEMPLATE_ARN = `arn:aws:iot:${REGION}:${ACCOUNT}:provisioningtemplate/${TEMPLATE_NAME}`;
export const INSTALLER_SUB = "7c3f6a2e-1b5d-4e8f-9a0b-2c4d6e8f0a1b";

let tables = 0;

/** A new, empty claim binding table in dynalite; its name. */
export async function createBindingTable(dynamo: LocalDynamo): Promise<string> {
  const name = `claim-bindings-${++tables}`;
  return dynamo.createTable(name, { definition: CLAIM_BINDING_TABLE_DEFINITION });
}

/** A DynamoDB client whose every call fails at the socket: nothing listens on port 9 of this machine. */
export function unreachableDynamo(): DynamoDBClient {
  return new DynamoDBClient({
    endpoint: "http://127.0.0.1:9",
    region: REGION,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    maxAttempts: 1,
  });
}

/** A certificate id as IoT makes them: 64 hex digits. */
export function certificateId(seed: string = randomBytes(8).toString("hex")): string {
  return createHash("sha256").update(seed).digest("hex");
}

const privateKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString();

/** A claim as IoT's `CreateProvisioningClaim` answers it; the key is a real RSA key (so a leak would be visible). */
export function iotClaimAnswer(id: string, expiration: Date) {
  const body = randomBytes(600)
    .toString("base64")
    .replace(/(.{64})/g, "$1\n");
  return {
    certificateId: id,
    certificatePem: `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`,
    keyPair: { PrivateKey: privateKey, PublicKey: "-----BEGIN PUBLIC KEY-----\n…\n-----END PUBLIC KEY-----\n" },
    expiration,
  };
}

export const CLAIM_PRIVATE_KEY = privateKey;

/** The payload 2.0 event API Gateway sends for `POST /provisioning/claims` once its JWT authorizer has passed the token. */
export function claimEvent(
  body: unknown,
  options: { claims?: Record<string, unknown> | null; scopes?: string[]; contentType?: string; method?: string; base64?: boolean } = {},
): Record<string, unknown> {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  const claims =
    options.claims === null
      ? undefined
      : (options.claims ?? { sub: INSTALLER_SUB, scope: "iot/provision", "cognito:groups": "[installers]", token_use: "access" });
  return {
    version: "2.0",
    routeKey: "POST /provisioning/claims",
    rawPath: "/provisioning/claims",
    rawQueryString: "",
    headers: { "content-type": options.contentType ?? "application/json", "user-agent": "installer-app/1.0" },
    requestContext: {
      accountId: ACCOUNT,
      apiId: "a1b2c3d4e5",
      ...(claims !== undefined && { authorizer: { jwt: { claims, scopes: options.scopes ?? ["iot/provision"] } } }),
      http: { method: options.method ?? "POST", path: "/provisioning/claims", sourceIp: "203.0.113.9", userAgent: "installer-app/1.0" },
      requestId: "req-1",
      routeKey: "POST /provisioning/claims",
      stage: "$default",
    },
    body: options.base64 ? Buffer.from(text).toString("base64") : text,
    isBase64Encoded: options.base64 === true,
  };
}

/** The event IoT sends the pre-provisioning hook when a device calls `RegisterThing`. */
export function hookEvent(claimCertificateId: string, parameters: Record<string, unknown>, overrides: Record<string, unknown> = {}) {
  return {
    claimCertificateId,
    certificateId: certificateId(`device-${claimCertificateId}-${JSON.stringify(parameters)}-${randomBytes(4).toString("hex")}`),
    certificatePem: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    templateArn: TEMPLATE_ARN,
    clientId: "221a6d10-9c7f-42f1-9153-e52e6fc869c1",
    parameters,
    ...overrides,
  };
}

/** Records every line, at every level. */
export class RecordingLog implements LogSink {
  readonly lines: { level: string; fields: LogFields }[] = [];
  debug(fields: LogFields) {
    this.lines.push({ level: "debug", fields });
  }
  info(fields: LogFields) {
    this.lines.push({ level: "info", fields });
  }
  warn(fields: LogFields) {
    this.lines.push({ level: "warn", fields });
  }
  error(fields: LogFields) {
    this.lines.push({ level: "error", fields });
  }
  get text(): string {
    return JSON.stringify(this.lines);
  }
}

/** An AWS SDK error as the SDK throws them: a name and the HTTP status in `$metadata`. */
export function awsError(name: string, httpStatusCode: number): Error {
  return Object.assign(new Error(`${name} (test)`), {
    name,
    $metadata: { httpStatusCode },
    $fault: httpStatusCode >= 500 ? "server" : "client",
  });
}
