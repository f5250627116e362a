/**
 * Stands in for `lru-memoizer`, `lru-cache` and `limiter` in the authorizer's bundle (`../bundle-aliases.json`):
 * jwks-rsa loads them for its per-`kid` cache and its rate limiter, which the authorizer turns off (`cache: false`,
 * `rateLimit: false`) because it holds each issuer's whole key set itself and allows one fetch per cooldown
 * (`../jwks.ts`). They are 30 KiB of the bundle that would never run. Loading this module costs nothing; using any
 * of it throws, so turning jwks-rsa's cache or rate limit back on fails loudly instead of silently.
 */
function notBundled(): never {
  throw new Error("not in the authorizer's bundle: jwks-rsa's cache and rate limit are off (functions/authorizer/jwks.ts)");
}

export = Object.assign(notBundled, { LRUCache: notBundled, RateLimiter: notBundled });
