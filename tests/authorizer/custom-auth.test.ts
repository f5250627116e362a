import { execFileSync } from "node:child_process";
import { createPublicKey, generateKeyPairSync, verify } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { customAuthHeaders, customAuthMqttUsername, customAuthQuery, findToken, signToken } from "../../functions/authorizer/custom-auth";

const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const privatePem = privateKey.export({ type: "pkcs8", format: "pem" }) as string;
const token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl";

describe("signing a token for IoT's signature validation", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "custom-auth-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("gives the same bytes as `echo -n $TOKEN | openssl dgst -sha256 -sign private.pem | base64` (the OpenAM walkthrough)", () => {
    const keyFile = join(dir, "private.pem");
    writeFileSync(keyFile, privatePem, { mode: 0o600 });
    for (const t of [token, "x", "a.b.c".repeat(500)]) {
      const signature = execFileSync("openssl", ["dgst", "-sha256", "-sign", keyFile], { input: t });
      const base64 = execFileSync("base64", [], { input: signature }).toString("utf8").replace(/\n/g, "");
      expect(signToken(t, privatePem)).toBe(base64);
      expect(signToken(t, privateKey)).toBe(base64);
    }
  });

  test("verifies with the public key IoT holds, over the exact token string", () => {
    const signature = signToken(token, privateKey);
    const publicKey = createPublicKey(privateKey);
    expect(verify("sha256", Buffer.from(token), publicKey, Buffer.from(signature, "base64"))).toBe(true);
    expect(verify("sha256", Buffer.from(`${token} `), publicKey, Buffer.from(signature, "base64"))).toBe(false);
    expect(signature).toMatch(/^[A-Za-z0-9+/]+=*$/); // standard base64, not base64url
  });
});

describe("building custom-auth credentials", () => {
  const credentials = { authorizerName: "OpenAMAuthorizer", tokenKeyName: "token", token, signature: "ab+/cd==" };

  test("headers carry the authorizer name, signature and token under IoT's names", () => {
    expect(customAuthHeaders(credentials)).toEqual({
      "x-amz-customauthorizer-name": "OpenAMAuthorizer",
      "x-amz-customauthorizer-signature": "ab+/cd==",
      token,
    });
    const { signature: _unused, ...unsigned } = credentials;
    expect(customAuthHeaders(unsigned)).not.toHaveProperty("x-amz-customauthorizer-signature");
  });

  test("the MQTT username URL-encodes the base64 signature, and the authorizer finds the token in it", () => {
    const username = customAuthMqttUsername({ ...credentials, username: "tv" });
    expect(username).toBe(
      `tv?x-amz-customauthorizer-name=OpenAMAuthorizer&x-amz-customauthorizer-signature=ab%2B%2Fcd%3D%3D&token=${token}`,
    );
    expect(new URLSearchParams(username.split("?")[1]).get("x-amz-customauthorizer-signature")).toBe("ab+/cd==");
    expect(findToken({ protocolData: { mqtt: { username } } }, "token")).toEqual({ found: true, token, location: "mqtt-username" });
    expect(customAuthQuery(credentials)).toBe(username.split("?")[1]);
  });
});

describe("finding the token where IoT delivers it", () => {
  test("event.token wins over every other location", () => {
    const event = { token: "from-iot", protocolData: { http: { headers: { token: "header" } }, mqtt: { password: "cGFzcw==" } } };
    expect(findToken(event, "token")).toEqual({ found: true, token: "from-iot", location: "event.token" });
  });
  test("HTTP headers match case-insensitively; a repeated header is ambiguous", () => {
    expect(findToken({ protocolData: { http: { headers: { Token: "t" } } } }, "token")).toMatchObject({ found: true, token: "t" });
    expect(findToken({ protocolData: { http: { headers: { Token: "t", token: "u" } } } }, "token")).toEqual({
      found: false,
      ambiguous: true,
      location: "http-header",
    });
  });
  test("the query string, with or without the leading ?", () => {
    for (const queryString of ["?token=t%2Bu", "token=t%2Bu"]) {
      expect(findToken({ protocolData: { http: { queryString } } }, "token")).toMatchObject({
        found: true,
        token: "t+u",
        location: "http-query",
      });
    }
  });
  test("the MQTT username's query, ignoring the SDK's metrics parameters; a username without query is not a token", () => {
    const username = "anything?SDK=IoTDeviceSDK%2Fv2&Version=1.2.3&token=abc&Platform=linux";
    expect(findToken({ protocolData: { mqtt: { username } } }, "token")).toMatchObject({ found: true, token: "abc" });
    expect(findToken({ protocolData: { mqtt: { username: "token" } } }, "token")).toEqual({ found: false, ambiguous: false });
  });
  test("the MQTT password is base64-decoded", () => {
    expect(findToken({ protocolData: { mqtt: { password: Buffer.from("a.b.c").toString("base64") } } }, "token")).toEqual({
      found: true,
      token: "a.b.c",
      location: "mqtt-password",
    });
  });
  test.each([null, undefined, 42, "token", [], { token: 5 }, { protocolData: "x" }, { protocolData: { http: { headers: [] } } }])(
    "%j holds no token",
    (event) => {
      expect(findToken(event, "token")).toMatchObject({ found: false });
    },
  );
});
