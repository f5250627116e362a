/**
 * The device's tokens on disk. A refresh token is a long-lived credential for the user's account, so the
 * file is treated like an SSH private key: created with mode 0600 (never briefly wider: the temporary file
 * is opened with that mode, then renamed over the old one so a crash never leaves half a file), its
 * directory created 0700, and a file that others can read is refused rather than used, as `ssh` refuses
 * a readable key. Permission bits mean nothing on Windows, where the checks are skipped.
 */
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { TokenFileError } from "./errors";

export interface StoredTokens {
  /** File format version. */
  version: 1;
  /** The OAuth client the tokens were issued to: refreshing needs the same client. */
  clientId: string;
  /** Where they came from, so a token file is not silently used against another service. */
  tokenEndpoint: string;
  accessToken: string;
  tokenType: string;
  refreshToken?: string;
  scope?: string;
  /** Epoch milliseconds; from `expires_in`, else the access token's `exp`; absent when unknown. */
  expiresAt?: number;
  /** Epoch milliseconds of the token response. */
  obtainedAt: number;
}

/** The per-user config directory (XDG), where command-line tools keep a user's credentials. */
export function defaultTokenFile(): string {
  const base = process.env.XDG_CONFIG_HOME || path.join(os.homedir(), ".config");
  return path.join(base, "iot-enterprise-auth", "device-token.json");
}

const CHECK_MODES = process.platform !== "win32";
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

/** Writes atomically with mode 0600 (and re-applies it: a umask cannot widen it, an existing file is replaced). */
export async function writeTokenFile(file: string, tokens: StoredTokens): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  await fs.mkdir(dir, { recursive: true, mode: DIR_MODE });
  const temporary = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  const handle = await fs.open(temporary, "wx", FILE_MODE);
  try {
    await handle.writeFile(`${JSON.stringify(tokens, null, 2)}\n`, "utf8");
    if (CHECK_MODES) await handle.chmod(FILE_MODE);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await fs.rm(temporary, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await fs.rename(temporary, file);
  } catch (err) {
    await fs.rm(temporary, { force: true });
    throw err;
  }
  if (CHECK_MODES) await fs.chmod(file, FILE_MODE);
}

/**
 * Reads the token file; `undefined` when there is none. Refuses a file group or others can read or write
 * (someone may have copied the refresh token, or may replace it), naming the command that fixes it.
 */
export async function readTokenFile(file: string): Promise<StoredTokens | undefined> {
  let text: string;
  try {
    if (CHECK_MODES) {
      const stat = await fs.stat(file);
      if ((stat.mode & 0o077) !== 0) {
        throw new TokenFileError(
          `The token file ${file} is accessible by other users (mode ${(stat.mode & 0o777).toString(8)}); ` +
            `it holds a refresh token. Run \`chmod 600 ${file}\` if you trust it, or delete it and log in again.`,
        );
      }
    }
    text = await fs.readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    if (err instanceof TokenFileError) throw err;
    throw new TokenFileError(`Cannot read the token file ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new TokenFileError(`The token file ${file} is not JSON; delete it and log in again.`);
  }
  const t = parsed as Partial<StoredTokens>;
  if (
    typeof parsed !== "object" ||
    parsed === null ||
    t.version !== 1 ||
    typeof t.accessToken !== "string" ||
    typeof t.clientId !== "string" ||
    typeof t.tokenEndpoint !== "string" ||
    (t.expiresAt !== undefined && typeof t.expiresAt !== "number") ||
    (t.refreshToken !== undefined && typeof t.refreshToken !== "string")
  ) {
    throw new TokenFileError(`The token file ${file} is not one this client wrote; delete it and log in again.`);
  }
  return t as StoredTokens;
}

/** The `exp` claim of a JWT, in epoch milliseconds; `undefined` for an opaque token. Not verified: a hint only. */
export function jwtExpiry(token: string): number | undefined {
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8")) as { exp?: unknown };
    return typeof payload.exp === "number" && Number.isFinite(payload.exp) ? payload.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** A claim of a JWT (unverified; the device only reads its own token for display and defaults). */
export function jwtClaim(token: string, claim: string): unknown {
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  try {
    return (JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8")) as Record<string, unknown>)[claim];
  } catch {
    return undefined;
  }
}
