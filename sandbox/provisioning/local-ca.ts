/**
 * The sandbox's certificate authority, standing in for the Amazon CAs behind AWS IoT: it signs the gateway's TLS
 * server certificate, the claim certificates `CreateProvisioningClaim` returns, and the device certificates of
 * the fleet provisioning MQTT API (a new key, or a device's CSR). Real X.509 built with `@peculiar/x509` on
 * Node's WebCrypto, so any TLS stack (Node's, openssl) accepts or refuses it as it would IoT's.
 *
 * Keys: the CA and the server use ECDSA P-256; claim and device keys are RSA 2,048, which is what IoT hands out
 * (PKCS#1 PEM, `BEGIN RSA PRIVATE KEY`). A CSR's key must be RSA of at least 2,048 bits or ECDSA P-256/P-384,
 * and its signature must verify. A certificate's id is the SHA-256 of its DER, in hex: 64 hex digits as IoT's
 * certificate ids are. With a directory, the CA's key (mode 0600) and certificate are kept there, so devices
 * provisioned before a restart still connect; the server certificate is made new at every start.
 */
import "reflect-metadata"; // @peculiar/x509's CommonJS build needs it loaded first
import * as x509 from "@peculiar/x509";
import { createHash, createPrivateKey, createPublicKey, webcrypto } from "node:crypto";
import { chmod, readFile, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import path from "node:path";

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
/** Node's WebCrypto, typed as the library expects its provider (the DOM's `Crypto`, which Node's matches). */
const crypto = webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0];
const subtle = webcrypto.subtle;
x509.cryptoProvider.set(crypto);

const EC = { name: "ECDSA", namedCurve: "P-256" } as const;
const EC_SIGNING = { name: "ECDSA", hash: "SHA-256" } as const;
const RSA = { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" } as const;

export const CA_KEY_FILE = "iot-ca-key.pem";
export const CA_CERTIFICATE_FILE = "iot-ca.pem";

/** A certificate the CA issued, as IoT describes one. */
export interface IssuedCertificate {
  certificateId: string;
  certificatePem: string;
  notAfter: Date;
}

export interface IssuedKeyPair extends IssuedCertificate {
  /** PKCS#1 PEM (`BEGIN RSA PRIVATE KEY`), as IoT returns keys. */
  privateKeyPem: string;
}

export class InvalidCsrError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidCsrError";
  }
}

/** The id of a certificate: the SHA-256 of its DER, 64 lower-case hex digits. */
export function certificateIdOf(certificate: string | Uint8Array): string {
  const der = typeof certificate === "string" ? Buffer.from(new x509.X509Certificate(certificate).rawData) : certificate;
  return createHash("sha256").update(der).digest("hex");
}

function pemOfPkcs8(pkcs8: ArrayBuffer, type: "pkcs1" | "pkcs8"): string {
  return createPrivateKey({ key: Buffer.from(pkcs8), format: "der", type: "pkcs8" })
    .export({ format: "pem", type })
    .toString();
}

/** A positive random serial number (RFC 5280 §4.1.2.2: at most 20 octets). */
function serialNumber(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] &= 0x7f;
  return Buffer.from(bytes).toString("hex");
}

export class LocalCa {
  private constructor(
    private readonly keys: CryptoKeyPair,
    private readonly certificate: x509.X509Certificate,
  ) {}

  /** The CA certificate (PEM) a device trusts, as it trusts Amazon's root for IoT. */
  get certificatePem(): string {
    return this.certificate.toString("pem");
  }

  /** A new CA, or with `directory` the one kept there (made and kept there the first time). */
  static async open(directory?: string): Promise<LocalCa> {
    if (directory !== undefined) {
      const kept = await LocalCa.read(directory);
      if (kept !== undefined) return kept;
    }
    const keys = (await subtle.generateKey(EC, true, ["sign", "verify"])) as CryptoKeyPair;
    const now = Date.now();
    const certificate = await x509.X509CertificateGenerator.createSelfSigned(
      {
        serialNumber: serialNumber(),
        name: "CN=IoT sandbox root CA, O=iot-enterprise-auth sandbox",
        notBefore: new Date(now - 60_000),
        notAfter: new Date(now + 10 * 365 * 86_400_000),
        keys,
        signingAlgorithm: EC_SIGNING,
        extensions: [
          new x509.BasicConstraintsExtension(true, 0, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
        ],
      },
      crypto,
    );
    const ca = new LocalCa(keys, certificate);
    if (directory !== undefined) await ca.write(directory);
    return ca;
  }

  private static async read(directory: string): Promise<LocalCa | undefined> {
    let keyPem: string;
    let certificatePem: string;
    try {
      [keyPem, certificatePem] = await Promise.all([
        readFile(path.join(directory, CA_KEY_FILE), "utf8"),
        readFile(path.join(directory, CA_CERTIFICATE_FILE), "utf8"),
      ]);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
    const certificate = new x509.X509Certificate(certificatePem);
    const pkcs8 = createPrivateKey(keyPem).export({ format: "der", type: "pkcs8" });
    const privateKey = await subtle.importKey("pkcs8", pkcs8, EC, true, ["sign"]);
    const publicKey = await certificate.publicKey.export(EC, ["verify"], crypto);
    return new LocalCa({ privateKey, publicKey }, certificate);
  }

  /** Writes the certificate and the key (owner-only) into `directory`. */
  async write(directory: string): Promise<{ certificateFile: string }> {
    const keyFile = path.join(directory, CA_KEY_FILE);
    const pkcs8 = await subtle.exportKey("pkcs8", this.keys.privateKey);
    await writeFile(keyFile, pemOfPkcs8(pkcs8, "pkcs8"), { mode: 0o600 });
    await chmod(keyFile, 0o600);
    return this.writeCertificate(directory);
  }

  /** Writes the CA certificate (public) where a device reads it. */
  async writeCertificate(directory: string): Promise<{ certificateFile: string }> {
    const certificateFile = path.join(directory, CA_CERTIFICATE_FILE);
    await writeFile(certificateFile, this.certificatePem, { mode: 0o644 });
    return { certificateFile };
  }

  /** A TLS server certificate for these host names and addresses (a year; made anew at every start). */
  async serverCertificate(hosts: readonly string[]): Promise<{ certificatePem: string; privateKeyPem: string }> {
    const keys = (await subtle.generateKey(EC, true, ["sign", "verify"])) as CryptoKeyPair;
    const names = [...new Set(["localhost", "127.0.0.1", "::1", ...hosts])].map((h) => ({ type: isIP(h) ? "ip" : "dns", value: h }));
    const certificate = await this.sign(keys.publicKey, "CN=IoT sandbox gateway", new Date(Date.now() + 365 * 86_400_000), [
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names as x509.JsonGeneralNames),
    ]);
    const pkcs8 = await subtle.exportKey("pkcs8", keys.privateKey);
    return { certificatePem: certificate.toString("pem"), privateKeyPem: pemOfPkcs8(pkcs8, "pkcs8") };
  }

  /** A new RSA 2,048 key and a client certificate for it, valid until `notAfter`. */
  async issueWithNewKey(notAfter: Date): Promise<IssuedKeyPair> {
    const keys = (await subtle.generateKey(RSA, true, ["sign", "verify"])) as CryptoKeyPair;
    const issued = await this.issueClientCertificate(keys.publicKey, notAfter);
    const pkcs8 = await subtle.exportKey("pkcs8", keys.privateKey);
    return { ...issued, privateKeyPem: pemOfPkcs8(pkcs8, "pkcs1") };
  }

  /** A client certificate for the key of a CSR, after its signature and key are checked; `InvalidCsrError` otherwise. */
  async issueForCsr(csrPem: string, notAfter: Date): Promise<IssuedCertificate> {
    let csr: x509.Pkcs10CertificateRequest;
    try {
      csr = new x509.Pkcs10CertificateRequest(csrPem);
    } catch {
      throw new InvalidCsrError("the certificate signing request is not a PEM PKCS#10 request");
    }
    if (!(await csr.verify(crypto).catch(() => false)))
      throw new InvalidCsrError("the certificate signing request's signature does not verify");
    const key = createPublicKey(csr.publicKey.toString("pem"));
    const details = key.asymmetricKeyDetails ?? {};
    const acceptable =
      (key.asymmetricKeyType === "rsa" && (details.modulusLength ?? 0) >= 2048) ||
      (key.asymmetricKeyType === "ec" && ["prime256v1", "secp384r1"].includes(details.namedCurve ?? ""));
    if (!acceptable) throw new InvalidCsrError("the key must be RSA of at least 2048 bits or ECDSA P-256 or P-384");
    return this.issueClientCertificate(csr.publicKey, notAfter);
  }

  private async issueClientCertificate(publicKey: CryptoKey | x509.PublicKey, notAfter: Date): Promise<IssuedCertificate> {
    const certificate = await this.sign(publicKey, "CN=AWS IoT Certificate", notAfter, [
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
    ]);
    return { certificateId: certificateIdOf(new Uint8Array(certificate.rawData)), certificatePem: certificate.toString("pem"), notAfter };
  }

  private async sign(
    publicKey: CryptoKey | x509.PublicKey,
    subject: string,
    notAfter: Date,
    extensions: x509.Extension[],
  ): Promise<x509.X509Certificate> {
    return x509.X509CertificateGenerator.create(
      {
        serialNumber: serialNumber(),
        subject,
        issuer: this.certificate.subject,
        // A minute back: a client whose clock runs a little behind still accepts a certificate made just now.
        notBefore: new Date(Math.min(Date.now() - 60_000, notAfter.getTime() - 1_000)),
        notAfter,
        publicKey,
        signingKey: this.keys.privateKey,
        signingAlgorithm: EC_SIGNING,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
          await x509.AuthorityKeyIdentifierExtension.create(this.keys.publicKey, false, crypto),
          await x509.SubjectKeyIdentifierExtension.create(publicKey, false, crypto),
          ...extensions,
        ],
      },
      crypto,
    );
  }
}
