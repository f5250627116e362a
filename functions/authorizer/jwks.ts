/**
 * Signing keys of RSA issuers: each issuer's whole key set, fetched with jwks-rsa (`jwks-fetch.ts`) and held as
 * `KeyObject`s, so the hot path never touches the network nor parses a key.
 *
 * Designed as aws-jwt-verify's JWKS cache and penalty box are, so that tokens with made-up `kid`s cannot starve
 * genuine ones (issue 10 §1.1: a per-`kid` cache behind a per-minute request budget let 11 bogus tokens a minute
 * refuse every user):
 * - The cache is per issuer and holds the whole set: a `kid` in it is served from memory, a made-up one costs a
 *   map lookup. A set is used for `cacheMaxAgeMs`, then fetched again before use.
 * - An unknown `kid` may trigger a refetch, but each issuer gets at most one fetch per `cooldownMs`, counted from
 *   the start of the previous one, whatever caused it. Concurrent misses share the fetch in flight. A `kid` still
 *   absent from the fresh set is refused, and so is every other unknown `kid` until the cooldown ends: a flood
 *   costs the IdP one request per cooldown per warm instance, and a key the IdP adds is picked up by the first
 *   fetch after it, at most one cooldown later, whoever's token triggers that fetch.
 * - A failed fetch keeps the last good set in service until it is `cacheMaxAgeMs + staleFallbackMs` old, retrying
 *   once per cooldown; past that, or with no set at all, tokens are refused (`jwks-unavailable`).
 *
 * Defaults and why:
 * - `cooldownMs` 10 s, as aws-jwt-verify's penalty box: it bounds how long a freshly rotated key can be refused
 *   (AWS IoT device SDKs back off and reconnect within seconds), and under a flood costs each warm instance 6 JWKS
 *   requests a minute, fewer than the 10 a minute the old rate limit allowed.
 * - `staleFallbackMs` 1 hour: as long as a Cognito access token lives by default, so an outage of the JWKS
 *   endpoint alone does not disconnect devices whose tokens were valid when it began. No longer, because a key the
 *   IdP withdrew (rotation after a compromise) stays trusted for `cacheMaxAgeMs + staleFallbackMs` at most.
 */
import { type KeyObject } from "node:crypto";
import type jwksRsa from "jwks-rsa";
import { Denial } from "./errors";
import { fetchKeySet, jwksClient, type KeySet, type PublishedKey } from "./jwks-fetch";
import { forLog, type Logger } from "./logging";

export { boundedJsonFetch, MIN_RSA_BITS } from "./jwks-fetch";

export interface JwksOptions {
  /** Deadline for one JWKS request, connection to last byte. */
  timeoutMs: number;
  /** Largest JWKS document accepted. */
  maxBytes: number;
  /** How long a fetched set is used before it is fetched again. */
  cacheMaxAgeMs: number;
  /** Least time between the starts of two fetches of one issuer's set, whatever triggers them. */
  cooldownMs: number;
  /** How long past `cacheMaxAgeMs` the last good set is still used while fetches fail. */
  staleFallbackMs: number;
}

export const DEFAULT_JWKS_OPTIONS: JwksOptions = {
  timeoutMs: 1_500,
  maxBytes: 64 * 1024,
  cacheMaxAgeMs: 10 * 60 * 1000,
  cooldownMs: 10_000,
  staleFallbackMs: 60 * 60 * 1000,
};

/** Where the verifier gets an RSA issuer's key: the JWKS client in production, anything in tests. */
export interface KeySource {
  /** Resolves the key for `kid` (absent when the token names none), or rejects with a `Denial`. */
  getKey(jwksUri: string, kid: string | undefined, alg: string): Promise<KeyObject>;
}

/** What is known of one issuer's key set. */
interface IssuerKeys {
  client: jwksRsa.JwksClient;
  set?: KeySet;
  /** When `set` was fetched. */
  fetchedAt: number;
  /** When the last fetch started (the cooldown runs from here). */
  attemptedAt: number;
  /** The fetch in flight, which every miss meanwhile awaits. */
  inFlight?: Promise<void>;
  /** Why the last fetch failed, until one succeeds. */
  failure?: string;
}

/** A `kid` as a denial quotes it: short, since the token's author chose it. */
function named(kid: string | undefined): string {
  return kid === undefined ? "without kid" : `with kid ${JSON.stringify(forLog(kid, 64))}`;
}

export class JwksKeySource implements KeySource {
  private readonly issuers = new Map<string, IssuerKeys>();

  constructor(
    private readonly options: JwksOptions = DEFAULT_JWKS_OPTIONS,
    private readonly now: () => number = Date.now,
    /** Told of every failed fetch (one per cooldown at most), so an operator sees an IdP outage while it is bridged. */
    private readonly logger?: Pick<Logger, "warn">,
  ) {}

  async getKey(jwksUri: string, kid: string | undefined, alg: string): Promise<KeyObject> {
    const issuer = this.issuerKeys(jwksUri);
    let published = issuer.set === undefined ? undefined : find(issuer.set, kid);
    // The hot path: a key of a set younger than its max age. Anything else may fetch, or wait on a fetch.
    if (published === undefined || this.age(issuer) >= this.options.cacheMaxAgeMs) {
      await this.refresh(jwksUri, issuer);
      if (issuer.set === undefined || this.age(issuer) >= this.options.cacheMaxAgeMs + this.options.staleFallbackMs) {
        throw new Denial("jwks-unavailable", `no usable key set: ${issuer.failure ?? "the JWKS was never fetched"}`);
      }
      published = find(issuer.set, kid);
    }
    if (published === undefined) {
      const wait = Math.max(0, issuer.attemptedAt + this.options.cooldownMs - this.now());
      throw new Denial(
        "key-not-found",
        `no signing key ${named(kid)} in the issuer's key set (next fetch allowed in ${Math.ceil(wait / 1000)} s)`,
      );
    }
    if (published.key === undefined) throw new Denial("key-not-found", `the key ${named(kid)} ${published.refused}`);
    if (published.alg !== undefined && published.alg !== alg) {
      throw new Denial(
        "algorithm-not-allowed",
        `the key ${named(kid)} is published for ${forLog(published.alg, 16)}, the token says ${alg}`,
      );
    }
    return published.key;
  }

  private issuerKeys(jwksUri: string): IssuerKeys {
    let issuer = this.issuers.get(jwksUri);
    if (issuer === undefined) {
      issuer = { client: jwksClient(jwksUri, this.options.timeoutMs, this.options.maxBytes), fetchedAt: -Infinity, attemptedAt: -Infinity };
      this.issuers.set(jwksUri, issuer);
    }
    return issuer;
  }

  private age(issuer: IssuerKeys): number {
    return this.now() - issuer.fetchedAt;
  }

  /** Joins the fetch in flight, or starts one unless the cooldown forbids it. Never rejects. */
  private refresh(jwksUri: string, issuer: IssuerKeys): Promise<void> {
    if (issuer.inFlight !== undefined) return issuer.inFlight;
    const started = this.now();
    if (started < issuer.attemptedAt + this.options.cooldownMs) return Promise.resolve();
    issuer.attemptedAt = started;
    issuer.inFlight = fetchKeySet(issuer.client)
      .then(
        (set) => {
          Object.assign(issuer, { set, fetchedAt: started, failure: undefined });
        },
        (err: Error) => {
          issuer.failure = `JWKS fetch failed: ${err.message}`;
          this.logger?.warn({
            outcome: "jwks-fetch-failed",
            jwksUri,
            reason: issuer.failure,
            lastSetAgeSeconds: issuer.set === undefined ? undefined : Math.round(this.age(issuer) / 1000),
          });
        },
      )
      .finally(() => {
        issuer.inFlight = undefined;
      });
    return issuer.inFlight;
  }
}

/** The key a token names: by `kid`, or without one the set's only key (jwks-rsa's rule: ambiguous otherwise). */
function find(set: KeySet, kid: string | undefined): PublishedKey | undefined {
  if (kid !== undefined) return set.byKid.get(kid);
  return set.all.length === 1 ? set.all[0] : undefined;
}
