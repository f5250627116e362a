/**
 * The sandbox's local IoT, part by part (sandbox/provisioning/): the CA's certificates as `openssl` reads them,
 * its refusal of CSRs IoT would refuse, the template run on the body the component builds, the registry's
 * ownership tokens, conflicts and file, and the sessions certificates get at CONNECT, judged by the gateway's
 * policy evaluator with the component's own device policy.
 */
import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Permissions } from "../../sandbox/gateway/permissions";
import { devicePolicyDocument } from "../../infra/fleet-provisioning-policies";
import { provisioningTemplate } from "../../infra/provisioning-template";
import { RegistryCertificates } from "../../sandbox/provisioning/certificates";
import { certificateIdOf, InvalidCsrError, LocalCa } from "../../sandbox/provisioning/local-ca";
import { IotRegistry, OWNERSHIP_TOKEN_LIFETIME_MS } from "../../sandbox/provisioning/registry";
import { runTemplate, TemplateError } from "../../sandbox/provisioning/template-run";
import { keyAndCsr } from "../../device/provision-csr";

const run = promisify(execFile);
const SCOPE = { partition: "aws", region: "eu-west-1", accountId: "000000000000" };
const SPEC = {
  thingNameParameter: "ThingName",
  thingNamePattern: "[A-Z]{2}-[0-9]{6}",
  ownerParameter: "Owner",
  ownerAttribute: "owner",
  parameters: [{ name: "Model", pattern: "X[0-9]", attribute: "model" }],
  devicePolicyName: "fleet-dev-device",
  topicPrefix: "devices",
};
let dir: string;
let ca: LocalCa;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "local-iot-"));
  ca = await LocalCa.open(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("local CA", () => {
  test("a claim certificate openssl verifies against the CA file, whose id is openssl's SHA-256 fingerprint", async () => {
    const claim = await ca.issueWithNewKey(new Date(Date.now() + 300_000));
    const file = path.join(dir, "claim.pem");
    writeFileSync(file, claim.certificatePem);
    await expect(run("openssl", ["verify", "-CAfile", path.join(dir, "iot-ca.pem"), file])).resolves.toMatchObject({
      stdout: `${file}: OK\n`,
    });
    const { stdout } = await run("openssl", ["x509", "-in", file, "-noout", "-fingerprint", "-sha256", "-enddate"]);
    expect(stdout.split("\n")[0].split("=")[1].replaceAll(":", "").toLowerCase()).toBe(claim.certificateId);
    expect(claim.privateKeyPem).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/);
    expect(statSync(path.join(dir, "iot-ca-key.pem")).mode & 0o777).toBe(0o600);
  });

  test("the CA kept in a directory is the same at the next start", async () => {
    const again = await LocalCa.open(dir);
    expect(again.certificatePem).toBe(ca.certificatePem);
    const issued = await again.issueWithNewKey(new Date(Date.now() + 60_000));
    const file = path.join(dir, "again.pem");
    writeFileSync(file, issued.certificatePem);
    await expect(run("openssl", ["verify", "-CAfile", path.join(dir, "iot-ca.pem"), file])).resolves.toMatchObject({
      stdout: `${file}: OK\n`,
    });
    expect(certificateIdOf(issued.certificatePem)).toBe(issued.certificateId);
  });

  test("a CSR: the device's key in the certificate; a weak key, a tampered request or no CSR is refused", async () => {
    const { csrPem } = await keyAndCsr("AB-123456");
    const issued = await ca.issueForCsr(csrPem, new Date(Date.now() + 60_000));
    expect(issued.certificatePem).toContain("BEGIN CERTIFICATE");
    const weak = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const weakKey = path.join(dir, "weak.pem");
    writeFileSync(weakKey, weak);
    const { stdout: weakCsr } = await run("openssl", ["req", "-new", "-key", weakKey, "-subj", "/CN=weak"]);
    await expect(ca.issueForCsr(weakCsr, new Date())).rejects.toThrow(InvalidCsrError);
    const body = csrPem.split("\n").slice(1, -2).join("");
    const tampered = Buffer.from(body, "base64");
    tampered[tampered.length - 5] ^= 0xff;
    const tamperedPem = `-----BEGIN CERTIFICATE REQUEST-----\n${tampered.toString("base64")}\n-----END CERTIFICATE REQUEST-----\n`;
    await expect(ca.issueForCsr(tamperedPem, new Date())).rejects.toThrow(InvalidCsrError);
    await expect(ca.issueForCsr("hello", new Date())).rejects.toThrow(InvalidCsrError);
  });
});

describe("template run", () => {
  const body = provisioningTemplate(SPEC);

  test("the component's template: the thing with its owner and parameters, the certificate active, the device policy, the topic root", () => {
    expect(runTemplate(body, { ThingName: "AB-123456", Owner: "sub-1", Model: "X1" }, "c".repeat(64))).toEqual({
      thing: { thingName: "AB-123456", attributes: { owner: "sub-1", model: "X1" }, thingGroups: [] },
      status: "ACTIVE",
      policies: ["fleet-dev-device"],
      deviceConfiguration: { topicRoot: "devices/AB-123456" },
    });
  });

  test("a missing parameter, an unsupported function or another certificate is a TemplateError", () => {
    expect(() => runTemplate(body, { ThingName: "AB-123456", Model: "X1" }, "c".repeat(64))).toThrow(
      "Cannot resolve reference value: Owner",
    );
    const sub = { ...body, DeviceConfiguration: { x: { "Fn::Sub": "a" } } };
    expect(() => runTemplate(sub, { ThingName: "AB-123456", Owner: "o", Model: "X1" }, "c".repeat(64))).toThrow(TemplateError);
    const other = JSON.parse(JSON.stringify(body).replace('{"Ref":"AWS::IoT::Certificate::Id"}', '"d"'));
    expect(() => runTemplate(other, { ThingName: "AB-123456", Owner: "o", Model: "X1" }, "c".repeat(64))).toThrow(
      "not the device's new one",
    );
  });
});

describe("registry", () => {
  test("an ownership token proves its certificate once, for an hour; a certificate still pending then is gone", () => {
    let now = 1_000_000;
    const registry = new IotRegistry(undefined, () => now);
    registry.putPolicy("fleet-dev-device", devicePolicyDocument(SCOPE, "devices"));
    const token = registry.addPendingCertificate("a".repeat(64), "PEM-A");
    expect(registry.certificateOwnedBy(token)?.certificateId).toBe("a".repeat(64));
    expect(registry.certificateOwnedBy(`${token}x`)).toBeUndefined();
    const thing = { thingName: "AB-123456", attributes: { owner: "o" }, thingGroups: [] };
    expect(registry.provision({ certificateId: "a".repeat(64), thing, status: "ACTIVE", policies: ["fleet-dev-device"] })).toEqual({
      ok: true,
    });
    expect(registry.certificateOwnedBy(token)).toBeUndefined();
    const late = registry.addPendingCertificate("b".repeat(64), "PEM-B");
    now += OWNERSHIP_TOKEN_LIFETIME_MS;
    expect(registry.certificateOwnedBy(late)).toBeUndefined();
    registry.addPendingCertificate("c".repeat(64), "PEM-C");
    expect(registry.certificate("b".repeat(64))).toBeUndefined();
  });

  test("a thing that exists with other attributes fails the run (OverrideSettings FAIL); a missing policy too", () => {
    const registry = new IotRegistry();
    registry.putPolicy("p", devicePolicyDocument(SCOPE, "devices"));
    registry.addPendingCertificate("a".repeat(64), "PEM-A");
    registry.addPendingCertificate("b".repeat(64), "PEM-B");
    const thing = (owner: string) => ({ thingName: "AB-123456", attributes: { owner }, thingGroups: [] });
    expect(registry.provision({ certificateId: "a".repeat(64), thing: thing("one"), status: "ACTIVE", policies: ["p"] }).ok).toBe(true);
    expect(registry.provision({ certificateId: "b".repeat(64), thing: thing("two"), status: "ACTIVE", policies: ["p"] })).toMatchObject({
      ok: false,
    });
    expect(registry.provision({ certificateId: "b".repeat(64), thing: thing("one"), status: "ACTIVE", policies: ["nope"] })).toMatchObject({
      ok: false,
    });
  });

  test("with a file: owner-only, without tokens, read back at the next start", async () => {
    const file = path.join(dir, "iot-registry.json");
    const registry = new IotRegistry(file);
    registry.putPolicy("p", devicePolicyDocument(SCOPE, "devices"));
    const token = registry.addPendingCertificate("a".repeat(64), "PEM-A");
    registry.provision({
      certificateId: "a".repeat(64),
      thing: { thingName: "AB-1", attributes: {}, thingGroups: [] },
      status: "ACTIVE",
      policies: ["p"],
    });
    await registry.flushed();
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, "utf8")).not.toContain(token);
    const reread = new IotRegistry(file);
    expect(reread.certificate("a".repeat(64))?.status).toBe("ACTIVE");
    expect(reread.thing("AB-1")?.principals).toEqual(["a".repeat(64)]);
  });
});

describe("certificate sessions judged by the gateway's evaluator", () => {
  const permissions = new Permissions(SCOPE.partition, SCOPE.region, SCOPE.accountId);
  const registry = new IotRegistry();
  registry.putPolicy("fleet-dev-device", devicePolicyDocument(SCOPE, "devices"));
  const certificates = new RegistryCertificates(registry, SCOPE);
  const device = "d".repeat(64);
  registry.addPendingCertificate(device, "PEM");
  registry.provision({
    certificateId: device,
    thing: { thingName: "AB-123456", attributes: {}, thingGroups: [] },
    status: "ACTIVE",
    policies: ["fleet-dev-device"],
  });
  registry.addClaim({ certificateId: "e".repeat(64), templateName: "fleet-dev", expiresAt: Date.now() + 60_000 });

  test("the device: its own client id, topic tree and filters; nothing of another thing", () => {
    const own = certificates.authenticate(device, "AB-123456");
    if (!own.ok) throw new Error("refused");
    expect(permissions.mayConnect(own.session, "AB-123456", [])).toBe(true);
    expect(permissions.mayPublish(own.session, "devices/AB-123456/hello", false, "AB-123456")).toBe(true);
    expect(permissions.maySubscribe(own.session, "devices/AB-123456/#", "AB-123456")).toBe(true);
    expect(permissions.mayPublish(own.session, "devices/XY-000000/hello", false, "AB-123456")).toBe(false);
    // Another client id: no such thing (ThingName has no value), and not attached: no connect.
    const other = certificates.authenticate(device, "XY-000000");
    expect(other.ok && permissions.mayConnect(other.session, "XY-000000", [])).toBe(false);
  });

  test("IsAttached: a thing of that name to which this certificate is not attached cannot be connected as", () => {
    registry.addPendingCertificate("f".repeat(64), "PEM");
    registry.provision({
      certificateId: "f".repeat(64),
      thing: { thingName: "CD-000001", attributes: {}, thingGroups: [] },
      status: "ACTIVE",
      policies: ["fleet-dev-device"],
    });
    const borrowed = certificates.authenticate(device, "CD-000001");
    if (!borrowed.ok) throw new Error("refused");
    expect(borrowed.session.conditions).toEqual({ "iot:Connection.Thing.IsAttached": ["false"] });
    expect(permissions.mayConnect(borrowed.session, "CD-000001", [])).toBe(false);
  });

  test("a claim: the provisioning topics of its template only, for five minutes; unknown certificates get nothing", () => {
    const claim = certificates.authenticate("e".repeat(64), "anything");
    if (!claim.ok) throw new Error("refused");
    expect(claim.endsAt).toBeGreaterThan(Date.now());
    expect(permissions.mayConnect(claim.session, "anything", [])).toBe(true);
    expect(permissions.mayPublish(claim.session, "$aws/certificates/create/json", false, "anything")).toBe(true);
    expect(permissions.mayPublish(claim.session, "$aws/certificates/create-from-csr/json", false, "anything")).toBe(true);
    expect(permissions.maySubscribe(claim.session, "$aws/provisioning-templates/fleet-dev/provision/json/accepted", "anything")).toBe(true);
    expect(permissions.mayPublish(claim.session, "$aws/provisioning-templates/other/provision/json", false, "anything")).toBe(false);
    expect(permissions.mayPublish(claim.session, "devices/AB-123456/x", false, "anything")).toBe(false);
    expect(certificates.authenticate("0".repeat(64), "x")).toEqual({ ok: false, reason: "certificate-unknown" });
  });
});
