/**
 * The verified-token cache: hits skip the signature check but never a time check or the
 * denylist; failures are never cached; the size bound holds.
 */
import assert from 'node:assert/strict'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { after, afterEach, beforeEach, describe, test } from 'node:test'
import {
  CHANNELS,
  createVerifier,
  type VerifiedEvent,
  type Verifier,
  type VerifierOptions,
} from '../../src/index.js'
import { PERMANENT_TRUST, type KeyTrust } from '../../src/jws/jwk-set.js'
import { createTokenCache } from '../../src/token-cache/token-cache.js'
import { hmacToken, nowSeconds } from '../helpers/tokens.js'

const issuer = 'urn:issuer'
const audience = 'urn:api'
const secret = 'c'.repeat(48)
const token = (claims: Record<string, unknown> = {}) =>
  hmacToken(
    { alg: 'HS256' },
    { iss: issuer, aud: audience, exp: nowSeconds() + 60, ...claims },
    secret,
  )

let events: VerifiedEvent[] = []
const listener = (message: unknown) => events.push(message as VerifiedEvent)
beforeEach(() => {
  events = []
  subscribe(CHANNELS.verified, listener)
})
afterEach(() => unsubscribe(CHANNELS.verified, listener))

describe('verified-token cache', () => {
  test('the second verification of a token is a cache hit, with the same frozen result', async () => {
    const v = createVerifier({ issuer, audience, secret })
    const t = token({ sub: 'a' })
    const first = await v.verify(t)
    const second = await v.verify(t)
    assert.deepEqual(
      events.map((e) => e.cached),
      [false, true],
    )
    assert.equal(second.payload, first.payload)
    assert.equal(second.token, t)
  })

  test('cache: false verifies every time', async () => {
    const v = createVerifier({ issuer, audience, secret, cache: false })
    const t = token()
    await v.verify(t)
    await v.verify(t)
    assert.deepEqual(
      events.map((e) => e.cached),
      [false, false],
    )
  })

  test('a different token with the same claims is not a hit (the key is the whole token)', async () => {
    const v = createVerifier({ issuer, audience, secret })
    const claims = { sub: 'same', exp: nowSeconds() + 60 }
    await v.verify(token(claims))
    const other = hmacToken(
      { alg: 'HS256', typ: 'JWT' },
      { iss: issuer, aud: audience, ...claims },
      secret,
    )
    await v.verify(other)
    assert.deepEqual(
      events.map((e) => e.cached),
      [false, false],
    )
  })

  test('failures are not cached: a forged twin of a cached token is still refused', async () => {
    const v = createVerifier({ issuer, audience, secret })
    const t = token()
    await v.verify(t)
    const forged = t.slice(0, -2) + (t.endsWith('AA') ? 'BA' : 'AA')
    await assert.rejects(v.verify(forged), { reason: 'bad_signature' })
    await assert.rejects(v.verify(forged), { reason: 'bad_signature' })
  })

  test('the LRU holds at most its bound', () => {
    const cache = createTokenCache(2)
    const entry = {
      payload: {},
      header: { alg: 'HS256' },
      keyTrust: PERMANENT_TRUST,
      notBefore: 0,
      expiresBefore: Number.POSITIVE_INFINITY,
    }
    cache.set('a', entry)
    cache.set('b', entry)
    cache.set('c', entry)
    assert.equal(cache.get('a', 1, 1000), undefined)
    assert.equal(cache.get('c', 1, 1000), entry)
  })

  test('an entry outside its validity window is dropped, not served', () => {
    const cache = createTokenCache(10)
    const entry = {
      payload: {},
      header: { alg: 'HS256' },
      keyTrust: PERMANENT_TRUST,
      notBefore: 100,
      expiresBefore: 200,
    }
    cache.set('t', entry)
    assert.equal(cache.get('t', 99, 99_000), undefined)
    assert.equal(cache.get('t', 150, 150_000), undefined) // dropped by the first miss
    cache.set('t', entry)
    assert.equal(cache.get('t', 150, 150_000), entry)
    assert.equal(cache.get('t', 200, 200_000), undefined)
  })

  test('an entry whose key is no longer trusted is dropped, not served', () => {
    const cache = createTokenCache(10)
    const keyTrust: KeyTrust = { usableUntilMs: 150_000 }
    const entry = {
      payload: {},
      header: { alg: 'RS256' },
      keyTrust,
      notBefore: 0,
      expiresBefore: 1e9,
    }
    cache.set('t', entry)
    assert.equal(cache.get('t', 149, 149_999), entry)
    assert.equal(cache.get('t', 150, 150_000), undefined)
    cache.set('t', entry)
    keyTrust.usableUntilMs = Number.POSITIVE_INFINITY
    assert.equal(cache.get('t', 150, 150_000), entry)
    keyTrust.usableUntilMs = Number.NEGATIVE_INFINITY // the key left its set
    assert.equal(cache.get('t', 150, 150_000), undefined)
  })
})

// Moved from core/limits.test.ts: the bound on the cache's entries.
describe('limits on memory', () => {
  const opened: Verifier[] = []
  const limitsVerifier = (options: Partial<VerifierOptions> = {}) => {
    const created = createVerifier({ issuer, audience, secret, ...options } as VerifierOptions)
    opened.push(created)
    return created
  }
  after(() => Promise.all(opened.map((v) => v.close())))

  test('verified-token cache: cache.tokens (default 10,000) bounds the entries; the oldest is evicted', async () => {
    const events: VerifiedEvent[] = []
    const listener = (event: unknown) => events.push(event as VerifiedEvent)
    subscribe(CHANNELS.verified, listener)
    try {
      const tokens = Array.from({ length: 10_001 }, (_, i) => token({ jti: `t${i}` }))
      const cachedOnRepeat = async (v: Verifier, token: string) => {
        events.length = 0
        await v.verify(token)
        return events.at(-1)!.cached
      }
      const small = limitsVerifier({ cache: { tokens: 3 } })
      for (const token of tokens.slice(0, 4)) await small.verify(token)
      assert.equal(await cachedOnRepeat(small, tokens[3]!), true)
      assert.equal(await cachedOnRepeat(small, tokens[0]!), false, 'the 4th token evicted the 1st')

      const byDefault = limitsVerifier()
      for (const token of tokens.slice(0, 10_000)) await byDefault.verify(token)
      assert.equal(await cachedOnRepeat(byDefault, tokens[1]!), true)
      await byDefault.verify(tokens[10_000]!) // one more than the bound…
      assert.equal(await cachedOnRepeat(byDefault, tokens[0]!), false, '…evicts the oldest')
    } finally {
      unsubscribe(CHANNELS.verified, listener)
    }
  })
})
