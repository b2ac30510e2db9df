/**
 * Whatever else lives under the prefix, and whatever is written into the denylist's own keys
 * by someone else, never crashes a process: foreign keys are never read, malformed entries are
 * skipped with a `warning` event naming the key, a foreign value where a sorted set belongs is
 * ignored, and a log that cannot be read makes the replica stale (fail closed) until it can.
 */
import assert from 'node:assert/strict'
import { before, describe, test } from 'node:test'
import type { DenylistEvent } from '../../src/redis/events.js'
import { redisDenylist, type RedisDenylist } from '../../src/redis/index.js'
import { redisSuite, startRedisServer, type RedisServer } from '../helpers/redis-server.js'
import { CLIENTS, captureEvents, suiteCleanup, eventually, type TestClient } from './harness.js'

const future = () => Math.floor(Date.now() / 1000) + 600

describe('redisDenylist with bad data in Redis', redisSuite(), () => {
  let server: RedisServer
  let raw: TestClient
  const cleanup = suiteCleanup()
  let prefixes = 0

  before(async () => {
    server = await startRedisServer()
    cleanup.push(() => server.close())
    raw = await CLIENTS[0]!.connect(server.port)
    cleanup.push(() => raw.close())
  })

  /** A denylist on each client library, with the events they publish while loading. */
  async function load(
    prefix: string,
  ): Promise<{ denylists: RedisDenylist[]; events: DenylistEvent[] }> {
    const capture = captureEvents()
    const denylists = await Promise.all(
      CLIENTS.map(async (factory) => {
        const client = await factory.connect(server.port)
        const denylist = redisDenylist({ client: client.client, prefix, maxStaleness: '1s' })
        cleanup.push(
          () => denylist.close(),
          () => client.close(),
        )
        return denylist
      }),
    )
    await Promise.all(denylists.map((d) => d.ready()))
    capture.stop()
    return { denylists, events: capture.events }
  }

  const warnings = (events: DenylistEvent[]) =>
    events.filter((e): e is Extract<DenylistEvent, { type: 'warning' }> => e.type === 'warning')

  test('foreign keys under the prefix are never read', async () => {
    const prefix = `bad-${++prefixes}:`
    await raw.command(['SET', `${prefix}tokens`, 'not ours'])
    await raw.command(['HSET', `${prefix}{denylist}:other`, 'jti', '1'])
    await raw.command(['SET', `${prefix}{denylist}:tokens-old`, 'x'])
    await raw.command(['LPUSH', `${prefix}{denylist}`, 'x'])
    const { denylists, events } = await load(prefix)
    assert.deepEqual(warnings(events), [])
    await denylists[0]!.revoke({ jti: 'real', exp: future() })
    for (const d of denylists) {
      await eventually(() => d.isRevoked({ jti: 'real' }), 'the revocation to arrive')
    }
  })

  test('malformed snapshot entries are skipped with a warning; the valid ones still count', async () => {
    const prefix = `bad-${++prefixes}:`
    const tokens = `${prefix}{denylist}:tokens`
    const subjects = `${prefix}{denylist}:subjects`
    await raw.command([
      'ZADD',
      tokens,
      String(future()),
      'valid',
      '1.5',
      'fractional',
      '-5',
      'negative',
      '1e15',
      'far-future',
      String(future()),
      'x'.repeat(2000),
    ])
    await raw.command(['ZADD', subjects, 'inf', 'infinite', String(future() - 600), 'kept'])
    await raw.command(['SET', `${prefix}{denylist}:seq`, 'many'])
    const { denylists, events } = await load(prefix)
    const messages = warnings(events).map((w) => `${w.key}: ${w.message}`)
    for (const key of [tokens, subjects, `${prefix}{denylist}:seq`]) {
      assert.ok(
        messages.filter((m) => m.startsWith(key)).length >= CLIENTS.length,
        `${key} in ${JSON.stringify(messages)}`,
      )
    }
    assert.ok(messages.some((m) => m.includes(`ignored 4 malformed entries in ${tokens}`)))
    for (const d of denylists) {
      assert.deepEqual(
        { ...d.status(), stalenessMs: 0 },
        {
          fresh: true,
          stalenessMs: 0,
          tokens: 1,
          subjects: 1,
        },
      )
      assert.equal(d.isRevoked({ jti: 'valid' }), true)
      assert.equal(d.isRevoked({ jti: 'fractional' }), false)
      assert.equal(d.isRevoked({ sub: 'kept', iat: 1 }), true)
    }
  })

  test('foreign or malformed log entries are stepped over with a warning', async () => {
    const prefix = `bad-${++prefixes}:`
    const log = `${prefix}{denylist}:log`
    const { denylists } = await load(prefix)
    const capture = captureEvents()
    await raw.command(['XADD', log, '*', 'hello', 'world'])
    await raw.command(['XADD', log, '*', 'n', 'abc', 'kind', 'jti', 'id', 'forged', 'exp', '1'])
    await denylists[0]!.revoke({ jti: 'after-garbage', exp: future() })
    for (const d of denylists) {
      await eventually(() => d.isRevoked({ jti: 'after-garbage' }), 'the real entry to arrive')
      assert.equal(d.isRevoked({ jti: 'forged' }), false)
      assert.equal(d.status().fresh, true)
    }
    // An entry claiming the next number but carrying junk: counted, skipped, warned about.
    const seq = Number(await raw.command(['INCR', `${prefix}{denylist}:seq`]))
    await raw.command([
      'XADD',
      log,
      '*',
      'n',
      String(seq),
      'kind',
      'jti',
      'id',
      'junk',
      'exp',
      'soon',
    ])
    await denylists[0]!.revoke({ jti: 'after-junk', exp: future() })
    for (const d of denylists) {
      await eventually(() => d.isRevoked({ jti: 'after-junk' }), 'the next real entry to arrive')
      assert.equal(d.isRevoked({ jti: 'junk' }), false)
    }
    capture.stop()
    assert.ok(
      warnings(capture.events).filter((w) => w.key === log).length >= CLIENTS.length * 2,
      JSON.stringify(capture.events),
    )
  })

  test('a foreign value where a sorted set belongs is ignored; writes to it reject', async () => {
    const prefix = `bad-${++prefixes}:`
    const subjects = `${prefix}{denylist}:subjects`
    await raw.command(['SET', subjects, 'a string'])
    const { denylists, events } = await load(prefix)
    assert.ok(
      warnings(events).some((w) => w.key === subjects && /not a sorted set/.test(w.message)),
    )
    await assert.rejects(denylists[0]!.revokeSubject('someone'), /WRONGTYPE/)
    await denylists[0]!.revoke({ jti: 'still-works', exp: future() })
    for (const d of denylists) {
      await eventually(() => d.isRevoked({ jti: 'still-works' }), 'token revocations to work')
    }
  })

  test('a log that cannot be read: stale and failing closed, recovered once it is fixed', async () => {
    const prefix = `bad-${++prefixes}:`
    const log = `${prefix}{denylist}:log`
    const { denylists } = await load(prefix)
    const capture = captureEvents()
    await raw.command(['DEL', log])
    await raw.command(['SET', log, 'not a stream'])
    for (const d of denylists) {
      await eventually(() => !d.status().fresh, 'the replica to go stale', 3000)
      assert.throws(() => d.isRevoked({ jti: 'x' }), /staler than 1000 ms/)
    }
    assert.ok(
      capture.events.some((e) => e.type === 'sync-error' && /WRONGTYPE/.test(e.message)),
      JSON.stringify(capture.events),
    )
    await raw.command(['DEL', log])
    for (const d of denylists) {
      await eventually(() => d.status().fresh, 'the replica to recover', 3000)
    }
    capture.stop()
  })
})
