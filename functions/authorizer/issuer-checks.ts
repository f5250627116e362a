/**
 * The checks of the configured issuers, one by one and together. Each issuer is pinned to algorithms of one
 * key type and given exactly the key source that type needs (a JWKS URI for RSA, a shared secret for HMAC),
 * so a token can never choose how it is verified; together, issuers must not share a principal namespace.
 * Every problem is collected, none thrown: the caller reports them all at once.
 */
import { type Algorithm, decodeSharedSecret, HMAC_ALGORITHMS, isHmacAlgorithm, isRsaAlgorithm, RSA_ALGORITHMS } from "./algorithms";
import { type IssuerConfig } from "./config";
import { CLAIM_NAME, optionalStringList, stringArray } from "./value-checks";

const ALPHANUMERIC = /^[A-Za-z0-9]*$/;
const SSM_PARAMETER_NAME = /^\/?[A-Za-z0-9_.\-/]{1,1011}$/;

const KNOWN_SETTINGS = new Set([
  "issuer", "algorithms", "jwksUri", "secretParameter", "secret", "audiences", "clientIds", "tokenUse",
  "principalClaim", "principalPrefix",
]);

/** The `issuers` setting: at least one, each checked, none listed twice, no two sharing a principal namespace. */
export function checkIssuers(raw: unknown, problems: string[]): IssuerConfig[] {
  const issuers: IssuerConfig[] = [];
  if (!Array.isArray(raw) || raw.length === 0) {
    problems.push("issuers must list at least one trusted issuer");
  } else {
    raw.forEach((entry, i) => {
      const issuer = checkIssuer(entry, `issuers[${i}]`, problems);
      if (issuer) issuers.push(issuer);
    });
  }
  const seen = new Set<string>();
  for (const { issuer } of issuers) {
    if (issuer && seen.has(issuer)) problems.push(`issuer ${issuer} is listed more than once`);
    seen.add(issuer);
  }
  // Principal ids are prefix + id, so two issuers' namespaces are disjoint only if no prefix starts another.
  for (let i = 0; i < issuers.length; i++) {
    for (let j = i + 1; j < issuers.length; j++) {
      const [p, q] = [issuers[i].principalPrefix ?? "", issuers[j].principalPrefix ?? ""];
      if (p.startsWith(q) || q.startsWith(p)) {
        problems.push(
          `issuers ${issuers[i].issuer} and ${issuers[j].issuer} share a principal namespace (prefixes "${p}" and "${q}"): ` +
            `with several issuers, give each a principalPrefix that does not start another's`,
        );
      }
    }
  }
  return issuers;
}

function checkIssuer(raw: unknown, where: string, problems: string[]): IssuerConfig | undefined {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    problems.push(`${where} must be an object`);
    return undefined;
  }
  const r = raw as Record<string, unknown>;
  for (const key of Object.keys(r)) if (!KNOWN_SETTINGS.has(key)) problems.push(`${where}: unknown setting "${key}"`);

  const issuer = typeof r.issuer === "string" ? r.issuer : "";
  if (issuer.length === 0) problems.push(`${where}.issuer must be a non-empty string (the exact "iss" of its tokens)`);
  const label = issuer ? `issuer ${issuer}` : where;

  const algorithms = checkAlgorithms(r, label, problems);
  const jwksUri = checkJwksUri(r, label, algorithms, problems);
  const { secretParameter, secret } = checkSharedSecret(r, label, algorithms, problems);
  const { audiences, clientIds, tokenUse, principalClaim, principalPrefix } = checkClaimSettings(r, label, problems);

  return {
    issuer,
    algorithms,
    ...(jwksUri !== undefined && { jwksUri }),
    ...(secretParameter !== undefined && { secretParameter }),
    ...(secret !== undefined && { secret }),
    ...(audiences && { audiences }),
    ...(clientIds && { clientIds }),
    ...(tokenUse !== undefined && { tokenUse }),
    ...(principalClaim !== undefined && { principalClaim }),
    ...(principalPrefix !== undefined && { principalPrefix }),
  };
}

/** The known algorithms among those given; never RSA and HMAC together (this is how RS/HS confusion starts). */
function checkAlgorithms(r: Record<string, unknown>, label: string, problems: string[]): Algorithm[] {
  let algorithms: Algorithm[] = [];
  if (!stringArray(r.algorithms) || r.algorithms.length === 0) {
    problems.push(`${label}: algorithms must be a non-empty list, e.g. ["RS256"] or ["HS256"]`);
  } else {
    const unknown = r.algorithms.filter((a) => !isRsaAlgorithm(a) && !isHmacAlgorithm(a));
    if (unknown.length > 0) {
      problems.push(
        `${label}: unknown algorithm(s) ${unknown.join(", ")}; allowed: ${[...RSA_ALGORITHMS, ...HMAC_ALGORITHMS].join(", ")}`,
      );
    }
    algorithms = r.algorithms.filter((a): a is Algorithm => isRsaAlgorithm(a) || isHmacAlgorithm(a));
  }
  if (algorithms.some(isRsaAlgorithm) && algorithms.some(isHmacAlgorithm)) {
    problems.push(`${label}: mixes RSA and HMAC algorithms; one issuer, one key type (this is how RS/HS confusion starts)`);
  }
  return algorithms;
}

/** An RSA issuer's key source: its JWKS URI, over https (http only on loopback, for local use). */
function checkJwksUri(r: Record<string, unknown>, label: string, algorithms: Algorithm[], problems: string[]): string | undefined {
  let jwksUri: string | undefined;
  if (r.jwksUri !== undefined) {
    if (typeof r.jwksUri !== "string") problems.push(`${label}: jwksUri must be a string`);
    else jwksUri = r.jwksUri;
  }
  if (algorithms.some(isRsaAlgorithm)) {
    if (jwksUri === undefined) {
      problems.push(`${label}: an RSA issuer needs jwksUri`);
    } else {
      let url: URL | undefined;
      try {
        url = new URL(jwksUri);
      } catch {
        problems.push(`${label}: jwksUri ${JSON.stringify(jwksUri)} is not a URL`);
      }
      if (url && url.protocol !== "https:" && !(url.protocol === "http:" && isLoopback(url.hostname))) {
        problems.push(`${label}: jwksUri must use https (plain http is allowed on loopback only)`);
      }
    }
  } else if (jwksUri !== undefined && algorithms.some(isHmacAlgorithm)) {
    problems.push(`${label}: jwksUri is set but the issuer uses HMAC algorithms`);
  }
  return jwksUri;
}

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** An HMAC issuer's key source: an SSM parameter name, or (tests and the sandbox) the secret itself; one of them. */
function checkSharedSecret(
  r: Record<string, unknown>,
  label: string,
  algorithms: Algorithm[],
  problems: string[],
): { secretParameter: string | undefined; secret: string | undefined } {
  const secretParameter = typeof r.secretParameter === "string" ? r.secretParameter : undefined;
  const secret = typeof r.secret === "string" ? r.secret : undefined;
  if (r.secretParameter !== undefined && secretParameter === undefined) problems.push(`${label}: secretParameter must be a string`);
  if (r.secret !== undefined && secret === undefined) problems.push(`${label}: secret must be a string`);
  if (algorithms.some(isHmacAlgorithm)) {
    if (secretParameter === undefined && secret === undefined) {
      problems.push(`${label}: an HMAC issuer needs its shared secret (secretParameter, or secret for local use)`);
    } else if (secretParameter !== undefined && secret !== undefined) {
      problems.push(`${label}: set secretParameter or secret, not both`);
    }
    if (secretParameter !== undefined && !SSM_PARAMETER_NAME.test(secretParameter)) {
      problems.push(`${label}: secretParameter ${JSON.stringify(secretParameter)} is not an SSM parameter name`);
    }
    if (secret !== undefined) {
      const decoded = decodeSharedSecret(secret, algorithms, label);
      if (decoded.problem) problems.push(decoded.problem);
    }
  } else if (secretParameter !== undefined || secret !== undefined) {
    problems.push(`${label}: a shared secret is set but the issuer does not use HMAC algorithms`);
  }
  return { secretParameter, secret };
}

type ClaimSettings = Pick<IssuerConfig, "audiences" | "clientIds" | "tokenUse" | "principalClaim" | "principalPrefix">;

/** The settings that say which tokens are meant for us and which claim names the principal. */
function checkClaimSettings(r: Record<string, unknown>, label: string, problems: string[]): ClaimSettings {
  const audiences = optionalStringList(r.audiences, `${label}: audiences`, problems);
  const clientIds = optionalStringList(r.clientIds, `${label}: clientIds`, problems);
  let tokenUse: string | undefined;
  if (r.tokenUse !== undefined) {
    if (typeof r.tokenUse !== "string" || r.tokenUse.length === 0) problems.push(`${label}: tokenUse must be a non-empty string`);
    else tokenUse = r.tokenUse;
  }
  let principalClaim: string | undefined;
  if (r.principalClaim !== undefined) {
    if (typeof r.principalClaim !== "string" || !CLAIM_NAME.test(r.principalClaim)) {
      problems.push(`${label}: principalClaim must be a claim name (letters, digits, _ : . -)`);
    } else principalClaim = r.principalClaim;
  }
  let principalPrefix: string | undefined;
  if (r.principalPrefix !== undefined) {
    if (typeof r.principalPrefix !== "string" || !ALPHANUMERIC.test(r.principalPrefix) || r.principalPrefix.length > 32) {
      problems.push(`${label}: principalPrefix must be at most 32 letters and digits (IoT principal ids are alphanumeric)`);
    } else principalPrefix = r.principalPrefix;
  }
  return { audiences, clientIds, tokenUse, principalClaim, principalPrefix };
}
