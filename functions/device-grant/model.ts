/**
 * The device authorization grant's shared vocabulary (RFC 8628 on API Gateway, Lambda and DynamoDB): the
 * settings a stack chooses, the registered clients, one authorization request's record and its states,
 * and the ports the pure core talks through (store, clock, randomness, upstream IdP). Implementations
 * live next to this file; the core depends on these types only.
 */

/** Which tokens the device receives: ACCESS is required (RFC 6749 §5.1 makes `access_token` mandatory). */
export type TokenKind = "ACCESS" | "ID" | "REFRESH";

export interface DeviceGrantSettings {
  /**
   * Lifetime of a device code and its user code, in seconds (default 1,800; 60 to 86,400; the AWS device-grant
   * sample's `CODE_EXPIRATION`). After it a poll gets `expired_token` and the verification page refuses the code.
   */
  codeExpirySeconds: number;
  /**
   * Characters of the device code's secret, in the sample's format language (docs/device-grant.md#format-letters):
   * `#` digits, `a`/`A` letters, `b`/`B` consonants, `!` specials (default `#aA`). With `deviceCodeLength` it sets the
   * code's entropy, which must reach 128 bits unless `allowWeakCodes`.
   */
  deviceCodeFormat: string;
  /** Characters in the device code's secret (default 64; 1 to 512); see `deviceCodeFormat`. */
  deviceCodeLength: number;
  /**
   * Characters of the user code, in the same format language (default `B`: the 20 upper-case consonants of RFC 8628
   * §6.1). With `userCodeLength` it sets the entropy, at least 30 bits unless
   * `allowWeakCodes`.
   */
  userCodeFormat: string;
  /** Characters in the user code, which a person types (default 8; 1 to 32); see `userCodeFormat`. */
  userCodeLength: number;
  /**
   * Display mask for the user code: each `#` takes the next character, e.g. `####-####` → `BCDF-GHJK` (default
   * `####-####`; when only `userCodeLength` is set, groups of four). Entry ignores dashes and spaces.
   */
  userCodeMask: string;
  /**
   * Minimum seconds between polls, RFC 8628 §3.2 `interval` (default 5; 1 to 60). A poll sooner gets `slow_down`
   * and the device's interval grows by 5 seconds.
   */
  pollingIntervalSeconds: number;
  /**
   * Tokens handed to the device: `ACCESS` (required), `REFRESH`, `ID` (default `["ACCESS", "REFRESH"]`; the
   * sample's `RESULT_TOKEN_SET`, `ACCESS+REFRESH`, is read too). With `ID` the component creates a KMS key and the
   * service issues its own ID tokens.
   */
  resultTokenSet: TokenKind[];
  /**
   * Per client IP per `attemptWindowSeconds` (default 10; 1 to 10,000): code entries and Approve/Deny answers,
   * charged before the look-up (so concurrency cannot exceed it) and given back when they end in a completed
   * sign-in (`rate-limit.ts`). Past it the page answers 429.
   */
  maxFailedEntriesPerIp: number;
  /**
   * Approvals of one user code that may fail (sign-ins started that never came back with a code) before the code
   * is locked (default 5; 1 to 100).
   */
  maxFailedAttemptsPerCode: number;
  /** The window of `maxFailedEntriesPerIp`, in seconds (default 900; 60 to 86,400). */
  attemptWindowSeconds: number;
  /**
   * How long an Approve keeps other browsers from approving or denying the same code (RFC 8628 §5.5), in seconds
   * (default 300; 30 to 3,600): long enough to sign in at the IdP, short enough that an abandoned approval frees it.
   */
  approvalLockSeconds: number;
  /** Accept codes below the entropy minimums (128 bits device code, 30 bits user code). Explicit, never default (`false`). */
  allowWeakCodes: boolean;
}

export interface ClientRegistration {
  clientId: string;
  /** Shown on the confirmation page ("Living-room TV wants to…"). */
  name: string;
  /** Public clients send no secret; confidential ones authenticate with client_secret_basic or _post. */
  type: "public" | "confidential";
  /** Scopes this client may request; a request without `scope` gets all of them. */
  scopes: string[];
}

/** Where an authorization request stands. */
export type RequestStatus = "pending" | "approving" | "approved" | "denied" | "redeemed";

/**
 * One authorization request: one item, keyed by its normalised user code (functions/device-grant/table.ts).
 * Every transition is one conditional write on the fields it depends on; nothing carries a version, so a
 * poll (which writes only its own bookkeeping) can never make a user's click lose a write.
 */
export interface DeviceRequest {
  /** Normalised user code (upper case, no dashes or spaces): the request's key, reserved until its retention ends. */
  userCode: string;
  /** SHA-256 (hex) of the device code's secret part (`codes.ts#splitCredential`): the code itself is never stored. */
  deviceSecretHash: string;
  clientId: string;
  scopes: string[];
  status: RequestStatus;
  /** Epoch seconds. */
  createdAt: number;
  expiresAt: number;
  /** Current polling interval, seconds (raised by 5 on every `slow_down`). */
  interval: number;
  /** Milliseconds a poll must come after the previous one: the interval less the tolerated timer drift. */
  pollSpacingMs: number;
  /** Epoch milliseconds before which a poll is too early (`slow_down`); absent before the first poll. */
  nextPollAt?: number;
  /** Requesting device, for the confirmation page. */
  deviceIp: string;
  /** What the device says it runs: the first product of its User-Agent, short (`http.ts#deviceSoftware`), or "". */
  deviceSoftware: string;
  /** Approval lock (RFC 8628 §5.5): who holds it (`browser-binding.ts#approverId`) and until when (epoch ms). */
  approver?: string;
  approvalUntil?: number;
  /** Set on approve: the hash of the single-use `state` (bound to the browser) and the PKCE verifier. */
  stateHash?: string;
  pkceVerifier?: string;
  /** Set by the callback, removed at redemption: the upstream authorization code. */
  authorizationCode?: string;
  /** Approvals started (each Approve that sent a browser to the IdP); capped by `maxFailedAttemptsPerCode`. */
  approvals: number;
  /** The rate-limit counter the last Approve was charged on (`<key>#<windowStart>`): refunded when the sign-in completes. */
  approvalCharge?: string;
}

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export interface RandomSource {
  /** `n` bytes from a CSPRNG. */
  bytes(n: number): Buffer;
}

/** Tokens as the upstream IdP's token endpoint returns them. */
export interface UpstreamTokens {
  access_token: string;
  token_type: string;
  expires_in?: number;
  id_token?: string;
  refresh_token?: string;
  scope?: string;
}

export type UpstreamResult =
  | { ok: true; tokens: UpstreamTokens }
  /** The IdP's own OAuth error (e.g. `invalid_grant`), passed on to the device. */
  | { ok: false; status: number; error: string; description?: string };

/** The IdP the user signs in at (Cognito or any OIDC provider), as the core needs it. */
export interface UpstreamIdp {
  /** Where the user's browser goes on Approve (authorization code with PKCE S256). */
  authorizationUrl(params: { clientId: string; redirectUri: string; state: string; codeChallenge: string; scopes: string[] }): string;
  /** Exchanges the code with the device's own client credentials and the PKCE verifier. */
  exchangeCode(params: {
    clientId: string;
    clientSecret?: string;
    code: string;
    redirectUri: string;
    codeVerifier: string;
  }): Promise<UpstreamResult>;
  /** Forwards a refresh with the device's own client credentials. */
  refresh(params: { clientId: string; clientSecret?: string; refreshToken: string; scopes?: string[] }): Promise<UpstreamResult>;
}

/** A request as a transition found it when its condition failed: `undefined` when there is none. */
export type Refusal = { written: false; current: DeviceRequest | undefined };
/** The outcome of one conditional write that returns the request (after the write, or as it stood when refused). */
export type Transition = { written: true; request: DeviceRequest } | Refusal;

/** What identifies a device's request at the token endpoint: its key, its client and its secret's hash. */
export interface DeviceCredential {
  userCode: string;
  clientId: string;
  deviceSecretHash: string;
}

/**
 * Persistence of authorization requests (functions/device-grant/table.ts). Every state change is ONE
 * conditional write on exactly the fields it depends on, so two concurrent polls can never both redeem, an
 * approve racing a deny leaves one outcome, and a poll never conflicts with a user's click. A refused write
 * says how the request stood (DynamoDB returns it with the refusal, or the store reads it), so callers can
 * answer precisely. Records outlive their expiry (a late poll must get `expired_token`); callers always
 * compare `expiresAt` with the clock themselves (TTL deletion is lazy, and dynalite has none).
 */
export interface Store {
  /** Stores a new request; "conflict" when its user code is still reserved by another request (draw a new one). */
  create(request: DeviceRequest, nowSeconds: number): Promise<"ok" | "conflict">;
  /** The request holding this normalised user code, if any (expired ones included). */
  getByUserCode(userCode: string): Promise<DeviceRequest | undefined>;
  /**
   * A poll of an approved request, or of a pending or approving one that is not too early: sets `nextPollAt`
   * to `nowMs + pollSpacingMs`. Conditioned on the credential, the status, expiry and `nextPollAt`.
   */
  poll(credential: DeviceCredential, nowMs: number): Promise<Transition>;
  /** `slow_down`: the interval raised to `interval` (from `fromInterval`, so concurrent early polls raise it once). */
  slowDown(
    credential: DeviceCredential,
    change: { fromInterval: number; interval: number; pollSpacingMs: number; nowMs: number },
  ): Promise<boolean>;
  /** approved → redeemed, removing the upstream code and PKCE verifier and returning them: exactly one caller wins. */
  redeem(credential: DeviceCredential): Promise<{ authorizationCode: string; pkceVerifier: string } | undefined>;
  /** redeemed → approved with the secrets put back, after the upstream could not be reached. */
  restoreApproval(userCode: string, secrets: { authorizationCode: string; pkceVerifier: string }): Promise<boolean>;
  /**
   * pending (or approving whose lock is this approver's or has expired) → approving, taking the approval lock
   * until `approvalUntil`, with a new state and verifier; refused when expired, locked by another browser, or
   * after `maxApprovals` approvals.
   */
  approve(
    userCode: string,
    approval: {
      createdAt: number;
      approver: string;
      approvalUntil: number;
      stateHash: string;
      pkceVerifier: string;
      maxApprovals: number;
      /** The counter this Approve was charged on, kept for the refund when the sign-in completes. */
      charge: string;
    },
    now: { ms: number; seconds: number },
  ): Promise<Transition>;
  /** pending (or approving as above) → denied. */
  deny(userCode: string, decision: { createdAt: number; approver: string }, now: { ms: number; seconds: number }): Promise<Transition>;
  /** approving → pending, releasing the lock: only the browser that holds it. */
  cancelApproval(userCode: string, decision: { createdAt: number; approver: string }): Promise<Transition>;
  /** The callback with a code: approving → approved, for the request whose `stateHash` this is. */
  completeApproval(userCode: string, stateHash: string, authorizationCode: string, nowSeconds: number): Promise<Transition>;
  /** The callback with an IdP error: approving → pending (or denied), releasing the lock and the state. */
  failApproval(userCode: string, stateHash: string, status: "pending" | "denied"): Promise<Transition>;
  /**
   * Adds one to a rate-limit counter (e.g. `ip#203.0.113.7`) in the window starting at `windowStart` (epoch
   * seconds) and returns the count after the increment. Atomic (`ADD`).
   */
  countAttempt(key: string, windowStart: number, expiresAt: number): Promise<number>;
  /** Takes up to `units` back from a counter (charged attempts that ended in a completed sign-in), never below zero. */
  refundAttempts(key: string, windowStart: number, units: number): Promise<void>;
}

/**
 * Where the service's own ID tokens are signed: a KMS key on AWS (`kms-signer.ts`), a local key in the
 * sandbox and the tests (`signer.ts`). The private key never leaves it.
 */
export interface TokenSigner {
  /** The JWS `alg`. */
  readonly algorithm: "RS256" | "ES256";
  /** The public key as published at the JWKS route, with `kid`, `alg` and `use`. */
  readonly publicJwk: PublicJwk;
  /** Signs the JWS signing input (`header.payload`); returns the JWS signature bytes (ECDSA as raw r‖s). */
  sign(signingInput: Buffer): Promise<Buffer>;
}

/** A public JWK as the JWKS route publishes it (RFC 7517). */
export interface PublicJwk {
  kty: "RSA" | "EC";
  kid: string;
  alg: string;
  use: "sig";
  n?: string;
  e?: string;
  crv?: string;
  x?: string;
  y?: string;
}
