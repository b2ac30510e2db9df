/**
 * The in-process replica and its freshness timer, without Redis: what `isRevoked` answers,
 * how merges behave, that memory is given back once entries end, and that staleness is
 * declared on time and cleared by a newer report.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { createFreshness } from '../../src/redis/freshness.js'
import { createReplica } from '../../src/redis/replica.js'

const NOW = 1_800_000_000

describe('replica', () => {
  test('a token is revoked by jti; a subject by sub for iat ≤ before (whole seconds) or no iat', () => {
    const replica = createReplica(0)
    assert.equal(replica.addToken('t1', NOW + 60, NOW), true)
    assert.equal(replica.addSubject('alice', NOW - 10, NOW + 3600, NOW), true)
    assert.equal(replica.isRevoked({ jti: 't1' }), true)
    assert.equal(replica.isRevoked({ jti: 't2', sub: 'bob' }), false)
    assert.equal(replica.isRevoked({ jti: 't2', sub: 'alice', iat: NOW - 10 }), true)
    assert.equal(replica.isRevoked({ jti: 't2', sub: 'alice', iat: NOW - 9.5 }), true)
    assert.equal(replica.isRevoked({ jti: 't2', sub: 'alice', iat: NOW - 9 }), false)
    assert.equal(replica.isRevoked({ sub: 'alice' }), true)
    assert.equal(replica.isRevoked({ sub: 'alice', iat: 'yesterday' as never }), true)
    assert.equal(replica.isRevoked({ sub: 'alice', iat: Number.NaN }), true)
    assert.equal(replica.isRevoked({ jti: 1 as never, sub: 2 as never }), false)
  })

  test('merges keep the later exp and the later before; a repeat is harmless', () => {
    const replica = createReplica(0)
    replica.addToken('t', NOW + 100, NOW)
    replica.addToken('t', NOW + 10, NOW)
    replica.addSubject('s', NOW - 5, NOW + 100, NOW)
    replica.addSubject('s', NOW - 50, NOW + 10, NOW)
    replica.addSubject('s', NOW - 5, NOW + 100, NOW)
    assert.deepEqual([replica.tokens, replica.subjects], [1, 1])
    replica.sweep(NOW + 50)
    assert.equal(replica.isRevoked({ jti: 't' }), true, 'kept until the later exp')
    assert.equal(replica.isRevoked({ sub: 's', iat: NOW - 5 }), true)
    assert.equal(replica.isRevoked({ sub: 's', iat: NOW - 4 }), false)
  })

  test('memory is given back: entries leave within 10 s after their end plus tolerance', () => {
    const replica = createReplica(30)
    for (let i = 0; i < 1000; i++) replica.addToken(`t${i}`, NOW + i, NOW)
    replica.addSubject('s', NOW - 100, NOW + 500, NOW)
    // Already over (end + tolerance in the past): not stored at all.
    replica.addToken('old', NOW - 31, NOW)
    assert.deepEqual([replica.tokens, replica.subjects], [1000, 1])
    replica.sweep(NOW + 29)
    assert.equal(replica.tokens, 1000, 'tolerance is honoured')
    // Every entry whose exp + tolerance has passed, in a bucket that has passed: exp < NOW + 510.
    replica.sweep(NOW + 30 + 500 + 10)
    assert.equal(replica.tokens, 490)
    assert.equal(replica.subjects, 0)
    replica.sweep(NOW + 30 + 1000 + 10)
    assert.deepEqual([replica.tokens, replica.subjects], [0, 0])
    assert.equal(replica.isRevoked({ jti: 't999' }), false)
  })

  test('the pre-check never hides a revoked jti, through resizes and sweeps', () => {
    const replica = createReplica(0)
    const ids = Array.from({ length: 30_000 }, (_, i) =>
      i % 3 === 0 ? crypto.randomUUID() : i % 3 === 1 ? `jti-${i}` : `${i}`,
    )
    ids.forEach((id, i) => replica.addToken(id, NOW + (i % 2 === 0 ? 10 : 1000), NOW))
    assert.ok(ids.every((id) => replica.isRevoked({ jti: id })))
    let falsePositives = 0
    for (let i = 0; i < 30_000; i++) if (replica.isRevoked({ jti: `other-${i}` })) falsePositives++
    assert.equal(falsePositives, 0, 'the Map has the last word')
    replica.sweep(NOW + 30) // drops the even ones, rebuilds the filter
    assert.equal(replica.tokens, 15_000)
    assert.ok(ids.every((id, i) => replica.isRevoked({ jti: id }) === (i % 2 === 1)))
  })

  test('malformed input is refused, not stored', () => {
    const replica = createReplica(0)
    for (const [jti, exp] of [
      ['', NOW],
      ['x'.repeat(1025), NOW],
      [42, NOW],
      ['t', NOW + 0.5],
      ['t', -1],
      ['t', 1e12],
      ['t', '123'],
    ] as const) {
      assert.equal(replica.addToken(jti, exp, NOW), false, `${String(jti).slice(0, 5)} ${exp}`)
    }
    assert.equal(replica.addSubject('s', NOW, undefined, NOW), false)
    assert.equal(replica.addSubject(undefined, NOW, NOW, NOW), false)
    assert.deepEqual([replica.tokens, replica.subjects], [0, 0])
  })
})

describe('freshness', () => {
  test('stale at start, fresh on a report, stale again maxStaleness after the reported time', async () => {
    const seen: string[] = []
    const freshness = createFreshness(
      120,
      (ms) => seen.push(`stale ${ms >= 100 ? '≥100' : ms}`),
      () => seen.push('fresh'),
    )
    assert.equal(freshness.fresh, false)
    freshness.markFresh(performance.now() - 60) // current as of 60 ms ago
    assert.equal(freshness.fresh, true)
    await sleep(30)
    assert.equal(freshness.fresh, true)
    await sleep(60)
    assert.equal(freshness.fresh, false, 'expired 120 ms after the reported time, not the report')
    freshness.markFresh(performance.now() - 500) // too old to count
    assert.equal(freshness.fresh, false)
    freshness.markFresh(performance.now())
    assert.equal(freshness.fresh, true)
    freshness.stop()
    assert.equal(freshness.fresh, false)
    freshness.markFresh(performance.now())
    assert.equal(freshness.fresh, false, 'stopped for good')
    assert.deepEqual(seen, ['fresh', 'stale ≥100', 'fresh'])
  })
})
