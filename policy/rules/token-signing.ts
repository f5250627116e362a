/**
 * Token signing on, with RSA keys of at least 2048 bits. With signing on, AWS IoT checks the token's RSA
 * signature with the authorizer's public keys before it invokes the function, so a forged or unsigned request
 * never reaches (or costs) the Lambda; the keys must be RSA of at least 2048 bits (AWS IoT Core Developer Guide,
 * "Creating and managing custom authorizers"; docs/aws-iot-custom-auth.md#token-signing).
 */
import { createPublicKey } from "node:crypto";
import { isRecord, type Props, quote, type Report } from "./values";

export interface TokenSigningConfig {
  /** Smallest RSA modulus accepted, in bits. */
  minimumRsaBits: number;
}

export const TOKEN_SIGNING_DEFAULTS: TokenSigningConfig = { minimumRsaBits: 2048 };

/** The RSA modulus length of a PEM public key, or a sentence saying why there is none. */
export function rsaPublicKeyBits(pem: string): number | string {
  try {
    const key = createPublicKey(pem);
    if (key.asymmetricKeyType !== "rsa") return `is an ${key.asymmetricKeyType ?? "unknown"} key; IoT token signing takes RSA keys`;
    return key.asymmetricKeyDetails?.modulusLength ?? "has no readable modulus";
  } catch {
    return "is not a PEM public key";
  }
}

/** `aws:iot/authorizer:Authorizer`: signing on, a token key name, and every public key RSA of the minimum size. */
export function checkAuthorizerSigning(props: Props, report: Report, config: TokenSigningConfig = TOKEN_SIGNING_DEFAULTS): void {
  if (props.signingDisabled === true) {
    report("token signing is off (signingDisabled: true): IoT would invoke the function for every request, signed or not");
    return;
  }
  if (typeof props.tokenKeyName !== "string" || props.tokenKeyName === "") report("signing is on but tokenKeyName is not set");
  const keys = isRecord(props.tokenSigningPublicKeys) ? Object.entries(props.tokenSigningPublicKeys) : [];
  if (keys.length === 0) report("signing is on but tokenSigningPublicKeys has no key");
  for (const [name, pem] of keys) {
    const bits = typeof pem === "string" ? rsaPublicKeyBits(pem) : "is not a PEM string";
    if (typeof bits === "string") report(`token signing key ${quote(name)} ${bits}`);
    else if (bits < config.minimumRsaBits) {
      report(`token signing key ${quote(name)} is RSA ${bits}; at least ${config.minimumRsaBits} bits are required`);
    }
  }
}

/** `tls:index/privateKey:PrivateKey`: an RSA key of the minimum size (the provider's default size is 2048). */
export function checkSigningKeySize(props: Props, report: Report, config: TokenSigningConfig = TOKEN_SIGNING_DEFAULTS): void {
  if (props.algorithm !== "RSA") return;
  const bits = props.rsaBits ?? 2048;
  if (typeof bits !== "number" || bits < config.minimumRsaBits) {
    report(`the RSA key is ${quote(bits)} bits; at least ${config.minimumRsaBits} are required`);
  }
}
