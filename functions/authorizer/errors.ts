/**
 * Every reason the authorizer denies, by name. A denial's `check` is what the log line reports, so an
 * operator reading CloudWatch knows which check failed without ever seeing the token.
 */
export type Check =
  | "configuration"
  | "token-missing"
  | "token-ambiguous"
  | "token-too-large"
  | "token-malformed"
  | "critical-header"
  | "issuer-untrusted"
  | "algorithm-not-allowed"
  | "key-not-found"
  | "jwks-unavailable"
  | "signature-invalid"
  | "expiry-missing"
  | "expired"
  | "not-yet-valid"
  | "issued-in-future"
  | "audience-mismatch"
  | "client-id-mismatch"
  | "token-use-mismatch"
  | "principal-missing"
  | "unsafe-claim-value"
  | "no-grant-applies"
  | "policy-too-large"
  | "internal-error";

export class Denial extends Error {
  constructor(
    readonly check: Check,
    message: string,
  ) {
    super(message);
    this.name = "Denial";
  }
}
