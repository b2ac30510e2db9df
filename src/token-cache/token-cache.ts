/**
 * (2) The verified-token cache: an LRU (lru-cache) from a SHA-256 of the whole token to its
 * verified header and claims, so a token seen again skips decoding and the signature check.
 *
 * - Keyed by a hash, never the raw string: the cache holds no usable credential, and a key is
 *   32 characters whatever the token's size.
 * - Successes only: a failure is always recomputed (it may be a transient 503).
 * - Each hit re-checks the validity window against the clock (`exp`, `nbf`, and the
 *   `maxTokenAge` limit), so a token is never served past its expiry. The denylist is consulted
 *   by the verifier on every hit; the cache never bypasses it.
 * - Each entry holds the trust of the key that verified it (`KeyTrust`): once the key leaves its
 *   JWKS, or its JWKS is past what a fresh verification would use (`cacheMaxAge`, or
 *   `staleIfError` while the server fails), the hit becomes a miss and the token is verified
 *   afresh, which answers exactly what a fresh verification answers (401, 503, or a new entry).
 *   One number compare: the key source updates the shared trust, not the entries.
 */
import { hash } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import type { ValidityWindow } from '../claims/claims.js'
import type { KeyTrust } from '../jws/jwk-set.js'
import type { JwtHeader, JwtPayload } from '../types.js'

/** A verified token, as remembered. */
export interface CachedVerification extends ValidityWindow {
  readonly payload: Readonly<JwtPayload>
  readonly header: Readonly<JwtHeader>
  /** The trust of the key that verified the signature. */
  readonly keyTrust: Readonly<KeyTrust>
  /** The denylist `generation` at which this token last passed the denylist, if it has one. */
  denylistGeneration?: number
}

/** The cache of one verifier. */
export interface TokenCache {
  /**
   * The entry for `token` if it is still inside its validity window at `now` (seconds) and its
   * key is still trusted at `nowMs` (the same moment in milliseconds).
   */
  get(token: string, now: number, nowMs: number): CachedVerification | undefined
  /** Remember a verified token. */
  set(token: string, entry: CachedVerification): void
  /** Forget everything. */
  clear(): void
}

/** A cache holding at most `maxEntries` tokens. */
export function createTokenCache(maxEntries: number): TokenCache {
  const lru = new LRUCache<string, CachedVerification>({ max: maxEntries })
  return {
    get(token, now, nowMs) {
      const key = keyOf(token)
      const entry = lru.get(key)
      if (entry === undefined) return undefined
      if (
        now < entry.notBefore ||
        now >= entry.expiresBefore ||
        nowMs >= entry.keyTrust.usableUntilMs
      ) {
        lru.delete(key)
        return undefined
      }
      return entry
    },
    set(token, entry) {
      lru.set(keyOf(token), entry)
    },
    clear() {
      lru.clear()
    },
  }
}

/** SHA-256 of the token as a 32-character binary (latin1) string: the cheapest printable-enough key. */
function keyOf(token: string): string {
  return hash('sha256', token, 'binary')
}
