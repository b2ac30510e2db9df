/**
 * Decoding (src/jws/decode.ts): RFC 7515 §5.2 step 2 and RFC 7519 §7.2 step 8 require the
 * header and payload to be valid UTF-8. Every case here is signed by the trusted key over the
 * exact bytes shown, so a refusal can only come from the UTF-8 check, never from the signature.
 */
import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { createVerifier, isAuthError } from '../../src/index.js'
import { keyPair } from '../helpers/keys.js'
import { asymmetricToken, hmacToken, nowSeconds } from '../helpers/tokens.js'

const issuer = 'https://id.example.com/'
const audience = 'https://api.example.com'
const secret = 'utf8-test-secret-of-at-least-32-bytes!'
const rsa = keyPair('rsa', 'utf8-rsa')

const hmacVerifier = createVerifier({ issuer, audience, secret })
const rsaVerifier = createVerifier({ issuer, audience, keys: { keys: [rsa.jwk] } })
after(() => Promise.all([hmacVerifier.close(), rsaVerifier.close()]))

/** The JSON text of valid claims whose `sub` is `subBytes` spliced in raw, as bytes. */
function payloadWithSub(subBytes: number[]): Buffer {
  const [before, after] = JSON.stringify({
    iss: issuer,
    aud: audience,
    exp: nowSeconds() + 300,
    sub: '@',
  }).split('@') as [string, string]
  return Buffer.concat([Buffer.from(before), Buffer.from(subBytes), Buffer.from(after)])
}

/** Byte sequences no UTF-8 decoder may accept (RFC 3629 §3), each inside a JSON string. */
const INVALID: ReadonlyArray<[string, number[]]> = [
  ['0xFF', [0x61, 0xff, 0x62]],
  ['0xFE', [0x61, 0xfe, 0x62]],
  ['an overlong "/" (C0 AF)', [0xc0, 0xaf]],
  ['an overlong NUL (E0 80 80)', [0xe0, 0x80, 0x80]],
  ['an overlong "A" in four bytes (F0 80 81 81)', [0xf0, 0x80, 0x81, 0x81]],
  ['an encoded high surrogate U+D800 (ED A0 80)', [0xed, 0xa0, 0x80]],
  ['an encoded low surrogate U+DFFF (ED BF BF)', [0xed, 0xbf, 0xbf]],
  ['a surrogate pair encoded as two CESU-8 sequences', [0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80]],
  ['a code point above U+10FFFF (F4 90 80 80)', [0xf4, 0x90, 0x80, 0x80]],
  ['a truncated two-byte sequence', [0x61, 0xc3]],
  ['a truncated three-byte sequence', [0xe2, 0x82]],
  ['a truncated four-byte sequence', [0xf0, 0x9f, 0x98]],
  ['a lone continuation byte', [0x80]],
]

/** `{"alg":"HS256","x":"<bytes>"}` as bytes. */
function headerWith(bytes: number[]): Buffer {
  return Buffer.concat([Buffer.from('{"alg":"HS256","x":"'), Buffer.from(bytes), Buffer.from('"}')])
}

/** HS256 over the exact header and payload bytes given. */
function hmacRaw(header: Buffer, payload: Buffer): string {
  return hmacToken(header, payload, secret)
}

const malformedRefusal = (error: unknown) => {
  assert.ok(isAuthError(error), String(error))
  assert.equal(error.status, 401)
  assert.equal(error.code, 'invalid_token')
  assert.equal(error.reason, 'malformed')
  assert.match(error.message, /UTF-8/)
  return true
}

describe('decode: UTF-8', () => {
  test('valid multi-byte UTF-8 in the payload still verifies', async () => {
    const sub = 'zoë 日本 😀'
    const token = hmacToken({ alg: 'HS256' }, payloadWithSub([...Buffer.from(sub)]), secret)
    assert.equal((await hmacVerifier.verify(token)).payload.sub, sub)
  })

  for (const [name, bytes] of INVALID) {
    test(`payload with ${name}: 401 malformed (HS256 and RS256)`, async () => {
      const payload = payloadWithSub(bytes)
      await assert.rejects(
        hmacVerifier.verify(hmacToken({ alg: 'HS256' }, payload, secret)),
        malformedRefusal,
      )
      await assert.rejects(
        rsaVerifier.verify(
          asymmetricToken({ alg: 'RS256', kid: 'utf8-rsa' }, payload, rsa.privateKey),
        ),
        malformedRefusal,
      )
    })
  }

  test('two issuer-signed subjects differing only in 0xFF / 0xFE never collapse into one', async () => {
    const results = []
    for (const byte of [0xff, 0xfe]) {
      const token = hmacToken({ alg: 'HS256' }, payloadWithSub([0x75, byte]), secret)
      results.push(await hmacVerifier.verify(token).catch((error: unknown) => error))
    }
    for (const result of results) assert.ok(malformedRefusal(result))
  })

  test('invalid UTF-8 in the header: 401 malformed', async () => {
    const payload = payloadWithSub([0x61])
    for (const [name, bytes] of INVALID) {
      await assert.rejects(
        hmacVerifier.verify(hmacRaw(headerWith(bytes), payload)),
        malformedRefusal,
        name,
      )
    }
  })

  test('a header with invalid UTF-8 is refused every time, not only before it is remembered', async () => {
    const token = hmacRaw(headerWith([0xff]), payloadWithSub([0x61]))
    for (let i = 0; i < 3; i++) await assert.rejects(hmacVerifier.verify(token), malformedRefusal)
  })
})
