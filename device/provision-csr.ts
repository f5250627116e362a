/**
 * A key that never leaves the device, and the certificate signing request for it (PKCS#10, PEM), for
 * `CreateCertificateFromCsr`: ECDSA P-256, one of the key types IoT signs, made with `@peculiar/x509` on Node's
 * WebCrypto. The subject names the thing; IoT takes only the key from a CSR.
 */
import "reflect-metadata"; // @peculiar/x509's CommonJS build needs it loaded first
import * as x509 from "@peculiar/x509";
import { createPrivateKey, webcrypto } from "node:crypto";

const crypto = webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0];
const EC = { name: "ECDSA", namedCurve: "P-256" } as const;

/** A new P-256 key (PKCS#8 PEM) and a CSR (PEM) for it, with `CN=<thingName>`. */
export async function keyAndCsr(thingName: string): Promise<{ privateKeyPem: string; csrPem: string }> {
  const keys = (await webcrypto.subtle.generateKey(EC, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    { name: `CN=${thingName.replace(/[,+"\\<>;=]/g, "_")}`, keys, signingAlgorithm: { name: "ECDSA", hash: "SHA-256" } },
    crypto,
  );
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
  const privateKeyPem = createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" }).export({ format: "pem", type: "pkcs8" }).toString();
  return { privateKeyPem, csrPem: csr.toString("pem") };
}
