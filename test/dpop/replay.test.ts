/** The in-memory replay store: once per id within its lifetime, bounded, fails closed when full. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createMemoryReplayStore, ReplayStoreFullError } from '../../src/dpop/replay.js'

test('an id is used once until it expires, then may be used again', () => {
  let now = 1_000
  const store = createMemoryReplayStore(10, () => now)
  assert.equal(store.markUsed('a', 100), true)
  assert.equal(store.markUsed('a', 100), false)
  now += 99
  assert.equal(store.markUsed('a', 100), false)
  now += 1
  assert.equal(store.markUsed('a', 100), true)
})

test('full of live ids: refuses (the request gets 503) rather than forget one; expired ids make room', () => {
  let now = 0
  const store = createMemoryReplayStore(3, () => now)
  for (const id of ['a', 'b', 'c']) assert.equal(store.markUsed(id, 100), true)
  assert.throws(() => store.markUsed('d', 100), ReplayStoreFullError)
  // Still remembered: nothing was evicted to make room.
  for (const id of ['a', 'b', 'c']) assert.equal(store.markUsed(id, 100), false)
  now = 100
  assert.equal(store.markUsed('d', 100), true)
  assert.equal(store.markUsed('a', 100), true)
})
