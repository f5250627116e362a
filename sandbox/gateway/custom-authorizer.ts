/**
 * IoT Core's side of a custom authorizer, from credentials to a decision:
 *
 * 1. refuses a missing or unknown authorizer name (and a credential given twice);
 * 2. with token signing on, verifies the RSA-SHA256 signature (standard base64) over the exact token with
 *    the authorizer's public keys (any of its named keys, as during a key rotation: the request names no key;
 *    docs/aws-iot-custom-auth.md#token-signing) and refuses a bad one WITHOUT invoking the authorizer; a signature wrapped
 *    over several lines (`openssl base64` without `-A`) is refused too, as IoT refuses it, with a `detail`
 *    saying why for the gateway's log;
 * 3. builds IoT's authorizer event and calls the authorizer (5 s budget by default, as IoT allows); refuses
 *    when it fails, times out, or gives an answer `checkResponse` rejects.
 *
 * It counts authorizer calls and signature rejections, so that tests can see the authorizer was spared.
 */
import { createPublicKey, type KeyObject, verify } from "node:crypto";
import { STANDARD_BASE64 } from "../../functions/authorizer/algorithms";
import { type AuthorizerResponse } from "../../functions/authorizer/authorizer";
import { checkResponse, type Decision } from "./authorizer-response";
import { type Credentials } from "./credentials";
import { SIGNATURE_LINE_BREAKS } from "./log";

export type Authorizer = (event: unknown) => Promise<AuthorizerResponse>;

export interface CustomAuthorizerOptions {
  authorizer: Authorizer;
  /** The name clients must send in `x-amz-customauthorizer-name`. */
  authorizerName: string;
  /** The token signing public key (PEM); absent, with `signingPublicKeys` absent too, means signing is disabled. */
  signingPublicKeyPem?: string;
  /** Named token signing public keys (PEM), as the authorizer's `tokenSigningPublicKeys`; with `signingPublicKeyPem`, both count. */
  signingPublicKeys?: Readonly<Record<string, string>>;
  timeoutMs: number;
}

/** A decision, and on success the event to send again at each refresh. */
export type Authentication = Decision & { event?: Record<string, unknown> };

/** The keys as `KeyObject`s, by name; a PEM that is not a public key throws, as IoT refuses it. */
function publicKeys(pem: string | undefined, named: Readonly<Record<string, string>> = {}): Map<string, KeyObject> {
  const keys = new Map(Object.entries(named).map(([name, value]) => [name, createPublicKey(value)]));
  if (pem !== undefined) keys.set("", createPublicKey(pem));
  return keys;
}

export class CustomAuthorizer {
  /** Undefined when signing is off; with signing on, at least one key. */
  private signingKeys: Map<string, KeyObject> | undefined;
  private calls = 0;
  private signatureFailures = 0;

  constructor(private readonly options: CustomAuthorizerOptions) {
    const keys = publicKeys(options.signingPublicKeyPem, options.signingPublicKeys);
    this.signingKeys = keys.size > 0 ? keys : undefined;
  }

  /**
   * Replaces the token signing keys, as `UpdateAuthorizer` does: the next request is checked against the new set.
   * Signing cannot be switched on or off this way (IoT cannot either), so the set may not be empty.
   */
  setSigningPublicKeys(named: Readonly<Record<string, string>>): void {
    if (this.signingKeys === undefined) throw new Error("token signing is off for this authorizer; it cannot take keys");
    const keys = publicKeys(undefined, named);
    if (keys.size === 0) throw new Error("an authorizer with token signing on needs at least one key");
    this.signingKeys = keys;
  }

  /** How many times the authorizer has been invoked (connections, HTTP requests and refreshes). */
  invocations(): number {
    return this.calls;
  }

  /** How many requests were refused because the token signature did not verify (authorizer not invoked). */
  signatureRejections(): number {
    return this.signatureFailures;
  }

  /** The credentials in, a decision out; the authorizer only runs for a well-signed token. */
  async authenticate(credentials: Credentials, event: Record<string, unknown>): Promise<Authentication> {
    if (credentials.repeated !== undefined) return { ok: false, reason: "credential-repeated" };
    if (credentials.authorizerName === undefined) return { ok: false, reason: "authorizer-name-missing" };
    if (credentials.authorizerName !== this.options.authorizerName) return { ok: false, reason: "authorizer-name-unknown" };
    let signatureVerified = false;
    if (this.signingKeys !== undefined) {
      if (credentials.token === undefined) return { ok: false, reason: "token-missing" };
      if (credentials.signature === undefined) {
        this.signatureFailures++;
        return { ok: false, reason: "signature-missing" };
      }
      const signature = credentials.signature;
      const token = Buffer.from(credentials.token, "utf8");
      const bytes = Buffer.from(signature, "base64");
      const valid = STANDARD_BASE64.test(signature) && [...this.signingKeys.values()].some((key) => verify("sha256", token, key, bytes));
      if (!valid) {
        this.signatureFailures++;
        return { ok: false, reason: "signature-invalid", ...(/[\r\n]/.test(signature) && { detail: SIGNATURE_LINE_BREAKS }) };
      }
      signatureVerified = true;
    }
    const fullEvent = { ...(credentials.token !== undefined && { token: credentials.token }), signatureVerified, ...event };
    const decision = await this.invoke(fullEvent);
    return { ...decision, event: fullEvent };
  }

  /** Calls the authorizer with a complete event: the first call's, or the same one again at a refresh. */
  async invoke(event: Record<string, unknown>): Promise<Decision> {
    this.calls++;
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("the authorizer did not answer in time")), this.options.timeoutMs);
        timer.unref();
      });
      return checkResponse(await Promise.race([this.options.authorizer(event), timeout]));
    } catch {
      return { ok: false, reason: "authorizer-failed" };
    } finally {
      clearTimeout(timer);
    }
  }
}
