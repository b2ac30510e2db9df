/**
 * (2) What the JWKS cache and OIDC discovery share: one instance per id in the process, leased by
 * every verifier that needs it and closed when the last lease is released; and the back-off
 * after a failed fetch (1 s doubling to 30 s), during which requests fail at once instead of
 * hammering a server that is down.
 */

/** A lease on a shared instance; `release()` when the verifier closes (idempotent). */
export interface Lease<T> {
  readonly value: T
  readonly release: () => void
}

/** Process-wide instances by id, each alive while someone holds a lease on it. */
export class SharedRegistry<T> {
  private readonly entries = new Map<string, { value: T; refs: number }>()

  /**
   * @param create builds the instance for an id nobody holds yet
   * @param dispose runs when the last lease on it is released
   */
  constructor(
    private readonly create: (id: string) => T,
    private readonly dispose: (value: T) => void = () => {},
  ) {}

  /** Lease the instance for `id`, creating it if nobody holds it. */
  acquire(id: string): Lease<T> {
    let entry = this.entries.get(id)
    if (!entry) {
      entry = { value: this.create(id), refs: 0 }
      this.entries.set(id, entry)
    }
    entry.refs++
    const leased = entry
    let released = false
    return {
      value: leased.value,
      release: () => {
        if (released) return
        released = true
        if (--leased.refs > 0) return
        // A later acquire may already have replaced this entry after a dispose; leave that one.
        if (this.entries.get(id) === leased) this.entries.delete(id)
        this.dispose(leased.value)
      },
    }
  }
}

const FIRST_RETRY_MS = 1000
const MAX_RETRY_MS = 30_000

/** The last failure of a fetch, and when the next request-triggered attempt may run. */
export class Backoff {
  private failure: { error: unknown; retryAt: number; consecutive: number } | undefined

  /** Whether the last attempt failed. */
  get failing(): boolean {
    return this.failure !== undefined
  }

  /** The error of the last failed attempt (for `SourceUnavailableError`'s cause). */
  get error(): unknown {
    return this.failure?.error
  }

  /** Whether `now` (ms) is inside the back-off after a failure. */
  backingOff(now: number): boolean {
    return this.failure !== undefined && now < this.failure.retryAt
  }

  /** Seconds until the next attempt may run, at least 1 (for `Retry-After`). */
  secondsUntilRetry(now: number): number {
    return this.failure ? Math.max(1, (this.failure.retryAt - now) / 1000) : 1
  }

  /** Record a failed attempt; returns the back-off it starts, in ms. */
  failed(error: unknown, now: number): number {
    const consecutive = (this.failure?.consecutive ?? 0) + 1
    const backoffMs = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (consecutive - 1))
    this.failure = { error, retryAt: now + backoffMs, consecutive }
    return backoffMs
  }

  /** A successful attempt ends the back-off. */
  succeeded(): void {
    this.failure = undefined
  }
}
