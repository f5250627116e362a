/**
 * `login()`: the OAuth 2.0 device authorization grant (RFC 8628) from the device's side. It asks the
 * device authorization endpoint for a code, hands it to `onCode` for display, then polls the token endpoint
 * until the user approves, denies or the code runs out: waiting `interval` seconds before every poll,
 * 5 more after each `slow_down`, and backing off exponentially (up to a minute) while the endpoint is
 * unreachable or failing. The tokens end up in the token file.
 */
import { AccessDeniedError, DeviceClientError, ExpiredCodeError, LoginError, ProtocolError } from "./errors";
import { networkReason } from "./http";
import { clientProblem, describeAnswer, type OAuthAnswer, postForm, readTokenResponse } from "./oauth-request";
import { type ClientContext } from "./options";
import { toStoredTokens } from "./access-tokens";
import { writeTokenFile } from "./token-file";
import { DEFAULT_POLLING_INTERVAL_SECONDS, DEVICE_CODE_GRANT, SLOW_DOWN_STEP_SECONDS } from "../functions/shared/oauth";

/** Longest wait between polls after network errors (exponential back-off, RFC 8628 §3.5). */
const MAX_BACKOFF_SECONDS = 60;

export interface DeviceCode {
  userCode: string;
  verificationUri: string;
  verificationUriComplete?: string;
  /** Seconds the code stays valid, as the server said. */
  expiresIn: number;
  /** Epoch milliseconds when it expires, by this client's clock. */
  expiresAt: number;
  /** Seconds between polls, as the server said (or 5). */
  interval: number;
}

export interface LoginOptions {
  /** Shows the code to the user; awaited before the first poll. */
  onCode: (code: DeviceCode) => void | Promise<void>;
  /** Called before each poll with the interval in force (after any `slow_down`). */
  onPoll?: (poll: { attempt: number; intervalSeconds: number }) => void;
  signal?: AbortSignal;
}

export interface LoginResult {
  expiresAt?: number;
  scope?: string;
  refreshable: boolean;
}

/** What one poll of the token endpoint means for the loop; refusals that end the login are thrown instead. */
type PollOutcome =
  { next: "tokens"; answer: OAuthAnswer } | { next: "poll-again" } | { next: "slow-down" } | { next: "back-off"; failure: string };

/**
 * Runs the device flow to the end: the tokens are in the token file when it resolves. Rejects with
 * `AccessDeniedError`, `ExpiredCodeError`, another `LoginError` (the server's error code), or a
 * `ProtocolError`.
 */
export async function login(context: ClientContext, options: LoginOptions): Promise<LoginResult> {
  const { deviceCode, code } = await requestDeviceCode(context, options.signal);
  await options.onCode(code);
  return pollForTokens(context, deviceCode, code, options);
}

async function requestDeviceCode(
  context: ClientContext,
  signal: AbortSignal | undefined,
): Promise<{ deviceCode: string; code: DeviceCode }> {
  const endpoint = context.deviceAuthorizationEndpoint;
  let started: OAuthAnswer;
  try {
    started = await postForm(context, endpoint, context.options.scope ? { scope: context.options.scope } : {}, signal);
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new DeviceClientError(`Cannot reach the device grant service at ${endpoint}: ${networkReason(err)}`);
  }
  if (started.status !== 200) {
    throw (
      clientProblem(context.options, started, endpoint) ??
      (typeof started.body?.error === "string"
        ? new LoginError(started.body.error, `The device authorization request was refused: ${describeAnswer(started)}`)
        : new ProtocolError(`The device authorization endpoint ${endpoint} answered ${describeAnswer(started)}`))
    );
  }
  const b = started.body ?? {};
  const missing = ["device_code", "user_code", "verification_uri"].filter((k) => typeof b[k] !== "string" || b[k] === "");
  if (typeof b.expires_in !== "number" || !(b.expires_in > 0)) missing.push("expires_in");
  if (missing.length > 0) throw new ProtocolError(`The device authorization response lacks ${missing.join(", ")} (RFC 8628 §3.2)`);
  const expiresIn = b.expires_in as number;
  const code: DeviceCode = {
    userCode: b.user_code as string,
    verificationUri: b.verification_uri as string,
    ...(typeof b.verification_uri_complete === "string" && { verificationUriComplete: b.verification_uri_complete }),
    expiresIn,
    expiresAt: context.now() + expiresIn * 1000,
    interval: typeof b.interval === "number" && b.interval > 0 ? b.interval : DEFAULT_POLLING_INTERVAL_SECONDS,
  };
  return { deviceCode: b.device_code as string, code };
}

async function pollForTokens(context: ClientContext, deviceCode: string, code: DeviceCode, options: LoginOptions): Promise<LoginResult> {
  const { signal } = options;
  let interval = code.interval;
  let backoff = 0;
  let lastFailure: string | undefined;
  for (let attempt = 1; ; attempt++) {
    // Wait before every poll, the first included (the user cannot have approved yet), as openid-client does.
    const wait = backoff > 0 ? backoff : interval;
    options.onPoll?.({ attempt, intervalSeconds: interval });
    await context.sleep(wait * 1000, signal);
    if (context.now() >= code.expiresAt) break;
    const outcome = await pollOnce(context, deviceCode, signal);
    if (outcome.next === "tokens") return saveTokens(context, outcome.answer);
    if (outcome.next === "back-off") {
      // RFC 8628 §3.5: back off exponentially on connection failures, up to a minute.
      backoff = Math.min(Math.max(backoff, interval) * 2, MAX_BACKOFF_SECONDS);
      lastFailure = outcome.failure;
      continue;
    }
    backoff = 0;
    if (outcome.next === "slow-down") interval += SLOW_DOWN_STEP_SECONDS;
  }
  throw new ExpiredCodeError(lastFailure ? `the code ran out while ${lastFailure}` : "the code ran out while waiting for approval");
}

async function pollOnce(context: ClientContext, deviceCode: string, signal: AbortSignal | undefined): Promise<PollOutcome> {
  let answer: OAuthAnswer;
  try {
    answer = await postForm(context, context.tokenEndpoint, { grant_type: DEVICE_CODE_GRANT, device_code: deviceCode }, signal);
  } catch (err) {
    if (signal?.aborted) throw err;
    return { next: "back-off", failure: `the token endpoint was unreachable (${networkReason(err)})` };
  }
  if (answer.status === 200) return { next: "tokens", answer };
  const error = typeof answer.body?.error === "string" ? answer.body.error : undefined;
  const description = typeof answer.body?.error_description === "string" ? answer.body.error_description : undefined;
  if (error === "authorization_pending") return { next: "poll-again" };
  if (error === "slow_down") return { next: "slow-down" };
  if (error === "access_denied") throw new AccessDeniedError(description);
  if (error === "expired_token") throw new ExpiredCodeError(description);
  if (answer.status >= 500 || error === "temporarily_unavailable") {
    return { next: "back-off", failure: `the token endpoint answered ${describeAnswer(answer)}` };
  }
  const refusedClient = clientProblem(context.options, answer, context.tokenEndpoint);
  if (refusedClient) throw refusedClient;
  if (error) throw new LoginError(error, `The token endpoint refused the device code: ${describeAnswer(answer)}`);
  throw new ProtocolError(`The token endpoint ${context.tokenEndpoint} answered ${describeAnswer(answer)}`);
}

async function saveTokens(context: ClientContext, answer: OAuthAnswer): Promise<LoginResult> {
  const stored = toStoredTokens(context, readTokenResponse(answer, "device code"), undefined);
  await writeTokenFile(context.tokenFile, stored);
  return {
    ...(stored.expiresAt !== undefined && { expiresAt: stored.expiresAt }),
    ...(stored.scope && { scope: stored.scope }),
    refreshable: stored.refreshToken !== undefined,
  };
}
