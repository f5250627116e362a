/**
 * The `TokenSigner` port on an asymmetric AWS KMS key (`SIGN_VERIFY`; RSA_2048 for RS256 or ECC_NIST_P256 for
 * ES256): the private key never leaves KMS, and the function's role may call `kms:Sign` on this key only,
 * with this algorithm and message type (infra/policies.ts). The public key comes with the configuration (the
 * component reads it at deployment), so the function needs no `kms:GetPublicKey`.
 *
 * Each signature is one `Sign` call over the SHA-256 digest of the JWS signing input (`MessageType: DIGEST`,
 * so an ID token of any size fits KMS's 4,096-byte message limit). RSASSA-PKCS1-v1_5 signatures come back as
 * JWS uses them; ECDSA ones come back DER-encoded and are converted to `r‖s` (docs/device-grant.md#id-tokens).
 * Every signature is verified with the configured public key before it is used, so a key that does not match
 * its configuration fails loudly instead of minting tokens nobody can verify. The SDK (provided by the Lambda
 * runtime, left out of the bundle) is loaded at the first signature.
 */
import { createHash, createPublicKey, verify } from "node:crypto";
import type { KMSClient, SignCommand } from "@aws-sdk/client-kms";
import { type TokenSigner } from "./model";
import { derToJoseSignature, KMS_SIGNING_ALGORITHMS, publicJwkOf, SIGNING_ALGORITHMS, type SigningAlgorithm } from "./signer";

export interface KmsSignerOptions {
  /** The key's ARN (the role's policy names exactly this ARN). */
  keyArn: string;
  algorithm: SigningAlgorithm;
  /** The key's public key, SPKI PEM (from `GetPublicKey`, read by the component at deployment). */
  publicKeyPem: string;
  region: string;
  /** A client to use instead of a new one (tests pass a mocked one). */
  client?: KMSClient;
}

export function createKmsSigner(options: KmsSignerOptions): TokenSigner {
  const { keyArn, algorithm } = options;
  const publicKey = createPublicKey(options.publicKeyPem);
  const publicJwk = publicJwkOf(publicKey, algorithm);
  let sdk: Promise<{ client: KMSClient; SignCommand: typeof SignCommand }> | undefined;
  const loadSdk = () =>
    (sdk ??= import("@aws-sdk/client-kms").then(({ KMSClient, SignCommand }) => ({
      client: options.client ?? new KMSClient({ region: options.region }),
      SignCommand,
    })));

  return {
    algorithm,
    publicJwk,
    async sign(signingInput) {
      const { client, SignCommand } = await loadSdk();
      const digest = createHash("sha256").update(signingInput).digest();
      const answer = await client.send(
        new SignCommand({ KeyId: keyArn, Message: digest, MessageType: "DIGEST", SigningAlgorithm: KMS_SIGNING_ALGORITHMS[algorithm] }),
      );
      if (!answer.Signature) throw new Error("KMS Sign returned no signature");
      const coordinateBytes = SIGNING_ALGORITHMS[algorithm].coordinateBytes;
      const signature =
        coordinateBytes === undefined ? Buffer.from(answer.Signature) : derToJoseSignature(answer.Signature, coordinateBytes);
      const verifies =
        algorithm === "ES256"
          ? verify("sha256", signingInput, { key: publicKey, dsaEncoding: "ieee-p1363" }, signature)
          : verify("sha256", signingInput, publicKey, signature);
      if (!verifies) throw new Error("the KMS signature does not verify with the configured public key");
      return signature;
    },
  };
}
