/**
 * What the verifier (src/verifier.ts) hands out. The stage checks live with their stages:
 * syntax, header and payload in jws/decode.test.ts, signatures and algorithms in
 * jws/signature.test.ts, key selection in jws/jwk-set.test.ts, claims in claims/claims.test.ts.
 */
import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { createVerifier } from '../../src/index.js'
import { hmacToken, nowSeconds } from '../helpers/tokens.js'

const issuer = 'https://id.example.com/'
const audience = 'https://api.example.com'
const secret = 'x'.repeat(48)
const hmacVerifier = createVerifier({ issuer, audience, secret })
after(() => hmacVerifier.close())

const claims = (extra: Record<string, unknown> = {}) => ({
  iss: issuer,
  aud: audience,
  sub: 'user-1',
  exp: nowSeconds() + 300,
  ...extra,
})

describe('payload', () => {
  test('results are frozen, deeply: a handler cannot alter what the cache will serve next', async () => {
    const token = hmacToken({ alg: 'HS256' }, claims({ roles: ['user'], org: { id: 1 } }), secret)
    const { payload, header } = await hmacVerifier.verify(token)
    assert.throws(() => {
      ;(payload as any).sub = 'admin'
    }, TypeError)
    assert.throws(() => {
      ;(payload as any).roles.push('admin')
    }, TypeError)
    assert.throws(() => {
      ;(payload as any).org.id = 2
    }, TypeError)
    assert.throws(() => {
      ;(header as any).alg = 'none'
    }, TypeError)
    assert.equal((await hmacVerifier.verify(token)).payload.sub, 'user-1')
  })
})
