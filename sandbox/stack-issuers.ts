/**
 * The stack's `issuers` setting, as the sandbox reads it, and what stands in for each issuer locally.
 *
 * A stack names cloud endpoints: an OpenAM at `https://openam.example.com:8443/openam/oauth2` whose HMAC secret is
 * the secret setting `sharedSecret` (`"sharedSecret": true`) or an SSM parameter (`secretParameter`); an OIDC
 * provider's `jwksUri`. The sandbox keeps everything else of each issuer (algorithms, audiences, client ids,
 * `token_use`, principal claim and prefix) and substitutes the local enterprise IdP (enterprise-idp.ts): one
 * issuer of it per stack issuer, at the stack issuer's path, signing HS* tokens with the sandbox's own shared
 * secret and RS* tokens with its own published key. The user pool (`deviceGrantEnabled`) is cognito-local, as
 * before; the stack's principal prefixes are kept, so `alice` at one IdP is never `alice` at another.
 *
 * The stack's values are checked by the authorizer's own checks (with a stand-in secret, as `stacks/config.ts`
 * checks them at preview), so an issuer the sandbox accepts is one a deployment accepts.
 */
import { isHmacAlgorithm, MIN_HMAC_KEY_BYTES, type HmacAlgorithm } from "../functions/authorizer/algorithms";
import { type GrantRule, type IssuerConfig } from "../functions/authorizer/config";
import { isObject } from "../functions/shared/checks";
import { STAND_IN_SECRET } from "../infra/stand-ins";
import { type IdpProfile } from "./enterprise-idp-provider";

/** One issuer of the stack, without where its secret comes from: the sandbox brings its own. */
export type StackIssuer = Omit<IssuerConfig, "secret" | "secretParameter">;

/** The OpenAM walkthrough's device client, when the stack's issuer pins no audience or client id. */
export const DEFAULT_IDP_CLIENT_ID = "deviceagent";
/** The scopes the walkthrough's device asks for (`scope=mail%20cn`). */
export const WALKTHROUGH_SCOPES = ["mail", "cn"];

/**
 * The stack's `issuers` (absent: none), each in the form the authorizer's checks take, HMAC ones with a stand-in
 * secret in place of `"sharedSecret": true` or `secretParameter`; and the problems the stack's own reading would
 * report (`sharedSecret` must be `true`).
 */
export function readStackIssuers(raw: unknown): { toCheck: unknown[]; problems: string[] } {
  if (raw === undefined) return { toCheck: [], problems: [] };
  if (!Array.isArray(raw)) return { toCheck: [], problems: ["issuers must be a list of issuers, as in Pulumi.dev.yaml"] };
  const problems: string[] = [];
  const toCheck = raw.map((entry, i) => {
    if (!isObject(entry)) return entry;
    const { sharedSecret, secretParameter, ...rest } = entry;
    const label = typeof rest.issuer === "string" && rest.issuer !== "" ? `issuer ${rest.issuer}` : `issuers[${i}]`;
    if (sharedSecret !== undefined && sharedSecret !== true) {
      problems.push(`${label}: sharedSecret must be true (the secret itself goes in the secret setting sharedSecret)`);
    }
    // An HMAC issuer reads the sandbox's secret, whichever secret the stack gives it.
    return sharedSecret !== undefined || secretParameter !== undefined ? { ...rest, secret: STAND_IN_SECRET } : rest;
  });
  return { toCheck, problems };
}

/** The checked issuers without their stand-in secret. */
export function withoutSecrets(issuers: IssuerConfig[]): StackIssuer[] {
  return issuers.map(({ secret: _secret, secretParameter: _parameter, ...rest }) => rest);
}

export function isHmacIssuer(issuer: StackIssuer): boolean {
  return issuer.algorithms.some(isHmacAlgorithm);
}

/** Bytes of shared secret every HMAC issuer can use: 32 (`openssl rand -base64 32`), more for HS384/HS512. */
export function sharedSecretBytes(issuers: StackIssuer[]): number {
  const hmac = issuers.flatMap((i) => i.algorithms.filter(isHmacAlgorithm)) as HmacAlgorithm[];
  return Math.max(32, ...hmac.map((a) => MIN_HMAC_KEY_BYTES[a]));
}

/** `/openam/oauth2` for `https://openam.example.com:8443/openam/oauth2/`; `/issuer<n>` when the URL has no usable path. */
function issuerPath(issuer: string, index: number, taken: Set<string>): string {
  let path = "";
  try {
    path = new URL(issuer).pathname.replace(/\/+$/, "");
  } catch {
    path = "";
  }
  if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(path) || path.includes("/interaction")) path = `/issuer${index + 1}`;
  if (taken.has(path)) path = `${path}-${index + 1}`;
  taken.add(path);
  return path;
}

/** How the local IdP stands in for each of the stack's issuers (the key `enterprise` is the first). */
export function idpProfiles(issuers: StackIssuer[], grants: GrantRule[]): IdpProfile[] {
  const grantScopes = grants.flatMap((g) => g.scopes ?? []);
  const scopes = [...new Set([...WALKTHROUGH_SCOPES, ...grantScopes])].filter((s) => s !== "openid" && s !== "offline_access");
  const taken = new Set<string>();
  return issuers.map((issuer, i) => {
    const { audiences, clientIds } = issuer;
    // A client id that passes both checks the stack pins: `aud` (the client id, as OpenAM sets it) and `client_id`.
    const clientId =
      audiences?.find((a) => clientIds === undefined || clientIds.includes(a)) ?? clientIds?.[0] ?? audiences?.[0] ?? DEFAULT_IDP_CLIENT_ID;
    return {
      key: i === 0 ? "enterprise" : `enterprise${i + 1}`,
      path: issuerPath(issuer.issuer, i, taken),
      algorithm: issuer.algorithms[0],
      clientId,
      scopes,
      ...(issuer.tokenUse !== undefined && { tokenUse: issuer.tokenUse }),
      ...(clientIds !== undefined && { keepClientId: true }),
      ...(issuer.principalClaim !== undefined && issuer.principalClaim !== "sub" && { principalClaim: issuer.principalClaim }),
    };
  });
}

/** The authorizer's issuers for the stack's, each pointed at its stand-in: its local URL, and the sandbox's secret or the IdP's JWKS. */
export function standInIssuers(
  issuers: StackIssuer[],
  standIns: { issuer: string; jwksUri: string }[],
  sharedSecretBase64: string,
): IssuerConfig[] {
  return issuers.map((issuer, i) => ({
    ...issuer,
    issuer: standIns[i].issuer,
    ...(isHmacIssuer(issuer) ? { secret: sharedSecretBase64 } : { jwksUri: standIns[i].jwksUri }),
  }));
}
