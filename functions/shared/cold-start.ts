/**
 * What both Lambda handlers do at a cold start: build their core once (read the configuration, fetch secrets),
 * share that one build between concurrent invocations, and after a failed build answer "unavailable" for a few
 * seconds before trying again, so a broken stack does not hammer SSM while every request is refused anyway.
 */

import { ConfigurationError } from "./problems";

/** How long after a failed start the next invocation waits before building again. */
export const RETRY_AFTER_FAILURE_MS = 5_000;

export interface ColdStart<T> {
  /**
   * The built value, building it on first use; `undefined` while a failed start is in its pause. A failed build
   * rejects (once, for the invocations that awaited it) and is tried again after the pause.
   */
  get(): Promise<T> | undefined;
  /** Forgets the build after it failed, so the next `get()` after the pause builds again. */
  failed(): void;
}

/** What a failed start logs: every configuration problem, or the error's name only (an SDK message can quote secrets). */
export function startFailureReason(err: unknown): string {
  return err instanceof ConfigurationError ? err.message : `start-up failed: ${(err as Error)?.name ?? typeof err}`;
}

export function coldStart<T>(build: () => Promise<T>, now: () => number = Date.now): ColdStart<T> {
  let ready: Promise<T> | undefined;
  let failedAt = -Infinity;
  return {
    get() {
      if (ready === undefined && now() - failedAt < RETRY_AFTER_FAILURE_MS) return undefined;
      ready ??= build();
      return ready;
    },
    failed() {
      ready = undefined;
      failedAt = now();
    },
  };
}
