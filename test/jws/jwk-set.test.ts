/**
 * The trusted key set (src/jws/jwk-set.ts): which imported key a token's `kid` and `alg` select,
 * what a JWK's own `alg` allows, and which keys are never imported.
 */
import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { createVerifier } from '../../src/index.js'
import { keyPair } from '../helpers/keys.js'
import { rejects } from '../helpers/refusals.js'
import { asymmetricToken, nowSeconds } from '../helpers/tokens.js'

const issuer = 'https://id.example.com/'
const audience = 'https://api.example.com'
const rsa = keyPair('rsa', 'rsa-1')
const ec = keyPair('ec', 'ec-1', 'ES256')
const ed = keyPair('ed25519', 'ed-1')
const verifier = createVerifier({ issuer, audience, keys: { keys: [rsa.jwk, ec.jwk, ed.jwk] } })
after(() => verifier.close())

const claims = (extra: Record<string, unknown> = {}) => ({
  iss: issuer,
  aud: audience,
  sub: 'user-1',
  exp: nowSeconds() + 300,
  ...extra,
})

describe('key set', () => {
  test('a JWK without "alg" serves every algorithm of its type; one with "alg" only that one', async () => {
    // rsa.jwk has no alg: RS256 and PS256 both passed above. ec.jwk says ES256:
    const narrowed = createVerifier({
      issuer,
      audience,
      keys: { keys: [{ ...rsa.jwk, alg: 'RS256' }] },
    })
    await narrowed.verify(asymmetricToken({ alg: 'RS256', kid: 'rsa-1' }, claims(), rsa.privateKey))
    await rejects(
      narrowed,
      asymmetricToken({ alg: 'PS256', kid: 'rsa-1' }, claims(), rsa.privateKey),
      'no_matching_key',
    )
  })

  test('a token without kid is tried against every key of the right type', async () => {
    const other = keyPair('rsa', 'rsa-2')
    const two = createVerifier({ issuer, audience, keys: { keys: [other.jwk, rsa.jwk] } })
    const { payload } = await two.verify(
      asymmetricToken({ alg: 'RS256' }, claims(), rsa.privateKey),
    )
    assert.equal(payload.sub, 'user-1')
  })

  test('an unknown kid is no_matching_key', async () => {
    await rejects(
      verifier,
      asymmetricToken({ alg: 'RS256', kid: 'nope' }, claims(), rsa.privateKey),
      'no_matching_key',
    )
  })

  test('RSA keys under 2048 bits are never used', () => {
    const weak = keyPair('rsa', 'weak', undefined, 1024)
    assert.throws(
      () => createVerifier({ issuer, audience, keys: { keys: [weak.jwk] } }),
      /under 2048/,
    )
  })
})
