/**
 * Writes Redis refuses, for real: out of memory (`maxmemory` with `noeviction`) and a read-only
 * replica (`REPLICAOF`). `revoke()` and `revokeSubject()` reject with an error that says the
 * revocation was not confirmed and carries Redis's reason; the process does not refuse the token
 * on its own say-so and publishes no `revoked` event. Each client library.
 */
import assert from 'node:assert/strict'
import { before, describe, test } from 'node:test'
import { redisDenylist, type RedisDenylist } from '../../src/redis/index.js'
import { redisSuite, startRedisServer, type RedisServer } from '../helpers/redis-server.js'
import { CLIENTS, captureEvents, eventually, suiteCleanup, type TestClient } from './harness.js'

const future = () => Math.floor(Date.now() / 1000) + 600

describe('redisDenylist when Redis refuses a write', redisSuite(), () => {
  let primary: RedisServer
  let replica: RedisServer
  let admin: TestClient
  const cleanup = suiteCleanup()
  let prefixes = 0

  before(async () => {
    primary = await startRedisServer()
    cleanup.push(() => primary.close())
    replica = await startRedisServer()
    cleanup.push(() => replica.close())
    admin = await CLIENTS[0]!.connect(primary.port)
    cleanup.push(() => admin.close())
    const replicaAdmin = await CLIENTS[0]!.connect(replica.port)
    cleanup.push(() => replicaAdmin.close())
    await replicaAdmin.command(['REPLICAOF', '127.0.0.1', String(primary.port)])
    await eventually(
      async () =>
        /master_link_status:up/.test(String(await replicaAdmin.command(['INFO', 'replication']))),
      'the replica to follow the primary',
      10_000,
      20,
    )
  })

  async function denylistOn(
    factory: (typeof CLIENTS)[number],
    server: RedisServer,
  ): Promise<RedisDenylist> {
    const client = await factory.connect(server.port)
    const denylist = redisDenylist({ client: client.client, prefix: `faults-${++prefixes}:` })
    cleanup.push(
      () => denylist.close(),
      () => client.close(),
    )
    await denylist.ready()
    return denylist
  }

  /** Both writes reject with `reason`, and nothing claims they happened. */
  async function refused(denylist: RedisDenylist, reason: RegExp): Promise<void> {
    const events = captureEvents()
    const jti = `refused-${prefixes}`
    for (const attempt of [
      denylist.revoke({ jti, exp: future() }),
      denylist.revokeSubject('someone'),
    ]) {
      await assert.rejects(attempt, (error: Error) => {
        assert.match(error.message, /^the revocation was not confirmed by Redis: /)
        assert.match(error.message, reason)
        assert.ok(error.cause instanceof Error, 'the client error is kept as the cause')
        return true
      })
    }
    events.stop()
    assert.equal(denylist.isRevoked({ jti }), false, 'not refused locally either')
    assert.equal(denylist.isRevoked({ sub: 'someone', iat: 1 }), false)
    assert.deepEqual(
      events.events.filter((e) => e.type === 'revoked'),
      [],
    )
  }

  for (const factory of CLIENTS) {
    describe(factory.name, () => {
      test('out of memory (maxmemory, noeviction): both writes reject with OOM', async () => {
        const denylist = await denylistOn(factory, primary)
        await admin.command(['CONFIG', 'SET', 'maxmemory-policy', 'noeviction'])
        await admin.command(['CONFIG', 'SET', 'maxmemory', '1'])
        try {
          await refused(denylist, /OOM/)
        } finally {
          await admin.command(['CONFIG', 'SET', 'maxmemory', '0'])
        }
        // Memory back: the same write goes through.
        await denylist.revoke({ jti: 'after-oom', exp: future() })
        assert.equal(denylist.isRevoked({ jti: 'after-oom' }), true)
      })

      test('a read-only replica: both writes reject with READONLY, reads still work', async () => {
        const denylist = await denylistOn(factory, replica)
        assert.equal(denylist.status().fresh, true)
        await refused(denylist, /READONLY/)
      })
    })
  }
})
