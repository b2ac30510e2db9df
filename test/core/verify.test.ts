/**
 * Token syntax, header and signature checks, on a verifier with a local JWKS (RSA, P-256 and
 * Ed25519 keys) and one with a shared secret. Every hostile shape must be refused with 401 and
 * the right reason; every legitimate variant must pass.
 */
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { after, describe, test } from 'node:test'
import { createVerifier, type AuthError, type Verifier } from '../../src/index.js'
import { keyPair } from '../helpers/keys.js'
import { asymmetricToken, assemble, b64url, hmacToken, nowSeconds } from '../helpers/tokens.js'

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

async function rejects(v: Verifier, token: string, reason: string, status = 401) {
  await assert.rejects(v.verify(token), (error: AuthError) => {
    assert.equal(error.name, 'AuthError')
    assert.equal(error.reason, reason, `reason: ${error.message}`)
    assert.equal(error.status, status)
    if (typeof token === 'string' && token.length > 8) {
      assert.ok(!error.message.includes(token), 'the message must not echo the token')
      assert.ok(!error.headers['WWW-Authenticate']!.includes(token))
    }
    return true
  })
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

  test('an unknown kid is no_matching_key', async () => {
    await rejects(
      verifier,
      asymmetricToken({ alg: 'RS256', kid: 'nope' }, claims(), rsa.privateKey),
      'no_matching_key',
    )
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

  test('RSA keys under 2048 bits are never used', () => {
    const weak = keyPair('rsa', 'weak', undefined, 1024)
    assert.throws(
      () => createVerifier({ issuer, audience, keys: { keys: [weak.jwk] } }),
      /under 2048/,
    )
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

describe('token syntax, checked before decoding', () => {
  const good = () => asymmetricToken({ alg: 'RS256', kid: 'rsa-1' }, claims(), rsa.privateKey)

  test('padding, "+", "/", whitespace and wrong segment counts are malformed', async () => {
    const token = good()
    const [h, p, s] = token.split('.') as [string, string, string]
    await rejects(verifier, `${h}=.${p}.${s}`, 'malformed')
    await rejects(verifier, `${h}.${p}.${s}==`, 'malformed')
    await rejects(verifier, `${h}.${p}.${s.replace(/-/g, '+').replace(/_/g, '/')}+/`, 'malformed')
    await rejects(verifier, ` ${token}`, 'malformed')
    await rejects(verifier, `${h}.${p}`, 'malformed')
    await rejects(verifier, `${h}.${p}.${s}.${s}`, 'malformed')
    await rejects(verifier, `${h}.${p}.`, 'malformed') // no signature at all
    await rejects(verifier, `.${p}.${s}`, 'malformed')
    let padded = s
    while (padded.length % 4 !== 1) padded += 'A'
    await rejects(verifier, `${h}.${p}.${padded}`, 'malformed') // 4n+1 characters cannot be base64url
    await rejects(verifier, '', 'malformed')
    await rejects(verifier, 'not-a-jwt', 'malformed')
  })

  test('a JWE (five segments) is refused as malformed', async () => {
    const jwe = [
      b64url({ alg: 'RSA-OAEP', enc: 'A256GCM' }),
      'a'.repeat(40),
      'b'.repeat(16),
      'c'.repeat(40),
      'd'.repeat(22),
    ].join('.')
    await rejects(verifier, jwe, 'malformed')
  })

  test('oversized tokens are refused before any decoding (default 8 KiB, configurable)', async () => {
    const huge = asymmetricToken(
      { alg: 'RS256', kid: 'rsa-1' },
      claims({ pad: 'x'.repeat(9000) }),
      rsa.privateKey,
    )
    await rejects(verifier, huge, 'token_too_large')
    const roomy = createVerifier({
      issuer,
      audience,
      keys: { keys: [rsa.jwk] },
      maxTokenLength: 16_384,
    })
    assert.equal((await roomy.verify(huge)).payload.sub, 'user-1')
    // The signing input (over 8 KiB) outgrew the verifier's reused byte buffer: the bytes checked
    // must still be this token's, so one changed payload character fails the signature.
    const [h, p, s] = huge.split('.') as [string, string, string]
    const changed = `${h}.${p.slice(0, 100)}${p[100] === 'e' ? 'f' : 'e'}${p.slice(101)}.${s}`
    await rejects(roomy, changed, 'bad_signature')
    assert.equal((await roomy.verify(good())).payload.sub, 'user-1')
    const tight = createVerifier({
      issuer,
      audience,
      keys: { keys: [rsa.jwk] },
      maxTokenLength: 100,
    })
    await rejects(tight, good(), 'token_too_large')
  })

  test('a non-string token is malformed, not a crash', async () => {
    await rejects(verifier, 42 as unknown as string, 'malformed')
  })
})

describe('header', () => {
  test('alg "none", in any spelling, is refused even with a signature segment', async () => {
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      await rejects(verifier, assemble({ alg }, claims(), 'c2ln'), 'alg_not_allowed')
      await rejects(hmacVerifier, assemble({ alg }, claims(), 'c2ln'), 'alg_not_allowed')
      await rejects(verifier, assemble({ alg }, claims()), 'malformed') // the classic empty signature
    }
  })

  test('a header that is not a JSON object, or has no alg, is refused', async () => {
    await rejects(verifier, `${b64url('not json')}.${b64url(claims())}.c2ln`, 'malformed')
    await rejects(verifier, assemble(['RS256'], claims(), 'c2ln'), 'malformed')
    await rejects(verifier, assemble(null, claims(), 'c2ln'), 'malformed')
    await rejects(verifier, assemble({ kid: 'rsa-1' }, claims(), 'c2ln'), 'alg_not_allowed')
    await rejects(verifier, assemble({ alg: 256 }, claims(), 'c2ln'), 'alg_not_allowed')
  })

  test('kid must be a short string', async () => {
    await rejects(
      verifier,
      asymmetricToken({ alg: 'RS256', kid: 7 }, claims(), rsa.privateKey),
      'malformed',
    )
    await rejects(
      verifier,
      asymmetricToken({ alg: 'RS256', kid: 'k'.repeat(257) }, claims(), rsa.privateKey),
      'malformed',
    )
  })

  test('crit: unknown extensions, empty lists and registered names are refused', async () => {
    const sign = (header: Record<string, unknown>) =>
      asymmetricToken({ alg: 'RS256', kid: 'rsa-1', ...header }, claims(), rsa.privateKey)
    await rejects(verifier, sign({ crit: ['exp'], exp: 1 }), 'unsupported_header')
    await rejects(verifier, sign({ crit: [] }), 'unsupported_header')
    await rejects(verifier, sign({ crit: 'b64' }), 'unsupported_header')
    await rejects(verifier, sign({ crit: ['alg'] }), 'unsupported_header')
    await rejects(verifier, sign({ crit: ['b64'] }), 'unsupported_header') // named but absent
  })

  test('b64:false (an unencoded payload) is refused; b64:true marked critical is plain JWS', async () => {
    const sign = (header: Record<string, unknown>) =>
      asymmetricToken({ alg: 'RS256', kid: 'rsa-1', ...header }, claims(), rsa.privateKey)
    await rejects(verifier, sign({ b64: false, crit: ['b64'] }), 'unsupported_header')
    assert.equal((await verifier.verify(sign({ b64: true, crit: ['b64'] }))).payload.sub, 'user-1')
  })

  test('typ, when configured, compares case-insensitively with an optional application/ prefix', async () => {
    const typed = createVerifier({ issuer, audience, keys: { keys: [rsa.jwk] }, typ: 'at+jwt' })
    for (const typ of ['at+jwt', 'AT+JWT', 'application/at+jwt']) {
      await typed.verify(
        asymmetricToken({ alg: 'RS256', kid: 'rsa-1', typ }, claims(), rsa.privateKey),
      )
    }
    for (const typ of ['JWT', 'application/jwt', 7]) {
      await rejects(
        typed,
        asymmetricToken({ alg: 'RS256', kid: 'rsa-1', typ }, claims(), rsa.privateKey),
        'wrong_typ',
      )
    }
    await rejects(
      typed,
      asymmetricToken({ alg: 'RS256', kid: 'rsa-1' }, claims(), rsa.privateKey),
      'wrong_typ',
    )
    await typed.close()
  })
})

describe('payload', () => {
  /** A correctly signed token whose payload segment is exactly `payloadJson`. */
  const signed = (payloadJson: string) => {
    const input = `${b64url({ alg: 'HS256' })}.${Buffer.from(payloadJson).toString('base64url')}`
    return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
  }

  test('a payload that is not a JSON object is refused, even correctly signed', async () => {
    for (const json of ['[1,2]', 'null', '"claims"', '42', 'true', '{"exp":', ' ']) {
      await rejects(hmacVerifier, signed(json), 'malformed')
    }
  })

  test('nesting deeper than the limit is refused; the limit is configurable', async () => {
    let deep: unknown = 'leaf'
    for (let i = 0; i < 40; i++) deep = { d: deep }
    await rejects(hmacVerifier, hmacToken({ alg: 'HS256' }, claims({ deep }), secret), 'malformed')
    const lenient = createVerifier({ issuer, audience, secret, maxPayloadDepth: 64 })
    assert.ok(
      (await lenient.verify(hmacToken({ alg: 'HS256' }, claims({ deep }), secret))).payload.deep,
    )
  })

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
