/**
 * Differential test: jwt-gate (node:crypto on imported KeyObjects) and jose's `jwtVerify`
 * (WebCrypto), configured alike, must agree on every accept and reject over a corpus of valid and
 * hostile tokens. The only allowed disagreements are the documented places where jwt-gate is
 * stricter (claim types jose does not check); for those, jwt-gate must be the one refusing.
 */
import assert from 'node:assert/strict'
import { createHmac, createPublicKey, type KeyObject } from 'node:crypto'
import { describe, test } from 'node:test'
import { createLocalJWKSet, jwtVerify, type CryptoKey, type JWTVerifyOptions } from 'jose'
import { DEFAULT_ASYMMETRIC_ALGORITHMS } from '../../src/jws/algorithms.js'
import { createVerifier, type JsonWebKeySet, type Verifier } from '../../src/index.js'
import { keyPair } from '../helpers/keys.js'
import { asymmetricToken, b64url, hmacToken, nowSeconds } from '../helpers/tokens.js'

const issuer = 'https://id.example.com/'
const audience = 'https://api.example.com'
const secret = 'differential-test-secret-of-enough-length!!'
const now = nowSeconds()

const rsa = keyPair('rsa', 'rsa-1')
const rsaNoKid = keyPair('rsa', 'unused')
const ec = keyPair('ec', 'ec-1')
const ed = keyPair('ed25519', 'ed-1')
const rsaSmall = keyPair('rsa', 'small', undefined, 1024)
const stranger = keyPair('rsa', 'rsa-1')
const jwks: JsonWebKeySet = { keys: [rsa.jwk, ec.jwk, ed.jwk] }

interface Case {
  name: string
  token: string
  /** jwt-gate deliberately refuses what jose accepts. */
  stricter?: boolean
}

const claims = (extra: Record<string, unknown> = {}) => ({
  iss: issuer,
  aud: audience,
  sub: 'user',
  iat: now - 10,
  exp: now + 600,
  ...extra,
})

function corpus(): Case[] {
  const cases: Case[] = []
  const add = (name: string, token: string, stricter = false) =>
    cases.push({ name, token, stricter })
  const signers: Array<[string, string, KeyObject]> = [
    ['RS256', 'rsa-1', rsa.privateKey],
    ['RS384', 'rsa-1', rsa.privateKey],
    ['PS256', 'rsa-1', rsa.privateKey],
    ['PS512', 'rsa-1', rsa.privateKey],
    ['ES256', 'ec-1', ec.privateKey],
    ['EdDSA', 'ed-1', ed.privateKey],
  ]
  for (const [alg, kid, key] of signers) {
    const sign = (header: Record<string, unknown>, payload: unknown) =>
      asymmetricToken({ alg, kid, ...header }, payload, key)
    const good = sign({}, claims())
    const [h, p, s] = good.split('.') as [string, string, string]
    add(`${alg} valid`, good)
    add(`${alg} valid, no kid`, asymmetricToken({ alg }, claims(), key))
    add(`${alg} typ JWT`, sign({ typ: 'JWT' }, claims()))
    add(`${alg} expired`, sign({}, claims({ exp: now - 1 })))
    add(`${alg} exp now`, sign({}, claims({ exp: now })))
    add(`${alg} no exp`, sign({}, claims({ exp: undefined })))
    add(`${alg} nbf future`, sign({}, claims({ nbf: now + 60 })))
    add(`${alg} nbf past`, sign({}, claims({ nbf: now - 60 })))
    add(`${alg} iat string`, sign({}, claims({ iat: 'yesterday' })))
    add(`${alg} wrong aud`, sign({}, claims({ aud: 'https://other' })))
    add(`${alg} aud array`, sign({}, claims({ aud: ['x', audience] })))
    add(`${alg} aud empty array`, sign({}, claims({ aud: [] })))
    add(`${alg} wrong iss`, sign({}, claims({ iss: 'https://evil/' })))
    add(`${alg} iss array`, sign({}, claims({ iss: [issuer] })))
    add(`${alg} no iss`, sign({}, claims({ iss: undefined })))
    add(`${alg} payload array`, sign({}, [claims()]))
    add(`${alg} unknown kid`, sign({ kid: 'nope' }, claims()))
    add(`${alg} foreign key`, asymmetricToken({ alg, kid }, claims(), stranger.privateKey))
    add(`${alg} tampered payload`, `${h}.${b64url(claims({ sub: 'admin' }))}.${s}`)
    add(`${alg} truncated sig`, `${h}.${p}.${s.slice(0, -4)}`)
    add(`${alg} empty sig`, `${h}.${p}.`)
    add(`${alg} padded sig`, `${h}.${p}.${s}=`)
    // Standard base64 differs from base64url in '+' '/' and in '=' padding. A random signature
    // without '-' or '_' (about 1 run in 15 for a 64-byte one) re-encodes with padding alone,
    // which jose tolerates and RFC 7515 §2 forbids: then only jwt-gate refuses it.
    const std = Buffer.from(s, 'base64url').toString('base64')
    add(`${alg} std base64 sig`, `${h}.${p}.${std}`, !/[+/]/.test(std))
    // Characters beyond Latin-1 whose low byte is the letter they replace: a decoder reading
    // code units as bytes would see the original token.
    add(`${alg} wide twin in sig`, `${h}.${p}.${lowByteTwin(s)}`)
    add(`${alg} wide twin in payload`, `${h}.${lowByteTwin(p)}.${s}`)
    add(`${alg} wide twin in header`, `${lowByteTwin(h)}.${p}.${s}`)
    // jose's base64url decoder (atob) skips ASCII whitespace; RFC 7515 §7.1 allows none.
    add(`${alg} space inserted in sig`, `${h}.${p}.${s.slice(0, 8)} ${s.slice(8)}`, true)
    add(`${alg} crit unknown`, sign({ crit: ['x'], x: 1 }, claims()))
    add(`${alg} crit b64 false`, sign({ crit: ['b64'], b64: false }, claims()))
    add(`${alg} crit b64 true`, sign({ crit: ['b64'], b64: true }, claims()))
    add(`${alg} b64 false not critical`, sign({ b64: false }, claims()))
    add(`${alg} jwk header`, sign({ jwk: stranger.jwk }, claims()))
    add(`${alg} jku header`, sign({ jku: 'https://evil.example.com/jwks' }, claims()))
    add(`${alg} sub number`, sign({}, claims({ sub: 42 })), true)
    add(`${alg} jti object`, sign({}, claims({ jti: { a: 1 } })), true)
    add(`${alg} scope array`, sign({}, claims({ scope: ['read'] })), true)
    add(`${alg} aud mixed array`, sign({}, claims({ aud: [audience, 7] })), true)
  }
  // Algorithm confusion and unsigned tokens.
  const pem = createPublicKey(rsa.privateKey).export({ type: 'spki', format: 'pem' }) as string
  add('HS256 with RSA public key PEM', hmacToken({ alg: 'HS256', kid: 'rsa-1' }, claims(), pem))
  add('HS256 with the JWKS JSON', hmacToken({ alg: 'HS256' }, claims(), JSON.stringify(rsa.jwk)))
  for (const alg of ['none', 'None', 'NONE']) {
    add(`alg ${alg} empty sig`, `${b64url({ alg })}.${b64url(claims())}.`)
    add(`alg ${alg} with sig`, `${b64url({ alg })}.${b64url(claims())}.c2ln`)
  }
  add(
    'RS256 signature with ES256 header',
    (() => {
      const t = asymmetricToken({ alg: 'RS256', kid: 'ec-1' }, claims(), rsa.privateKey).split('.')
      return `${b64url({ alg: 'ES256', kid: 'ec-1' })}.${t[1]}.${t[2]}`
    })(),
  )
  add(
    'ES256 header on Ed25519 key id',
    asymmetricToken({ alg: 'EdDSA', kid: 'ec-1' }, claims(), ed.privateKey),
  )
  add(
    'RSA 1024 signed, kid unknown',
    asymmetricToken({ alg: 'RS256', kid: 'small' }, claims(), rsaSmall.privateKey),
  )
  add(
    'RS256 by a key not in the set',
    asymmetricToken({ alg: 'RS256' }, claims(), rsaNoKid.privateKey),
  )
  add('header array', `${b64url([{ alg: 'RS256' }])}.${b64url(claims())}.c2ln`)
  add('header not JSON', `${b64url('alg')}.${b64url(claims())}.c2ln`)
  add('two segments', `${b64url({ alg: 'RS256' })}.${b64url(claims())}`)
  add('four segments', `${b64url({ alg: 'RS256' })}.${b64url(claims())}.c2ln.c2ln`)
  add('JWE shape', `${b64url({ alg: 'RSA-OAEP', enc: 'A128GCM' })}.AAAA.AAAA.AAAA.AAAA`)
  add('empty string', '')
  add('whitespace inside', `${b64url({ alg: 'RS256' })} .${b64url(claims())}.c2ln`)
  return cases
}

/** `segment` with its first character swapped for U+0100 + its code: the same low byte. */
function lowByteTwin(segment: string): string {
  return String.fromCharCode(0x100 + segment.charCodeAt(0)) + segment.slice(1)
}

/** jose, configured like the verifier, including its documented multiple-key iteration. */
async function joseAccepts(
  token: string,
  keySet: ReturnType<typeof createLocalJWKSet> | Uint8Array,
): Promise<boolean> {
  const options: JWTVerifyOptions = {
    issuer,
    audience,
    requiredClaims: ['exp'],
    algorithms: keySet instanceof Uint8Array ? ['HS256'] : [...DEFAULT_ASYMMETRIC_ALGORITHMS],
  }
  try {
    await jwtVerify(token, keySet as never, options)
    return true
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') {
      for await (const key of error as AsyncIterable<CryptoKey>) {
        try {
          await jwtVerify(token, key, options)
          return true
        } catch {
          continue
        }
      }
    }
    return false
  }
}

async function gateAccepts(verifier: Verifier, token: string): Promise<boolean> {
  try {
    await verifier.verify(token)
    return true
  } catch (error) {
    assert.equal(
      (error as Error).name,
      'AuthError',
      `jwt-gate threw a non-AuthError: ${String(error)}`,
    )
    return false
  }
}

describe('jwt-gate and jose agree', () => {
  test('asymmetric keys (local JWKS): every corpus token', async () => {
    const verifier = createVerifier({ issuer, audience, keys: jwks, cache: false })
    const joseSet = createLocalJWKSet(jwks)
    const disagreements: string[] = []
    const cases = corpus()
    for (const { name, token, stricter } of cases) {
      const [gate, jose] = [await gateAccepts(verifier, token), await joseAccepts(token, joseSet)]
      if (stricter) {
        assert.equal(jose, true, `${name}: jose was expected to accept`)
        assert.equal(gate, false, `${name}: jwt-gate must refuse`)
      } else if (gate !== jose) disagreements.push(`${name}: jwt-gate ${gate}, jose ${jose}`)
    }
    assert.deepEqual(disagreements, [])
    // The corpus must hold both outcomes in number, or agreement proves little.
    const accepted = (await Promise.all(cases.map((c) => gateAccepts(verifier, c.token)))).filter(
      Boolean,
    ).length
    assert.ok(
      accepted >= 30 && cases.length - accepted >= 150,
      `${accepted} accepted of ${cases.length}`,
    )
  })

  test('HMAC secret: valid, tampered, wrong secret, alg swaps', async () => {
    const verifier = createVerifier({ issuer, audience, secret, cache: false })
    const key = new TextEncoder().encode(secret)
    const good = hmacToken({ alg: 'HS256' }, claims(), secret)
    const [h, p, s] = good.split('.') as [string, string, string]
    const cases: Case[] = [
      { name: 'valid', token: good },
      { name: 'typ JWT', token: hmacToken({ alg: 'HS256', typ: 'JWT' }, claims(), secret) },
      { name: 'wrong secret', token: hmacToken({ alg: 'HS256' }, claims(), `${secret}x`) },
      { name: 'HS384 not allowed', token: hmacToken({ alg: 'HS384' }, claims(), secret, 'sha384') },
      { name: 'tampered', token: `${h}.${b64url(claims({ sub: 'root' }))}.${s}` },
      { name: 'truncated mac', token: `${h}.${p}.${s.slice(0, 20)}` },
      {
        name: 'mac of other input',
        token: `${h}.${p}.${createHmac('sha256', secret).update(p).digest('base64url')}`,
      },
      { name: 'expired', token: hmacToken({ alg: 'HS256' }, claims({ exp: now - 5 }), secret) },
      { name: 'RS256 header', token: `${b64url({ alg: 'RS256' })}.${p}.${s}` },
      { name: 'none', token: `${b64url({ alg: 'none' })}.${p}.` },
    ]
    for (const { name, token } of cases) {
      assert.equal(await gateAccepts(verifier, token), await joseAccepts(token, key), name)
    }
  })
})
