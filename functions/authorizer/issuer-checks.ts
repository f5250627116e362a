/**
 * The checks of the configured issuers, one by one and together. Each issuer is pinned to algorithms of one
 * key type and given exactly the key source that type needs (a JWKS URI for RSA, a shared secret for HMAC),
 * so a token can never choose how it is verified; together, issuers must not share a principal namespace.
 * Every problem is collected, none thrown: the caller reports them all at once.
 */
import { isHttpsOrLoopback, isObject, isStringArray, parseUrl, SSM_PARAMETER_NAME } from "../shared/checks";
import { type Namer, problem, type Problem, problemAt } from "../shared/problems";
import { type Algorithm, decodeSharedSecret, HMAC_ALGORITHMS, isHmacAlgorithm, isRsaAlgorithm, RSA_ALGORITHMS } from "./algorithms";
import { type IssuerConfig } from "./config";
import { CLAIM_NAME, optionalStringList } from "./value-checks";

const ALPHANUMERIC = /^[A-Za-z0-9]*$/;

/**
 * How the problems of one issuer name it: `issuer <its iss>` (the URL asked of the namer under
 * `issuers[i].issuer`, so a caller can call a stand-in by what it stands for), or `issuers[i]` without one.
 */
class IssuerProblems {
  constructor(
    readonly where: string,
    private readonly issuer: string,
    private readonly problems: Problem[],
  ) {}

  label(name: Namer): string {
    return this.issuer ? `issuer ${name(`${this.where}.issuer`, this.issuer)}` : name(this.where);
  }

  /** `<label>: <text>`, about the setting `field` of this issuer. */
  add(field: string, text: string): void {
    this.problems.push(problem(`${this.where}.${field}`, (name) => `${this.label(name)}: ${text}`));
  }
}

const KNOWN_SETTINGS = new Set([
  "issuer",
  "algorithms",
  "jwksUri",
  "secretParameter",
  "secret",
  "previousSecretParameter",
  "previousSecret",
  "audiences",
  "clientIds",
  "tokenUse",
  "principalClaim",
  "principalPrefix",
]);

/**
 * A problem about the setting `field` of the issuer at `where` (`issuers[2]`), named as the issuer checks name
 * it: components that check issuer settings of their own (where a shared secret comes from) use it too.
 */
export function issuerProblem(where: string, issuer: unknown, field: string, text: string): Problem {
  const problems: Problem[] = [];
  new IssuerProblems(where, typeof issuer === "string" ? issuer : "", problems).add(field, text);
  return problems[0];
}

/** What is wrong with a principal prefix, after its name ("must be at most 32 letters…"), or undefined when nothing is. */
export function principalPrefixProblem(value: unknown): string | undefined {
  if (typeof value === "string" && ALPHANUMERIC.test(value) && value.length <= 32) return undefined;
  return "must be at most 32 letters and digits (IoT principal ids are alphanumeric)";
}

/** The `issuers` setting: at least one, each checked, none listed twice, no two sharing a principal namespace. */
export function checkIssuers(raw: unknown, problems: Problem[]): IssuerConfig[] {
  const issuers: { index: number; config: IssuerConfig }[] = [];
  if (!Array.isArray(raw) || raw.length === 0) {
    problems.push(problemAt("issuers", "must list at least one trusted issuer"));
  } else {
    raw.forEach((entry, index) => {
      const config = checkIssuer(entry, `issuers[${index}]`, problems);
      if (config) issuers.push({ index, config });
    });
  }
  const seen = new Set<string>();
  for (const { index, config } of issuers) {
    const iss = config.issuer;
    const path = `issuers[${index}].issuer`;
    if (iss && seen.has(iss)) problems.push(problem(path, (name) => `issuer ${name(path, iss)} is listed more than once`));
    seen.add(iss);
  }
  // Principal ids are prefix + id, so two issuers' namespaces are disjoint only if no prefix starts another.
  for (const [n, a] of issuers.entries()) {
    for (const b of issuers.slice(n + 1)) {
      const [p, q] = [a.config.principalPrefix ?? "", b.config.principalPrefix ?? ""];
      if (!(p.startsWith(q) || q.startsWith(p))) continue;
      const [pathA, pathB] = [`issuers[${a.index}].issuer`, `issuers[${b.index}].issuer`];
      problems.push(
        problem(
          `issuers[${b.index}].principalPrefix`,
          (name) =>
            `issuers ${name(pathA, a.config.issuer)} and ${name(pathB, b.config.issuer)} share a principal namespace (prefixes "${p}" and "${q}"): ` +
            `with several issuers, give each a principalPrefix that does not start another's`,
        ),
      );
    }
  }
  return issuers.map((i) => i.config);
}

function checkIssuer(raw: unknown, where: string, problems: Problem[]): IssuerConfig | undefined {
  if (!isObject(raw)) {
    problems.push(problemAt(where, "must be an object"));
    return undefined;
  }
  const r = raw;
  for (const key of Object.keys(r)) {
    if (!KNOWN_SETTINGS.has(key)) problems.push(problem(`${where}.${key}`, (name) => `${name(where)}: unknown setting "${key}"`));
  }

  const issuer = typeof r.issuer === "string" ? r.issuer : "";
  if (issuer.length === 0) problems.push(problemAt(`${where}.issuer`, `must be a non-empty string (the exact "iss" of its tokens)`));
  const label = new IssuerProblems(where, issuer, problems);

  const algorithms = checkAlgorithms(r, label);
  const jwksUri = checkJwksUri(r, label, algorithms);
  const { secretParameter, secret } = checkSharedSecret(r, label, algorithms);
  const { previousSecretParameter, previousSecret } = checkPreviousSecret(r, label, algorithms, secret ?? secretParameter);
  const { audiences, clientIds, tokenUse, principalClaim, principalPrefix } = checkClaimSettings(r, label, problems);

  return {
    issuer,
    algorithms,
    ...(jwksUri !== undefined && { jwksUri }),
    ...(secretParameter !== undefined && { secretParameter }),
    ...(secret !== undefined && { secret }),
    ...(previousSecretParameter !== undefined && { previousSecretParameter }),
    ...(previousSecret !== undefined && { previousSecret }),
    ...(audiences && { audiences }),
    ...(clientIds && { clientIds }),
    ...(tokenUse !== undefined && { tokenUse }),
    ...(principalClaim !== undefined && { principalClaim }),
    ...(principalPrefix !== undefined && { principalPrefix }),
  };
}

/** The known algorithms among those given; never RSA and HMAC together (this is how RS/HS confusion starts). */
function checkAlgorithms(r: Record<string, unknown>, label: IssuerProblems): Algorithm[] {
  let algorithms: Algorithm[] = [];
  if (!isStringArray(r.algorithms) || r.algorithms.length === 0) {
    label.add("algorithms", `algorithms must be a non-empty list, e.g. ["RS256"] or ["HS256"]`);
  } else {
    const unknown = r.algorithms.filter((a) => !isRsaAlgorithm(a) && !isHmacAlgorithm(a));
    if (unknown.length > 0) {
      label.add("algorithms", `unknown algorithm(s) ${unknown.join(", ")}; allowed: ${[...RSA_ALGORITHMS, ...HMAC_ALGORITHMS].join(", ")}`);
    }
    algorithms = r.algorithms.filter((a): a is Algorithm => isRsaAlgorithm(a) || isHmacAlgorithm(a));
  }
  if (algorithms.some(isRsaAlgorithm) && algorithms.some(isHmacAlgorithm)) {
    label.add("algorithms", "mixes RSA and HMAC algorithms; one issuer, one key type (this is how RS/HS confusion starts)");
  }
  return algorithms;
}

/** An RSA issuer's key source: its JWKS URI, over https (http only on loopback, for local use). */
function checkJwksUri(r: Record<string, unknown>, label: IssuerProblems, algorithms: Algorithm[]): string | undefined {
  let jwksUri: string | undefined;
  if (r.jwksUri !== undefined) {
    if (typeof r.jwksUri !== "string") label.add("jwksUri", "jwksUri must be a string");
    else jwksUri = r.jwksUri;
  }
  if (algorithms.some(isRsaAlgorithm)) {
    if (jwksUri === undefined) {
      label.add("jwksUri", "an RSA issuer needs jwksUri");
    } else {
      const url = parseUrl(jwksUri);
      if (url === undefined) label.add("jwksUri", `jwksUri ${JSON.stringify(jwksUri)} is not a URL`);
      else if (!isHttpsOrLoopback(url)) label.add("jwksUri", "jwksUri must use https (plain http is allowed on loopback only)");
    }
  } else if (jwksUri !== undefined && algorithms.some(isHmacAlgorithm)) {
    label.add("jwksUri", "jwksUri is set but the issuer uses HMAC algorithms");
  }
  return jwksUri;
}

/** An HMAC issuer's key source: an SSM parameter name, or (tests and the sandbox) the secret itself; one of them. */
function checkSharedSecret(
  r: Record<string, unknown>,
  label: IssuerProblems,
  algorithms: Algorithm[],
): { secretParameter: string | undefined; secret: string | undefined } {
  const secretParameter = typeof r.secretParameter === "string" ? r.secretParameter : undefined;
  const secret = typeof r.secret === "string" ? r.secret : undefined;
  if (r.secretParameter !== undefined && secretParameter === undefined) label.add("secretParameter", "secretParameter must be a string");
  if (r.secret !== undefined && secret === undefined) label.add("secret", "secret must be a string");
  if (algorithms.some(isHmacAlgorithm)) {
    if (secretParameter === undefined && secret === undefined) {
      label.add("secretParameter", "an HMAC issuer needs its shared secret (secretParameter, or secret for local use)");
    } else if (secretParameter !== undefined && secret !== undefined) {
      label.add("secret", "set secretParameter or secret, not both");
    }
    if (secretParameter !== undefined && !SSM_PARAMETER_NAME.test(secretParameter)) {
      label.add("secretParameter", `secretParameter ${JSON.stringify(secretParameter)} is not an SSM parameter name`);
    }
    if (secret !== undefined) {
      const decoded = decodeSharedSecret(secret, algorithms);
      if (decoded.problem) label.add("secret", decoded.problem);
    }
  } else if (secretParameter !== undefined || secret !== undefined) {
    label.add(secret !== undefined ? "secret" : "secretParameter", "a shared secret is set but the issuer does not use HMAC algorithms");
  }
  return { secretParameter, secret };
}

/**
 * An HMAC issuer's second secret, accepted beside the first during a rotation: an SSM parameter name or (tests and
 * the sandbox) the secret itself; one of them, only with a first secret, and never the first one again.
 */
function checkPreviousSecret(
  r: Record<string, unknown>,
  label: IssuerProblems,
  algorithms: Algorithm[],
  first: string | undefined,
): { previousSecretParameter: string | undefined; previousSecret: string | undefined } {
  const previousSecretParameter = typeof r.previousSecretParameter === "string" ? r.previousSecretParameter : undefined;
  const previousSecret = typeof r.previousSecret === "string" ? r.previousSecret : undefined;
  if (r.previousSecretParameter !== undefined && previousSecretParameter === undefined) {
    label.add("previousSecretParameter", "previousSecretParameter must be a string");
  }
  if (r.previousSecret !== undefined && previousSecret === undefined) label.add("previousSecret", "previousSecret must be a string");
  if (previousSecretParameter === undefined && previousSecret === undefined) return { previousSecretParameter, previousSecret };
  const field = previousSecret !== undefined ? "previousSecret" : "previousSecretParameter";
  if (!algorithms.some(isHmacAlgorithm)) {
    label.add(field, "a previous shared secret is set but the issuer does not use HMAC algorithms");
  } else if (first === undefined) {
    label.add(field, "a previous shared secret needs the current one (secretParameter or secret)");
  } else if (previousSecretParameter !== undefined && previousSecret !== undefined) {
    label.add("previousSecret", "set previousSecretParameter or previousSecret, not both");
  } else if (previousSecretParameter !== undefined && !SSM_PARAMETER_NAME.test(previousSecretParameter)) {
    label.add("previousSecretParameter", `previousSecretParameter ${JSON.stringify(previousSecretParameter)} is not an SSM parameter name`);
  } else if (first === previousSecretParameter || (previousSecret !== undefined && first.trim() === previousSecret.trim())) {
    label.add(field, "the previous shared secret is the current one; a rotation needs two different secrets");
  }
  if (previousSecret !== undefined) {
    const decoded = decodeSharedSecret(previousSecret, algorithms);
    if (decoded.problem) label.add("previousSecret", decoded.problem.replace("the shared secret", "the previous shared secret"));
  }
  return { previousSecretParameter, previousSecret };
}

type ClaimSettings = Pick<IssuerConfig, "audiences" | "clientIds" | "tokenUse" | "principalClaim" | "principalPrefix">;

/** The settings that say which tokens are meant for us and which claim names the principal. */
function checkClaimSettings(r: Record<string, unknown>, label: IssuerProblems, problems: Problem[]): ClaimSettings {
  const list = (field: string) => (rest: string) => problem(`${label.where}.${field}`, (name) => `${label.label(name)}: ${field} ${rest}`);
  const audiences = optionalStringList(r.audiences, problems, list("audiences"));
  const clientIds = optionalStringList(r.clientIds, problems, list("clientIds"));
  let tokenUse: string | undefined;
  if (r.tokenUse !== undefined) {
    if (typeof r.tokenUse !== "string" || r.tokenUse.length === 0) label.add("tokenUse", "tokenUse must be a non-empty string");
    else tokenUse = r.tokenUse;
  }
  let principalClaim: string | undefined;
  if (r.principalClaim !== undefined) {
    if (typeof r.principalClaim !== "string" || !CLAIM_NAME.test(r.principalClaim)) {
      label.add("principalClaim", "principalClaim must be a claim name (letters, digits, _ : . -)");
    } else principalClaim = r.principalClaim;
  }
  let principalPrefix: string | undefined;
  if (r.principalPrefix !== undefined) {
    const wrong = principalPrefixProblem(r.principalPrefix);
    if (wrong !== undefined) label.add("principalPrefix", `principalPrefix ${wrong}`);
    else principalPrefix = r.principalPrefix as string;
  }
  return { audiences, clientIds, tokenUse, principalClaim, principalPrefix };
}
