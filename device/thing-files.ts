/**
 * A provisioned device's credentials on disk, kept as its token file is (token-file.ts): a directory only the
 * user can enter (0700), the private key and certificate written to a temporary file opened with mode 0600 and
 * renamed into place (never briefly readable by others, never half written), and what the device needs to
 * reconnect in `thing.json`. A key file others can read is refused when read back, as `ssh` refuses one.
 *
 * | file                  | holds                                                              |
 * |-----------------------|--------------------------------------------------------------------|
 * | `private.pem.key`     | the device's private key (PEM), mode 0600                          |
 * | `certificate.pem.crt` | its certificate from IoT (PEM), mode 0600                          |
 * | `thing.json`          | thing name, certificate id, endpoint, CA file, topic root, when    |
 */
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DeviceClientError } from "./errors";

export const KEY_FILE = "private.pem.key";
export const CERTIFICATE_FILE = "certificate.pem.crt";
export const THING_FILE = "thing.json";

const CHECK_MODES = process.platform !== "win32";

export interface ThingRecord {
  thingName: string;
  certificateId: string;
  /** Where the device connects with its certificate (`mqtts://host:8883`). */
  mqttsUrl: string;
  /** The CA file to trust, when it is not a public CA (the sandbox's). */
  caFile?: string;
  /** The template's `DeviceConfiguration` (`topicRoot`: the device's own topic tree). */
  deviceConfiguration: Record<string, string>;
  provisionedAt: string;
}

/** The per-user config directory (XDG) of this project: `~/.config/iot-enterprise-auth`. */
export function configDirectory(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.XDG_CONFIG_HOME || path.join(os.homedir(), ".config"), "iot-enterprise-auth");
}

/** `~/.config/iot-enterprise-auth/things/<thing name>`, where `provision` keeps a device's credentials by default. */
export function defaultThingDirectory(thingName: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(configDirectory(env), "things", thingName);
}

/** Writes `text` to `file` atomically, mode 0600 from the start. */
async function writeOwnerOnly(file: string, text: string): Promise<void> {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  const handle = await fs.open(temporary, "wx", 0o600);
  try {
    await handle.writeFile(text, "utf8");
    if (CHECK_MODES) await handle.chmod(0o600);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.rename(temporary, file);
  } catch (err) {
    await fs.rm(temporary, { force: true });
    throw err;
  }
}

/** Saves a device's key, certificate and record in `directory` (created 0700). */
export async function saveThing(
  directory: string,
  record: ThingRecord,
  credentials: { certificatePem: string; privateKey: string },
): Promise<void> {
  await fs.mkdir(directory, { recursive: true, mode: 0o700 });
  if (CHECK_MODES) await fs.chmod(directory, 0o700);
  await writeOwnerOnly(path.join(directory, KEY_FILE), credentials.privateKey);
  await writeOwnerOnly(path.join(directory, CERTIFICATE_FILE), credentials.certificatePem);
  await writeOwnerOnly(path.join(directory, THING_FILE), `${JSON.stringify(record, null, 2)}\n`);
}

/** Reads a saved device back; refuses a key file others can read or write. */
export async function readThing(directory: string): Promise<{ record: ThingRecord; certificatePem: string; privateKey: string }> {
  const keyFile = path.join(directory, KEY_FILE);
  try {
    if (CHECK_MODES) {
      const mode = (await fs.stat(keyFile)).mode & 0o777;
      if ((mode & 0o077) !== 0) {
        throw new DeviceClientError(
          `The key file ${keyFile} is accessible by other users (mode ${mode.toString(8)}): run \`chmod 600 ${keyFile}\` if you trust it`,
        );
      }
    }
    const [privateKey, certificatePem, record] = await Promise.all([
      fs.readFile(keyFile, "utf8"),
      fs.readFile(path.join(directory, CERTIFICATE_FILE), "utf8"),
      fs.readFile(path.join(directory, THING_FILE), "utf8"),
    ]);
    return { record: JSON.parse(record) as ThingRecord, certificatePem, privateKey };
  } catch (err) {
    if (err instanceof DeviceClientError) throw err;
    throw new DeviceClientError(`Cannot read the device in ${directory}: ${(err as Error).message}`);
  }
}
