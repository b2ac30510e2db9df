/**
 * Property: a value of every JSON type (string, number — including 1e400, which JSON parses to
 * Infinity —, boolean, null, array, object, absent) in every registered claim (iss, aud, exp,
 * nbf, iat, sub, jti, scope, scp) is either accepted by the rule or rejected; never skipped.
 *
 * The rules are modelled here independently from API.md, RFC 7519 §4.1 and RFC 9068, and
 * compared with the verifier on correctly signed tokens (so only the claim rules can refuse):
 * the verifier must refuse exactly when the model does, with one of the reasons the model finds.
 * Accepted tokens then go through `requireScopes`' rule, compared with a model of `scope`/`scp`.
 */
import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, mock, test } from 'node:test'
import fc from 'fast-check'
import { createVerifier, isAuthError, type AuthResult } from '../../src/index.js'
import { checkScopes, parseScopes } from '../../src/guards/guards.js'
import { hmacToken } from '../helpers/tokens.js'
import { checkProperty, outcomeOf } from './harness.js'
import { SECRET } from './token-families.js'

const NOW = 1_900_000_000
const ISSUERS = ['https://id.example.com/', 'urn:issuer:two']
const AUDIENCES = ['https://api.example.com', 'urn:api:two']

beforeEach(() => mock.timers.enable({ apis: ['Date'], now: NOW * 1000 + 250 }))
afterEach(() => mock.timers.reset())

const REGISTERED = ['iss', 'aud', 'exp', 'nbf', 'iat', 'sub', 'jti', 'scope', 'scp'] as const
type Registered = (typeof REGISTERED)[number]

/** A claim value as raw JSON text (so 1e400 can be written), or undefined for "absent". */
type Raw = string | undefined

const SCOPES = ['read', 'write', 'read:orders', 'admin']

/** Values of every JSON type, biased toward each claim's meaningful ones. */
function rawValue(claim: Registered): fc.Arbitrary<Raw> {
  const json = (arb: fc.Arbitrary<unknown>) => arb.map((value) => JSON.stringify(value))
  const time = fc.oneof(
    fc.integer({ min: NOW - 100, max: NOW + 100 }),
    fc.double({ min: NOW - 100, max: NOW + 100, noNaN: true }),
    fc.constantFrom(0, -1, -0, 1e308, -1e308, 2 ** 53, NOW + 0.5, NOW - 0.5),
  )
  const meaningful: Record<Registered, fc.Arbitrary<unknown>> = {
    iss: fc.constantFrom(...ISSUERS, 'https://ID.example.com/', 'https://id.example.com', ''),
    aud: fc.oneof(
      fc.constantFrom(...AUDIENCES, 'urn:other', ''),
      fc.array(fc.constantFrom(...AUDIENCES, 'urn:other', 7, null), { maxLength: 3 }),
    ),
    exp: time,
    nbf: time,
    iat: time,
    sub: fc.constantFrom('user-1', '', 'admin'),
    jti: fc.constantFrom('j-1', ''),
    scope: fc
      .array(fc.constantFrom(...SCOPES, 'READ', ''), { maxLength: 3 })
      .map((parts) => parts.join(' ')),
    scp: fc.oneof(
      fc.array(fc.constantFrom(...SCOPES, 7, null), { maxLength: 3 }),
      fc.constantFrom('read write', 'admin', ''),
    ),
  }
  // Values the rules accept (for both option sets below), so whole payloads often pass and the
  // odd claim out is the one under test.
  const good: Record<Registered, fc.Arbitrary<unknown>> = {
    iss: fc.constant(ISSUERS[0]),
    aud: fc.oneof(fc.constant(AUDIENCES[0]), fc.constant([AUDIENCES[0], 'urn:other'])),
    exp: fc.integer({ min: NOW + 10, max: NOW + 10_000 }),
    nbf: fc.integer({ min: NOW - 100, max: NOW }),
    iat: fc.integer({ min: NOW - 30, max: NOW }),
    sub: fc.constant('user-1'),
    jti: fc.constant('j-1'),
    scope: fc.subarray(SCOPES).map((parts) => parts.join(' ')),
    scp: fc.subarray(SCOPES),
  }
  return fc.oneof(
    { weight: 14, arbitrary: json(good[claim]) },
    { weight: 6, arbitrary: json(meaningful[claim]) },
    { weight: 2, arbitrary: fc.constant(undefined) },
    {
      weight: 3,
      arbitrary: json(
        fc.oneof(
          fc.string({ maxLength: 8 }),
          fc.double(),
          fc.integer(),
          fc.boolean(),
          fc.constant(null),
          fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
          fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 1 }), {
            maxKeys: 3,
          }),
        ),
      ),
    },
    { weight: 1, arbitrary: fc.constantFrom('1e400', '-1e400', '"1900000060"', '[1900000060]') },
  )
}

const payloadArb = fc.record(
  Object.fromEntries(REGISTERED.map((claim) => [claim, rawValue(claim)])) as Record<
    Registered,
    fc.Arbitrary<Raw>
  >,
)

const optionsArb = fc.record({
  issuer: fc.constantFrom<string | string[]>(ISSUERS[0]!, ISSUERS),
  audience: fc.constantFrom<string | string[]>(AUDIENCES[0]!, AUDIENCES),
  clockTolerance: fc.constantFrom(0, 5),
  maxTokenAge: fc.constantFrom(undefined, 60),
  requiredClaims: fc.constantFrom<string[]>([], ['sub'], ['jti', 'scope']),
})

type Options = {
  issuer: string | string[]
  audience: string | string[]
  clockTolerance: number
  maxTokenAge: number | undefined
  requiredClaims: string[]
}

const isString = (v: unknown): v is string => typeof v === 'string'
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString)
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)

/** The claim rules, independently: every reason that applies to `payload` at `now`. */
function modelReasons(payload: Record<string, unknown>, options: Options, now: number): string[] {
  const reasons = new Set<string>()
  const { iss, aud, exp, nbf, iat, sub, jti, scope, scp } = payload
  const tolerance = options.clockTolerance
  // Registered types (RFC 7519 §4.1; scope per RFC 8693 §4.2, scp as a string or string array).
  const typesOk = {
    iss: iss === undefined || isString(iss),
    aud: aud === undefined || isString(aud) || isStringArray(aud),
    exp: exp === undefined || isTime(exp),
    nbf: nbf === undefined || isTime(nbf),
    iat: iat === undefined || isTime(iat),
    sub: sub === undefined || isString(sub),
    jti: jti === undefined || isString(jti),
    scope: scope === undefined || isString(scope),
    scp: scp === undefined || isString(scp) || isStringArray(scp),
  }
  if (Object.values(typesOk).some((ok) => !ok)) reasons.add('invalid_claim')
  // Presence: exp always; iss and aud because the issuer and audience rules need them.
  for (const claim of ['exp', 'iss', 'aud', ...options.requiredClaims]) {
    if (!Object.hasOwn(payload, claim)) reasons.add('missing_claim')
  }
  const issuers = ([] as string[]).concat(options.issuer)
  const audiences = ([] as string[]).concat(options.audience)
  if (isString(iss) && !issuers.includes(iss)) reasons.add('wrong_issuer')
  if (typesOk.aud && aud !== undefined) {
    const granted = ([] as string[]).concat(aud as string | string[])
    if (!audiences.some((a) => granted.includes(a))) reasons.add('wrong_audience')
  }
  if (isTime(exp) && now >= exp + tolerance) reasons.add('expired')
  if (isTime(nbf) && now < nbf - tolerance) reasons.add('not_yet_valid')
  if (options.maxTokenAge !== undefined) {
    if (iat === undefined) reasons.add('missing_claim')
    else if (isTime(iat)) {
      if (now - iat - tolerance > options.maxTokenAge) reasons.add('too_old')
      if (now - iat < -tolerance) reasons.add('issued_in_future')
    }
  }
  return [...reasons]
}

/** Scopes granted by a verified payload: `scope` split on spaces, plus `scp`. */
function modelGranted(payload: Readonly<Record<string, unknown>>): Set<string> {
  const granted = new Set<string>()
  const add = (value: unknown) => {
    const list = isString(value) ? value.split(' ') : isStringArray(value) ? value : []
    for (const scope of list) if (scope !== '') granted.add(scope)
  }
  add(payload.scope)
  add(payload.scp)
  return granted
}

function sign(payloadJson: string): string {
  return hmacToken({ alg: 'HS256' }, payloadJson, SECRET)
}

describe('registered claims', () => {
  test('every JSON type in every registered claim is accepted or refused as the model says', async (t) => {
    let accepted = 0
    await checkProperty(
      t,
      fc.asyncProperty(
        payloadArb,
        optionsArb,
        fc.subarray(SCOPES, { minLength: 1 }),
        fc.boolean(),
        async (raw, options, required, any) => {
          const members = Object.entries(raw).filter(([, value]) => value !== undefined)
          const json = `{${members.map(([claim, value]) => `"${claim}":${value}`).join(',')}}`
          const payload = JSON.parse(json) as Record<string, unknown>
          const now = Math.floor(Date.now() / 1000)
          const expected = modelReasons(payload, options, now)

          const verifier = createVerifier({
            issuer: options.issuer,
            audience: options.audience,
            secret: SECRET,
            clockTolerance: options.clockTolerance,
            requiredClaims: options.requiredClaims,
            cache: false,
            ...(options.maxTokenAge === undefined ? {} : { maxTokenAge: options.maxTokenAge }),
          })
          try {
            const outcome = await outcomeOf<AuthResult>(() => verifier.verify(sign(json)))
            if (expected.length > 0) {
              assert.ok(!outcome.ok, `accepted although ${expected.join(', ')}: ${json}`)
              assert.ok(isAuthError(outcome.error), String(outcome.error))
              assert.equal(outcome.error.status, 401)
              assert.ok(
                expected.includes(outcome.error.reason),
                `refused as ${outcome.error.reason}; the model says ${expected.join(', ')}: ${json}`,
              )
              return
            }
            assert.ok(outcome.ok, `refused (${String((outcome as any).error?.reason)}): ${json}`)
            accepted++
            // The scope rule on what was accepted: exact names, all-of or any-of.
            const granted = modelGranted(outcome.value.payload)
            const allowed = any
              ? required.some((s) => granted.has(s))
              : required.every((s) => granted.has(s))
            let refusal: unknown
            try {
              checkScopes(outcome.value, parseScopes([...required, { any }]))
            } catch (error) {
              refusal = error
            }
            const what = `scopes ${required.join(' ')} (any: ${any}): ${json}`
            assert.equal(refusal === undefined, allowed, what)
            if (refusal !== undefined) {
              assert.ok(isAuthError(refusal), what)
              assert.equal(refusal.reason, 'insufficient_scope')
            }
          } finally {
            await verifier.close()
          }
        },
      ),
      2000,
    )
    t.diagnostic(`${accepted} payloads accepted`)
    assert.ok(accepted > 0, 'the generator never produced an acceptable payload')
  })
})
