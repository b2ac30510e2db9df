/**
 * Property: the verified-token cache never answers for a token other than the one being
 * verified, never serves a token outside its validity window (exp, nbf, maxTokenAge, with clock
 * tolerance), and never skips the denylist, whatever the sequence of verifications, clock moves,
 * revocations and evictions.
 *
 * Each run builds a verifier with a small cache (so eviction happens), mints a handful of tokens
 * (some sharing a payload under different headers), then plays a random script against a model:
 * verify a token, its forged twin (same header and payload, wrong signature) or its twin under
 * another header; move the clock (node:test mock timers, `Date` only); revoke a token.
 */
import assert from 'node:assert/strict'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { afterEach, beforeEach, describe, mock, test } from 'node:test'
import fc from 'fast-check'
import {
  CHANNELS,
  createVerifier,
  isAuthError,
  type AuthResult,
  type VerifiedEvent,
} from '../../src/index.js'
import { hmacToken } from '../helpers/tokens.js'
import { checkProperty, outcomeOf } from './harness.js'
import { ATTACKER_SECRET, AUDIENCE, ISSUER, SECRET } from './token-families.js'

const T0 = 1_900_000_000 // whole seconds

beforeEach(() => mock.timers.enable({ apis: ['Date'], now: T0 * 1000 }))
afterEach(() => mock.timers.reset())

interface TokenSpec {
  /** Seconds relative to T0; undefined leaves the claim out. */
  exp: number
  nbf: number | undefined
  iat: number | undefined
}

type Step =
  | { kind: 'verify'; token: number; form: 'genuine' | 'forged' | 'retyped' }
  | { kind: 'tick'; ms: number }
  | { kind: 'revoke'; token: number }

const tokenSpec: fc.Arbitrary<TokenSpec> = fc.record({
  exp: fc.integer({ min: -3, max: 90 }),
  nbf: fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: fc.integer({ min: -5, max: 20 }) },
  ),
  iat: fc.oneof(
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 3, arbitrary: fc.integer({ min: -20, max: 5 }) },
  ),
})

const scenario = fc
  .record({
    cacheSize: fc.constantFrom(1, 2, 3, 100),
    tolerance: fc.constantFrom(0, 3),
    maxTokenAge: fc.constantFrom(undefined, 30),
    tokens: fc.array(tokenSpec, { minLength: 1, maxLength: 5 }),
    startMs: fc.integer({ min: 0, max: 999 }),
  })
  .chain((setup) =>
    fc
      .array(
        fc.oneof(
          {
            weight: 6,
            arbitrary: fc.record({
              kind: fc.constant('verify' as const),
              token: fc.nat({ max: setup.tokens.length - 1 }),
              form: fc.constantFrom('genuine' as const, 'genuine' as const, 'forged', 'retyped'),
            }),
          },
          {
            weight: 3,
            arbitrary: fc.record({
              kind: fc.constant('tick' as const),
              ms: fc.oneof(
                { weight: 4, arbitrary: fc.integer({ min: 0, max: 2_500 }) },
                { weight: 1, arbitrary: fc.integer({ min: 0, max: 30_000 }) },
              ),
            }),
          },
          {
            weight: 1,
            arbitrary: fc.record({
              kind: fc.constant('revoke' as const),
              token: fc.nat({ max: setup.tokens.length - 1 }),
            }),
          },
        ),
        { minLength: 1, maxLength: 30, size: 'large' },
      )
      .map((steps: Step[]) => ({ ...setup, steps })),
  )

/** Why the model refuses a genuine token at `now`, or undefined if it accepts it. */
function modelRefusal(
  claims: { exp: number; nbf?: number; iat?: number },
  now: number,
  tolerance: number,
  maxTokenAge: number | undefined,
): string[] {
  const reasons: string[] = []
  if (now >= claims.exp + tolerance) reasons.push('expired')
  if (claims.nbf !== undefined && now < claims.nbf - tolerance) reasons.push('not_yet_valid')
  if (maxTokenAge !== undefined) {
    if (claims.iat === undefined) reasons.push('missing_claim')
    else {
      if (now - claims.iat - tolerance > maxTokenAge) reasons.push('too_old')
      if (now - claims.iat < -tolerance) reasons.push('issued_in_future')
    }
  }
  return reasons
}

describe('verified-token cache', () => {
  test('answers only for the token verified, never outside its window, never past the denylist', async (t) => {
    let cachedEvents: VerifiedEvent[] = []
    const listener = (event: unknown) => cachedEvents.push(event as VerifiedEvent)
    subscribe(CHANNELS.verified, listener)
    let hits = 0
    try {
      await checkProperty(
        t,
        fc.asyncProperty(scenario, async (run) => {
          mock.timers.setTime(T0 * 1000 + run.startMs)
          const revoked = new Set<string>()
          const verifier = createVerifier({
            issuer: ISSUER,
            audience: AUDIENCE,
            secret: SECRET,
            cache: { tokens: run.cacheSize },
            clockTolerance: run.tolerance,
            ...(run.maxTokenAge === undefined ? {} : { maxTokenAge: run.maxTokenAge }),
            denylist: { isRevoked: (payload) => revoked.has(payload.jti!) },
          })
          // Each token: a genuine one, a forged twin and a twin under another header (same claims).
          const minted = run.tokens.map((spec, i) => {
            const claims: { [k: string]: unknown; exp: number; nbf?: number; iat?: number } = {
              iss: ISSUER,
              aud: AUDIENCE,
              sub: `user-${i}`,
              jti: `jti-${i}`,
              exp: T0 + spec.exp,
            }
            if (spec.nbf !== undefined) claims.nbf = T0 + spec.nbf
            if (spec.iat !== undefined) claims.iat = T0 + spec.iat
            return {
              claims,
              genuine: hmacToken({ alg: 'HS256' }, claims, SECRET),
              forged: hmacToken({ alg: 'HS256' }, claims, ATTACKER_SECRET),
              retyped: hmacToken({ alg: 'HS256', typ: 'JWT' }, claims, SECRET),
            }
          })
          try {
            for (const step of run.steps) {
              if (step.kind === 'tick') {
                mock.timers.tick(step.ms)
                continue
              }
              const token = minted[step.token]!
              if (step.kind === 'revoke') {
                revoked.add(token.claims.jti as string)
                continue
              }
              const sent = token[step.form]
              const now = Math.floor(Date.now() / 1000)
              cachedEvents = []
              const outcome = await outcomeOf<AuthResult>(() => verifier.verify(sent))
              const where = `${step.form} token ${step.token} at T0+${now - T0}s`
              if (step.form === 'forged') {
                assert.ok(!outcome.ok, `${where}: a forged twin verified`)
                assert.ok(isAuthError(outcome.error))
                // The time rules may refuse it first; it must never be a pass.
                continue
              }
              const refusal = modelRefusal(token.claims, now, run.tolerance, run.maxTokenAge)
              if (refusal.length > 0) {
                assert.ok(!outcome.ok, `${where}: served although ${refusal.join(', ')}`)
                assert.ok(isAuthError(outcome.error))
                assert.ok(
                  refusal.includes(outcome.error.reason),
                  `${where}: ${outcome.error.reason}, expected one of ${refusal.join(', ')}`,
                )
              } else if (revoked.has(token.claims.jti as string)) {
                assert.ok(!outcome.ok, `${where}: revoked but served`)
                assert.ok(isAuthError(outcome.error))
                assert.equal(outcome.error.reason, 'revoked', where)
              } else {
                assert.ok(outcome.ok, `${where}: refused (${String((outcome as any).error)})`)
                const result = outcome.value
                // Exactly this token's result: its string, its header, its claims.
                assert.equal(result.token, sent, where)
                const [h, p] = sent.split('.')
                assert.deepEqual(result.header, JSON.parse(Buffer.from(h!, 'base64url').toString()))
                assert.deepEqual(
                  result.payload,
                  JSON.parse(Buffer.from(p!, 'base64url').toString()),
                )
                if (cachedEvents.some((event) => event.cached)) hits++
              }
            }
          } finally {
            await verifier.close()
          }
        }),
        150,
      )
    } finally {
      unsubscribe(CHANNELS.verified, listener)
    }
    t.diagnostic(`${hits} answers came from the cache`)
    assert.ok(hits > 0, 'the scripts never exercised a cache hit')
  })

  test('a handler cannot alter what later tokens are served: nested header values are frozen too', async () => {
    // Validated headers are shared by every token with the same header segment (and by cache
    // hits), so a mutable nested value would leak one request's change into the next request.
    const verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, secret: SECRET })
    try {
      const header = { alg: 'HS256', ctx: { tenant: 'acme', roles: ['user'] } }
      const claims = { iss: ISSUER, aud: AUDIENCE, exp: T0 + 60 }
      const first = await verifier.verify(hmacToken(header, { ...claims, sub: 'a' }, SECRET))
      const ctx = first.header.ctx as { tenant: string; roles: string[] }
      assert.throws(() => {
        ctx.tenant = 'evil'
      }, TypeError)
      assert.throws(() => ctx.roles.push('admin'), TypeError)
      const second = await verifier.verify(hmacToken(header, { ...claims, sub: 'b' }, SECRET))
      assert.deepEqual(second.header.ctx, { tenant: 'acme', roles: ['user'] })
    } finally {
      await verifier.close()
    }
  })
})
