/**
 * How early a poll may come (RFC 8628 §3.5: a client polling faster than `interval` gets `slow_down`).
 * The store keeps, per request, `pollSpacingMs`, the smallest gap it accepts between two polls, so that a
 * poll is one conditional write (`nextPollAt <= now`, then `nextPollAt = now + pollSpacingMs`) with no read.
 */

/**
 * A poll this much earlier than `interval` after the previous one is still accepted (clients' timers drift),
 * but never more than half the interval: with a 1 s interval a full second would disable `slow_down` altogether.
 */
export const POLL_JITTER_MS = 1_000;

export function pollTolerance(intervalSeconds: number): number {
  return Math.min(POLL_JITTER_MS, (intervalSeconds * 1000) / 2);
}

/** The smallest gap accepted between two polls at this interval, milliseconds. */
export function pollSpacingMs(intervalSeconds: number): number {
  return intervalSeconds * 1000 - pollTolerance(intervalSeconds);
}
