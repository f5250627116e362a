/**
 * The per-address limit on code look-ups (RFC 8628 §5.1: a user code is short, so guessing must be slowed).
 * Each code entry and each Approve/Deny charges its client IP's counter for the current fixed window of
 * `attemptWindowSeconds` BEFORE the request is looked up, with one atomic `ADD` that returns the new count;
 * over `maxFailedEntriesPerIp` the request is refused without being looked up. So however many requests an
 * address sends at once, at most the limit of them are ever evaluated.
 *
 * Refunds: when a sign-in completes (the IdP sends the approving browser back with a code), the counter its
 * Approve was charged on gets two units back, the Approve's and its code entry's (never below zero). So a
 * completed sign-in costs its address nothing, and the budget that people behind one NAT share is spent
 * only by wrong codes, abandoned approvals and denials. The refund is tied to a completed IdP sign-in, which
 * nobody can produce in bulk, and is never more than the counter holds; only a flow whose code entry came
 * from another address than its Approve gives the Approve's address one unit more than it spent there.
 *
 * Never charged: a form with a bad CSRF token (refused before anything is counted, so a forged form can
 * neither lock a code nor use up its victim's address), the code form itself, and the device's polls.
 * The counters live in the store and expire with the window after next.
 */
import { isIPv6 } from "node:net";
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

/**
 * The counter an address is charged on. An IPv6 client usually holds a whole /64 (RFC 6177) and can change
 * address within it at will, so IPv6 addresses are counted by their /64; IPv4 (and IPv4-mapped IPv6) by address.
 */
export function ipKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return `ip#${mapped[1]}`;
  if (!isIPv6(ip)) return `ip#${ip}`;
  return `ip#${ipv6Groups(ip).slice(0, 4).join(":")}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, in lower-case hex without leading zeros. */
function ipv6Groups(ip: string): string[] {
  const [head, tail] = ip.split("%")[0].split("::");
  const part = (text: string | undefined) => (text ? text.split(":") : []);
  const left = part(head);
  const right = part(tail);
  // An embedded IPv4 tail (`::1.2.3.4`) is two groups.
  const last = right.length > 0 ? right : left;
  if (last.length > 0 && last[last.length - 1].includes(".")) {
    const [a, b, c, d] = last[last.length - 1].split(".").map(Number);
    last.splice(last.length - 1, 1, ((a << 8) | b).toString(16), ((c << 8) | d).toString(16));
  }
  const middle = tail === undefined ? [] : Array.from({ length: 8 - left.length - right.length }, () => "0");
  return [...left, ...middle, ...right].map((g) => parseInt(g, 16).toString(16));
}

/** Where a charge went: the counter and window, as the request keeps it for the refund (`<key>#<windowStart>`). */
export type Charge = string;

/**
 * Charges the address one unit before anything is looked up: the charge, or `undefined` when the address is
 * over its limit (the request must not be looked up).
 */
export async function chargeAddress(context: GrantContext, ip: string, window: RateWindow): Promise<Charge | undefined> {
  const key = ipKey(ip);
  const count = await context.store.countAttempt(key, window.start, window.expiresAt);
  return count <= context.config.settings.maxFailedEntriesPerIp ? `${key}#${window.start}` : undefined;
}

/** Units a completed sign-in gives back: its Approve and the code entry before it. */
export const UNITS_REFUNDED_PER_SIGN_IN = 2;

/** Gives a completed sign-in's units back to the counter its Approve was charged on. */
export async function refundSignIn(context: GrantContext, charge: Charge | undefined): Promise<void> {
  const at = charge?.lastIndexOf("#") ?? -1;
  const windowStart = charge ? Number(charge.slice(at + 1)) : NaN;
  if (!charge || at <= 0 || !Number.isInteger(windowStart)) return;
  await context.store.refundAttempts(charge.slice(0, at), windowStart, UNITS_REFUNDED_PER_SIGN_IN);
}
