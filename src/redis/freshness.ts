/**
 * Whether the replica is known to be current. The sync loop reports each moment up to which it
 * has seen every change ("fresh as of t"); one unref'd timer flips `fresh` off when
 * `maxStaleness` passes without a newer report. The hot path reads a boolean; it never reads
 * a clock.
 */
import { performance } from 'node:perf_hooks'

/** Freshness state shared by the sync loop (writer) and `isRevoked` (reader). */
export interface Freshness {
  /** Known to be no staler than `maxStaleness`. */
  readonly fresh: boolean
  /** How many times `fresh` has changed (feeds `Denylist.generation`). */
  readonly flips: number
  /** Milliseconds since the replica was last known to be current (`Infinity` before that). */
  stalenessMs(): number
  /** The replica holds every change committed before `at` (a `performance.now()` time). */
  markFresh(at: number): void
  /** The replica can no longer be shown current (a reply it cannot read): stale now. */
  markStale(): void
  stop(): void
}

/**
 * Track freshness against `maxStalenessMs`. `onStale` runs when the bound is crossed (also
 * once at start if the first load takes that long), `onFresh` when it is met again.
 */
export function createFreshness(
  maxStalenessMs: number,
  onStale: (stalenessMs: number) => void,
  onFresh: () => void,
): Freshness {
  let freshAt = -Infinity
  let stopped = false
  const startedAt = performance.now()
  let timer: NodeJS.Timeout | undefined = setTimeout(() => {
    timer = undefined
    onStale(performance.now() - startedAt)
  }, maxStalenessMs).unref()

  function expire(): void {
    timer = undefined
    if (!self.fresh) return
    self.fresh = false
    self.flips++
    onStale(performance.now() - freshAt)
  }

  // `fresh` is a plain data property, not a getter: it is read on every request.
  const self = {
    fresh: false,
    flips: 0,
    stalenessMs: () => performance.now() - freshAt,
    markFresh(at: number) {
      if (stopped || at <= freshAt) return
      freshAt = at
      const remaining = at + maxStalenessMs - performance.now()
      if (remaining <= 0) return
      if (timer) clearTimeout(timer)
      timer = setTimeout(expire, remaining).unref()
      if (!self.fresh) {
        self.fresh = true
        self.flips++
        onFresh()
      }
    },
    markStale() {
      if (stopped || !self.fresh) return
      if (timer) clearTimeout(timer)
      timer = undefined
      freshAt = Math.min(freshAt, performance.now() - maxStalenessMs)
      self.fresh = false
      self.flips++
      onStale(performance.now() - freshAt)
    },
    stop() {
      stopped = true
      if (timer) clearTimeout(timer)
      timer = undefined
      if (self.fresh) self.flips++
      self.fresh = false
    },
  }
  return self
}
