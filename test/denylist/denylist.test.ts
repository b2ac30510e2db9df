/**
 * The denylist hook: consulted after every verification (cache hits too), failing closed on any
 * error, rejection, timeout or nonsense answer.
 */
import assert from 'node:assert/strict'
import { describe, mock, test } from 'node:test'
import {
  createVerifier,
  isAuthError,
  type AuthError,
  type Denylist,
  type JwtPayload,
} from '../../src/index.js'
import { refused } from '../helpers/refusals.js'
import { hmacToken, nowSeconds } from '../helpers/tokens.js'

const issuer = 'urn:issuer'
const audience = 'urn:api'
const secret = 'd'.repeat(48)
const token = (jti: string) =>
  hmacToken({ alg: 'HS256' }, { iss: issuer, aud: audience, exp: nowSeconds() + 60, jti }, secret)
const withDenylist = (denylist: Denylist, extra = {}) =>
  createVerifier({ issuer, audience, secret, denylist, ...extra })

describe('denylist', () => {
  test('a revoked token is 401 revoked, others pass; sync and async answers alike', async () => {
    const revoked = new Set(['bad'])
    for (const denylist of [
      { isRevoked: (p: Readonly<JwtPayload>) => revoked.has(p.jti!) },
      { isRevoked: (p: Readonly<JwtPayload>) => Promise.resolve(revoked.has(p.jti!)) },
    ]) {
      const v = withDenylist(denylist)
      assert.equal((await v.verify(token('good'))).payload.jti, 'good')
      await assert.rejects(v.verify(token('bad')), (error: AuthError) => {
        assert.equal(error.status, 401)
        assert.equal(error.reason, 'revoked')
        assert.match(error.headers['WWW-Authenticate']!, /error="invalid_token"/)
        return true
      })
    }
  })

  test('consulted on every cache hit: a revocation applies to an already verified token', async () => {
    const revoked = new Set<string>()
    let calls = 0
    const v = withDenylist({ isRevoked: (p) => (calls++, revoked.has(p.jti!)) })
    const t = token('t1')
    await v.verify(t)
    await v.verify(t)
    assert.equal(calls, 2)
    revoked.add('t1')
    await assert.rejects(v.verify(t), { reason: 'revoked' })
  })

  test('with a generation, a cached token is re-asked only after the generation changes', async () => {
    const revoked = new Set<string>()
    let calls = 0
    const denylist = {
      generation: 0,
      isRevoked: (p: Readonly<JwtPayload>) => (calls++, revoked.has(p.jti!)),
    }
    const v = withDenylist(denylist)
    const t = token('g1')
    await v.verify(t) // verified: asked once
    await v.verify(t) // cache hit, same generation: not asked
    await v.verify(t)
    assert.equal(calls, 1)
    revoked.add('g1')
    denylist.generation++ // a revocation happened somewhere
    await assert.rejects(v.verify(t), { reason: 'revoked' })
    await assert.rejects(v.verify(t), { reason: 'revoked' }) // a refusal is never remembered
    assert.equal(calls, 3)
    // Without a generation every request asks (the contract's default).
    let plainCalls = 0
    const plain = withDenylist({ isRevoked: () => (plainCalls++, false) })
    await plain.verify(token('p1'))
    await plain.verify(token('p1'))
    assert.equal(plainCalls, 2)
  })

  test('throws, rejects, non-boolean answers and timeouts all fail closed with 503', async () => {
    const broken: Denylist[] = [
      {
        isRevoked: () => {
          throw new Error('redis down')
        },
      },
      { isRevoked: () => Promise.reject(new Error('redis down')) },
      { isRevoked: () => 'no' as unknown as boolean },
      { isRevoked: () => Promise.resolve(undefined as unknown as boolean) },
    ]
    for (const denylist of broken) {
      await assert.rejects(withDenylist(denylist).verify(token('x')), (error: AuthError) => {
        assert.equal(error.status, 503)
        assert.equal(error.reason, 'denylist_unavailable')
        assert.equal(error.headers['Retry-After'], '1')
        assert.doesNotMatch(error.message, /redis down/)
        return true
      })
    }
    const started = Date.now()
    const hanging = withDenylist(
      { isRevoked: () => new Promise<boolean>(() => {}) },
      { denylistTimeout: '100ms' },
    )
    await assert.rejects(hanging.verify(token('x')), {
      status: 503,
      reason: 'denylist_unavailable',
    })
    assert.ok(Date.now() - started < 1000)
  })

  test('a token that fails verification never reaches the denylist', async () => {
    let calls = 0
    const v = withDenylist({ isRevoked: () => (calls++, false) })
    await assert.rejects(v.verify(token('x').slice(0, -3) + 'AAA'))
    assert.equal(calls, 0)
  })
})

// Moved from core/limits.test.ts: the limit on the denylist's answer time.
describe('limits on key-server input', () => {
  const limitsToken = () => token('limits')

  test('denylist answer time: denylistTimeout (default 2 s) turns a silent denylist into 503', async () => {
    const silent = { isRevoked: () => new Promise<boolean>(() => {}) }
    const token = limitsToken()
    mock.timers.enable({ apis: ['setTimeout'] })
    try {
      const v = withDenylist(silent, { cache: false })
      const state: { settled?: 'passed' | AuthError } = {}
      const settled = () => state.settled
      const pending = v.verify(token).then(
        () => (state.settled = 'passed'),
        (error: AuthError) => (state.settled = error),
      )
      await new Promise((resolve) => setImmediate(resolve))
      mock.timers.tick(1999)
      await new Promise((resolve) => setImmediate(resolve))
      assert.equal(settled(), undefined, 'answered before the default 2 s')
      mock.timers.tick(1)
      await pending
      const error = settled()
      assert.ok(isAuthError(error), String(error))
      assert.equal(error.status, 503)
      assert.equal(error.reason, 'denylist_unavailable')
    } finally {
      mock.timers.reset()
    }
    const quick = withDenylist(silent, { denylistTimeout: '50ms' })
    await refused(quick.verify(token), 503, 'denylist_unavailable')
  })
})
