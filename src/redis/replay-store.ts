/**
 * `redisReplayStore` (in `jwt-gate/redis`): the DPoP replay store shared through Redis, so a proof
 * used against one instance of the API is refused by every other. One atomic `SET key 1 NX PX ttl`
 * per proof: Redis answers `OK` when the id was unused (and keeps it until the proof could no
 * longer be accepted anyway), nil when it was used. Nothing to sync and no background work.
 *
 * Self-contained on purpose (it does not share the denylist's client adapter): it needs one raw
 * command, sent the way each client library sends raw commands.
 */
import type { ReplayStore } from '../types.js'

/** Options of `redisReplayStore`. */
export interface RedisReplayStoreOptions {
  /** An ioredis (`Redis`, `Cluster`) or node-redis (v4+, client or cluster) client, connected. */
  client: unknown
  /** Prefix of every key. Default `'jwt-gate:'`; keys are `<prefix>dpop:<hash of key and jti>`. */
  prefix?: string
}

type Send = (key: string, args: string[]) => Promise<unknown>

interface RawClient {
  call?: (command: string, ...args: string[]) => Promise<unknown>
  sendCommand?: (...args: unknown[]) => Promise<unknown>
  on?: (event: string, listener: (...args: unknown[]) => void) => unknown
  listenerCount?: (event: string) => number
}

/**
 * A DPoP replay store in Redis, for `createVerifier({ dpop: { replay } })`. A Redis error or a
 * slow answer (past the verifier's `denylistTimeout`) makes the request a 503 with `Retry-After`:
 * fail closed.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis'
 * import { redisReplayStore } from 'jwt-gate/redis'
 *
 * const replay = redisReplayStore({ client: new Redis(process.env.REDIS_URL!) })
 * createVerifier({ issuer, audience, jwksUri, dpop: { origin: 'https://api.example.com', replay } })
 * ```
 */
export function redisReplayStore(options: RedisReplayStoreOptions): ReplayStore {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('redisReplayStore needs options: { client, prefix? }')
  }
  const prefix = options.prefix ?? 'jwt-gate:'
  if (typeof prefix !== 'string') throw new TypeError('redisReplayStore: prefix must be a string')
  const send = sendCommandOf(options.client as RawClient | null | undefined)
  return {
    async markUsed(id, ttlMs) {
      const key = `${prefix}dpop:${id}`
      const ttl = String(Math.max(1, Math.ceil(ttlMs)))
      const reply = await send(key, ['SET', key, '1', 'NX', 'PX', ttl])
      if (reply === null || reply === undefined) return false
      // A Buffer with RESP2 clients set to return buffers.
      if (reply === 'OK' || (Buffer.isBuffer(reply) && reply.toString() === 'OK')) return true
      throw new Error('unexpected reply to SET NX PX')
    },
  }
}

/** How to send one raw command through `client`; `TypeError` for anything else. */
function sendCommandOf(client: RawClient | null | undefined): Send {
  if (client && typeof client.call === 'function') {
    const call = client.call.bind(client)
    return (_key, [command, ...args]) => call(command!, ...args)
  }
  if (client && typeof client.sendCommand === 'function') {
    const sendCommand = client.sendCommand.bind(client)
    // node-redis cluster: sendCommand(firstKey, isReadonly, args) routes by key.
    const isCluster = 'masters' in client || 'nodeByAddress' in client
    // node-redis throws an unhandled 'error' event (a crash) when nothing listens; the request
    // already fails closed with a 503, so an outage must not take the process down too.
    if (typeof client.listenerCount === 'function' && client.listenerCount('error') === 0) {
      client.on?.('error', () => {})
    }
    return isCluster
      ? (key, args) => sendCommand(key, false, args)
      : (_key, args) => sendCommand(args)
  }
  throw new TypeError(
    'redisReplayStore: `client` must be an ioredis (Redis or Cluster) or node-redis (v4+) client',
  )
}
