/**
 * The browser demo's denylist: sign-out revokes the token's `jti` here. In memory, for one
 * process; an API that runs as several processes uses `redisDenylist` from `jwt-gate/redis`,
 * which has the same shape.
 */
import type { Denylist, JwtPayload } from 'jwt-gate'

/** A denylist the demo can also write to: jwt-gate's Redis denylist has this shape. */
export interface RevocableDenylist extends Denylist {
  /** Revoke one token until its `exp`. */
  revoke(token: { jti: string; exp: number }): void | Promise<unknown>
}

/** An in-memory denylist keyed by `jti`, for one process (use jwt-gate/redis for several). */
export interface MemoryDenylist extends RevocableDenylist {
  /** Number of revoked tokens still remembered (entries go once their token has expired). */
  readonly size: number
}

/**
 * A denylist in a `Map` from `jti` to `exp`. Fine for a demo or a single process; an API that
 * runs as several processes needs a shared one such as `redisDenylist` from `jwt-gate/redis`.
 */
export function createMemoryDenylist(): MemoryDenylist {
  const revoked = new Map<string, number>()
  const purge = (now: number) => {
    for (const [jti, exp] of revoked) if (exp <= now) revoked.delete(jti)
  }
  return {
    revoke({ jti, exp }) {
      purge(Math.floor(Date.now() / 1000))
      revoked.set(jti, exp)
    },
    isRevoked(payload: Readonly<JwtPayload>) {
      return typeof payload.jti === 'string' && revoked.has(payload.jti)
    },
    get size() {
      return revoked.size
    },
  }
}
