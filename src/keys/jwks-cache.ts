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
 *   fetch (it waits at most `cooldown`). A kid a lookup already found missing after waiting for
 *   a fetch that began inside the window is refused at once: a cold-start burst of one unknown
 *   kid costs the initial load plus at most one refetch per window, and a request that waited
 *   for a fetch never causes another for the same kid.
 * - Trust of cached verifications: each key carries a `KeyTrust` (see jwk-set.ts) that this
 *   cache keeps current: until `cacheMaxAge` after the fetch (up to `staleIfError` while the
 *   server fails), ended when a refetch no longer publishes the key. A key published again
 *   unchanged keeps its trust object, so routine refreshes do not empty the token cache.
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
import { Backoff, SharedRegistry } from './shared-registry.js'
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

/** Most lookups waiting for a deferred refetch; beyond it they are refused at once (401). */
const MAX_WAITING = 10_000
/** Most kids remembered as absent from the current set (garbage kids must not grow memory). */
const MAX_ABSENT_KIDS = 10_000
/** Background refresh happens at this fraction of `cacheMaxAge`. */
const REFRESH_AT = 0.8

// Keys are imported for every asymmetric algorithm; each verifier's own allow-list is applied
// to the token's `alg` before a key is looked up, so verifiers with different lists can share.
const ALL_ASYMMETRIC = toSpecs(DEFAULT_ASYMMETRIC_ALGORITHMS)

const registry = new SharedRegistry<JwksCache>(
  (id) => {
    const { url, settings } = JSON.parse(id) as { url: string; settings: JwksCacheSettings }
    return new JwksCache(new URL(url), settings)
  },
  (cache) => cache.close(),
)

/** Take a lease on the process-wide cache for `url` with these settings. */
export function acquireJwksCache(url: URL, settings: JwksCacheSettings): JwksCacheLease {
  const lease = registry.acquire(JSON.stringify({ url: url.href, settings }))
  return { cache: lease.value, release: lease.release }
}

/** One cached remote key set. Create through `acquireJwksCache`. */
export class JwksCache {
  private keySet: KeySet | undefined
  private fetchedAt = 0
  /** When the fetch that brought the current set began. */
  private fetchStartedAt = 0
  /** Kids a lookup found missing from the current set after waiting for a fetch. */
  private readonly absentKids = new Set<string>()
  private inflight: Promise<void> | undefined
  private lastUnknownKidFetchAt = Number.NEGATIVE_INFINITY
  /** The refetch scheduled at the end of the current cooldown window, if any. */
  private deferred: Promise<void> | undefined
  private waiting = 0
  private readonly backoff = new Backoff()
  private timer: NodeJS.Timeout | undefined
  private closed = false

  constructor(
    readonly url: URL,
    private readonly settings: JwksCacheSettings,
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
      throw new SourceUnavailableError(
        'jwks',
        this.backoff.secondsUntilRetry(after),
        this.backoff.error,
      )
    }
  }

  /** Stop the refresh timer; the keys' cached verifications are not served again. */
  close(): void {
    this.closed = true
    clearTimeout(this.timer)
    for (const key of this.keySet?.keys ?? []) key.trust.usableUntilMs = Number.NEGATIVE_INFINITY
  }

  /** The key set if it may be used now: fresh, or stale while the server is failing. */
  private usableSet(now: number): KeySet | undefined {
    if (!this.keySet) return undefined
    const age = now - this.fetchedAt
    if (age < this.settings.cacheMaxAgeMs) return this.keySet
    if (this.backoff.failing && age < this.settings.staleIfErrorMs) {
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
    // Already looked for, after waiting, in a fetch that began inside this window: that fetch is
    // the answer. A burst of one unknown kid costs one refetch, not one now and one deferred.
    if (
      kid !== undefined &&
      this.absentKids.has(kid) &&
      now - this.fetchStartedAt < this.settings.cooldownMs
    ) {
      return []
    }
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
    if (keys.length === 0 && this.backoff.failing) {
      throw new SourceUnavailableError(
        'jwks',
        this.backoff.secondsUntilRetry(now),
        this.backoff.error,
      )
    }
    // This lookup waited for a fetch: remember the miss, so the same kid in the same window is
    // answered by that fetch instead of causing another.
    if (keys.length === 0 && kid !== undefined && this.absentKids.size < MAX_ABSENT_KIDS) {
      this.absentKids.add(kid)
    }
    return keys
  }

  private throwIfBackingOff(now: number): void {
    if (this.backoff.backingOff(now)) {
      throw new SourceUnavailableError(
        'jwks',
        this.backoff.secondsUntilRetry(now),
        this.backoff.error,
      )
    }
  }

  /**
   * Hand each key of the new set the trust of the same key in the old set (its cached tokens
   * stay valid); end the trust of keys the new set dropped.
   */
  private adoptTrust(previous: KeySet | undefined, next: KeySet): void {
    if (previous === undefined) return
    const kept = new Map(previous.keys.map((key) => [key.identity, key.trust]))
    for (const key of next.keys) {
      const trust = kept.get(key.identity)
      if (trust !== undefined) key.trust = trust
    }
    const still = new Set(next.keys.map((key) => key.trust))
    for (const key of previous.keys) {
      if (!still.has(key.trust)) key.trust.usableUntilMs = Number.NEGATIVE_INFINITY
    }
  }

  /**
   * Until when the current keys may verify without a fetch, as `usableSet` decides it: fresh for
   * `cacheMaxAge`, and up to `staleIfError` while the server fails.
   */
  private updateTrust(): void {
    if (!this.keySet) return
    const { cacheMaxAgeMs, staleIfErrorMs } = this.settings
    const usableFor = this.backoff.failing ? Math.max(cacheMaxAgeMs, staleIfErrorMs) : cacheMaxAgeMs
    const until = this.fetchedAt + usableFor
    for (const key of this.keySet.keys) key.trust.usableUntilMs = until
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
        if (this.closed) return
        this.adoptTrust(this.keySet, set)
        this.keySet = set
        this.fetchedAt = Date.now()
        this.fetchStartedAt = started
        this.absentKids.clear()
        this.backoff.succeeded()
        this.updateTrust()
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
        const backoff = this.backoff.failed(error, Date.now())
        warnKeysUnreachableOnce(`the JWKS at ${this.url.href}`, error)
        // Stale keys now count up to staleIfError, for fresh lookups and cached tokens alike.
        this.updateTrust()
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
