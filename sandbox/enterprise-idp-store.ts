/**
 * What the enterprise IdP stand-in (enterprise-idp.ts) keeps between requests: oidc-provider's device codes,
 * interactions, sessions, grants and refresh tokens, behind oidc-provider's adapter interface (`upsert`, `find`,
 * `findByUid`, `findByUserCode`, `consume`, `destroy`, `revokeByGrantId`, one adapter per model).
 *
 * Why not oidc-provider's own memory adapter: it warns at every start that it is for quick starts only, and it
 * cannot keep anything across a restart. With the sandbox's data directory this store is one JSON file (mode
 * 0600: it holds refresh tokens), rewritten whole after every change, through a temporary file and a rename, so
 * that a restart keeps a device's stored login refreshing (access tokens are stateless JWTs and need nothing
 * stored). Without one, it lives in memory only.
 *
 * Bounded: expired entries are dropped when read and when written, and past `maxEntries` the entries closest to
 * expiry go first, so a flood of device authorization requests cannot grow it without limit.
 */
import { randomBytes } from "node:crypto";
import { chmod, open, readFile, rename, rm } from "node:fs/promises";
import path from "node:path";

type Payload = Record<string, unknown>;

interface Entry {
  payload: Payload;
  /** Epoch milliseconds; absent when oidc-provider gave no lifetime. */
  expiresAt?: number;
}

/** The models whose entries belong to a grant: revoking the grant removes them (oidc-provider's memory adapter has the same list). */
const GRANTABLE = new Set(["AccessToken", "AuthorizationCode", "RefreshToken", "DeviceCode", "BackchannelAuthenticationRequest"]);

/** oidc-provider's adapter interface, as it calls it. */
export interface IdpAdapter {
  upsert(id: string, payload: Payload, expiresIn?: number): Promise<void>;
  find(id: string): Promise<Payload | undefined>;
  findByUid(uid: string): Promise<Payload | undefined>;
  findByUserCode(userCode: string): Promise<Payload | undefined>;
  consume(id: string): Promise<void>;
  destroy(id: string): Promise<void>;
  revokeByGrantId(grantId: string): Promise<void>;
}

export class IdpStore {
  private readonly entries = new Map<string, Entry>();
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly file: string | undefined,
    private readonly now: () => number,
    private readonly maxEntries: number,
  ) {}

  /** Opens the store: in memory, or kept in `file` (read back when it exists). */
  static async open(options: { file?: string; now?: () => number; maxEntries?: number } = {}): Promise<IdpStore> {
    const store = new IdpStore(options.file, options.now ?? Date.now, options.maxEntries ?? 10_000);
    if (options.file !== undefined) await store.load(options.file);
    return store;
  }

  /**
   * oidc-provider's `adapter` setting: a factory of one adapter per model name. Each issuer of the IdP has its own
   * `namespace`: one issuer's sessions, grants and tokens are never another's.
   */
  adapterFactory(namespace: string): (model: string) => IdpAdapter {
    return (model) => this.adapter(namespace, model);
  }

  /** Resolves once every change so far is on disk. */
  flush(): Promise<void> {
    return this.writing;
  }

  /** Keys are `<namespace>/<model>:<id>`. */
  private adapter(namespace: string, model: string): IdpAdapter {
    const key = (id: string) => `${namespace}/${model}:${id}`;
    const findBy = async (field: "uid" | "userCode", value: string) => {
      for (const [k, entry] of this.entries) {
        if (k.startsWith(key("")) && entry.payload[field] === value && this.live(k, entry)) return entry.payload;
      }
      return undefined;
    };
    return {
      upsert: async (id, payload, expiresIn) => {
        this.entries.delete(key(id)); // re-inserted last: the map's order is the order of writes
        this.entries.set(key(id), { payload, ...(typeof expiresIn === "number" && { expiresAt: this.now() + expiresIn * 1000 }) });
        this.changed();
      },
      find: async (id) => {
        const entry = this.entries.get(key(id));
        return entry && this.live(key(id), entry) ? entry.payload : undefined;
      },
      findByUid: (uid) => findBy("uid", uid),
      findByUserCode: (userCode) => findBy("userCode", userCode),
      consume: async (id) => {
        const entry = this.entries.get(key(id));
        if (entry) entry.payload.consumed = Math.floor(this.now() / 1000);
        this.changed();
      },
      destroy: async (id) => {
        this.entries.delete(key(id));
        this.changed();
      },
      revokeByGrantId: async (grantId) => {
        const grantable = [...GRANTABLE].map((m) => `${namespace}/${m}:`);
        for (const [k, entry] of this.entries) {
          if (entry.payload.grantId === grantId && grantable.some((prefix) => k.startsWith(prefix))) this.entries.delete(k);
        }
        this.changed();
      },
    };
  }

  /** Whether an entry is still valid; an expired one is dropped on the way. */
  private live(key: string, entry: Entry): boolean {
    if (entry.expiresAt === undefined || entry.expiresAt > this.now()) return true;
    this.entries.delete(key);
    return false;
  }

  private changed(): void {
    this.prune();
    if (this.file === undefined) return;
    const file = this.file;
    // One write at a time, each of the whole state as it is when its turn comes.
    this.writing = this.writing.then(() => writeAtomically(file, this.serialize())).catch(() => undefined);
  }

  /** Drops expired entries, then the ones closest to expiry (those without one last) past `maxEntries`. */
  private prune(): void {
    const now = this.now();
    for (const [k, entry] of this.entries) if (entry.expiresAt !== undefined && entry.expiresAt <= now) this.entries.delete(k);
    if (this.entries.size <= this.maxEntries) return;
    const byExpiry = [...this.entries].sort(([, a], [, b]) => (a.expiresAt ?? Infinity) - (b.expiresAt ?? Infinity));
    for (const [k] of byExpiry.slice(0, this.entries.size - this.maxEntries)) this.entries.delete(k);
  }

  private serialize(): string {
    return `${JSON.stringify({ version: 1, entries: Object.fromEntries(this.entries) })}\n`;
  }

  private async load(file: string): Promise<void> {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
      throw err;
    }
    let parsed: { version?: unknown; entries?: Record<string, Entry> };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      return; // a file cut short by a crash: start empty (devices sign in again), never refuse to start
    }
    if (parsed.version !== 1 || typeof parsed.entries !== "object" || parsed.entries === null) return;
    for (const [k, entry] of Object.entries(parsed.entries)) {
      if (typeof entry?.payload === "object" && entry.payload !== null) this.entries.set(k, entry);
    }
    this.prune();
  }
}

/** Writes `text` to `file` with mode 0600 through a temporary file and a rename: never half a file, never briefly readable. */
export async function writeAtomically(file: string, text: string): Promise<void> {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  const handle = await open(temporary, "wx", 0o600);
  try {
    await handle.writeFile(text, "utf8");
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temporary, file);
    await chmod(file, 0o600);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
}
