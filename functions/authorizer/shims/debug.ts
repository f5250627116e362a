/**
 * Stands in for the `debug` package in the authorizer's bundle (`../bundle-aliases.json`): jwks-rsa logs its
 * fetches through it, visible only with `DEBUG=jwks`. The authorizer logs what an operator needs itself (one
 * bounded line per refusal, one per failed JWKS fetch), so the 10 KiB of `debug` and its terminal probing are left
 * out of the Lambda. A namespace's logger is a function that does nothing and says it is disabled.
 */
function createDebug(): ((...args: unknown[]) => void) & { enabled: boolean } {
  return Object.assign(() => undefined, { enabled: false });
}

export = createDebug;
