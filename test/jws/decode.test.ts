/**
 * Decoding (src/jws/decode.ts): the compact syntax, checked before any decoding; the header
 * (alg, kid, crit, b64, typ); the payload (a JSON object, nesting depth); and UTF-8: RFC 7515
 * §5.2 step 2 and RFC 7519 §7.2 step 8 require the header and payload to be valid UTF-8. Every case here is signed by the trusted key over the
 * exact bytes shown, so a refusal can only come from the UTF-8 check, never from the signature.
 */
import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import {
  createVerifier,
  isAuthError,
  type Verifier,
  type VerifierOptions,
} from '../../src/index.js'
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js'
import { keyPair } from '../helpers/keys.js'
import { refused, rejects } from '../helpers/refusals.js'
import { asymmetricToken, assemble, b64url, hmacToken, nowSeconds } from '../helpers/tokens.js'

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

// Syntax, header and payload rules (moved from core/verify.test.ts and core/limits.test.ts), on
// a verifier with a local JWKS (RSA, P-256 and Ed25519 keys) and ones with a shared secret.
describe('decode: syntax, header and payload', () => {
  const issuer = 'https://id.example.com/'
  const audience = 'https://api.example.com'
  const rsa = keyPair('rsa', 'rsa-1')
  const ec = keyPair('ec', 'ec-1', 'ES256')
  const ed = keyPair('ed25519', 'ed-1')
  const verifier = createVerifier({ issuer, audience, keys: { keys: [rsa.jwk, ec.jwk, ed.jwk] } })
  const secret = 'x'.repeat(48)
  const hmacVerifier = createVerifier({ issuer, audience, secret })
  const limitsSecret = 'limits-secret-'.repeat(4)
  const cleanup: Array<() => Promise<unknown>> = [
    () => verifier.close(),
    () => hmacVerifier.close(),
  ]
  after(async () => {
    for (const fn of cleanup.reverse()) await fn()
  })

  const claims = (extra: Record<string, unknown> = {}) => ({
    iss: issuer,
    aud: audience,
    sub: 'user-1',
    exp: nowSeconds() + 300,
    ...extra,
  })

  /** An HMAC verifier on `limitsSecret` (or other options), closed after the file. */
  function limitsVerifier(options: Partial<VerifierOptions> = {}): Verifier {
    const created = createVerifier({
      issuer,
      audience,
      secret: limitsSecret,
      ...options,
    } as VerifierOptions)
    cleanup.push(() => created.close())
    return created
  }

  async function testIssuer(): Promise<TestIssuer> {
    const created = await createTestIssuer({ alg: 'ES256', audience })
    cleanup.push(() => created.close())
    return created
  }

  /** An HS256 token of exactly `length` characters (the payload padded to fit). */
  function hmacTokenOfLength(length: number): string {
    const base = hmacToken({ alg: 'HS256' }, claims({ pad: '' }), limitsSecret)
    let pad = Math.max(0, Math.floor(((length - base.length) * 3) / 4))
    for (;;) {
      const token = hmacToken({ alg: 'HS256' }, claims({ pad: 'x'.repeat(pad) }), limitsSecret)
      if (token.length === length) return token
      if (token.length > length) throw new Error(`no token of exactly ${length} characters`)
      pad++
    }
  }

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

    test('token length: 8192 characters by default, maxTokenLength to change it, checked before any decoding', async () => {
      const v = limitsVerifier()
      const longest = hmacTokenOfLength(8192)
      const tooLong = hmacTokenOfLength(8193)
      assert.equal((await v.verify(longest)).payload.sub, 'user-1')
      await refused(v.verify(tooLong), 401, 'token_too_large')
      // Refused on length alone: 4 MB of garbage never reaches the syntax check or a parser.
      await refused(v.verify('A'.repeat(4_000_000)), 401, 'token_too_large')
      await refused(v.verify('.'.repeat(4_000_000)), 401, 'token_too_large')

      const roomyHmac = limitsVerifier({ maxTokenLength: 16_384 })
      assert.equal((await roomyHmac.verify(tooLong)).payload.sub, 'user-1')
      const tightHmac = limitsVerifier({ maxTokenLength: 200 })
      await refused(tightHmac.verify(longest), 401, 'token_too_large')
      assert.throws(() => limitsVerifier({ maxTokenLength: 0 }), TypeError)
      // RS256 (merged from verify.test.ts: oversized tokens are refused before any decoding)
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

    test('kid: a string of at most 256 characters, refused before any key lookup or JWKS fetch', async () => {
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
      const long = keyPair('ec', 'k'.repeat(256), 'ES256')
      const longer = keyPair('ec', 'k'.repeat(257), 'ES256')
      const local = limitsVerifier({ secret: undefined, keys: { keys: [long.jwk, longer.jwk] } })
      const sign = (pair: typeof long) =>
        asymmetricToken({ alg: 'ES256', kid: pair.jwk.kid }, claims(), pair.privateKey)
      assert.equal((await local.verify(sign(long))).header.kid!.length, 256)
      await refused(local.verify(sign(longer)), 401, 'malformed')

      const idp = await testIssuer()
      const remote = limitsVerifier({ secret: undefined, issuer: idp.url, jwksUri: idp.jwksUri })
      await remote.verify(await idp.sign())
      const fetches = idp.jwksRequests
      const stranger = keyPair('ec', 'x', 'ES256')
      const forged = (kid: string) =>
        asymmetricToken({ alg: 'ES256', kid }, claims({ iss: idp.url }), stranger.privateKey)
      await refused(remote.verify(forged('z'.repeat(257))), 401, 'malformed')
      await refused(remote.verify(forged('z'.repeat(5000))), 401, 'malformed')
      assert.equal(idp.jwksRequests, fetches, 'an overlong kid must not cause a fetch')
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
      assert.equal(
        (await verifier.verify(sign({ b64: true, crit: ['b64'] }))).payload.sub,
        'user-1',
      )
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
      return hmacToken({ alg: 'HS256' }, payloadJson, secret)
    }

    test('a payload that is not a JSON object is refused, even correctly signed', async () => {
      for (const json of ['[1,2]', 'null', '"claims"', '42', 'true', '{"exp":', ' ']) {
        await rejects(hmacVerifier, signed(json), 'malformed')
      }
    })

    test('payload nesting: maxPayloadDepth (default 32) counts objects and arrays; deeper is refused, however deep', async () => {
      let deep: unknown = 'leaf'
      for (let i = 0; i < 40; i++) deep = { d: deep }
      await rejects(
        hmacVerifier,
        hmacToken({ alg: 'HS256' }, claims({ deep }), secret),
        'malformed',
      )
      const lenient = createVerifier({ issuer, audience, secret, maxPayloadDepth: 64 })
      assert.ok(
        (await lenient.verify(hmacToken({ alg: 'HS256' }, claims({ deep }), secret))).payload.deep,
      )
      /** A payload `depth` levels deep counting the root object. */
      const nested = (depth: number, kind: 'object' | 'array') => {
        let value: unknown = 'leaf'
        for (let i = 0; i < depth - 1; i++) value = kind === 'object' ? { d: value } : [value]
        return claims({ deep: value })
      }
      const v = limitsVerifier()
      for (const kind of ['object', 'array'] as const) {
        await v.verify(hmacToken({ alg: 'HS256' }, nested(32, kind), limitsSecret))
        await refused(
          v.verify(hmacToken({ alg: 'HS256' }, nested(33, kind), limitsSecret)),
          401,
          'malformed',
        )
      }
      const roomy = limitsVerifier({ maxPayloadDepth: 64 })
      await roomy.verify(hmacToken({ alg: 'HS256' }, nested(64, 'object'), limitsSecret))
      const flat = limitsVerifier({ maxPayloadDepth: 1 })
      await refused(
        flat.verify(hmacToken({ alg: 'HS256' }, claims({ o: {} }), limitsSecret)),
        401,
        'malformed',
      )
      // 100,000 levels (with the length limit raised to let it in): refused, no stack overflow.
      const bomb = `${b64url({ alg: 'HS256' })}.${b64url(`{"iss":"${issuer}","d":${'['.repeat(100_000)}${']'.repeat(100_000)}}`)}`
      const signed = hmacToken({ alg: 'HS256' }, 'x', limitsSecret).split('.')[2]!
      const huge = limitsVerifier({ maxTokenLength: 4_000_000 })
      await refused(huge.verify(`${bomb}.${signed}`), 401, 'malformed')
    })
  })
})
