/**
 * Claim rules at frozen time: exp / nbf / iat edges with and without clock tolerance, issuer,
 * audience, required claims and the type of every registered claim.
 */
import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, mock, test } from 'node:test'
import {
  createVerifier,
  type AuthError,
  type Verifier,
  type VerifierOptions,
} from '../../src/index.js'
import { hmacToken } from '../helpers/tokens.js'

const issuer = 'https://id.example.com/'
const audience = 'https://api.example.com'
const secret = 's'.repeat(48)
const NOW = 1_800_000_000 // frozen "now", whole seconds

beforeEach(() => mock.timers.enable({ apis: ['Date'], now: NOW * 1000 + 500 }))
afterEach(() => mock.timers.reset())

const make = (options: Partial<VerifierOptions> = {}) =>
  createVerifier({ issuer, audience, secret, cache: false, ...options } as VerifierOptions)
const token = (claims: Record<string, unknown>) =>
  hmacToken({ alg: 'HS256' }, { iss: issuer, aud: audience, exp: NOW + 60, ...claims }, secret)

async function accepts(v: Verifier, claims: Record<string, unknown>) {
  await v.verify(token(claims))
}
async function refuses(v: Verifier, claims: Record<string, unknown>, reason: string) {
  await assert.rejects(v.verify(token(claims)), (error: AuthError) => {
    assert.equal(error.reason, reason, error.message)
    assert.equal(error.status, 401)
    assert.equal(error.code, 'invalid_token')
    return true
  })
}

describe('exp', () => {
  test('required, and expired from the second it names', async () => {
    const v = make()
    await refuses(v, { exp: undefined }, 'missing_claim')
    await refuses(v, { exp: NOW }, 'expired')
    await refuses(v, { exp: NOW - 1 }, 'expired')
    await accepts(v, { exp: NOW + 1 })
  })

  test('clockTolerance extends it by exactly the tolerance', async () => {
    const v = make({ clockTolerance: '30s' })
    await accepts(v, { exp: NOW - 29 })
    await refuses(v, { exp: NOW - 30 }, 'expired')
  })

  test('expiry is re-checked on a cache hit, never served stale', async () => {
    const v = make({ cache: { tokens: 10 } })
    const t = token({ exp: NOW + 2 })
    await v.verify(t)
    mock.timers.tick(1000)
    await v.verify(t)
    mock.timers.tick(1000)
    await assert.rejects(v.verify(t), { reason: 'expired' })
  })
})

describe('nbf', () => {
  test('refused until its second, with tolerance', async () => {
    const v = make()
    await refuses(v, { nbf: NOW + 1 }, 'not_yet_valid')
    await accepts(v, { nbf: NOW })
    const tolerant = make({ clockTolerance: 5 })
    await accepts(tolerant, { nbf: NOW + 5 })
    await refuses(tolerant, { nbf: NOW + 6 }, 'not_yet_valid')
  })
})

describe('iat and maxTokenAge', () => {
  test('iat becomes required; too old and future iat are refused at the exact edges', async () => {
    const v = make({ maxTokenAge: '1h' })
    await refuses(v, {}, 'missing_claim')
    await accepts(v, { iat: NOW - 3600 })
    await refuses(v, { iat: NOW - 3601 }, 'too_old')
    await accepts(v, { iat: NOW })
    await refuses(v, { iat: NOW + 1 }, 'issued_in_future')
    const tolerant = make({ maxTokenAge: 3600, clockTolerance: 10 })
    await accepts(tolerant, { iat: NOW - 3610 })
    await refuses(tolerant, { iat: NOW - 3611 }, 'too_old')
    await accepts(tolerant, { iat: NOW + 10 })
  })

  test('maxTokenAge bounds a cached token too', async () => {
    const v = make({ maxTokenAge: 10, cache: { tokens: 10 } })
    const t = token({ iat: NOW - 9, exp: NOW + 3600 })
    await v.verify(t)
    mock.timers.tick(1000)
    await v.verify(t)
    mock.timers.tick(1000)
    await assert.rejects(v.verify(t), { reason: 'too_old' })
  })
})

describe('issuer and audience', () => {
  test('iss is an exact, case-sensitive match against one of the issuers', async () => {
    const v = make({ issuer: [issuer, 'urn:other'] })
    await accepts(v, { iss: 'urn:other' })
    await refuses(v, { iss: 'https://ID.example.com/' }, 'wrong_issuer')
    await refuses(v, { iss: 'https://id.example.com' }, 'wrong_issuer')
    await refuses(v, { iss: undefined }, 'missing_claim')
    await refuses(v, { iss: [issuer] }, 'invalid_claim')
  })

  test('aud: a string or an array containing at least one configured audience', async () => {
    const v = make({ audience: ['https://api.example.com', 'urn:api'] })
    await accepts(v, { aud: 'urn:api' })
    await accepts(v, { aud: ['urn:elsewhere', 'urn:api'] })
    await refuses(v, { aud: 'urn:elsewhere' }, 'wrong_audience')
    await refuses(v, { aud: [] }, 'wrong_audience')
    await refuses(v, { aud: undefined }, 'missing_claim')
    await refuses(v, { aud: ['urn:api', 7] }, 'invalid_claim')
    await refuses(v, { aud: { 'urn:api': true } }, 'invalid_claim')
  })
})

describe('required claims and registered claim types', () => {
  test('requiredClaims must be present (own properties, not inherited ones)', async () => {
    const v = make({ requiredClaims: ['sub', 'toString'] })
    await refuses(v, { toString: 1 }, 'missing_claim')
    await refuses(v, { sub: 'u' }, 'missing_claim')
    await accepts(v, { sub: 'u', toString: 1 })
  })

  test('every registered claim must have its registered type when present', async () => {
    const v = make()
    const wrong: Array<[string, unknown]> = [
      ['iss', 7],
      ['sub', 7],
      ['sub', ['u']],
      ['jti', 7],
      ['aud', 7],
      ['exp', '1800000060'],
      ['exp', null],
      ['nbf', 'soon'],
      ['iat', true],
      ['scope', ['read']],
      ['scp', 7],
      ['scp', [1]],
    ]
    for (const [claim, value] of wrong) {
      await refuses(v, { [claim]: value }, 'invalid_claim')
    }
    // JSON's 1e400 parses to Infinity, a number that never expires: the token carries it literally.
    const infinite = hmacTokenRaw(`{"iss":"${issuer}","aud":"${audience}","exp":1e400}`)
    await assert.rejects(v.verify(infinite), { reason: 'invalid_claim' })
    await accepts(v, { scp: ['read', 'write'], scope: 'read write', sub: 'u', jti: 'j' })
  })
})

describe('key- and certificate-bound tokens (cnf)', () => {
  const jkt = { jkt: 'nYJoSDkP2TJBSt2ZXGvJ0VQ1ZHHtpl-NqeB4eAhuJBI' }
  const x5t = { 'x5t#S256': 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2' }

  test('a binding this verifier does not check is refused, whatever else the cnf holds', async () => {
    const v = make()
    await refuses(v, { cnf: jkt }, 'unchecked_binding')
    await refuses(v, { cnf: x5t }, 'unchecked_binding')
    await refuses(v, { cnf: { ...jkt, kid: 'k' } }, 'unchecked_binding')
    await refuses(v, { cnf: 'bound' }, 'invalid_claim')
    await refuses(v, { cnf: [jkt] }, 'invalid_claim')
    // A confirmation method jwt-gate does not know binds nothing it could check.
    await accepts(v, { cnf: { kid: 'k' } })
    await accepts(v, {})
  })

  test("uncheckedBinding: 'accept' is the explicit opt-out; anything else is a TypeError", async () => {
    const v = make({ uncheckedBinding: 'accept' })
    await accepts(v, { cnf: jkt })
    await accepts(v, { cnf: x5t })
    await refuses(v, { cnf: 'bound' }, 'invalid_claim')
    assert.throws(() => make({ uncheckedBinding: true as never }), {
      name: 'TypeError',
      message: "uncheckedBinding must be one of 'refuse', 'accept'",
    })
  })
})

function hmacTokenRaw(payloadJson: string): string {
  return hmacToken({ alg: 'HS256' }, payloadJson, secret)
}
