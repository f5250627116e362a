/**
 * With `--data-dir`, a restart is a restart for fleet provisioning too: the CA's key and the IoT registry are
 * kept (owner-only), so a device provisioned before the restart connects with its certificate afterwards and
 * its device policy still applies, and its thing name stays taken.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { connectWithCertificate, deviceFlowToken, exchange, requestClaim, startFleetSandbox } from "./sandbox-support";

let dataDir: string;

beforeAll(() => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), "fleet-restart-"));
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

test("a device provisioned before a restart connects and publishes after it; its name stays taken", async () => {
  const first = (await startFleetSandbox({ dataDir })).sandbox;
  let device: { certificatePem: string; privateKey: string };
  let caBefore: string;
  try {
    const token = await deviceFlowToken(first, first.provisioning?.installerClientId as string, first.user);
    const claim = await requestClaim(first, token, "RS-000001");
    const { created, registered } = await exchange(first, claim.body as never, "RS-000001");
    expect(registered?.outcome).toBe("accepted");
    device = { certificatePem: created.body.certificatePem as string, privateKey: created.body.privateKey as string };
    caBefore = readFileSync(first.provisioning?.caFile as string, "utf8");
  } finally {
    await first.stop();
  }
  for (const file of ["iot-ca-key.pem", "iot-registry.json"]) expect(statSync(path.join(dataDir, file)).mode & 0o777).toBe(0o600);

  const second = (await startFleetSandbox({ dataDir })).sandbox;
  try {
    expect(readFileSync(second.provisioning?.caFile as string, "utf8")).toBe(caBefore);
    const client = await connectWithCertificate(second, device, "RS-000001", { protocolVersion: 5 });
    await client.publishAsync("devices/RS-000001/after-restart", "still me", { qos: 1 });
    await expect(client.publishAsync("devices/RS-000002/x", "x", { qos: 1 })).rejects.toMatchObject({ code: 135 });
    await client.endAsync(true);

    const token = await deviceFlowToken(second, second.provisioning?.installerClientId as string, second.user);
    const again = await requestClaim(second, token, "RS-000001");
    const { registered } = await exchange(second, again.body as never, "RS-000001");
    expect(registered).toMatchObject({ outcome: "rejected", body: { statusCode: 403 } }); // the hook: thing-name-taken
  } finally {
    await second.stop();
  }
});
