/**
 * The cold-start baseline of `npm run bench`: a minimal IoT custom authorizer built on aws-jwt-verify (AWS's JWT
 * library for Lambda; a devDependency, used nowhere else), bundled exactly as ours is (`bundleFunction`).
 *
 * It does the least an RS256 authorizer must, the way aws-jwt-verify's README shows: it reads the same
 * `AUTHORIZER_CONFIG`, builds one verifier for every RSA issuer at module load (aws-jwt-verify's JWKS cache and
 * penalty box), verifies `event.token`, checks `token_use` and `client_id` where configured, and allows the
 * principal its own client id and topic tree. `verifier` is exported so the bench can hand it a key set. No HMAC
 * issuers (aws-jwt-verify has none), no token in MQTT usernames, no policy limits: a floor to compare our bundle's
 * size and load against, not a second authorizer.
 */
import { JwtVerifier } from "aws-jwt-verify";

interface RsaIssuer {
  issuer: string;
  jwksUri?: string;
  tokenUse?: string;
  clientIds?: string[];
}

const config = JSON.parse(process.env.AUTHORIZER_CONFIG ?? "{}") as { region: string; accountId: string; issuers: RsaIssuer[] };
const arn = `arn:aws:iot:${config.region}:${config.accountId}:`;

export const verifier = JwtVerifier.create(
  config.issuers
    .filter((issuer) => issuer.jwksUri !== undefined)
    .map((issuer) => ({
      issuer: issuer.issuer,
      jwksUri: issuer.jwksUri as string,
      audience: null,
      customJwtCheck: ({ payload }: { payload: Record<string, unknown> }) => {
        if (issuer.tokenUse !== undefined && payload.token_use !== issuer.tokenUse) throw new Error("token_use");
        if (issuer.clientIds !== undefined && !issuer.clientIds.includes(String(payload.client_id))) throw new Error("client_id");
      },
    })),
);

export async function handler(event: { token?: string }): Promise<Record<string, unknown>> {
  try {
    const payload = await verifier.verify(event.token ?? "");
    const principal = String(payload.sub)
      .replace(/[^A-Za-z0-9]/g, "")
      .slice(0, 128);
    return {
      isAuthenticated: true,
      principalId: principal,
      policyDocuments: [
        {
          Version: "2012-10-17",
          Statement: [
            { Effect: "Allow", Action: ["iot:Connect"], Resource: [`${arn}client/${principal}`] },
            { Effect: "Allow", Action: ["iot:Publish", "iot:Receive"], Resource: [`${arn}topic/devices/${principal}/*`] },
          ],
        },
      ],
      refreshAfterInSeconds: 3600,
      disconnectAfterInSeconds: 3600,
    };
  } catch {
    return {
      isAuthenticated: false,
      principalId: "denied",
      policyDocuments: [],
      refreshAfterInSeconds: 300,
      disconnectAfterInSeconds: 300,
    };
  }
}
