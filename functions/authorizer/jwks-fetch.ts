/**
 * One fetch of an issuer's whole key set, within IoT's 5 s budget: jwks-rsa's `getSigningKeys` (the project's JWKS
 * client; it fetches and parses the whole set) through a fetcher with a hard deadline on the whole request (not
 * jwks-rsa's 30 s idle timeout) and a cap on the body, then every key turned into a `KeyObject` once, so the hot
 * path never parses a key. Keys the authorizer will not use (not RSA, under 2,048 bits) are kept with the reason,
 * so a token naming one is told why. When and how often this runs is `jwks.ts`'s business.
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import http from "node:http";
import https from "node:https";
import type jwksRsa from "jwks-rsa";
import { JwksClient } from "jwks-rsa/src/JwksClient";
import { forLog } from "./logging";

/** RSA keys shorter than this are refused, as jsonwebtoken 9 and NIST SP 800-131A do. */
export const MIN_RSA_BITS = 2048;

/** A key of the set: usable (`key`), or published but refused (`refused` says why). */
export interface PublishedKey {
  key?: KeyObject;
  /** The JWK's own `alg`, when it declares one: a token must then use exactly that algorithm. */
  alg?: string;
  refused?: string;
}

export interface KeySet {
  byKid: ReadonlyMap<string, PublishedKey>;
  /** Every signing key, with or without a `kid`: a token without `kid` may use the only one, if there is one. */
  all: readonly PublishedKey[];
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

/** A jwks-rsa client for one JWKS URI with its own cache and rate limit off: `jwks.ts` does both, per whole set. */
export function jwksClient(jwksUri: string, timeoutMs: number, maxBytes: number): jwksRsa.JwksClient {
  return new JwksClient({
    jwksUri,
    cache: false,
    rateLimit: false,
    timeout: timeoutMs,
    fetcher: (uri: string) => boundedJsonFetch(uri, timeoutMs, maxBytes) as Promise<{ keys: jwksRsa.JSONWebKey[] }>,
  });
}

/** Why the authorizer will not verify with `key`, or `undefined` when it will. */
function refusal(key: KeyObject): string | undefined {
  if (key.asymmetricKeyType !== "rsa") return `is ${key.asymmetricKeyType}, not RSA`;
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  return bits < MIN_RSA_BITS ? `has ${bits} bits; at least ${MIN_RSA_BITS} are required` : undefined;
}

/** Fetches the whole set once; rejects with a short message (never the document) when it cannot. */
export async function fetchKeySet(client: jwksRsa.JwksClient): Promise<KeySet> {
  let signingKeys: jwksRsa.SigningKey[];
  try {
    signingKeys = await client.getSigningKeys();
  } catch (err) {
    throw new Error(forLog((err as Error)?.message) ?? "the JWKS could not be read");
  }
  const byKid = new Map<string, PublishedKey>();
  const all: PublishedKey[] = [];
  for (const signingKey of signingKeys) {
    const key = createPublicKey(signingKey.getPublicKey());
    const reason = refusal(key);
    const published: PublishedKey = reason === undefined ? { key, alg: signingKey.alg || undefined } : { refused: reason };
    all.push(published);
    // A kid published twice: the first one wins, as with jwks-rsa's own `getSigningKey`.
    if (signingKey.kid !== undefined && !byKid.has(signingKey.kid)) byKid.set(signingKey.kid, published);
  }
  return { byKid, all };
}
