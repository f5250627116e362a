/**
 * The service's own ID token (with `ID` in `resultTokenSet`). Standard clients (openid-client, oauth4webapi)
 * check an ID token against the issuer they discovered, so the upstream's token (its `iss` is the user
 * pool's) cannot be handed on; instead the service verifies it (`upstream-id-token.ts`) and issues its own:
 *
 * - `iss`: the service's issuer, as in its metadata; `aud`: the device's client id; `iat`: now; `exp`: the
 *   upstream token's `exp`, at most `ID_TOKEN_MAX_LIFETIME_SECONDS` after `iat` (an assertion never outlives
 *   the one it is made from);
 * - `sub`: the upstream's `sub`, unchanged. The service has exactly one upstream IdP, so (our `iss`, `sub`)
 *   names the same person as (the IdP's `iss`, `sub`), and it equals the access token's `sub`, from which the
 *   IoT authorizer derives the principal id: one user, one id, in every token the device holds;
 * - the OpenID Connect standard claims the upstream asserted (OIDC Core §5.1, plus `auth_time`, `acr`,
 *   `amr`), copied as they are; nothing else (no `cognito:*`, `token_use`, `nonce` or hashes of tokens the
 *   device never saw).
 *
 * Signed by the `TokenSigner` (KMS on AWS) with `kid` = the key's JWK thumbprint, published at the JWKS route.
 */
import { type GrantContext } from "./context";
import { type TokenSigner } from "./model";

/** Longest an ID token of the service is valid. */
export const ID_TOKEN_MAX_LIFETIME_SECONDS = 3_600;

/** The upstream claims the service's ID token carries over (OIDC Core §5.1 standard claims and §2 `auth_time`, `acr`, `amr`). */
export const COPIED_CLAIMS = [
  "name",
  "given_name",
  "family_name",
  "middle_name",
  "nickname",
  "preferred_username",
  "profile",
  "picture",
  "website",
  "email",
  "email_verified",
  "gender",
  "birthdate",
  "zoneinfo",
  "locale",
  "phone_number",
  "phone_number_verified",
  "address",
  "updated_at",
  "auth_time",
  "acr",
  "amr",
] as const;

const encode = (value: unknown) => Buffer.from(JSON.stringify(value), "utf8").toString("base64url");

/** Issues the service's ID token from the verified upstream claims. */
export async function issueIdToken(
  signer: TokenSigner,
  params: { issuer: string; clientId: string; upstreamClaims: Record<string, unknown>; nowSeconds: number },
): Promise<string> {
  const { upstreamClaims: upstream, nowSeconds } = params;
  const claims: Record<string, unknown> = {
    iss: params.issuer,
    sub: upstream.sub,
    aud: params.clientId,
    iat: nowSeconds,
    exp: Math.min(Number(upstream.exp), nowSeconds + ID_TOKEN_MAX_LIFETIME_SECONDS),
  };
  for (const name of COPIED_CLAIMS) if (upstream[name] !== undefined) claims[name] = upstream[name];
  const signingInput = `${encode({ alg: signer.algorithm, typ: "JWT", kid: signer.publicJwk.kid })}.${encode(claims)}`;
  const signature = await signer.sign(Buffer.from(signingInput, "ascii"));
  return `${signingInput}.${signature.toString("base64url")}`;
}

/**
 * The service's ID token for `clientId`, from the upstream's `upstreamIdToken` once verified; `undefined`
 * (logged) when the upstream's does not verify or signing fails.
 */
export async function serviceIdToken(context: GrantContext, clientId: string, upstreamIdToken: string): Promise<string | undefined> {
  const parts = context.idTokens;
  if (!parts) return undefined;
  const nowSeconds = Math.floor(context.clock.now() / 1000);
  const verified = await parts.upstream.verify(upstreamIdToken, clientId, nowSeconds);
  if (!verified.ok) {
    context.logger.error({ event: "id-token", clientId, outcome: "upstream-id-token-refused", reason: verified.reason });
    return undefined;
  }
  try {
    return await issueIdToken(parts.signer, {
      issuer: context.config.publicBaseUrl,
      clientId,
      upstreamClaims: verified.claims,
      nowSeconds,
    });
  } catch (err) {
    context.logger.error({ event: "id-token", clientId, outcome: "signing-failed", error: (err as Error)?.name ?? typeof err });
    return undefined;
  }
}
