/**
 * The device authorization grant's shared vocabulary (RFC 8628 on API Gateway, Lambda and DynamoDB): the
 * settings a stack chooses, the registered clients, one authorization request's record and its states,
 * and the ports the pure core talks through (store, clock, randomness, upstream IdP). Implementations
 * live next to this file; the core depends on these types only.
 */

/** Which tokens the device receives: ACCESS is required (RFC 6749 §5.1 makes `access_token` mandatory). */
export type TokenKind = "ACCESS" | "ID" | "REFRESH";

export interface DeviceGrantSettings {
  /** Lifetime of a device code and its user code, seconds (the AWS device-grant sample's `CODE_EXPIRATION`). */
  codeExpirySeconds: number;
  /** The sample's format language (docs/device-grant.md#format-letters): `#` digits, `a`/`A` letters, `b`/`B` consonants, `!` specials. */
  deviceCodeFormat: string;
  deviceCodeLength: number;
  userCodeFormat: string;
  userCodeLength: number;
  /** Display mask for the user code: each `#` takes the next character, e.g. `####-####` → `BCDF-GHJK`. */
  userCodeMask: string;
  /** Minimum seconds between polls, an integer ≥ 1 (RFC 8628 §3.2 `interval`). */
  pollingIntervalSeconds: number;
  /** Tokens handed to the device, e.g. `["ACCESS", "REFRESH"]` (the sample's `RESULT_TOKEN_SET` = `ACCESS+REFRESH`). */
  resultTokenSet: TokenKind[];
  /** Failed user-code entries allowed per client IP per `attemptWindowSeconds`. */
  maxFailedEntriesPerIp: number;
  /** Failed attempts allowed against one user code (wrong confirmation, replayed form) before it is locked. */
  maxFailedAttemptsPerCode: number;
  attemptWindowSeconds: number;
  /** Accept codes below the entropy minimums (128 bits device code, 30 bits user code). Explicit, never default. */
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

export interface DeviceRequest {
  /** SHA-256 (hex) of the device code: the code itself is never stored. */
  deviceCodeHash: string;
  /** Normalised user code (upper case, no dashes or spaces). */
  userCode: string;
  clientId: string;
  scopes: string[];
  status: RequestStatus;
  /** Epoch seconds. */
  createdAt: number;
  expiresAt: number;
  /** Current polling interval, seconds (raised by 5 on every `slow_down`). */
  interval: number;
  /** Epoch milliseconds of the last poll, absent before the first. */
  lastPollAt?: number;
  /** Requesting device, for the confirmation page. */
  deviceIp: string;
  deviceUserAgent: string;
  /** Set on approve: the single-use `state` (hash) and PKCE verifier for the upstream redirect. */
  stateHash?: string;
  pkceVerifier?: string;
  /** Set by the callback: the upstream authorization code and the redirect URI it was issued for. */
  authorizationCode?: string;
  /** Failed attempts against this code (rate limiting per code). */
  failedAttempts: number;
  /** Record version for conditional writes. */
  version: number;
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

/** Why a conditional write did not happen: the record moved on, or was never there. */
export type WriteOutcome = "ok" | "conflict" | "not-found";

/**
 * Persistence of authorization requests. Every state change is one conditional write (DynamoDB
 * `ConditionExpression` on status and version), so two concurrent polls can never both redeem and an
 * approve racing a deny leaves exactly one outcome. Records outlive their expiry (a late poll must get
 * `expired_token`); the implementation sets a TTL attribute for clean-up, and callers always compare
 * `expiresAt` with the clock themselves (TTL deletion is lazy, and dynalite has none).
 */
export interface Store {
  /**
   * Stores a new request. Fails with "conflict" when its user code is held by another live request
   * (the caller draws a new code and retries) or its device code hash already exists.
   */
  create(request: DeviceRequest, nowSeconds: number): Promise<WriteOutcome>;
  getByDeviceCodeHash(deviceCodeHash: string): Promise<DeviceRequest | undefined>;
  /** The request currently holding this normalised user code, if any (expired ones included). */
  getByUserCode(userCode: string): Promise<DeviceRequest | undefined>;
  /** The request an upstream `state` (by hash) belongs to. */
  getByStateHash(stateHash: string): Promise<DeviceRequest | undefined>;
  /**
   * Applies `changes` if the stored record still has `expected.version` (and `expected.status` when given),
   * incrementing the version. Indexes follow the changes (e.g. `stateHash` becomes findable).
   */
  update(
    deviceCodeHash: string,
    expected: { version: number; status?: RequestStatus },
    changes: Partial<Omit<DeviceRequest, "deviceCodeHash" | "version">>,
  ): Promise<WriteOutcome>;
  /**
   * Adds one failure to a rate-limit counter (e.g. `ip#203.0.113.7`) in the window starting at
   * `windowStart` (epoch seconds) and returns the count after the increment. Atomic (`ADD`).
   */
  countFailure(key: string, windowStart: number, expiresAt: number): Promise<number>;
  /** The current count of a rate-limit counter, 0 when absent. */
  failureCount(key: string, windowStart: number): Promise<number>;
}
