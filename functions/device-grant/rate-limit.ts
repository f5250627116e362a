/**
 * The rate limit on code entry (RFC 8628 §5.1: a user code is short, so guessing must be slowed). Failed
 * entries are counted per client IP and per typed code (its SHA-256, never the code) in fixed windows of
 * `attemptWindowSeconds`; a bad CSRF token on a decision counts against the code. The counters live in the
 * store and expire with the window after next.
 */
import { createHash } from "node:crypto";
import { type GrantContext } from "./context";

export interface RateWindow {
  start: number;
  expiresAt: number;
  /** What the rate-limited page tells the user to wait, at least a minute. */
  minutesLeft: number;
}

export function rateWindow(context: GrantContext, nowSeconds: number): RateWindow {
  const w = context.config.settings.attemptWindowSeconds;
  const start = Math.floor(nowSeconds / w) * w;
  return { start, expiresAt: start + 2 * w, minutesLeft: Math.max(1, Math.ceil((start + w - nowSeconds) / 60)) };
}

export const ipKey = (ip: string) => `ip#${ip}`;
export const codeKey = (userCode: string) => `code#${createHash("sha256").update(userCode, "utf8").digest("hex")}`;

export async function isRateLimited(
  context: GrantContext,
  ip: string,
  userCode: string | undefined,
  windowStart: number,
): Promise<boolean> {
  const { store, config } = context;
  const [ipCount, codeCount] = await Promise.all([
    store.failureCount(ipKey(ip), windowStart),
    userCode === undefined ? Promise.resolve(0) : store.failureCount(codeKey(userCode), windowStart),
  ]);
  return ipCount >= config.settings.maxFailedEntriesPerIp || codeCount >= config.settings.maxFailedAttemptsPerCode;
}

export async function countFailure(context: GrantContext, keys: string[], window: { start: number; expiresAt: number }): Promise<void> {
  await Promise.all(keys.map((key) => context.store.countFailure(key, window.start, window.expiresAt)));
}
