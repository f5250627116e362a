/**
 * The claim issuer on AWS IoT: `CreateProvisioningClaim` for the template, aborted when the caller's deadline
 * passes. The answer is handed over as IoT gave it; the core checks it before anything is stored or returned.
 */
import { CreateProvisioningClaimCommand, type IoTClient } from "@aws-sdk/client-iot";
import { type ClaimIssuer } from "./claim";

export function iotClaimIssuer(client: IoTClient): ClaimIssuer {
  return {
    async create(templateName, signal) {
      const out = await client.send(new CreateProvisioningClaimCommand({ templateName }), { abortSignal: signal });
      return {
        certificateId: out.certificateId,
        certificatePem: out.certificatePem,
        privateKey: out.keyPair?.PrivateKey,
        expiration: out.expiration,
      };
    },
  };
}
