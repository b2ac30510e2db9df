/**
 * Observability: the `jwt-gate:*` diagnostics channels. Each event fires when it should (and
 * once), carries the same stable `reason` as the `AuthError`, and never contains the token.
 *
 *   jwt-gate:verified   { cached, alg, kid, iss, sub }                     cache miss, then hit
 *   jwt-gate:rejected   { reason, status, code, message }                  one per refusal
 *   jwt-gate:jwks       fetched · failed · stale-served · cooldown · key-skipped ·
 *                       discovered · discovery-failed
 */
import assert from 'node:assert/strict'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { after, afterEach, beforeEach, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  CHANNELS,
  createVerifier,
  isAuthError,
  type AuthError,
  type JwksEvent,
  type RejectedEvent,
  type RequestLike,
  type VerifiedEvent,
  type Verifier,
  type VerifierOptions,
} from '../../src/index.js'
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js'
import { APPS } from '../adapters/apps.js'
import { bearer, listen, send } from '../helpers/http.js'
import { keyPair } from '../helpers/keys.js'
import { asymmetricToken, assemble, hmacToken, nowSeconds } from '../helpers/tokens.js'

process.env.NODE_ENV = 'test' // keep Express's default error handler quiet

const issuer = 'https://id.example.com/'
const audience = 'https://api.example.com'
const secret = 'events-secret-'.repeat(4)
const cleanup: Array<() => Promise<unknown>> = []
after(async () => {
  for (const fn of cleanup.reverse()) await fn()
})

/** Everything published on the four channels while a test runs. */
const seen = {
  verified: [] as VerifiedEvent[],
  rejected: [] as RejectedEvent[],
  jwks: [] as JwksEvent[],
  denylist: [] as unknown[],
}
const listeners = {
  verified: (event: unknown) => seen.verified.push(event as VerifiedEvent),
  rejected: (event: unknown) => seen.rejected.push(event as RejectedEvent),
  jwks: (event: unknown) => seen.jwks.push(event as JwksEvent),
  denylist: (event: unknown) => seen.denylist.push(event),
}
const names = ['verified', 'rejected', 'jwks', 'denylist'] as const
beforeEach(() => {
  for (const name of names) {
    seen[name].length = 0
    subscribe(CHANNELS[name], listeners[name])
  }
})
afterEach(() => {
  for (const name of names) unsubscribe(CHANNELS[name], listeners[name])
})

/** Every token that passed through a test: none may appear in any event or error. */
const tokensUsed = new Set<string>()
function remember(token: string): string {
  tokensUsed.add(token)
  return token
}

const claims = (extra: Record<string, unknown> = {}) => ({
  iss: issuer,
  aud: audience,
  sub: 'user-1',
  jti: `j-${Math.random()}`,
  exp: nowSeconds() + 300,
  ...extra,
})
const hs = (extra: Record<string, unknown> = {}, key = secret) =>
  remember(hmacToken({ alg: 'HS256' }, claims(extra), key))

function verifier(options: Partial<VerifierOptions> = {}): Verifier {
  const created = createVerifier({ issuer, audience, secret, ...options } as VerifierOptions)
  cleanup.push(() => created.close())
  return created
}

async function testIssuer(): Promise<TestIssuer> {
  const created = await createTestIssuer({ alg: 'ES256', audience })
  cleanup.push(() => created.close())
  return created
}

/** The refusal `run` produces, and the rejected events it published (must be exactly one). */
async function refusal(run: () => Promise<unknown>): Promise<AuthError> {
  seen.rejected.length = 0
  let caught: unknown
  try {
    await run()
  } catch (error) {
    caught = error
  }
  assert.ok(isAuthError(caught), `expected an AuthError, got ${String(caught)}`)
  assert.equal(seen.rejected.length, 1, `one rejected event per refusal (${caught.reason})`)
  assert.deepEqual(seen.rejected[0], {
    reason: caught.reason,
    status: caught.status,
    code: caught.code,
    message: caught.message,
  })
  return caught
}

/** No token (nor a long piece of one) in anything observable. */
function assertNoTokenIn(text: string, where: string): void {
  for (const token of tokensUsed) {
    for (const piece of [token, ...token.split('.')]) {
      if (piece.length >= 12) assert.ok(!text.includes(piece), `${where} contains a token`)
    }
  }
}

describe('jwt-gate:verified', () => {
  test('a miss, then a hit, each with alg, kid, iss and sub only', async () => {
    const v = verifier()
    const token = hs()
    await v.verify(token)
    await v.verify(token)
    assert.deepEqual(seen.verified, [
      { cached: false, alg: 'HS256', kid: undefined, iss: issuer, sub: 'user-1' },
      { cached: true, alg: 'HS256', kid: undefined, iss: issuer, sub: 'user-1' },
    ])
  })

  test('a token refused by the denylist (revoked, or denylist down) is never announced as verified', async () => {
    // Otherwise "verified" counts include refused requests, and verified + rejected > requests.
    const token = hs()
    const revoked = verifier({ denylist: { isRevoked: () => true } })
    const broken = verifier({ denylist: { isRevoked: () => Promise.reject(new Error('down')) } })
    for (const v of [revoked, broken]) {
      await assert.rejects(v.verify(token)) // a miss
      await assert.rejects(v.verify(token)) // a hit
    }
    assert.deepEqual(seen.verified, [])
    assert.deepEqual(
      seen.rejected.map((event) => event.reason),
      ['revoked', 'revoked', 'denylist_unavailable', 'denylist_unavailable'],
    )
  })

  test('with cache: false every verification is a miss', async () => {
    const v = verifier({ cache: false })
    const token = hs()
    await v.verify(token)
    await v.verify(token)
    assert.deepEqual(
      seen.verified.map((event) => event.cached),
      [false, false],
    )
  })
})

describe('jwt-gate:rejected', () => {
  test('one event per refusal, with the same stable reason, status, code and message as the AuthError', async () => {
    const v = verifier({ token: { cookie: 'access_token' } })
    const rsa = keyPair('rsa', 'r1')
    const node = (headers: Record<string, string>, method = 'GET'): RequestLike => ({
      headers: { host: 'api.example.com', ...headers },
      method,
    })
    const good = hs()
    const cases: Array<[string, () => Promise<unknown>, number]> = [
      ['no_token', () => v.verifyRequest(node({})), 401],
      ['malformed_request', () => v.verifyRequest(node({ authorization: 'Bearer a b' })), 400],
      [
        'ambiguous_token',
        () =>
          v.verifyRequest(
            node({ authorization: `Bearer ${good}`, cookie: `access_token=${good}` }),
          ),
        400,
      ],
      ['csrf', () => v.verifyRequest(node({ cookie: `access_token=${good}` }, 'POST')), 403],
      ['token_too_large', () => v.verify(remember('a'.repeat(9000))), 401],
      ['malformed', () => v.verify(remember('not.a.token')), 401],
      [
        'alg_not_allowed',
        () => v.verify(remember(assemble({ alg: 'none' }, claims(), 'c2ln'))),
        401,
      ],
      [
        'unsupported_header',
        () => v.verify(remember(hmacToken({ alg: 'HS256', crit: ['x'], x: 1 }, claims(), secret))),
        401,
      ],
      ['bad_signature', () => v.verify(hs({}, 'wrong-secret-'.repeat(4))), 401],
      ['expired', () => v.verify(hs({ exp: nowSeconds() - 10 })), 401],
      ['not_yet_valid', () => v.verify(hs({ nbf: nowSeconds() + 60 })), 401],
      ['wrong_audience', () => v.verify(hs({ aud: 'urn:other' })), 401],
      ['wrong_issuer', () => v.verify(hs({ iss: 'urn:other' })), 401],
      ['missing_claim', () => v.verify(hs({ exp: undefined })), 401],
      ['invalid_claim', () => v.verify(hs({ iss: [issuer] })), 401],
      [
        'no_matching_key',
        () =>
          verifier({ secret: undefined, keys: { keys: [rsa.jwk] } }).verify(
            remember(asymmetricToken({ alg: 'RS256', kid: 'other' }, claims(), rsa.privateKey)),
          ),
        401,
      ],
      ['revoked', () => verifier({ denylist: { isRevoked: () => true } }).verify(hs()), 401],
      [
        'denylist_unavailable',
        () =>
          verifier({
            denylist: {
              isRevoked: () => {
                throw new Error('redis down')
              },
            },
          }).verify(hs()),
        503,
      ],
    ]
    for (const [reason, run, status] of cases) {
      const error = await refusal(run)
      assert.equal(error.reason, reason)
      assert.equal(error.status, status, reason)
    }
  })

  test('key-source outages: jwks_unavailable and discovery_unavailable', async () => {
    const idp = await testIssuer()
    idp.simulateOutage('error')
    const token = remember(await idp.sign())
    const jwks = verifier({ secret: undefined, issuer: idp.url, jwksUri: idp.jwksUri })
    assert.equal((await refusal(() => jwks.verify(token))).reason, 'jwks_unavailable')
    const discovery = verifier({ secret: undefined, issuer: idp.url })
    assert.equal((await refusal(() => discovery.verify(token))).reason, 'discovery_unavailable')
  })

  test('route guards publish their refusals too: insufficient_scope and claim_check_failed, on every adapter', async () => {
    const idp = await testIssuer()
    const shared = verifier({ secret: undefined, issuer: idp.url, jwksUri: idp.jwksUri })
    const noScope = remember(await idp.sign({ sub: 'u', org: 'other' }))
    const missing: string[] = []
    for (const factory of APPS) {
      const app = await factory.start(shared)
      try {
        for (const [path, reason] of [
          ['/orders', 'insufficient_scope'],
          ['/claims', 'claim_check_failed'],
        ] as const) {
          seen.rejected.length = 0
          const response = await send(`${app.url}${path}`, { headers: bearer(noScope) })
          assert.equal(response.status, 403, `${factory.name} ${path}`)
          const published = seen.rejected.filter((event) => event.reason === reason)
          if (published.length !== 1) {
            missing.push(`${factory.name} ${path}: ${published.length} "${reason}" events`)
          }
        }
      } finally {
        await app.close()
      }
    }
    assert.deepEqual(missing, [], 'a 403 from requireScopes / requireClaims must be counted')
  })
})

describe('jwt-gate:jwks', () => {
  const forUri = (uri: string) => seen.jwks.filter((event) => 'uri' in event && event.uri === uri)

  test('fetched (initial, then unknown-kid on rotation), cooldown for garbage kids, key-skipped', async () => {
    const idp = await testIssuer()
    // Inside the cooldown the cache may refuse an unknown kid at once or hold it for the one
    // refetch at the window's end; either way the window is announced and bounded. 2 s is long
    // enough that the garbage below falls inside it even on a loaded machine.
    const v = verifier({
      secret: undefined,
      issuer: idp.url,
      jwksUri: idp.jwksUri,
      remoteKeys: { cooldown: '2s' },
    })
    await v.verify(remember(await idp.sign()))
    // Signed ahead: on a loaded machine, signing them after the refetch below could outlast
    // the cooldown window this test means them to fall into.
    const stranger = keyPair('ec', 'x', 'ES256')
    const garbage = Array.from({ length: 20 }, (_, i) =>
      remember(
        asymmetricToken(
          { alg: 'ES256', kid: `garbage-${i}` },
          claims({ iss: idp.url }),
          stranger.privateKey,
        ),
      ),
    )
    await idp.rotate()
    const rotated = remember(await idp.sign())
    await v.verify(rotated)
    const fetched = forUri(idp.jwksUri).filter((event) => event.type === 'fetched')
    assert.deepEqual(
      fetched.map((event) => [event.trigger, event.keys]),
      [
        ['initial', 1],
        ['unknown-kid', 2],
      ],
    )
    assert.ok(fetched.every((event) => event.durationMs >= 0))

    // Right after that refetch, garbage kids fall inside the cooldown window: it is announced,
    // they are refused, and the window costs the key server at most one more fetch.
    seen.jwks.length = 0
    const fetchesBefore = idp.jwksRequests
    const results = await Promise.allSettled(garbage.map((token) => v.verify(token)))
    assert.ok(
      results.every(
        (r) => r.status === 'rejected' && (r.reason as AuthError).reason === 'no_matching_key',
      ),
    )
    assert.ok(idp.jwksRequests - fetchesBefore <= 1, `${idp.jwksRequests - fetchesBefore} fetches`)
    const cooldowns = forUri(idp.jwksUri).filter((event) => event.type === 'cooldown')
    assert.ok(cooldowns.length >= 1, 'the cooldown was announced')
    for (const event of cooldowns) {
      assert.ok(event.retryInMs > 0 && event.retryInMs <= 2000, `retryInMs ${event.retryInMs}`)
    }

    // A JWKS carrying an encryption key and a symmetric key: each skipped, with the reason.
    const jwk = idp.jwks().keys[0]!
    const body = JSON.stringify({
      keys: [jwk, { ...jwk, kid: 'enc', use: 'enc' }, { kty: 'oct', k: 'c2VjcmV0', kid: 'sym' }],
    })
    const server = await listen((_req, res) => res.end(body))
    cleanup.push(() => server.close())
    const mixed = verifier({
      secret: undefined,
      issuer: idp.url,
      jwksUri: `${server.url}/jwks`,
    })
    await mixed.verify(remember(await idp.sign({}, { kid: jwk.kid! })))
    const skipped = forUri(`${server.url}/jwks`).filter((event) => event.type === 'key-skipped')
    assert.deepEqual(
      skipped.map((event) => event.kid),
      ['enc', 'sym'],
    )
  })

  test('failed (initial and background refresh), then stale-served while the server is down', async () => {
    const idp = await testIssuer()
    const v = verifier({
      secret: undefined,
      issuer: idp.url,
      jwksUri: idp.jwksUri,
      remoteKeys: { cacheMaxAge: 0.25 },
      cache: false,
    })
    await v.verify(remember(await idp.sign()))
    idp.simulateOutage('error')
    await sleep(600) // the refresh at 80 % of cacheMaxAge fails; the keys are now past their age
    const failed = forUri(idp.jwksUri).filter((event) => event.type === 'failed')
    assert.ok(failed.length >= 1, 'the failed background refresh was published')
    assert.equal(failed[0]!.trigger, 'refresh')
    seen.jwks.length = 0
    await v.verify(remember(await idp.sign()))
    const stale = forUri(idp.jwksUri).filter((event) => event.type === 'stale-served')
    assert.equal(stale.length, 1)
    assert.ok(stale[0]!.ageMs >= 250, `${stale[0]!.ageMs}`)

    const down = await testIssuer()
    down.simulateOutage('error')
    const cold = verifier({ secret: undefined, issuer: down.url, jwksUri: down.jwksUri })
    await assert.rejects(cold.verify(remember(await down.sign())), { status: 503 })
    assert.deepEqual(
      forUri(down.jwksUri).map((event) => [event.type, 'trigger' in event && event.trigger]),
      [['failed', 'initial']],
    )
  })

  test('discovered and discovery-failed name the issuer', async () => {
    const idp = await testIssuer()
    const v = verifier({ secret: undefined, issuer: idp.url })
    await v.verify(remember(await idp.sign()))
    assert.deepEqual(
      seen.jwks.filter((event) => event.type === 'discovered'),
      [{ type: 'discovered', issuer: idp.url, jwksUri: idp.jwksUri }],
    )
    const down = await testIssuer()
    down.simulateOutage('error')
    const failing = verifier({ secret: undefined, issuer: down.url })
    await assert.rejects(failing.verify(remember(await down.sign())), { status: 503 })
    const failed = seen.jwks.filter((event) => event.type === 'discovery-failed')
    assert.equal(failed.length, 1)
    assert.equal((failed[0] as { issuer: string }).issuer, down.url)
  })
})

describe('no token in events or errors', () => {
  test('across successes, cache hits and every kind of refusal, nothing published or thrown holds the token', async () => {
    const idp = await testIssuer()
    const v = verifier({
      secret: undefined,
      issuer: idp.url,
      jwksUri: idp.jwksUri,
      token: { cookie: 'access_token' },
      denylist: { isRevoked: (payload) => payload.sub === 'revoked' },
    })
    const errors: AuthError[] = []
    const attempt = async (run: () => Promise<unknown>) => {
      try {
        await run()
      } catch (error) {
        assert.ok(isAuthError(error))
        errors.push(error)
      }
    }
    const good = remember(await idp.sign({ sub: 'u' }))
    const [h, p, s] = good.split('.') as [string, string, string]
    const variants = [
      good,
      good, // a cache hit
      remember(await idp.sign({ sub: 'revoked' })),
      remember(await idp.sign({}, { expiresIn: -60 })),
      remember(await idp.sign({ aud: 'urn:other' })),
      remember(`${h}.${p}.${s.slice(0, -4)}AAAA`),
      remember(`${h}.${p}.${s}.${s}`),
      remember(`${h}=.${p}.${s}`),
      remember(`${h}.${p}`),
    ]
    for (const token of variants) {
      await attempt(() => v.verify(token))
      await attempt(() => v.verifyRequest({ headers: { authorization: `Bearer ${token}` } }))
      await attempt(() =>
        v.verifyRequest({ headers: { authorization: `Bearer ${token} ${token}` } }),
      )
      await attempt(() =>
        v.verifyRequest({ headers: { cookie: `access_token=${token}` }, method: 'POST' }),
      )
    }
    idp.simulateOutage('error')
    await idp.rotate()
    await attempt(async () => v.verify(remember(await idp.sign())))

    assert.ok(errors.length >= 20 && seen.verified.length >= 2 && seen.rejected.length >= 20)
    assertNoTokenIn(JSON.stringify(seen), 'an event')
    for (const error of errors) {
      assertNoTokenIn(
        `${error.message}\n${JSON.stringify(error.headers)}\n${String(error.stack)}`,
        `AuthError ${error.reason}`,
      )
    }
  })
})
