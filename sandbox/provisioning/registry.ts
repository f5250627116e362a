/**
 * The sandbox's IoT registry: what IoT keeps about certificates, things and policies, as far as fleet
 * provisioning and the gateway need it.
 *
 * - Certificates: id, PEM, status (`PENDING_ACTIVATION` until a template activates it, then `ACTIVE` or
 *   `INACTIVE`), the policies attached to it, and while pending the SHA-256 of its ownership token (the token
 *   itself is never kept) and when that token lapses (an hour; a certificate still pending then is deleted).
 * - Things: name, attributes, thing type and groups, and the certificates attached to them.
 * - Policies: the documents by name (the template's device policy is created at start, as the stack creates it).
 * - Claims: the claim certificates `CreateProvisioningClaim` issued, until they expire. Like IoT's, they are not
 *   in the certificate list.
 *
 * Every change is synchronous, so a check and the change it guards cannot interleave with another request. With
 * a file, the registry (never a claim, never a private key) is written there after each change, owner-only, and
 * read back at the next start, so a device provisioned before a restart keeps connecting.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { chmod, rename, writeFile } from "node:fs/promises";
import { type PolicyDocument } from "../gateway/policy";

export type CertificateStatus = "PENDING_ACTIVATION" | "ACTIVE" | "INACTIVE";

export interface CertificateRecord {
  certificateId: string;
  certificatePem: string;
  status: CertificateStatus;
  createdAt: number;
  policies: string[];
  /** While pending: SHA-256 (hex) of the ownership token, and when it lapses (epoch ms). */
  ownershipTokenHash?: string;
  ownershipTokenExpiresAt?: number;
}

export interface ThingRecord {
  thingName: string;
  attributes: Record<string, string>;
  thingTypeName?: string;
  thingGroups: string[];
  principals: string[];
  createdAt: number;
}

export interface ClaimRecord {
  certificateId: string;
  templateName: string;
  /** Epoch ms. */
  expiresAt: number;
}

interface Saved {
  version: 1;
  certificates: CertificateRecord[];
  things: ThingRecord[];
}

/** The ownership token lives an hour (DG: Device provisioning MQTT API). */
export const OWNERSHIP_TOKEN_LIFETIME_MS = 3_600_000;

function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

export class IotRegistry {
  private readonly certificates = new Map<string, CertificateRecord>();
  private readonly things = new Map<string, ThingRecord>();
  private readonly policies = new Map<string, PolicyDocument>();
  private readonly claims = new Map<string, ClaimRecord>();
  private saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly file?: string,
    private readonly now: () => number = Date.now,
  ) {
    if (file !== undefined) this.load(file);
  }

  private load(file: string): void {
    let saved: Saved;
    try {
      saved = JSON.parse(readFileSync(file, "utf8")) as Saved;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
      throw new Error(`cannot read the IoT registry ${file}: ${(err as Error).message}`);
    }
    for (const c of saved.certificates ?? []) this.certificates.set(c.certificateId, c);
    for (const t of saved.things ?? []) this.things.set(t.thingName, t);
  }

  /** Writes the registry after a change; writes are serialised, each replaces the file atomically. */
  private persist(): void {
    const file = this.file;
    if (file === undefined) return;
    const text = `${JSON.stringify({ version: 1, certificates: [...this.certificates.values()], things: [...this.things.values()] })}\n`;
    this.saving = this.saving.then(async () => {
      const temporary = `${file}.${randomBytes(6).toString("hex")}.tmp`;
      await writeFile(temporary, text, { mode: 0o600 });
      await chmod(temporary, 0o600);
      await rename(temporary, file);
    });
    this.saving.catch(() => undefined);
  }

  /** Resolves once every change so far is on disk. */
  flushed(): Promise<void> {
    return this.saving;
  }

  // ------------------------------------------------------------------ policies

  putPolicy(name: string, document: PolicyDocument): void {
    this.policies.set(name, document);
  }

  policy(name: string): PolicyDocument | undefined {
    return this.policies.get(name);
  }

  // ------------------------------------------------------------------ claims

  addClaim(claim: ClaimRecord): void {
    const now = this.now();
    for (const [id, c] of this.claims) if (c.expiresAt <= now) this.claims.delete(id);
    this.claims.set(claim.certificateId, claim);
  }

  /** A claim certificate that has not expired. */
  claim(certificateId: string): ClaimRecord | undefined {
    const claim = this.claims.get(certificateId);
    return claim !== undefined && claim.expiresAt > this.now() ? claim : undefined;
  }

  // ------------------------------------------------------------------ certificates

  /** Registers a new certificate as `PENDING_ACTIVATION` and returns its ownership token (only the hash is kept). */
  addPendingCertificate(certificateId: string, certificatePem: string): string {
    this.dropLapsedCertificates();
    const token = randomBytes(48).toString("base64url");
    const now = this.now();
    this.certificates.set(certificateId, {
      certificateId,
      certificatePem,
      status: "PENDING_ACTIVATION",
      createdAt: now,
      policies: [],
      ownershipTokenHash: sha256(token),
      ownershipTokenExpiresAt: now + OWNERSHIP_TOKEN_LIFETIME_MS,
    });
    this.persist();
    return token;
  }

  /** The pending certificate an ownership token proves, while the token lives. */
  certificateOwnedBy(token: string): CertificateRecord | undefined {
    const hash = Buffer.from(sha256(token), "hex");
    const now = this.now();
    for (const c of this.certificates.values()) {
      if (c.status !== "PENDING_ACTIVATION" || c.ownershipTokenHash === undefined) continue;
      if (timingSafeEqual(Buffer.from(c.ownershipTokenHash, "hex"), hash)) {
        return (c.ownershipTokenExpiresAt ?? 0) > now ? c : undefined;
      }
    }
    return undefined;
  }

  certificate(certificateId: string): CertificateRecord | undefined {
    return this.certificates.get(certificateId);
  }

  /** A certificate still pending when its token lapses is deleted (DG: Device provisioning MQTT API). */
  private dropLapsedCertificates(): void {
    const now = this.now();
    for (const [id, c] of this.certificates) {
      if (c.status === "PENDING_ACTIVATION" && (c.ownershipTokenExpiresAt ?? 0) <= now) this.certificates.delete(id);
    }
  }

  // ------------------------------------------------------------------ things

  thing(thingName: string): ThingRecord | undefined {
    return this.things.get(thingName);
  }

  /**
   * What a template run does to the registry, all at once: creates the thing (or finds it, when it exists with
   * exactly these properties), sets the certificate's status, attaches the policies to the certificate and the
   * certificate to the thing, and spends the ownership token. Returns why not, without changing anything.
   */
  provision(run: {
    certificateId: string;
    thing: { thingName: string; attributes: Record<string, string>; thingTypeName?: string; thingGroups: string[] };
    status: "ACTIVE" | "INACTIVE";
    policies: string[];
  }): { ok: true } | { ok: false; reason: string } {
    const certificate = this.certificates.get(run.certificateId);
    if (certificate === undefined || certificate.status !== "PENDING_ACTIVATION")
      return { ok: false, reason: "the certificate is not pending activation" };
    const missing = run.policies.find((p) => !this.policies.has(p));
    if (missing !== undefined) return { ok: false, reason: `the policy ${missing} does not exist` };
    const existing = this.things.get(run.thing.thingName);
    if (existing !== undefined && !sameThing(existing, run.thing))
      return { ok: false, reason: `the thing ${run.thing.thingName} exists with other properties` };
    const thing = existing ?? { ...run.thing, principals: [], createdAt: this.now() };
    if (!thing.principals.includes(run.certificateId)) thing.principals.push(run.certificateId);
    this.things.set(thing.thingName, thing);
    certificate.status = run.status;
    certificate.policies = [...new Set([...certificate.policies, ...run.policies])];
    delete certificate.ownershipTokenHash;
    delete certificate.ownershipTokenExpiresAt;
    this.persist();
    return { ok: true };
  }
}

function sameThing(a: Omit<ThingRecord, "principals" | "createdAt">, b: Omit<ThingRecord, "principals" | "createdAt">): boolean {
  const attributes = (r: Record<string, string>) => JSON.stringify(Object.entries(r).sort());
  return (
    attributes(a.attributes) === attributes(b.attributes) &&
    a.thingTypeName === b.thingTypeName &&
    JSON.stringify([...a.thingGroups].sort()) === JSON.stringify([...b.thingGroups].sort())
  );
}
