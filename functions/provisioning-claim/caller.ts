/**
 * Who is asking for a claim, from the claims API Gateway's JWT authorizer passed on: the installer's `sub`, and
 * whether the token carries the required scope and the caller belongs to the required group.
 *
 * API Gateway has verified the token (signature, issuer, audience, expiry, the route's scope) before the
 * function runs; these checks are the second lock, for a route attached to another API or a configuration
 * that drifted. API Gateway hands claim values over as strings, an array claim such as `cognito:groups` as
 * `[a b]` (docs/fleet-provisioning.md#the-claim-route); a native array (local runs) is read too.
 */

/** A claim's values: a native array of strings, API Gateway's `[a b]` rendering of one, or a single value. */
export function claimValues(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  if (typeof value !== "string") return [];
  const trimmed = value.trim();
  if (trimmed.startsWith("[") && trimmed.endsWith("]")) {
    if (trimmed.startsWith('["')) {
      try {
        const parsed: unknown = JSON.parse(trimmed);
        if (Array.isArray(parsed)) return parsed.filter((v): v is string => typeof v === "string");
      } catch {
        // Not JSON after all: read it as API Gateway's space-separated form below.
      }
    }
    return trimmed
      .slice(1, -1)
      .split(/\s+/)
      .filter((v) => v !== "");
  }
  return trimmed === "" ? [] : [trimmed];
}

/** The OAuth scopes of a token: the `scope` claim (space-separated, RFC 8693 §4.2) and the scopes API Gateway matched. */
export function callerScopes(claims: Readonly<Record<string, unknown>>, matched: readonly string[]): Set<string> {
  const fromClaim = typeof claims.scope === "string" ? claims.scope.split(" ").filter((s) => s !== "") : [];
  return new Set([...fromClaim, ...matched]);
}

/** A `sub` the function can record: a non-empty printable string of at most 255 characters. */
export function readSubject(claims: Readonly<Record<string, unknown>>): string | undefined {
  const sub = claims.sub;
  return typeof sub === "string" && /^[\x21-\x7e]{1,255}$/.test(sub) ? sub : undefined;
}

export type CallerCheck =
  { ok: true; sub: string } | { ok: false; reason: "no-identity" | "missing-scope" | "missing-group"; status: 401 | 403 };

/** The installer behind a request, or why the request is refused. */
export function checkCaller(
  claims: Readonly<Record<string, unknown>> | undefined,
  matchedScopes: readonly string[],
  rules: { requiredScope?: string; requiredGroup?: string; groupsClaim: string },
): CallerCheck {
  const sub = claims === undefined ? undefined : readSubject(claims);
  if (claims === undefined || sub === undefined) return { ok: false, reason: "no-identity", status: 401 };
  if (rules.requiredScope !== undefined && !callerScopes(claims, matchedScopes).has(rules.requiredScope)) {
    return { ok: false, reason: "missing-scope", status: 403 };
  }
  if (rules.requiredGroup !== undefined && !claimValues(claims[rules.groupsClaim]).includes(rules.requiredGroup)) {
    return { ok: false, reason: "missing-group", status: 403 };
  }
  return { ok: true, sub };
}
