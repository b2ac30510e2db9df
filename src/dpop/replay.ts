/**
 * The DPoP replay store: a proof's `jti` may be used once within the window in which its `iat` is
 * acceptable (RFC 9449 §11.1). The default keeps them in this process's memory, bounded; a shared
 * store (`redisReplayStore` in `jwt-gate/redis`) refuses a proof replayed against any instance.
 */
import type { ReplayStore } from '../types.js'

/** The in-memory store is full of live entries: refusing (503) beats forgetting a `jti`. */
export class ReplayStoreFullError extends Error {
  constructor(max: number) {
    super(`the in-memory DPoP replay store holds ${max} unexpired proofs`)
    this.name = 'ReplayStoreFullError'
  }
}

/** Default bound of the in-memory store: 200,000 proofs (about 25 MB at most). */
export const DEFAULT_MEMORY_REPLAY_ENTRIES = 200_000

/**
 * A store in this process's memory holding at most `maxEntries` unexpired ids. Every entry of
 * one verifier lives equally long, so insertion order is expiry order: expired ids leave from the
 * front of a `Map` in amortised O(1). When all `maxEntries` are still live, `markUsed` throws
 * (the request gets a 503) rather than evict an id that could then be replayed.
 */
export function createMemoryReplayStore(
  maxEntries = DEFAULT_MEMORY_REPLAY_ENTRIES,
  now: () => number = Date.now,
): ReplayStore {
  const expiries = new Map<string, number>()
  return {
    markUsed(id, ttlMs) {
      const time = now()
      for (const [oldest, expiry] of expiries) {
        if (expiry > time) break
        expiries.delete(oldest)
      }
      const seen = expiries.get(id)
      if (seen !== undefined && seen > time) return false
      if (expiries.size >= maxEntries) throw new ReplayStoreFullError(maxEntries)
      // Re-inserted at the end, so the map stays in expiry order.
      expiries.delete(id)
      expiries.set(id, time + ttlMs)
      return true
    },
  }
}
