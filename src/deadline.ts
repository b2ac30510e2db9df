/**
 * One deadline for a promise, used wherever jwt-gate waits on something it does not control (a
 * user's denylist, a Redis command): the result, or a rejection once `ms` have passed.
 */

/** Options of `withDeadline`. */
export interface DeadlineOptions {
  /**
   * Let the timer not hold the process open. Use it for background work (a sync loop); leave it
   * off where a caller awaits the answer and nothing else may keep the process alive.
   */
  unref?: boolean
}

/**
 * Settle like `promise`, or reject with `onTimeout()` after `ms` milliseconds, whichever comes
 * first. A late rejection of `promise` is handled (never an unhandled rejection), and the timer
 * is cleared as soon as either side settles.
 */
export function withDeadline<T>(
  promise: Promise<T>,
  ms: number,
  onTimeout: () => Error,
  options: DeadlineOptions = {},
): Promise<T> {
  promise.catch(() => {})
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms)
    if (options.unref) timer.unref()
  })
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer))
}
