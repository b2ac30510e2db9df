/**
 * The denylist on a real 3-master Redis Cluster on loopback, through every cluster client kind
 * (ioredis 5 and 6 `Cluster`, node-redis 4, 5 and 6 clusters, sharing the same data): every key in one slot, revocations shared between
 * instances through real HTTP, a late instance loading what exists, and the master that owns
 * the slot killed and restarted (fail closed meanwhile, then recovery).
 */
import assert from 'node:assert/strict'
import { Cluster } from 'ioredis'
import { before, describe, test } from 'node:test'
import { redisDenylist, type RedisClientLike, type RedisDenylist } from '../../src/redis/index.js'
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js'
import { bearer, send } from '../helpers/http.js'
import {
  redisCommand,
  redisSuite,
  startRedisCluster,
  type RedisCluster,
} from '../helpers/redis-server.js'
import {
  AUDIENCE,
  CLUSTER_CLIENTS,
  captureEvents,
  suiteCleanup,
  eventually,
  startApi,
} from './harness.js'

describe('redisDenylist on a Redis Cluster', redisSuite(), () => {
  let cluster: RedisCluster
  let issuer: TestIssuer
  const cleanup = suiteCleanup()
  let prefixes = 0

  before(async () => {
    cluster = await startRedisCluster(3)
    cleanup.push(() => cluster.close())
    issuer = await createTestIssuer({ alg: 'ES256', audience: AUDIENCE })
    cleanup.push(() => issuer.close())
  })

  function ioredisCluster(): Cluster {
    const client = new Cluster(cluster.startupNodes, {
      clusterRetryStrategy: () => 100,
      redisOptions: { disconnectTimeout: 100 },
    })
    client.on('error', () => {})
    cleanup.push(() => Promise.resolve(client.disconnect()))
    return client
  }

  function denylistOn(client: RedisClientLike, prefix: string) {
    const denylist = redisDenylist({ client, prefix, maxStaleness: '1s' })
    cleanup.push(() => denylist.close())
    return denylist
  }

  test('every key lands in one slot, whatever the prefix', async () => {
    const client = ioredisCluster()
    const prefix = `cluster-${++prefixes}:`
    const denylist = denylistOn(client, prefix)
    await denylist.ready()
    await denylist.revoke({ jti: 'a', exp: Math.floor(Date.now() / 1000) + 60 })
    await denylist.revokeSubject('b')
    const keys = await Promise.all(client.nodes('master').map((node) => node.keys(`${prefix}*`)))
    const found = keys.flat().sort()
    assert.deepEqual(found, [
      `${prefix}{denylist}:log`,
      `${prefix}{denylist}:seq`,
      `${prefix}{denylist}:subject-expiry`,
      `${prefix}{denylist}:subjects`,
      `${prefix}{denylist}:tokens`,
    ])
    assert.equal(keys.filter((onNode) => onNode.length > 0).length, 1, 'all on one master')
    // A prefix with its own hash tag is used as is.
    const tagged = denylistOn(client, `{tenant-${prefixes}}:`)
    await tagged.ready()
    await tagged.revoke({ jti: 'c', exp: Math.floor(Date.now() / 1000) + 60 })
    assert.equal(await client.exists(`{tenant-${prefixes}}:tokens`), 1)
  })

  test('revocations are shared through HTTP between instances on every cluster client kind', async () => {
    const prefix = `cluster-${++prefixes}:`
    const instances: { name: string; denylist: RedisDenylist }[] = []
    for (const factory of CLUSTER_CLIENTS) {
      const client = await factory.connect(cluster.startupNodes)
      cleanup.push(() => client.close())
      instances.push({ name: factory.name, denylist: denylistOn(client.client, prefix) })
    }
    await Promise.all(instances.map(({ denylist }) => denylist.ready()))
    const apis = await Promise.all(instances.map(({ denylist }) => startApi(denylist, issuer)))
    for (const api of apis) cleanup.push(() => api.close())

    // Each kind in turn revokes a token through HTTP; every kind refuses it within 1 s.
    for (const [i, writer] of apis.entries()) {
      const token = await issuer.sign({ sub: `user-${i}` })
      for (const api of apis) {
        assert.equal((await send(`${api.url}/me`, { headers: bearer(token) })).status, 200)
      }
      const out = await send(`${writer.url}/logout`, { method: 'POST', headers: bearer(token) })
      assert.equal(out.status, 204, instances[i]!.name)
      for (const [j, api] of apis.entries()) {
        await eventually(
          async () => (await send(`${api.url}/me`, { headers: bearer(token) })).status === 401,
          `${instances[j]!.name} to refuse the token revoked through ${instances[i]!.name}`,
          1000,
          2,
        )
      }
    }
    const other = await issuer.sign({ sub: 'jack' }, { issuedAt: '-1m' })
    await instances.at(-1)!.denylist.revokeSubject('jack')
    for (const api of apis) {
      await eventually(
        async () => (await send(`${api.url}/me`, { headers: bearer(other) })).status === 401,
        'every instance to refuse jack',
        1000,
        2,
      )
    }
    const late = denylistOn(ioredisCluster(), prefix)
    await late.ready()
    assert.deepEqual(
      { ...late.status(), stalenessMs: 0 },
      {
        fresh: true,
        stalenessMs: 0,
        tokens: apis.length,
        subjects: 1,
      },
    )
  })

  test('the master owning the slot killed and restarted: 503 meanwhile, then recovery', async () => {
    const prefix = `cluster-${++prefixes}:`
    const client = ioredisCluster()
    const denylist = denylistOn(client, prefix)
    await denylist.ready()
    const api = await startApi(denylist, issuer)
    cleanup.push(() => api.close())
    const token = await issuer.sign({ sub: 'kim' })
    assert.equal((await send(`${api.url}/me`, { headers: bearer(token) })).status, 200)

    const slot = Number(await client.cluster('KEYSLOT', `${prefix}{denylist}:log`))
    const owner = cluster.nodes.find(
      (node) => client.slots[slot]?.[0] === `${node.host}:${node.port}`,
    )!
    assert.ok(owner, 'found the owner of the slot')
    const events = captureEvents()
    await owner.kill()
    await eventually(
      async () => (await send(`${api.url}/me`, { headers: bearer(token) })).status === 503,
      'the instance to fail closed',
      3000,
    )
    await owner.restart()
    await eventually(
      async () =>
        (await redisCommand(owner.port, ['CLUSTER', 'INFO'])).includes('cluster_state:ok'),
      'the cluster to heal',
      10_000,
      50,
    )
    await eventually(
      async () => (await send(`${api.url}/me`, { headers: bearer(token) })).status === 200,
      'the instance to recover',
      10_000,
    )
    events.stop()
    assert.ok(events.events.some((e) => e.type === 'stale'))
    assert.ok(events.events.some((e) => e.type === 'fresh'))
  })
})
