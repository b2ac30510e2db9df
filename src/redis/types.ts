/**
 * Public types of `jwt-gate/redis`: the options of `redisDenylist`, the object it returns, and
 * the structural shape of the Redis clients it accepts (ioredis and node-redis are never
 * imported; whichever one you already use is recognised by its methods).
 */
import type { Duration, JwtHeader, JwtPayload } from '../types.js'

/** Any function; the client types below only say which methods must exist. */
type AnyMethod = (...args: never[]) => unknown

/**
 * An ioredis 5 or 6 client: a `Redis` or a `Cluster`. Recognised by its `call` method.
 */
export interface IoRedisClientLike {
  call: AnyMethod
  duplicate: AnyMethod
  on: AnyMethod
}

/**
 * A node-redis 4, 5 or 6 client (`createClient`) or cluster (`createCluster`). Recognised by its
 * `sendCommand` and `connect` methods.
 */
export interface NodeRedisClientLike {
  sendCommand: AnyMethod
  duplicate: AnyMethod
  connect: AnyMethod
  on: AnyMethod
}

/** The Redis clients `redisDenylist` accepts. */
export type RedisClientLike = IoRedisClientLike | NodeRedisClientLike

/** Options of `redisDenylist`. */
export interface RedisDenylistOptions {
  /**
   * Your Redis client: ioredis 5 or 6 (`Redis` or `Cluster`) or node-redis 4, 5 or 6
   * (`createClient` or `createCluster`). Revocations are written through it; the denylist reads through one
   * dedicated connection made with its `duplicate()`. A node-redis client must be connected by
   * you (`await client.connect()`) before `revoke` is called. Required.
   */
  client: RedisClientLike
  /**
   * Prefix of every key the denylist uses. Without a `{hash tag}` in it, `{denylist}` is added
   * so all keys share one Redis Cluster slot: `jwt-gate:{denylist}:tokens`, `…:subjects`,
   * `…:subject-expiry`, `…:log`. Default `'jwt-gate:'`.
   */
  prefix?: string
  /**
   * How far behind Redis the local replica may fall (Redis unreachable, or the sync loop
   * failing) before `isRevoked` stops answering: the verifier then answers 503 with
   * `Retry-After`, unless `failOpen` is set. A number of seconds or a string such as `'5s'`.
   * At least `'100ms'`. Default `'5s'`.
   */
  maxStaleness?: Duration
  /**
   * Let tokens through while the replica is staler than `maxStaleness` (the revocations it
   * already knows are still refused). Publishes a `warning` event on `jwt-gate:denylist`, at
   * most once a second. Default `false` (fail closed).
   */
  failOpen?: boolean
  /**
   * How long a subject revocation is kept after its `before`: set it to at least the lifetime
   * of the longest-lived tokens you accept (a token of that subject issued before `before`
   * cannot outlive it). Afterwards, a token of that subject without `iat` passes again.
   * Default `'24h'`.
   */
  maxTokenLifetime?: Duration
  /**
   * How long a revocation is kept after the token's `exp` (or the subject revocation's end), to
   * cover the verifier's `clockTolerance` and clock skew between hosts. Keep it at least as
   * large as the verifier's `clockTolerance`. Default `'60s'`.
   */
  clockTolerance?: Duration
  /**
   * How long the change log keeps entries. A process that lost Redis for less than this
   * catches up from the log; after a longer absence it reloads the whole denylist. Default
   * `'10m'`.
   */
  logRetention?: Duration
  /**
   * How long one Redis command may take (revocations, replica loads) before it counts as
   * failed. `revoke` and `revokeSubject` reject after it. Default `'5s'`.
   */
  commandTimeout?: Duration
}

/** What `revoke` needs: the token's `jti` and `exp` (a verified payload will do). */
export interface TokenRevocation {
  /** The token's `jti` claim. Required. */
  jti: string
  /** The token's `exp` claim, in seconds since the epoch. The entry is dropped after it. */
  exp: number
}

/** Options of `revokeSubject`. */
export interface SubjectRevocationOptions {
  /**
   * Tokens of the subject issued at or before this instant (their `iat`, in whole seconds)
   * are refused; later ones pass. A `Date` or seconds since the epoch. Default: now.
   */
  before?: Date | number
}

/** Health of the local replica, as `status()` reports it. */
export interface RedisDenylistStatus {
  /** Whether the replica is known to be no staler than `maxStaleness`. */
  fresh: boolean
  /** Milliseconds since the replica was last known to be current (`Infinity` before the first load). */
  stalenessMs: number
  /** Live token revocations held in memory. */
  tokens: number
  /** Live subject revocations held in memory. */
  subjects: number
}

/**
 * A denylist shared through Redis. Pass it as the verifier's `denylist`: `isRevoked` answers
 * from an in-process replica, without a network round trip.
 */
export interface RedisDenylist {
  /**
   * The verifier's hook: whether this token (by `jti`) or its subject (by `sub` and `iat`) is
   * revoked. Synchronous while the replica is fresh. Before the first load has finished (and
   * within `maxStaleness` of creation) it returns a promise that settles once the load is done,
   * so the first requests of a process that just started wait (the verifier bounds the wait
   * with its `denylistTimeout`) instead of being refused. Throws while the replica is staler
   * than `maxStaleness` (the verifier answers 503), unless `failOpen`.
   */
  isRevoked(payload: Readonly<JwtPayload>, header?: Readonly<JwtHeader>): boolean | Promise<boolean>
  /**
   * Grows with every new revocation and every change of freshness: the verifier re-asks
   * `isRevoked` about a cached token only after it changed (see `Denylist.generation`).
   */
  readonly generation: number
  /**
   * Refuse this token everywhere until its `exp` (plus `clockTolerance`); Redis then forgets
   * it. Resolves once Redis has stored it, and this process already refuses the token. An
   * already expired token resolves without a write. Rejects when Redis refuses the write (out
   * of memory, a read-only replica, a foreign value under the key) or does not confirm it within
   * `commandTimeout`: the revocation must then be retried, it is not in force.
   */
  revoke(token: TokenRevocation): Promise<void>
  /**
   * The same for a verified payload (`req.auth.payload`): `exp` is always there; a token
   * without `jti` is a `TypeError` (use `revokeSubject` for those).
   */
  revoke(payload: Readonly<JwtPayload>): Promise<void>
  /**
   * Refuse every token of `sub` issued at or before `options.before` (default now), in whole
   * seconds; a token of that subject without `iat` is refused too. Later tokens pass. Kept
   * for `maxTokenLifetime` after `before`.
   */
  revokeSubject(sub: string, options?: SubjectRevocationOptions): Promise<void>
  /**
   * Resolves once the replica has been loaded from Redis for the first time. Rejects only if
   * the denylist is closed first. Until then `isRevoked` waits for the load (at most
   * `maxStaleness` from creation), then throws (503) unless `failOpen`.
   */
  ready(): Promise<void>
  /** Size and freshness of the local replica (for health checks and metrics). */
  status(): RedisDenylistStatus
  /**
   * Stop syncing: close the dedicated connection, clear every timer, drop the replica. Your
   * client is left open. `isRevoked` throws afterwards.
   */
  close(): Promise<void>
}
