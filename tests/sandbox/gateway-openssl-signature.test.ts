/**
 * A token signature made as the original OpenAM walkthrough makes it, with the real `openssl` binary piped into
 * `openssl base64` (no `-A`: lines wrapped at 64 characters), and sent as the walkthrough sends it: with curl in
 * an HTTP header, URL-encoded in the query string, and in the MQTT username. The gateway refuses it as IoT would
 * and says why in its log; the same pipeline with `-A` is accepted.
 */
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { AUTHORIZER_NAME, connect, endClient, type Harness, SIGNING_PRIVATE_KEY, startHarness, TOKEN_KEY_NAME } from "./gateway-fixtures";

const LINE_BREAKS = "the signature contains line breaks: use `openssl base64 -A`";

describe("a signature wrapped by `openssl base64` without -A", () => {
  let h: Harness;
  let directory: string;
  let keyFile: string;
  beforeAll(async () => {
    h = await startHarness();
    directory = mkdtempSync(path.join(tmpdir(), "openssl-signature-"));
    keyFile = path.join(directory, "authorizer-signing.pem");
    writeFileSync(keyFile, SIGNING_PRIVATE_KEY.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  });
  afterAll(async () => {
    await h.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  /** `echo -n "$TOKEN" | openssl dgst -sha256 -sign key.pem | openssl base64 [-A]`, through a shell as the walkthrough runs it. */
  function opensslSignature(token: string, flags: string): string {
    const script = `printf %s "$TOKEN" | openssl dgst -sha256 -sign "$KEY" | openssl base64 ${flags}`;
    return execFileSync("sh", ["-c", script], { env: { ...process.env, TOKEN: token, KEY: keyFile } })
      .toString("utf8")
      .replace(/\n$/, "");
  }

  /** The walkthrough's curl line: the three values as headers, a JSON body; answers the status and the body. */
  async function curlPublish(topic: string, headers: Record<string, string>, query = ""): Promise<{ status: number; body: string }> {
    const args = ["-s", "-w", "\n%{http_code}", "-X", "POST", `${h.gateway.httpUrl}/topics/${topic}?qos=1${query}`, "-d", '{"on": true}'];
    for (const [name, value] of Object.entries(headers)) args.push("-H", `${name}: ${value}`);
    // Not execFileSync: the gateway answering curl runs in this process.
    const output = (await promisify(execFile)("curl", args)).stdout;
    const cut = output.lastIndexOf("\n");
    return { status: Number(output.slice(cut + 1)), body: output.slice(0, cut) };
  }

  test("openssl base64 wraps a 2048-bit signature over several lines; with -A it is one line", () => {
    const token = h.tokenFor("alice");
    expect(opensslSignature(token, "").split("\n").length).toBeGreaterThan(1);
    expect(opensslSignature(token, "-A")).not.toContain("\n");
  });

  test("in an HTTP header (curl): 400 with a JSON body saying why, and the log line says why", async () => {
    const token = h.tokenFor("alice");
    const before = h.gateway.authorizerInvocations();
    const answer = await curlPublish("devices/alice/status", {
      "x-amz-customauthorizer-name": AUTHORIZER_NAME,
      "x-amz-customauthorizer-signature": opensslSignature(token, ""),
      [TOKEN_KEY_NAME]: token,
    });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ message: expect.stringContaining(LINE_BREAKS) });
    expect(h.gateway.authorizerInvocations()).toBe(before);
    expect(h.logs).toContainEqual(expect.objectContaining({ transport: "https", reason: "bad-request", detail: LINE_BREAKS }));
    const good = await curlPublish("devices/alice/status", {
      "x-amz-customauthorizer-name": AUTHORIZER_NAME,
      "x-amz-customauthorizer-signature": opensslSignature(token, "-A"),
      [TOKEN_KEY_NAME]: token,
    });
    expect(good.status).toBe(200);
  });

  test("URL-encoded in the query string: 403, and the log line says why", async () => {
    const token = h.tokenFor("alice");
    const query = `&x-amz-customauthorizer-name=${AUTHORIZER_NAME}&x-amz-customauthorizer-signature=${encodeURIComponent(opensslSignature(token, ""))}`;
    const answer = await curlPublish("devices/alice/status", { [TOKEN_KEY_NAME]: token }, query);
    expect(answer.status).toBe(403);
    expect(h.logs).toContainEqual(
      expect.objectContaining({ transport: "https", stage: "publish", reason: "signature-invalid", detail: LINE_BREAKS }),
    );
  });

  test.each([4, 5] as const)("in the MQTT username (MQTT %i): CONNACK refusal, and the log line says why", async (version) => {
    const token = h.tokenFor("alice");
    await expect(connect(h.gateway, "tcp", version, "alice", { token, signature: opensslSignature(token, "") })).rejects.toMatchObject({
      code: version === 5 ? 0x87 : 5,
    });
    expect(h.logs).toContainEqual(
      expect.objectContaining({ transport: "mqtt", stage: "connect", reason: "signature-invalid", detail: LINE_BREAKS }),
    );
    await endClient(await connect(h.gateway, "tcp", version, "alice", { token, signature: opensslSignature(token, "-A") }));
  });
});
