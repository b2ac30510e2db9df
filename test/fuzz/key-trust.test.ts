/**
 * Property: no cache hit ever returns a result that a fresh verification at the same moment
 * would refuse, whatever the sequence of key-set changes at the JWKS server, outages of it,
 * clock steps and requests (issue 12, items 1 and 2).
 *
 * Each run starts a verifier with a token cache and, on the same JWKS URL and settings (so on
 * the same process-wide key cache), a second verifier without one: the fresh verification.
 * A real HTTP JWKS server on loopback publishes a random subset of three keys or fails (500).
 * The clock is node:test's mock `Date`; fetches and their timeouts run on real time. Whenever
 * the cached verifier answers a token from its cache, the fresh verifier is asked about the
 * same token at the same moment, and must accept it too.
 */
import assert from 'node:assert/strict'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { after, afterEach, before, beforeEach, describe, mock, test } from 'node:test'
import fc from 'fast-check'
import { CHANNELS, createVerifier, isAuthError, type VerifiedEvent } from '../../src/index.js'
import { listen, type Listening } from '../helpers/http.js'
import { keyPair } from '../helpers/keys.js'
import { asymmetricToken } from '../helpers/tokens.js'
import { checkProperty, outcomeOf } from './harness.js'
import { AUDIENCE, ISSUER } from './token-families.js'

const T0 = 1_900_000_000 // whole seconds
const KEYS = [keyPair('ec', 'k0', 'ES256'), keyPair('ec', 'k1', 'ES256'), keyPair('ec', 'k2')]
const CACHE_MAX_AGE_S = 10
const STALE_IF_ERROR_S = 30

/** What the JWKS server does now; each run resets it. */
const server = { published: new Set<number>([0]), failing: false, requests: 0 }
let jwks: Listening
let runs = 0

before(async () => {
  jwks = await listen((_req, res) => {
    server.requests++
    if (server.failing) return void res.writeHead(500).end()
    const keys = [...server.published].map((index) => KEYS[index]!.jwk)
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }))
  })
})
after(() => jwks.close())
beforeEach(() => mock.timers.enable({ apis: ['Date'], now: T0 * 1000 }))
afterEach(() => mock.timers.reset())

type Step =
  | { kind: 'verify'; key: number; lifetime: number }
  | { kind: 'publish'; keys: number[] }
  | { kind: 'outage'; failing: boolean }
  | { kind: 'tick'; ms: number }

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 14,
    arbitrary: fc.record({
      kind: fc.constant('verify' as const),
      key: fc.nat({ max: KEYS.length - 1 }),
      lifetime: fc.constantFrom(3600, 3600, 3600, 20),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('publish' as const),
      keys: fc.subarray([0, 1, 2], { minLength: 0 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('outage' as const), failing: fc.boolean() }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('tick' as const),
      ms: fc.oneof(
        { weight: 3, arbitrary: fc.integer({ min: 0, max: 4_000 }) },
        { weight: 2, arbitrary: fc.integer({ min: 0, max: 40_000 }) },
      ),
    }),
  },
)

describe('cached verifications and the trust in their key', () => {
  test('a cache hit is never served when a fresh verification at the same moment refuses', async (t) => {
    let events: VerifiedEvent[] = []
    const listener = (event: unknown) => events.push(event as VerifiedEvent)
    subscribe(CHANNELS.verified, listener)
    let hits = 0
    let refusedAfterHit = 0
    try {
      await checkProperty(
        t,
        fc.asyncProperty(
          fc.subarray([0, 1, 2], { minLength: 1 }),
          fc.array(step, { minLength: 1, maxLength: 30 }),
          async (initial, steps) => {
            mock.timers.setTime(T0 * 1000)
            server.published = new Set(initial)
            server.failing = false
            const options = {
              issuer: ISSUER,
              audience: AUDIENCE,
              // A fresh URL per run: runs never share the process-wide key cache.
              jwksUri: `${jwks.url}/jwks/${++runs}`,
              remoteKeys: {
                cacheMaxAge: CACHE_MAX_AGE_S,
                staleIfError: STALE_IF_ERROR_S,
                cooldown: '20ms',
              },
            }
            const cached = createVerifier(options)
            const fresh = createVerifier({ ...options, cache: false })
            // One token per key and lifetime, signed at T0: cache hits need repeated tokens.
            const tokens = new Map<string, string>()
            const tokenFor = (key: number, lifetime: number) => {
              const id = `${key}/${lifetime}`
              let token = tokens.get(id)
              if (token === undefined) {
                const { kid } = KEYS[key]!.jwk
                token = asymmetricToken(
                  { alg: 'ES256', kid },
                  { iss: ISSUER, aud: AUDIENCE, sub: id, exp: T0 + lifetime },
                  KEYS[key]!.privateKey,
                )
                tokens.set(id, token)
              }
              return token
            }
            try {
              for (const [index, current] of steps.entries()) {
                if (current.kind === 'tick') mock.timers.tick(current.ms)
                else if (current.kind === 'publish') server.published = new Set(current.keys)
                else if (current.kind === 'outage') server.failing = current.failing
                else {
                  const token = tokenFor(current.key, current.lifetime)
                  events = []
                  const outcome = await outcomeOf(() => cached.verify(token))
                  if (!outcome.ok) {
                    assert.ok(isAuthError(outcome.error), String(outcome.error))
                    continue
                  }
                  if (!events.some((event) => event.cached)) continue
                  hits++
                  const now = Date.now()
                  const second = await outcomeOf(() => fresh.verify(token))
                  const where = `step ${index}, key ${current.key}, T0+${(now - T0 * 1000) / 1000}s`
                  if (!second.ok) refusedAfterHit++
                  if (!second.ok) {
                    const why = isAuthError(second.error) ? second.error.reason : second.error
                    assert.fail(`${where}: served from the cache, but fresh: ${String(why)}`)
                  }
                }
              }
            } finally {
              await Promise.all([cached.close(), fresh.close()])
            }
          },
        ),
        100,
      )
    } finally {
      unsubscribe(CHANNELS.verified, listener)
    }
    t.diagnostic(`${hits} cache hits compared with a fresh verification`)
    assert.ok(hits > 0, 'the scripts never exercised a cache hit')
    assert.equal(refusedAfterHit, 0)
  })
})
