/**
 * `jwt-gate/redis`: `redisDenylist`, a denylist shared through Redis by every instance of an API,
 * checked without a network round trip.
 *
 * Each process holds a replica of the live revocations, loaded at start and kept current from a
 * change log in Redis (a stream, tailed with a blocking read on one dedicated connection). The
 * verifier's `isRevoked` is then a synchronous `Map` lookup. A revocation made by any process
 * reaches the others within milliseconds; after a reconnect, a process catches up from the log
 * (or reloads everything if it was away longer than `logRetention`).
 *
 * When the replica cannot be shown to be current (Redis unreachable for longer than
 * `maxStaleness`), `isRevoked` throws and the verifier answers 503 with `Retry-After`: fail
 * closed. `failOpen: true` lets tokens through instead, with a warning on `jwt-gate:denylist`.
 * The process never crashes on a Redis failure or on bad data under the prefix.
 *
 * Works with the client you already have: ioredis 5 or 6 (`Redis`, `Cluster`) or node-redis 4,
 * 5 or 6 (client or cluster). Needs Redis 6.2+.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis'
 * import { createVerifier } from 'jwt-gate'
 * import { redisDenylist } from 'jwt-gate/redis'
 *
 * const denylist = redisDenylist({ client: new Redis(process.env.REDIS_URL!) })
 * const verifier = createVerifier({ issuer, audience, jwksUri, denylist })
 *
 * // logout: refuse this token everywhere until it expires
 * await denylist.revoke(req.auth.payload)
 * // password change: refuse every token of the user issued until now
 * await denylist.revokeSubject(req.auth.payload.sub)
 * ```
 *
 * @packageDocumentation
 */
import { performance } from 'node:perf_hooks'
import { withDeadline } from '../deadline.js'
import { publishDenylist } from './events.js'
import { adaptClient } from './client.js'
import { createFreshness } from './freshness.js'
import { MAX_ID_LENGTH, normalizeDenylistOptions } from './options.js'
import { createReplica } from './replica.js'
import { revokeSubjectCall, revokeTokenCall, runScript, type ScriptCall } from './scripts.js'
import { startSync } from './sync.js'
import type {
  RedisDenylist,
  RedisDenylistOptions,
  SubjectRevocationOptions,
  TokenRevocation,
} from './types.js'
import type { JwtPayload } from '../types.js'

export type {
  IoRedisClientLike,
  NodeRedisClientLike,
  RedisClientLike,
  RedisDenylist,
  RedisDenylistOptions,
  RedisDenylistStatus,
  SubjectRevocationOptions,
  TokenRevocation,
} from './types.js'

/**
 * How often, at most, a repeated report is published: a token let through by a stale replica
 * with `failOpen`, or an error of your client.
 */
const REPEAT_INTERVAL_MS = 1000
/** Seconds beyond which a `before` number must be milliseconds by mistake (year 5138). */
const MAX_SECONDS = 1e11

/**
 * Create a denylist shared through Redis. It starts loading at once; `ready()` resolves when
 * the first load is done. Pass it as the verifier's `denylist`, and `close()` it on shutdown
 * (after closing the verifier; your Redis client stays yours to close).
 *
 * @example
 * ```ts
 * const denylist = redisDenylist({ client: redis, prefix: 'orders-api:', maxStaleness: '5s' })
 * await denylist.ready()
 * const verifier = createVerifier({ issuer, audience, jwksUri, denylist })
 * ```
 */
export function redisDenylist(options: RedisDenylistOptions): RedisDenylist {
  const config = normalizeDenylistOptions(options)
  const client = adaptClient(options.client)
  const { keys } = config
  const replica = createReplica(config.clockTolerance)
  let closed = false
  /** Whether the first full load has finished. */
  let loaded = false
  const createdAt = performance.now()
  let lastFailOpenWarning = -Infinity

  let resolveReady!: () => void
  let rejectReady!: (error: Error) => void
  const readyPromise = new Promise<void>((resolve, reject) => {
    resolveReady = resolve
    rejectReady = reject
  })
  readyPromise.catch(() => {}) // rejected only by close(); only callers of ready() see it

  const freshness = createFreshness(
    config.maxStalenessMs,
    (stalenessMs) => publishDenylist({ type: 'stale', stalenessMs, failOpen: config.failOpen }),
    () => publishDenylist({ type: 'fresh' }),
  )
  const warning = (message: string, key?: string) =>
    publishDenylist(
      key === undefined ? { type: 'warning', message } : { type: 'warning', message, key },
    )
  const failed = (error: unknown) =>
    publishDenylist({ type: 'sync-error', message: describe(error) })

  // Your client's reconnect attempts can fail many times a second: report one a second at most.
  let lastClientError = -Infinity
  const unguard = client.guardErrors((error) => {
    const now = performance.now()
    if (now - lastClientError < REPEAT_INTERVAL_MS) return
    lastClientError = now
    failed(error)
  })
  const sync = startSync(client, config, replica, freshness, {
    synced(full, durationMs) {
      loaded = true
      resolveReady()
      publishDenylist({
        type: 'synced',
        full,
        entries: replica.tokens + replica.subjects,
        durationMs,
      })
    },
    failed,
    warning,
  })

  /**
   * The replica is too stale to trust: throw (the verifier answers 503), or with `failOpen` let
   * the request through with a warning (at most one a second) and answer from what is known.
   */
  function throwUnlessFailOpen(): void {
    if (closed) throw new Error('the Redis denylist is closed')
    if (!config.failOpen) {
      throw new Error(
        `the Redis denylist replica is staler than ${config.maxStalenessMs} ms (Redis unreachable?)`,
      )
    }
    const now = performance.now()
    if (now - lastFailOpenWarning >= REPEAT_INTERVAL_MS) {
      lastFailOpenWarning = now
      warning(
        `denylist replica is ${Math.round(freshness.stalenessMs())} ms stale: failOpen lets tokens through`,
      )
    }
  }

  /** The answer when the replica is not fresh. */
  function answerWhileNotFresh(payload: Readonly<JwtPayload>): boolean | Promise<boolean> {
    // Before the first load, within maxStaleness of start: wait for it rather than refuse the
    // first requests of a process that just started (the verifier bounds the wait with
    // denylistTimeout; this bound only keeps waiters from piling up if Redis never answers).
    const startupLeftMs = createdAt + config.maxStalenessMs - performance.now()
    if (!loaded && !closed && startupLeftMs > 0) {
      return withDeadline(
        readyPromise,
        startupLeftMs,
        () =>
          new Error(
            `the Redis denylist's first load did not finish in ${config.maxStalenessMs} ms`,
          ),
        { unref: true },
      ).then(() => {
        if (!freshness.fresh) throwUnlessFailOpen()
        return replica.isRevoked(payload)
      })
    }
    throwUnlessFailOpen()
    return replica.isRevoked(payload)
  }

  /** Write through the user's client; rejects unless Redis confirmed the write in time. */
  async function write(call: ScriptCall): Promise<void> {
    try {
      await withDeadline(
        runScript(client.send, call),
        config.commandTimeoutMs,
        () => new Error(`Redis did not answer within ${config.commandTimeoutMs} ms`),
      )
    } catch (error) {
      // OOM, READONLY, WRONGTYPE, a timeout: the caller must not believe it was stored.
      throw new Error(`the revocation was not confirmed by Redis: ${describe(error)}`, {
        cause: error,
      })
    }
  }

  return {
    // Changes with every new revocation and every stale/fresh flip, so the verifier re-asks
    // about a cached token only when an answer could have changed.
    get generation() {
      return replica.generation + freshness.flips
    },

    isRevoked(payload: Readonly<JwtPayload>): boolean | Promise<boolean> {
      // Not fresh also after close(), which clears it.
      return freshness.fresh ? replica.isRevoked(payload) : answerWhileNotFresh(payload)
    },

    async revoke(token: TokenRevocation | Readonly<JwtPayload>): Promise<void> {
      const { jti, exp } = (token ?? {}) as Partial<TokenRevocation>
      if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_ID_LENGTH) {
        throw new TypeError(
          "revoke needs the token's `jti` (a non-empty string); for tokens without one, use revokeSubject",
        )
      }
      if (typeof exp !== 'number' || !Number.isFinite(exp) || exp < 0 || exp > MAX_SECONDS) {
        throw new TypeError("revoke needs the token's `exp` in seconds since the epoch")
      }
      if (closed) throw new Error('the Redis denylist is closed')
      const end = Math.ceil(exp)
      const now = Math.floor(Date.now() / 1000)
      if (end + config.clockTolerance < now) return // expired: no verifier accepts it anyway
      await write(revokeTokenCall(keys, jti, end, config.clockTolerance, config.logRetentionMs))
      // Read-your-writes: this process refuses the token before the log brings it back.
      replica.addToken(jti, end, now)
      publishDenylist({ type: 'revoked', kind: 'token' })
    },

    async revokeSubject(sub: string, revokeOptions: SubjectRevocationOptions = {}): Promise<void> {
      if (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_ID_LENGTH) {
        throw new TypeError('revokeSubject needs a subject (`sub`, a non-empty string)')
      }
      const before = beforeInSeconds(revokeOptions.before)
      if (closed) throw new Error('the Redis denylist is closed')
      const until = before + config.maxTokenLifetime
      const now = Math.floor(Date.now() / 1000)
      if (until + config.clockTolerance < now) return
      await write(
        revokeSubjectCall(keys, sub, before, until, config.clockTolerance, config.logRetentionMs),
      )
      replica.addSubject(sub, before, until, now)
      publishDenylist({ type: 'revoked', kind: 'subject' })
    },

    ready: () => readyPromise,

    status() {
      return {
        fresh: freshness.fresh && !closed,
        stalenessMs: freshness.stalenessMs(),
        tokens: replica.tokens,
        subjects: replica.subjects,
      }
    },

    close(): Promise<void> {
      if (!closed) {
        closed = true
        sync.stop()
        freshness.stop()
        unguard()
        replica.clear()
        rejectReady(new Error('the Redis denylist was closed before its first load'))
      }
      return Promise.resolve()
    },
  }
}

/** `revokeSubject`'s `before` in whole seconds: a Date, seconds since the epoch, or now. */
function beforeInSeconds(before: Date | number | undefined): number {
  if (before === undefined) return Math.floor(Date.now() / 1000)
  const seconds = before instanceof Date ? before.getTime() / 1000 : before
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
    throw new TypeError('revokeSubject: `before` must be a Date or seconds since the epoch')
  }
  if (seconds > MAX_SECONDS) {
    throw new TypeError('revokeSubject: `before` looks like milliseconds; pass seconds or a Date')
  }
  return Math.floor(seconds)
}

/** An error for an event: its message only (no stack, no credentials in a URL). */
function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
}

export { redisReplayStore, type RedisReplayStoreOptions } from './replay-store.js'
