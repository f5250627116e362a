/**
 * The enterprise IdP stand-in's secrets and state, made at the first start and, with a data directory, kept in
 * `<data dir>/enterprise-idp/` (mode 0700; every file 0600) so that a restart is a restart:
 *
 * - `shared-secret`: the HMAC secret of the stack's HS issuers, one line of standard base64, the form the stack's
 *   `sharedSecret` setting and OpenAM's console take (`openssl rand -base64 32`); tokens issued before a restart
 *   still verify;
 * - `keys.json`: the device client's secret, the IdP's RSA signing key (a private JWK; ID tokens and the RS
 *   issuers' access tokens) and its cookie keys;
 * - `store.json`: what oidc-provider stores (enterprise-idp-store.ts), so stored logins keep refreshing;
 * - `state.json`: the port of its last start, which every issuer URL names.
 *
 * Without a data directory everything is new at every start and lives in memory only.
 */
import { createSecretKey, generateKeyPairSync, randomBytes, randomUUID } from "node:crypto";
import { chmod, mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { decodeSharedSecret } from "../functions/authorizer/algorithms";
import { type IdpKeys } from "./enterprise-idp";
import { writeAtomically } from "./enterprise-idp-store";

export const IDP_DIRECTORY = "enterprise-idp";
export const SHARED_SECRET_FILE = "shared-secret";
const KEYS_FILE = "keys.json";
const STORE_FILE = "store.json";
const STATE_FILE = "state.json";

/** The IdP's keys, with the shared secret also as base64 (what the authorizer is given) and its file when kept. */
export interface IdpSecrets extends IdpKeys {
  sharedSecretBase64: string;
  sharedSecretFile?: string;
}

function freshKeys(): Omit<IdpKeys, "sharedSecret"> {
  const jwk = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" });
  return {
    clientSecret: randomBytes(24).toString("base64url"),
    signingJwk: { ...jwk, kid: randomUUID(), alg: "RS256", use: "sig" },
    cookieKeys: [randomBytes(32).toString("base64url")],
  };
}

async function readIfPresent(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** The kept shared secret, or a new one of `bytes` bytes (written when there is a directory). */
async function sharedSecret(directory: string | undefined, bytes: number): Promise<{ base64: string; file?: string }> {
  const file = directory !== undefined ? path.join(directory, SHARED_SECRET_FILE) : undefined;
  const kept = file !== undefined ? (await readIfPresent(file))?.trim() : undefined;
  if (kept !== undefined && decodeSharedSecret(kept, ["HS256"]).key !== undefined && Buffer.from(kept, "base64").length >= bytes) {
    await chmod(file as string, 0o600);
    return { base64: kept, file };
  }
  // Missing, unreadable or too short for the stack's algorithms: a new one (tokens signed with the old one stop verifying).
  const base64 = randomBytes(bytes).toString("base64");
  if (file !== undefined) await writeAtomically(file, `${base64}\n`);
  return { base64, ...(file !== undefined && { file }) };
}

/** The IdP's secrets: kept under `dataDir` (made on the first start), or new and in memory without one. */
export async function idpSecrets(dataDir: string | undefined, sharedSecretBytes: number): Promise<IdpSecrets> {
  const directory = dataDir !== undefined ? path.join(dataDir, IDP_DIRECTORY) : undefined;
  if (directory !== undefined) await mkdir(directory, { recursive: true, mode: 0o700 });
  const secret = await sharedSecret(directory, sharedSecretBytes);
  let keys: Omit<IdpKeys, "sharedSecret"> | undefined;
  const keysFile = directory !== undefined ? path.join(directory, KEYS_FILE) : undefined;
  if (keysFile !== undefined) {
    try {
      const kept = JSON.parse((await readIfPresent(keysFile)) ?? "null") as Omit<IdpKeys, "sharedSecret"> | null;
      if (kept && typeof kept.clientSecret === "string" && typeof kept.signingJwk === "object" && Array.isArray(kept.cookieKeys))
        keys = kept;
    } catch {
      keys = undefined; // cut short by a crash: new keys (devices sign in again)
    }
  }
  if (keys === undefined) {
    keys = freshKeys();
    if (keysFile !== undefined) await writeAtomically(keysFile, `${JSON.stringify(keys)}\n`);
  }
  return {
    ...keys,
    sharedSecret: createSecretKey(Buffer.from(secret.base64, "base64")),
    sharedSecretBase64: secret.base64,
    ...(secret.file !== undefined && { sharedSecretFile: secret.file }),
  };
}

/** Where a data directory keeps the IdP's store, and the port of its last start (undefined the first time). */
export async function idpState(dataDir: string): Promise<{ storeFile: string; port?: number; remember(port: number): Promise<void> }> {
  const directory = path.join(dataDir, IDP_DIRECTORY);
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const stateFile = path.join(directory, STATE_FILE);
  let port: number | undefined;
  try {
    const state = JSON.parse((await readIfPresent(stateFile)) ?? "{}") as { port?: unknown };
    if (typeof state.port === "number" && Number.isInteger(state.port) && state.port > 0 && state.port < 65_536) port = state.port;
  } catch {
    port = undefined;
  }
  return {
    storeFile: path.join(directory, STORE_FILE),
    ...(port !== undefined && { port }),
    remember: (p: number) => writeAtomically(stateFile, `${JSON.stringify({ port: p })}\n`),
  };
}
