/**
 * The files a sandbox keeps on disk, and which sandbox owns each:
 *
 * - `authorizer-signing.pem`: the token-signing private key, mode 0600, kept across starts (devices keep working);
 * - `sandbox.json`: what a device client needs to reach this sandbox (device/config.ts reads it). With a data
 *   directory it is kept at stop: the next start on that directory answers at the same addresses. Without one
 *   it describes a running sandbox and goes at stop; several sandboxes can share `.sandbox/`, so one not on the
 *   default device grant port writes `sandbox-<port>.json` and never touches another's file;
 * - `sandbox.lock` (data directory only): which process uses the directory. A second sandbox on the same
 *   directory is refused with a clear message instead of crashing on the database the first one holds; a lock
 *   left by a process that no longer runs (killed, crashed) is taken over;
 * - `user-directory/`: cognito-local's data (the user pool, the device app client, the test user) and the port
 *   it listened on, which is part of its issuer: a restart reuses both, so stored logins keep working.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync } from "node:crypto";
import { chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import path from "node:path";

export const SIGNING_KEY_FILE = "authorizer-signing.pem";
export const SANDBOX_FILE = "sandbox.json";
export const LOCK_FILE = "sandbox.lock";
export const USER_DIRECTORY = "user-directory";
const USER_DIRECTORY_STATE = "state.json";

/** Who holds a data directory: what `sandbox.lock` says. */
interface LockHolder {
  pid: number;
  host: string;
  startedAt: string;
}

export class DataDirectoryInUseError extends Error {
  constructor(
    readonly directory: string,
    readonly holder: LockHolder,
  ) {
    super(
      `the data directory ${directory} is in use by another sandbox (process ${holder.pid} on ${holder.host}, started ${holder.startedAt}): ` +
        `stop that sandbox first, or give this one another --data-dir`,
    );
    this.name = "DataDirectoryInUseError";
  }
}

function runs(holder: LockHolder): boolean {
  if (holder.host !== hostname()) return true; // another machine's process: it cannot be checked from here
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function readHolder(file: string): Promise<LockHolder | undefined> {
  try {
    const parsed = JSON.parse(await readFile(file, "utf8")) as Partial<LockHolder>;
    return typeof parsed.pid === "number" ? { pid: parsed.pid, host: String(parsed.host), startedAt: String(parsed.startedAt) } : undefined;
  } catch {
    return undefined; // missing, or half-written by a process that died: no live holder
  }
}

/**
 * Takes the data directory for this process, or throws `DataDirectoryInUseError`. Resolves with the function
 * that gives it back (only a lock this process holds is removed).
 */
export async function lockDataDirectory(directory: string): Promise<() => Promise<void>> {
  const file = path.join(directory, LOCK_FILE);
  const mine: LockHolder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(file, `${JSON.stringify(mine)}\n`, { flag: "wx", mode: 0o600 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST" || attempt >= 3) throw err;
      const holder = await readHolder(file);
      if (holder !== undefined && runs(holder)) throw new DataDirectoryInUseError(directory, holder);
      await rm(file, { force: true }); // stale: its process is gone
    }
  }
  return async () => {
    const holder = await readHolder(file);
    if (holder?.pid === process.pid && holder.startedAt === mine.startedAt) await rm(file, { force: true });
  };
}

/** `sandbox.json` for a data directory's sandbox or the one on the default port; `sandbox-<port>.json` for the others. */
export function sandboxFileName(deviceGrantPort: number, onDefaultPort: boolean, persistent: boolean): string {
  return persistent || onDefaultPort ? SANDBOX_FILE : `sandbox-${deviceGrantPort}.json`;
}

/** Writes a sandbox file (owner-only); resolves with the function that removes it at stop, unless it is kept. */
export async function writeSandboxFile(file: string, content: object, keep: boolean): Promise<() => Promise<void>> {
  await writeFile(file, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return keep ? () => Promise.resolve() : () => rm(file, { force: true });
}

/** The signing key: kept in the directory across starts (a device keeps working), new otherwise. */
export async function signingKey(directory: string): Promise<{ privatePem: string; publicPem: string; file: string }> {
  const file = path.join(directory, SIGNING_KEY_FILE);
  let privatePem: string | undefined;
  try {
    privatePem = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  if (privatePem === undefined) {
    const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const fresh = pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    try {
      await writeFile(file, fresh, { mode: 0o600, flag: "wx" });
      privatePem = fresh;
    } catch (err) {
      // Another sandbox sharing `.sandbox/` wrote one first: use that one.
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      privatePem = await readFile(file, "utf8");
    }
  }
  // Whatever mode an older file had: it is a private key.
  await chmod(file, 0o600);
  const publicPem = createPublicKey(createPrivateKey(privatePem)).export({ type: "spki", format: "pem" }).toString();
  return { privatePem, publicPem, file };
}

/** Where a data directory keeps the user directory, and the port its last start listened on (undefined the first time). */
export async function userDirectoryState(
  dataDir: string,
): Promise<{ directory: string; port?: number; remember(port: number): Promise<void> }> {
  const directory = path.join(dataDir, USER_DIRECTORY);
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const stateFile = path.join(directory, USER_DIRECTORY_STATE);
  let port: number | undefined;
  try {
    const state = JSON.parse(await readFile(stateFile, "utf8")) as { port?: unknown };
    if (typeof state.port === "number" && Number.isInteger(state.port) && state.port > 0) port = state.port;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT" && !(err instanceof SyntaxError)) throw err;
  }
  return {
    directory,
    ...(port !== undefined && { port }),
    remember: (p: number) => writeFile(stateFile, `${JSON.stringify({ port: p })}\n`, { mode: 0o600 }),
  };
}
