/**
 * A live feed broken on purpose, behind the denylist's back: the dedicated connection's XREAD
 * answers nothing (after blocking, as a healthy Redis with no news would), answers in a shape no
 * client produces, or the whole connection stops answering reads. Freshness is proved by
 * position, so the replica either still applies every revocation (the heartbeat catches it up,
 * with a warning) or fails closed (503) within `maxStaleness`; it never says fresh while missing
 * one. Each client library, through the wrapper below (the user's client is untouched).
 */
import assert from 'node:assert/strict'
import { before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { redisDenylist, type RedisDenylist } from '../../src/redis/index.js'
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js'
import { bearer, send } from '../helpers/http.js'
import { redisSuite, startRedisServer, type RedisServer } from '../helpers/redis-server.js'
import {
  AUDIENCE,
  CLIENTS,
  captureEvents,
  eventually,
  startApi,
  suiteCleanup,
  type TestClient,
} from './harness.js'

const MAX_STALENESS_MS = 1000
const BLOCK_MS = MAX_STALENESS_MS / 4
const nowSeconds = () => Math.floor(Date.now() / 1000)

/** What a broken read answers instead of Redis: `real()` asks Redis. */
type Tamper = (args: string[], real: () => Promise<unknown>) => Promise<unknown>

/**
 * The user's client as it is, except that the connections the denylist opens with `duplicate()`
 * pass every command through `tamper` (ioredis `call`, node-redis `sendCommand`).
 */
function withBrokenReads(client: object, tamper: Tamper): object {
  const wrapConnection = (connection: object): object =>
    new Proxy(connection, {
      get(target, property) {
        const value: unknown = Reflect.get(target, property, target)
        if (typeof value !== 'function') return value
        const method = value as (...args: unknown[]) => unknown
        if (property === 'call') {
          return (...args: string[]) => tamper(args, () => method.apply(target, args) as never)
        }
        if (property === 'sendCommand') {
          return (args: string[]) => tamper(args, () => method.call(target, args) as never)
        }
        return method.bind(target)
      },
    })
  return new Proxy(client, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target)
      if (typeof value !== 'function') return value
      const method = value as (...args: unknown[]) => unknown
      if (property === 'duplicate') {
        return (...args: unknown[]) => wrapConnection(method.apply(target, args) as object)
      }
      return method.bind(target)
    },
  })
}

/** XREAD blocks as long as asked, then answers nil: a feed that silently delivers nothing. */
const silentFeed: Tamper = async (args, real) => {
  if (args[0] !== 'XREAD') return real()
  await sleep(Number(args[args.indexOf('BLOCK') + 1]))
  return null
}

describe('redisDenylist with a live feed broken on purpose', redisSuite(), () => {
  let server: RedisServer
  let issuer: TestIssuer
  const cleanup = suiteCleanup()
  let prefixes = 0

  before(async () => {
    server = await startRedisServer()
    cleanup.push(() => server.close())
    issuer = await createTestIssuer({ alg: 'ES256', audience: AUDIENCE })
    cleanup.push(() => issuer.close())
  })

  async function connect(factory: (typeof CLIENTS)[number]): Promise<TestClient> {
    const client = await factory.connect(server.port)
    cleanup.push(() => client.close())
    return client
  }

  /** A healthy writer and a reader whose feed is tampered with, on one fresh prefix. */
  async function pair(
    factory: (typeof CLIENTS)[number],
    tamper: Tamper,
  ): Promise<{ writer: RedisDenylist; reader: RedisDenylist }> {
    const prefix = `feed-${++prefixes}:`
    const open = (client: object) => {
      const denylist = redisDenylist({
        client: client as never,
        prefix,
        maxStaleness: MAX_STALENESS_MS / 1000,
      })
      cleanup.push(() => denylist.close())
      return denylist
    }
    const writer = open((await connect(factory)).client)
    const reader = open(withBrokenReads((await connect(factory)).client, tamper))
    await Promise.all([writer.ready(), reader.ready()])
    return { writer, reader }
  }

  for (const factory of CLIENTS) {
    describe(factory.name, () => {
      test('XREAD answers nothing: the heartbeat still applies revocations, and warns', async () => {
        const { writer, reader } = await pair(factory, silentFeed)
        const events = captureEvents()
        await writer.revoke({ jti: 'while-silent', exp: nowSeconds() + 300 })
        await writer.revokeSubject('silent-sub')
        // Well inside maxStaleness: the heartbeat runs every BLOCK_MS.
        await eventually(
          () =>
            reader.isRevoked({ jti: 'while-silent' }) === true &&
            reader.isRevoked({ sub: 'silent-sub', iat: nowSeconds() - 1 }) === true,
          'the reader to apply the revocations its feed never delivered',
          MAX_STALENESS_MS,
        )
        // It never claimed to be fresh while missing them: fresh now, and it stays fresh.
        await sleep(MAX_STALENESS_MS + BLOCK_MS)
        assert.equal(reader.status().fresh, true)
        events.stop()
        assert.ok(
          events.events.some(
            (e) => e.type === 'warning' && /live feed \(XREAD\) returned nothing/.test(e.message),
          ),
          JSON.stringify(events.events),
        )
      })

      test('XREAD answers in a shape no client produces: stale at once with a sync-error, recovered once fixed', async () => {
        let broken = false
        const { writer, reader } = await pair(factory, (args, real) =>
          broken && args[0] === 'XREAD' ? Promise.resolve([['?', '?', '?']]) : real(),
        )
        const events = captureEvents()
        broken = true
        await writer.revoke({ jti: 'while-reshaped', exp: nowSeconds() + 300 })
        await eventually(
          () => events.events.some((e) => e.type === 'stale'),
          'the replica to be marked stale',
          MAX_STALENESS_MS,
        )
        assert.ok(
          events.events.some(
            (e) => e.type === 'sync-error' && /unrecognised XREAD reply/.test(e.message),
          ),
          JSON.stringify(events.events),
        )
        broken = false
        await eventually(
          () => reader.status().fresh && reader.isRevoked({ jti: 'while-reshaped' }) === true,
          'the replica to recover with the revocation',
          MAX_STALENESS_MS,
        )
        events.stop()
      })

      test('no read proves the position: 503 within maxStaleness, never a fresh replica', async () => {
        let broken = false
        const { writer, reader } = await pair(factory, async (args, real) => {
          if (!broken) return real()
          if (args[0] === 'XREAD') return silentFeed(args, real)
          throw new Error('reads refused by the test')
        })
        const api = await startApi(reader, issuer)
        cleanup.push(() => api.close())
        const token = await issuer.sign({ sub: 'anyone' })
        assert.equal((await send(`${api.url}/me`, { headers: bearer(token) })).status, 200)
        broken = true
        await writer.revoke({ jti: 'unseen', exp: nowSeconds() + 300 })
        await eventually(
          async () => (await send(`${api.url}/me`, { headers: bearer(token) })).status === 503,
          'the reader to fail closed',
          MAX_STALENESS_MS + 2 * BLOCK_MS,
        )
        assert.equal(reader.status().fresh, false)
        assert.throws(() => reader.isRevoked({ jti: 'unseen' }), /staler than/)
      })
    })
  }
})
