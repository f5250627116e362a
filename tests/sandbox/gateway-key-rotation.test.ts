/**
 * A token-signing key rotation against the sandbox's IoT gateway (docs/operations.md#rotating-the-token-signing-key):
 * while the authorizer holds the old and the new key, tokens signed with either are accepted, over HTTP publish
 * (fetch, and curl with a signature made by the real openssl binary) and MQTT, many at once; once the old key is
 * removed (as `UpdateAuthorizer` would), its signatures are refused at the gateway without invoking the authorizer.
 */
import { execFile } from "node:child_process";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import jwt from "jsonwebtoken";
import { createAuthorizer } from "../../functions/authorizer/authorizer";
import { loadAuthorizerConfig } from "../../functions/authorizer/config";
import { customAuthHeaders, signToken } from "../../functions/authorizer/custom-auth";
import { type IotGateway, startIotGateway } from "../../sandbox/gateway/gateway";
import { AUTHORIZER_NAME, connect, endClient, ISSUER, SECRET, TOKEN_KEY_NAME } from "./gateway-fixtures";

const pair = () => generateKeyPairSync("rsa", { modulusLength: 2048 });
const OLD = pair();
const NEW = pair();
const pem = (key: KeyObject) => key.export({ type: "spki", format: "pem" }).toString();

let gateway: IotGateway;
let directory: string;
beforeAll(async () => {
  const config = loadAuthorizerConfig({
    region: "eu-west-1",
    accountId: "123456789012",
    issuers: [{ issuer: ISSUER, algorithms: ["HS256"], secret: SECRET }],
  });
  const silent = { warn: () => undefined, debug: () => undefined, error: () => undefined };
  gateway = await startIotGateway({
    authorizer: createAuthorizer(config, { logger: silent }),
    authorizerName: AUTHORIZER_NAME,
    tokenKeyName: TOKEN_KEY_NAME,
    signingPublicKeys: { "2025-11": pem(OLD.publicKey), "2026-06": pem(NEW.publicKey) },
    region: "eu-west-1",
    accountId: "123456789012",
    logger: () => undefined,
  });
  directory = mkdtempSync(path.join(tmpdir(), "key-rotation-"));
});
afterAll(async () => {
  await gateway.stop();
  rmSync(directory, { recursive: true, force: true });
});

function tokenFor(sub: string): string {
  return jwt.sign({ sub, iss: ISSUER, exp: Math.floor(Date.now() / 1000) + 3_600 }, Buffer.from(SECRET, "base64"), { algorithm: "HS256" });
}

/** An HTTP publish to the device's own topic, signed with `key`; answers the status. */
async function publish(sub: string, key: KeyObject): Promise<number> {
  const token = tokenFor(sub);
  const headers = customAuthHeaders({
    authorizerName: AUTHORIZER_NAME,
    tokenKeyName: TOKEN_KEY_NAME,
    token,
    signature: signToken(token, key),
  });
  const response = await fetch(`${gateway.httpUrl}/topics/devices/${sub}/status?qos=1`, { method: "POST", headers, body: "{}" });
  await response.arrayBuffer();
  return response.status;
}

/** The walkthrough's command line: openssl signs with the key file, curl publishes; answers the HTTP status. */
async function curlWithOpenssl(sub: string, privateKey: KeyObject): Promise<number> {
  const keyFile = path.join(directory, `${sub}.pem`);
  writeFileSync(keyFile, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  const script = [
    'SIGNATURE="$(printf %s "$TOKEN" | openssl dgst -sha256 -sign "$KEY" | openssl base64 -A)"',
    'curl -s -o /dev/null -w "%{http_code}" -X POST "$URL" -H "x-amz-customauthorizer-name: $AUTHORIZER" ' +
      '-H "x-amz-customauthorizer-signature: $SIGNATURE" -H "token: $TOKEN" -d "{}"',
  ].join("\n");
  const env = {
    ...process.env,
    TOKEN: tokenFor(sub),
    KEY: keyFile,
    URL: `${gateway.httpUrl}/topics/devices/${sub}/status?qos=1`,
    AUTHORIZER: AUTHORIZER_NAME,
  };
  return Number((await promisify(execFile)("sh", ["-c", script], { env })).stdout);
}

describe("during the overlap, with both keys on the authorizer", () => {
  it("accepts HTTP publishes signed with the old and the new key, arriving at once", async () => {
    const statuses = await Promise.all(
      Array.from({ length: 60 }, (_, i) => publish(`device${i}`, i % 2 === 0 ? OLD.privateKey : NEW.privateKey)),
    );
    expect(statuses).toEqual(statuses.map(() => 200));
  });

  it("accepts the walkthrough's openssl and curl line with either key", async () => {
    expect(await curlWithOpenssl("alice", OLD.privateKey)).toBe(200);
    expect(await curlWithOpenssl("bob", NEW.privateKey)).toBe(200);
  });

  it("accepts MQTT connections signed with either key", async () => {
    for (const [sub, key] of [
      ["carol", OLD.privateKey],
      ["dave", NEW.privateKey],
    ] as const) {
      const token = tokenFor(sub);
      const client = await connect(gateway, "tcp", 5, sub, { token, signature: signToken(token, key) });
      await endClient(client);
    }
  });

  it("still refuses a key that is not on the authorizer, without invoking it", async () => {
    const invocations = gateway.authorizerInvocations();
    expect(await publish("mallory", pair().privateKey)).toBe(403);
    expect(gateway.authorizerInvocations()).toBe(invocations);
  });
});

describe("after the old key is removed", () => {
  beforeAll(() => gateway.setSigningPublicKeys({ "2026-06": pem(NEW.publicKey) }));

  it("refuses the old key's signatures at the gateway, without invoking the authorizer, and keeps accepting the new key", async () => {
    const invocations = gateway.authorizerInvocations();
    const rejections = gateway.signatureRejections();
    const statuses = await Promise.all(Array.from({ length: 20 }, (_, i) => publish(`device${i}`, OLD.privateKey)));
    expect(statuses).toEqual(statuses.map(() => 403));
    expect(await curlWithOpenssl("alice", OLD.privateKey)).toBe(403);
    expect(gateway.authorizerInvocations()).toBe(invocations);
    expect(gateway.signatureRejections()).toBe(rejections + 21);
    expect(await publish("bob", NEW.privateKey)).toBe(200);
    expect(await curlWithOpenssl("bob", NEW.privateKey)).toBe(200);
  });

  it("keeps signing on: an empty key set is refused, as IoT requires keys while signing is on", () => {
    expect(() => gateway.setSigningPublicKeys({})).toThrow(/needs at least one key/);
  });
});
