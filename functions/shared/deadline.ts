/**
 * Deadlines for calls to AWS from inside a caller's budget: IoT waits at most 5 s for the pre-provisioning hook,
 * and an installer waits on the claim route. A call that outlives its deadline is aborted (the SDK's
 * `abortSignal`) and its caller gets a `DeadlineError` at once, whether or not the call ever notices the abort.
 */

/** A call outlived its deadline. */
export class DeadlineError extends Error {
  constructor(readonly operation: string) {
    super(`${operation} did not answer in time`);
    this.name = "DeadlineError";
  }
}

/** Milliseconds left until `deadline` (epoch ms) on `now`, never negative. */
export function remainingMs(deadline: number, now: () => number = Date.now): number {
  return Math.max(0, deadline - now());
}

/**
 * Runs `call` with an abort signal that fires after `ms`; rejects with `DeadlineError` when it does. The timer
 * never keeps the process alive.
 */
export async function withDeadline<T>(operation: string, ms: number, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  if (ms <= 0) {
    controller.abort();
    throw new DeadlineError(operation);
  }
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new DeadlineError(operation));
    }, ms);
    timer.unref?.();
  });
  try {
    return await Promise.race([call(controller.signal), expired]);
  } finally {
    clearTimeout(timer);
  }
}
