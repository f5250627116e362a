/**
 * Signing keys of RSA issuers, fetched from their JWKS URI with jwks-rsa and held as `KeyObject`s.
 *
 * The hot path never touches the network and never parses a PEM: a verified key stays in a per-issuer map
 * for `cacheMaxAgeMs`. A miss goes to jwks-rsa, which is configured for IoT's 5 s budget: a hard
 * deadline on the whole request (not jwks-rsa's default 30 s idle timeout), a cap on the response size,
 * and a rate limit, so a flood of tokens with made-up `kid`s cannot turn the authorizer into a client
 * hammering the IdP. Concurrent misses for the same key share one fetch.
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import http from "node:http";
import https from "node:https";
import jwksRsa from "jwks-rsa";
import { Denial } from "./errors";

export interface JwksOptions {
  /** Deadline for one JWKS request, connection to last byte. */
  timeoutMs: number;
  /** Largest JWKS document accepted. */
  maxBytes: number;
  /** How long a key is trusted before it is fetched again. */
  cacheMaxAgeMs: number;
  /** JWKS requests allowed per issuer per minute (cache misses only). */
  requestsPerMinute: number;
}

/** RSA keys shorter than this are refused, as jsonwebtoken 9 and NIST SP 800-131A do. */
export const MIN_RSA_BITS = 2048;

export const DEFAULT_JWKS_OPTIONS: JwksOptions = {
  timeoutMs: 1_500,
  maxBytes: 64 * 1024,
  cacheMaxAgeMs: 10 * 60 * 1000,
  requestsPerMinute: 10,
};

/** Where the verifier gets an RSA issuer's key: the JWKS client in production, anything in tests. */
export interface KeySource {
  /** Resolves the key for `kid` (absent when the token names none), or rejects with a `Denial`. */
  getKey(jwksUri: string, kid: string | undefined, alg: string): Promise<KeyObject>;
}

/** GET a JSON document with a hard deadline and a size cap; what jwks-rsa's `fetcher` option expects. */
export function boundedJsonFetch(uri: string, timeoutMs: number, maxBytes: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const url = new URL(uri);
    const get = url.protocol === "https:" ? https.get : http.get;
    const request = get(url, { headers: { accept: "application/json" } }, (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        fail(new Error(`JWKS endpoint answered HTTP ${response.statusCode}`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      response.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) {
          fail(new Error(`JWKS document larger than ${maxBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      response.on("end", () => {
        if (done) return;
        let document: unknown;
        try {
          document = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        } catch {
          fail(new Error("JWKS document is not JSON"));
          return;
        }
        finish(() => resolve(document));
      });
      response.on("error", fail);
    });
    let done = false;
    const timer = setTimeout(() => fail(new Error(`JWKS request took longer than ${timeoutMs} ms`)), timeoutMs);
    function finish(settle: () => void): void {
      done = true;
      clearTimeout(timer);
      settle();
    }
    function fail(error: Error): void {
      if (done) return;
      finish(() => reject(error));
      request.destroy();
    }
    request.on("error", fail);
  });
}

interface CachedKey {
  key: KeyObject;
  /** The JWK's own `alg`, when it declares one. */
  alg: string | undefined;
  expiresAt: number;
}

export class JwksKeySource implements KeySource {
  private readonly clients = new Map<string, jwksRsa.JwksClient>();
  private readonly keys = new Map<string, CachedKey>();
  private readonly pending = new Map<string, Promise<CachedKey>>();

  constructor(
    private readonly options: JwksOptions = DEFAULT_JWKS_OPTIONS,
    private readonly now: () => number = Date.now,
  ) {}

  async getKey(jwksUri: string, kid: string | undefined, alg: string): Promise<KeyObject> {
    const id = `${jwksUri}#${kid ?? ""}`;
    let entry = this.keys.get(id);
    if (entry === undefined || entry.expiresAt <= this.now()) {
      let inFlight = this.pending.get(id);
      if (inFlight === undefined) {
        inFlight = this.fetch(jwksUri, kid).finally(() => this.pending.delete(id));
        this.pending.set(id, inFlight);
      }
      entry = await inFlight;
      this.keys.set(id, entry);
    }
    if (entry.alg !== undefined && entry.alg !== alg) {
      throw new Denial("algorithm-not-allowed", `the key ${kid ?? "(no kid)"} is published for ${entry.alg}, the token says ${alg}`);
    }
    return entry.key;
  }

  private client(jwksUri: string): jwksRsa.JwksClient {
    let client = this.clients.get(jwksUri);
    if (client === undefined) {
      const { timeoutMs, maxBytes, cacheMaxAgeMs, requestsPerMinute } = this.options;
      client = jwksRsa({
        jwksUri,
        cache: true,
        cacheMaxAge: cacheMaxAgeMs,
        rateLimit: true,
        jwksRequestsPerMinute: requestsPerMinute,
        timeout: timeoutMs,
        fetcher: (uri: string) => boundedJsonFetch(uri, timeoutMs, maxBytes) as Promise<{ keys: jwksRsa.JSONWebKey[] }>,
      });
      this.clients.set(jwksUri, client);
    }
    return client;
  }

  private async fetch(jwksUri: string, kid: string | undefined): Promise<CachedKey> {
    let signingKey: jwksRsa.SigningKey;
    try {
      signingKey = await this.client(jwksUri).getSigningKey(kid);
    } catch (err) {
      const name = (err as Error).name;
      if (name === "SigningKeyNotFoundError") {
        throw new Denial(
          "key-not-found",
          `no signing key ${kid === undefined ? "without kid" : `with kid ${kid}`} at the issuer's JWKS URI`,
        );
      }
      throw new Denial("jwks-unavailable", `JWKS fetch failed: ${(err as Error).message}`);
    }
    const key = createPublicKey(signingKey.getPublicKey());
    if (key.asymmetricKeyType !== "rsa") {
      throw new Denial("algorithm-not-allowed", `the key ${kid ?? "(no kid)"} is ${key.asymmetricKeyType}, not RSA`);
    }
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) {
      throw new Denial("key-not-found", `the key ${kid ?? "(no kid)"} has ${bits} bits; at least ${MIN_RSA_BITS} are required`);
    }
    return { key, alg: signingKey.alg || undefined, expiresAt: this.now() + this.options.cacheMaxAgeMs };
  }
}
