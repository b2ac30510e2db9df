/**
 * The signature check (src/jws/signature.ts) and the algorithm allow-list (src/jws/algorithms.ts),
 * on a verifier with a local JWKS (RSA, P-256 and Ed25519 keys) and one with a shared secret.
 */
import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { createVerifier } from '../../src/index.js'
import { keyPair } from '../helpers/keys.js'
import { rejects } from '../helpers/refusals.js'
import { asymmetricToken, b64url, hmacToken, nowSeconds } from '../helpers/tokens.js'

const issuer = 'https://id.example.com/'
const audience = 'https://api.example.com'
const rsa = keyPair('rsa', 'rsa-1')
const ec = keyPair('ec', 'ec-1', 'ES256')
const ed = keyPair('ed25519', 'ed-1')
const verifier = createVerifier({ issuer, audience, keys: { keys: [rsa.jwk, ec.jwk, ed.jwk] } })
const secret = 'x'.repeat(48)
const hmacVerifier = createVerifier({ issuer, audience, secret })
after(() => Promise.all([verifier.close(), hmacVerifier.close()]))

const claims = (extra: Record<string, unknown> = {}) => ({
  iss: issuer,
  aud: audience,
  sub: 'user-1',
  exp: nowSeconds() + 300,
  ...extra,
})

/** The token with `bytes` fewer signature bytes, still canonically encoded. */
function truncated(token: string, bytes: number): string {
  const [h, p, s] = token.split('.') as [string, string, string]
  return `${h}.${p}.${Buffer.from(s, 'base64url').subarray(0, -bytes).toString('base64url')}`
}

describe('signature and algorithms', () => {
  test('RS256, PS256, ES256, EdDSA and Ed25519 tokens verify with their keys', async () => {
    for (const [alg, pair] of [
      ['RS256', rsa],
      ['RS512', rsa],
      ['PS256', rsa],
      ['PS384', rsa],
      ['ES256', ec],
      ['EdDSA', ed],
      ['Ed25519', ed],
    ] as const) {
      const token = asymmetricToken({ alg, kid: pair.jwk.kid }, claims(), pair.privateKey)
      const { payload, header } = await verifier.verify(token)
      assert.equal(payload.sub, 'user-1', alg)
      assert.equal(header.alg, alg)
    }
  })

  test('a tampered payload, a foreign key and a truncated signature fail as bad_signature', async () => {
    const token = asymmetricToken({ alg: 'RS256', kid: 'rsa-1' }, claims(), rsa.privateKey)
    const [h, , s] = token.split('.')
    await rejects(verifier, `${h}.${b64url(claims({ sub: 'admin' }))}.${s}`, 'bad_signature')
    const stranger = keyPair('rsa', 'rsa-1')
    await rejects(
      verifier,
      asymmetricToken({ alg: 'RS256', kid: 'rsa-1' }, claims(), stranger.privateKey),
      'bad_signature',
    )
    await rejects(verifier, truncated(token, 8), 'bad_signature')
    const esToken = asymmetricToken({ alg: 'ES256', kid: 'ec-1' }, claims(), ec.privateKey)
    await rejects(verifier, truncated(esToken, 3), 'bad_signature')
    // The same signature bytes in a non-canonical spelling are malformed, not a second valid token.
    // (RSA-2048: 342 characters, so the last one carries 4 unused bits; set the lowest.)
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const twin = token.slice(0, -1) + alphabet[alphabet.indexOf(token.at(-1)!) | 1]
    await rejects(verifier, twin, 'malformed')
  })

  test('the allow-list is enforced: an algorithm outside it is refused before any key lookup', async () => {
    const esOnly = createVerifier({
      issuer,
      audience,
      keys: { keys: [ec.jwk] },
      algorithms: ['ES256'],
    })
    await rejects(
      esOnly,
      asymmetricToken({ alg: 'RS256', kid: 'rsa-1' }, claims(), rsa.privateKey),
      'alg_not_allowed',
    )
    await esOnly.close()
  })

  test('HMAC tokens verify with the secret, and HS384 is refused unless allowed', async () => {
    const { payload } = await hmacVerifier.verify(hmacToken({ alg: 'HS256' }, claims(), secret))
    assert.equal(payload.sub, 'user-1')
    await rejects(
      hmacVerifier,
      hmacToken({ alg: 'HS256' }, claims(), 'y'.repeat(48)),
      'bad_signature',
    )
    await rejects(
      hmacVerifier,
      hmacToken({ alg: 'HS384' }, claims(), secret, 'sha384'),
      'alg_not_allowed',
    )
  })
})
