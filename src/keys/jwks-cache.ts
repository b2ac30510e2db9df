/**
 * (2) The remote JWKS cache: one per JWKS URL (and fetch settings) in the process, shared by
 * every verifier that uses it.
 *
 * - Single-flight: any number of concurrent lookups that need a fetch share one request.
 * - Unknown `kid`: triggers a refetch, at most one per `cooldown` window. Only refetches caused
 *   by an unknown `kid` count against that window; the first load and background refreshes do
 *   not, so a key that appears right after a routine fetch is picked up at once. Inside the
 *   window a lookup is never refused for the window's sake: it waits for the one refetch
 *   scheduled at the window's end, shared by every waiter. So garbage `kid`s cost at most one
 *   fetch per window, and a genuinely new key is accepted even right after a garbage-triggered
 *   fetch (it waits at most `cooldown`).
 * - Background refresh at 80% of `cacheMaxAge` (unref'd timer), so no request waits for a
 *   refetch in steady state.
 * - Stale-if-error: when the server fails, or sends a set with no usable key, known keys keep
 *   working for up to `staleIfError` after their last successful fetch. Failed fetches back off
 *   (1 s doubling to 30 s); a lookup with no usable key during the back-off fails at once with
 *   the remaining time as `Retry-After`.
 */
import { DEFAULT_ASYMMETRIC_ALGORITHMS, type AlgorithmSpec } from '../jws/algorithms.js'
import { publishJwks, type JwksTrigger } from '../events.js'
import { fetchJson, type FetchLimits } from './fetch-json.js'
import { importKeySet, toSpecs, type KeySet, type VerificationKey } from '../jws/jwk-set.js'
import { SourceUnavailableError } from '../errors.js'
import { warnKeysUnreachableOnce } from './unreachable-warning.js'

/** Settings of one JWKS cache, in milliseconds. */
export interface JwksCacheSettings {
  cacheMaxAgeMs: number
  cooldownMs: number
  staleIfErrorMs: number
  maxKeys: number
  fetch: FetchLimits
}

/** A lease on a shared cache; `release()` when the verifier closes. */
export interface JwksCacheLease {
  readonly cache: JwksCache
  release(): void
}

const FIRST_RETRY_MS = 1000
/** Most lookups waiting for a deferred refetch; beyond it they are refused at once (401). */
const MAX_WAITING = 10_000
const MAX_RETRY_MS = 30_000
/** Background refresh happens at this fraction of `cacheMaxAge`. */
const REFRESH_AT = 0.8

// Keys are imported for every asymmetric algorithm; each verifier's own allow-list is applied
// to the token's `alg` before a key is looked up, so verifiers with different lists can share.
const ALL_ASYMMETRIC = toSpecs(DEFAULT_ASYMMETRIC_ALGORITHMS)

const registry = new Map<string, JwksCache>()

/** Take a lease on the process-wide cache for `url` with these settings. */
export function acquireJwksCache(url: URL, settings: JwksCacheSettings): JwksCacheLease {
  const id = `${url.href} ${JSON.stringify(settings)}`
  let cache = registry.get(id)
  if (!cache) {
    cache = new JwksCache(url, settings, () => registry.delete(id))
    registry.set(id, cache)
  }
  cache.refs++
  const leased = cache
  let released = false
  return {
    cache: leased,
    release() {
      if (released) return
      released = true
      leased.refs--
      if (leased.refs === 0) leased.close()
    },
  }
}

/** Failure bookkeeping of the last fetch. */
interface Failure {
  error: unknown
  /** No request-triggered fetch before this time (ms since epoch). */
  retryAt: number
  consecutive: number
}

/** One cached remote key set. Create through `acquireJwksCache`. */
export class JwksCache {
  /** Verifiers holding a lease. */
  refs = 0
  /** Completed fetch attempts, successful or not (exposed for tests and the benchmark). */
  fetches = 0

  private keySet: KeySet | undefined
  private fetchedAt = 0
  private inflight: Promise<void> | undefined
  private lastUnknownKidFetchAt = Number.NEGATIVE_INFINITY
  /** The refetch scheduled at the end of the current cooldown window, if any. */
  private deferred: Promise<void> | undefined
  private waiting = 0
  private failure: Failure | undefined
  private timer: NodeJS.Timeout | undefined
  private closed = false

  constructor(
    readonly url: URL,
    private readonly settings: JwksCacheSettings,
    private readonly onClose: () => void,
  ) {}

  /**
   * Keys that may verify `alg` for this `kid`: synchronously when the cache can answer, or after
   * the one fetch this lookup is allowed to wait for. `[]` means no such key exists (401);
   * `SourceUnavailableError` means we cannot tell (503).
   */
  resolve(
    alg: AlgorithmSpec,
    kid: string | undefined,
  ): VerificationKey[] | Promise<VerificationKey[]> {
    const now = Date.now()
    const set = this.usableSet(now)
    if (set) {
      const keys = set.select(alg, kid)
      if (keys.length > 0) return keys
      return this.onUnknownKid(alg, kid, now)
    }
    if (this.inflight) return this.inflight.then(() => this.selectAfterFetch(alg, kid))
    this.throwIfBackingOff(now)
    return this.refresh(this.keySet ? 'expired' : 'initial').then(() =>
      this.selectAfterFetch(alg, kid),
    )
  }

  /**
   * Resolves once a usable key set is at hand, fetching it now if need be; rejects with
   * `SourceUnavailableError` when it cannot be had (`verifier.ready()`).
   */
  async ready(): Promise<void> {
    const now = Date.now()
    if (this.usableSet(now)) return
    if (this.inflight) await this.inflight
    else {
      this.throwIfBackingOff(now)
      await this.refresh(this.keySet ? 'expired' : 'initial')
    }
    const after = Date.now()
    if (!this.usableSet(after)) {
      throw new SourceUnavailableError('jwks', this.secondsUntilRetry(after), this.failure?.error)
    }
  }

  /** Stop the refresh timer and leave the registry. */
  close(): void {
    this.closed = true
    clearTimeout(this.timer)
    this.onClose()
  }

  /** The key set if it may be used now: fresh, or stale while the server is failing. */
  private usableSet(now: number): KeySet | undefined {
    if (!this.keySet) return undefined
    const age = now - this.fetchedAt
    if (age < this.settings.cacheMaxAgeMs) return this.keySet
    if (this.failure && age < this.settings.staleIfErrorMs) {
      publishJwks({ type: 'stale-served', uri: this.url.href, ageMs: age })
      return this.keySet
    }
    return undefined
  }

  private onUnknownKid(
    alg: AlgorithmSpec,
    kid: string | undefined,
    now: number,
  ): VerificationKey[] | Promise<VerificationKey[]> {
    if (this.inflight) return this.inflight.then(() => this.selectAfterFetch(alg, kid))
    // The server is failing: the key may exist there, so this is "unavailable", not "unknown".
    this.throwIfBackingOff(now)
    const sinceLast = now - this.lastUnknownKidFetchAt
    if (sinceLast >= this.settings.cooldownMs) {
      this.lastUnknownKidFetchAt = now
      return this.refresh('unknown-kid').then(() => this.selectAfterFetch(alg, kid))
    }
    if (this.waiting >= MAX_WAITING) return []
    const retryInMs = this.settings.cooldownMs - sinceLast
    publishJwks({ type: 'cooldown', uri: this.url.href, retryInMs })
    this.waiting++
    return this.refreshAtWindowEnd(retryInMs)
      .finally(() => this.waiting--)
      .then(() => this.selectAfterFetch(alg, kid))
  }

  /**
   * The one refetch at the end of the cooldown window, shared by everyone who waits for it. Its
   * timer is not unref'd: someone is waiting for its answer, and it fires within `cooldown`.
   */
  private refreshAtWindowEnd(delayMs: number): Promise<void> {
    this.deferred ??= new Promise<void>((resolve) => {
      setTimeout(() => {
        this.deferred = undefined
        this.lastUnknownKidFetchAt = Date.now()
        void this.refresh('unknown-kid').then(resolve)
      }, delayMs)
    })
    return this.deferred
  }

  private selectAfterFetch(alg: AlgorithmSpec, kid: string | undefined): VerificationKey[] {
    const now = Date.now()
    const set = this.usableSet(now)
    const keys = set ? set.select(alg, kid) : []
    if (keys.length === 0 && this.failure) {
      throw new SourceUnavailableError('jwks', this.secondsUntilRetry(now), this.failure.error)
    }
    return keys
  }

  private throwIfBackingOff(now: number): void {
    if (this.failure && now < this.failure.retryAt) {
      throw new SourceUnavailableError('jwks', this.secondsUntilRetry(now), this.failure.error)
    }
  }

  private secondsUntilRetry(now: number): number {
    return this.failure ? Math.max(1, (this.failure.retryAt - now) / 1000) : 1
  }

  /** Fetch the set once, whoever asks; never rejects (failures are recorded instead). */
  private refresh(trigger: JwksTrigger): Promise<void> {
    if (this.inflight) return this.inflight
    const started = Date.now()
    const attempt = fetchJson(this.url, this.settings.fetch)
      .then((document) => {
        const set = importKeySet(document, ALL_ASYMMETRIC, this.settings.maxKeys, (skipped) =>
          publishJwks({
            type: 'key-skipped',
            uri: this.url.href,
            kid: skipped.kid,
            why: skipped.why,
          }),
        )
        // A set with no usable key is a broken publication, not a rotation to nothing: keep
        // the keys we have, as for any other failure.
        if (set.size === 0) throw new TypeError('the JWKS holds no usable signing key')
        this.keySet = set
        this.fetchedAt = Date.now()
        this.failure = undefined
        publishJwks({
          type: 'fetched',
          uri: this.url.href,
          keys: set.size,
          durationMs: this.fetchedAt - started,
          trigger,
        })
        this.schedule(this.settings.cacheMaxAgeMs * REFRESH_AT, 'refresh')
      })
      .catch((error: unknown) => {
        const consecutive = (this.failure?.consecutive ?? 0) + 1
        const backoff = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (consecutive - 1))
        this.failure = { error, retryAt: Date.now() + backoff, consecutive }
        warnKeysUnreachableOnce(`the JWKS at ${this.url.href}`, error)
        publishJwks({
          type: 'failed',
          uri: this.url.href,
          error: error instanceof Error ? error.message : String(error),
          durationMs: Date.now() - started,
          trigger,
        })
        // Keep stale keys fresh in the background once the server is back.
        if (this.keySet) this.schedule(backoff, 'retry')
      })
      .finally(() => {
        this.fetches++
        this.inflight = undefined
      })
    this.inflight = attempt
    return attempt
  }

  private schedule(delayMs: number, trigger: JwksTrigger): void {
    if (this.closed) return
    clearTimeout(this.timer)
    // unref: background refresh must never keep the process alive on its own.
    this.timer = setTimeout(() => void this.refresh(trigger), delayMs).unref()
  }
}
