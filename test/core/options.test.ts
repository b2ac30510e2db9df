import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createVerifier, type VerifierOptions } from '../../src/index.js'

const base = { issuer: 'https://id.example.com/', audience: 'https://api.example.com' }
const secret = 'a-shared-secret-of-at-least-32-bytes!!'
const rsaJwk = {
  kty: 'RSA',
  kid: 'k1',
  e: 'AQAB',
  n: 'wCyD3-Oi0cTqmtF4T9EVT9n3LRWIy5dnCBwUU4f7cYkALxfaLJ7hSATzyy7qqNgLgGXmbY7IqPxOWpoSeZwmSnGkS_UTk1Ao4qbdGqMOW9NyU2yaE6hN7QGtC-PnXWIZbfqtHyYtHW1YHZMr1utHOW3ZR_HbEQS8mAtnbFDehKUyzpjYF61DQ6ZMUo2t5xaxAbD1GudVJkTtBH9vc-pGqtvTrXYsYQDJLiWL8gj2Mm3CZbSrWm6bJO2ME9IAQpgjqbgYFJjfbd0CCXjR0HhzWB_x1nIDgS6pO6f_MLJhf7TXsgBgsKvVq4Lu6Tc1tXlsClS3tDLDV6vkHtbNkX-I9Q',
}

function throwsType(options: unknown, pattern: RegExp) {
  assert.throws(
    () => createVerifier(options as VerifierOptions),
    (error: unknown) => {
      assert.ok(error instanceof TypeError, `expected TypeError, got ${String(error)}`)
      assert.match(error.message, pattern)
      return true
    },
  )
}

describe('createVerifier options', () => {
  test('issuer and audience are required', () => {
    throwsType({ audience: 'a', secret }, /issuer is required/)
    throwsType({ issuer: 'i', secret }, /audience is required/)
    throwsType({ issuer: [], audience: 'a', secret }, /issuer must be a non-empty/)
    throwsType({ issuer: 'i', audience: [''], secret }, /audience must be a non-empty string/)
  })

  test('exactly one key source', () => {
    throwsType(
      { ...base, secret, jwksUri: 'https://id.example.com/jwks' },
      /exactly one key source; got secret and jwksUri/,
    )
    throwsType({ ...base, secret, keys: { keys: [rsaJwk] } }, /exactly one key source/)
  })

  test('an empty secret, or one of the wrong type, is refused', () => {
    throwsType({ ...base, secret: '' }, /secret must not be empty/)
    throwsType({ ...base, secret: new Uint8Array() }, /secret must not be empty/)
    throwsType(
      { ...base, secret: 42 },
      /secret must be a string, a Uint8Array or a secret KeyObject/,
    )
  })

  test('"none" is refused in any spelling', () => {
    for (const none of ['none', 'None', 'NONE', 'nOnE']) {
      throwsType({ ...base, secret, algorithms: [none] }, /"none" is never allowed/)
    }
  })

  test('HMAC with asymmetric keys is refused, and asymmetric algorithms with a secret', () => {
    throwsType(
      { ...base, jwksUri: 'https://id.example.com/jwks', algorithms: ['HS256'] },
      /HMAC, which is refused with asymmetric keys/,
    )
    throwsType(
      { ...base, keys: { keys: [rsaJwk] }, algorithms: ['RS256', 'HS512'] },
      /HS512 is HMAC/,
    )
    throwsType({ ...base, algorithms: ['HS256'] }, /HMAC/) // discovery is asymmetric too
    throwsType({ ...base, secret, algorithms: ['RS256'] }, /RS256 needs asymmetric keys/)
  })

  test('unknown algorithms and unknown options are refused, not ignored', () => {
    throwsType({ ...base, secret, algorithms: ['HS1'] }, /unsupported algorithm "HS1"/)
    throwsType({ ...base, secret, audiance: 'typo' }, /unknown option "audiance"/)
    throwsType({ ...base, secret, token: { cookies: 'x' } }, /token: unknown option "cookies"/)
    throwsType({ ...base, secret, cache: { token: 5 } }, /cache: unknown option "token"/)
  })

  test('remote-only options with a local key source are refused', () => {
    throwsType(
      { ...base, secret, remoteKeys: { cacheMaxAge: '5m' } },
      /remoteKeys applies only to jwksUri or discovery, not to secret/,
    )
    throwsType(
      { ...base, keys: { keys: [rsaJwk] }, remoteKeys: { allowInsecureHttp: true } },
      /remoteKeys applies only/,
    )
    // The tuning options sit in remoteKeys; at the top level they are unknown, with a pointer.
    throwsType(
      { ...base, jwksUri: 'https://id.example.com/jwks', cacheMaxAge: '5m' },
      /unknown option "cacheMaxAge" \(it belongs in remoteKeys: \{ cacheMaxAge \}\)/,
    )
    throwsType(
      { ...base, jwksUri: 'https://id.example.com/jwks', remoteKeys: { coolDown: '1s' } },
      /remoteKeys: unknown option "coolDown"/,
    )
  })

  test('key servers must be https unless on loopback or explicitly allowed', () => {
    throwsType({ ...base, jwksUri: 'http://id.example.com/jwks' }, /jwksUri must use https/)
    throwsType({ ...base, jwksUri: 'ftp://id.example.com/jwks' }, /must use https/)
    throwsType({ ...base, jwksUri: 'not a url' }, /not an absolute URL/)
    throwsType({ issuer: 'http://id.example.com', audience: 'a' }, /issuer must use https/)
    assert.ok(createVerifier({ ...base, jwksUri: 'http://127.0.0.1:1/jwks' }))
    assert.ok(createVerifier({ ...base, jwksUri: 'http://localhost:1/jwks' }))
    assert.ok(createVerifier({ ...base, jwksUri: 'http://[::1]:1/jwks' }))
    assert.ok(
      createVerifier({
        ...base,
        jwksUri: 'http://id.example.com/jwks',
        remoteKeys: { allowInsecureHttp: true },
      }),
    )
  })

  test('durations: seconds or unit strings; nonsense refused', () => {
    assert.ok(createVerifier({ ...base, secret, clockTolerance: '5s', maxTokenAge: '1h' }))
    assert.ok(createVerifier({ ...base, secret, clockTolerance: 5, maxTokenAge: 3600 }))
    throwsType(
      { ...base, secret, clockTolerance: '5 parsecs' },
      /clockTolerance: '5 parsecs' is not a duration/,
    )
    throwsType({ ...base, secret, clockTolerance: -1 }, /non-negative/)
    throwsType({ ...base, secret, maxTokenAge: 0 }, /maxTokenAge must be greater than zero/)
  })

  test('a local JWKS with a broken or private key is refused at construction', () => {
    throwsType(
      { ...base, keys: { keys: [{ ...rsaJwk, d: 'secret' }] } },
      /key #0 cannot be used: it is a private key/,
    )
    throwsType(
      { ...base, keys: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } },
      /symmetric keys are never taken from a JWKS/,
    )
    throwsType({ ...base, keys: { keys: [{ ...rsaJwk, n: 'AQAB' }] } }, /key #0 cannot be used/)
    throwsType({ ...base, keys: { nope: [] } }, /"keys" array/)
    throwsType(
      { ...base, keys: { keys: [rsaJwk] }, algorithms: ['ES256'] },
      /no key in the set can verify/,
    )
  })

  test('token location and CSRF options are validated', () => {
    throwsType({ ...base, secret, token: { header: false } }, /name a cookie/)
    throwsType(
      { ...base, secret, token: { cookie: 'bad name' } },
      /token.cookie must be a cookie name/,
    )
    throwsType(
      { ...base, secret, csrf: { allowedOrigins: ['https://app.example.com/path'] } },
      /scheme:\/\/host\[:port\] only/,
    )
    throwsType({ ...base, secret, csrf: { allowedOrigins: ['nope'] } }, /is not an origin/)
    assert.ok(
      createVerifier({ ...base, secret, token: { cookie: '__Host-access_token' }, csrf: false }),
    )
  })

  test('a denylist must have isRevoked; cache sizes must be sane', () => {
    throwsType({ ...base, secret, denylist: {} }, /isRevoked/)
    throwsType({ ...base, secret, cache: { tokens: -1 } }, /non-negative integer/)
    throwsType({ ...base, secret, maxTokenLength: 0 }, /maxTokenLength must be a positive integer/)
  })

  test('credentialsRequired is a guard option, not a verifier option', () => {
    throwsType(
      { ...base, secret, credentialsRequired: false },
      /credentialsRequired is a guard option: requireJwt\(verifier, \{ credentialsRequired: false \}\)/,
    )
  })

  test('a short secret works but warns', async () => {
    const warned = new Promise<Error>((resolve) => process.once('warning', resolve))
    assert.ok(createVerifier({ ...base, secret: 'short' }))
    const warning = await warned
    assert.equal((warning as Error & { code?: string }).code, 'JWT_GATE_SHORT_SECRET')
  })

  test('the options union refuses two key sources at compile time', () => {
    // @ts-expect-error secret and jwksUri together must not type-check
    const twoSources: VerifierOptions = { ...base, secret, jwksUri: 'https://x/jwks' }
    assert.ok(twoSources)
  })
})
