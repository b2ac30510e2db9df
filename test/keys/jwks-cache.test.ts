/**
 * The remote JWKS cache against real key servers on loopback: rotation, single-flight,
 * unknown-kid rate limiting, stale-if-error, timeouts, redirects, size limits, sharing and
 * background refresh.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { after, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  CHANNELS,
  createVerifier,
  type AuthError,
  type VerifiedEvent,
  type VerifierOptions,
} from '../../src/index.js'
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js'
import { bearer, listen, send, type Listening } from '../helpers/http.js'
import { keyPair } from '../helpers/keys.js'
import { asymmetricToken, nowSeconds } from '../helpers/tokens.js'

const audience = 'https://api.example.com'
const cleanup: Array<() => Promise<unknown>> = []
after(() => Promise.all(cleanup.map((fn) => fn())))

async function issuerFor(alg: 'RS256' | 'ES256' = 'RS256'): Promise<TestIssuer> {
  const issuer = await createTestIssuer({ alg, audience })
  cleanup.push(() => issuer.close())
  return issuer
}

function verifierFor(issuer: TestIssuer, extra: Partial<VerifierOptions> = {}) {
  const verifier = createVerifier({
    issuer: issuer.url,
    audience,
    jwksUri: issuer.jwksUri,
    ...extra,
  } as VerifierOptions)
  cleanup.push(() => verifier.close())
  return verifier
}

/** A token with valid claims but signed by a stranger's key under an arbitrary kid. */
function forged(issuer: TestIssuer, kid: string) {
  return asymmetricToken(
    { alg: 'RS256', kid },
    { iss: issuer.url, aud: audience, exp: nowSeconds() + 60 },
    stranger.privateKey,
  )
}
const stranger = keyPair('rsa', 'stranger')

async function serveJson(handler: Parameters<typeof listen>[0]): Promise<Listening> {
  const server = await listen(handler)
  cleanup.push(() => server.close())
  return server
}

describe('key rotation', () => {
  test('a new kid is accepted right after a fetch, with exactly one refetch', async () => {
    const issuer = await issuerFor()
    const verifier = verifierFor(issuer)
    await verifier.verify(await issuer.sign({ sub: 'before' }))
    assert.equal(issuer.jwksRequests, 1)
    await issuer.rotate()
    const { payload } = await verifier.verify(await issuer.sign({ sub: 'after' }))
    assert.equal(payload.sub, 'after')
    assert.equal(issuer.jwksRequests, 2)
  })

  test('200 concurrent requests with a new kid share one fetch and all pass', async () => {
    const issuer = await issuerFor('ES256')
    const verifier = verifierFor(issuer)
    await verifier.verify(await issuer.sign())
    await issuer.rotate()
    const tokens = await Promise.all(
      Array.from({ length: 200 }, (_, i) => issuer.sign({ sub: `u${i}` })),
    )
    const results = await Promise.allSettled(tokens.map((t) => verifier.verify(t)))
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 200)
    assert.equal(issuer.jwksRequests, 2)
  })

  test('the previous key keeps working while it is still published', async () => {
    const issuer = await issuerFor()
    const verifier = verifierFor(issuer)
    const oldKid = issuer.kid
    await issuer.rotate()
    await verifier.verify(await issuer.sign())
    await verifier.verify(await issuer.sign({}, { kid: oldKid }))
    assert.equal(issuer.jwksRequests, 1)
  })
})

describe('unknown kids are rate-limited', () => {
  test('200 concurrent garbage kids: one fetch, all refused with 401 at once', async () => {
    const issuer = await issuerFor()
    const verifier = verifierFor(issuer, { remoteKeys: { cooldown: '500ms' } })
    await verifier.verify(await issuer.sign())
    // Signed before the clock starts: 200 RSA signatures take longer than the window on a loaded machine.
    const garbage = Array.from({ length: 200 }, (_, i) => forged(issuer, `garbage-${i}`))
    const started = Date.now()
    const results = await Promise.allSettled(garbage.map((token) => verifier.verify(token)))
    assert.ok(
      results.every(
        (r) => r.status === 'rejected' && (r.reason as AuthError).reason === 'no_matching_key',
      ),
    )
    assert.equal(issuer.jwksRequests, 2) // the warm-up, then one refetch for all 200
    assert.ok(Date.now() - started < 400, `${Date.now() - started} ms`)
    // A second wave inside the window waits for the one refetch at the window's end.
    await Promise.allSettled(
      Array.from({ length: 200 }, (_, i) => verifier.verify(forged(issuer, `more-${i}`))),
    )
    assert.equal(issuer.jwksRequests, 3)
  })

  test('a new key right after a garbage-triggered refetch is accepted (it waits for the window)', async () => {
    const issuer = await issuerFor()
    const verifier = verifierFor(issuer, { remoteKeys: { cooldown: '400ms' } })
    await verifier.verify(await issuer.sign())
    await assert.rejects(verifier.verify(forged(issuer, 'garbage')), { reason: 'no_matching_key' })
    assert.equal(issuer.jwksRequests, 2)
    await issuer.rotate()
    const tokens = await Promise.all(Array.from({ length: 100 }, () => issuer.sign()))
    const started = Date.now()
    await Promise.all(tokens.map((token) => verifier.verify(token)))
    const waited = Date.now() - started
    assert.equal(issuer.jwksRequests, 3)
    assert.ok(waited < 1500, `${waited} ms`)
  })

  test('refetches for unknown kids never exceed one per window, however they arrive', async () => {
    const issuer = await issuerFor()
    const verifier = verifierFor(issuer, { remoteKeys: { cooldown: '300ms' } })
    await verifier.verify(await issuer.sign())
    const started = Date.now()
    for (let i = 0; i < 5; i++) {
      await assert.rejects(verifier.verify(forged(issuer, `sequential-${i}`)), { status: 401 })
    }
    const windows = Math.floor((Date.now() - started) / 300) + 1
    assert.ok(
      issuer.jwksRequests - 1 <= windows,
      `${issuer.jwksRequests - 1} refetches in ${windows} windows`,
    )
  })

  test('a token failing its claims never triggers a fetch for its kid', async () => {
    const issuer = await issuerFor()
    const verifier = verifierFor(issuer)
    await verifier.verify(await issuer.sign())
    const expired = await issuer.sign({}, { expiresIn: -10, kid: undefined })
    await issuer.rotate({ keepPrevious: false })
    const wrongAudience = await issuer.sign({ aud: 'urn:someone-else' })
    await assert.rejects(verifier.verify(wrongAudience), { reason: 'wrong_audience' })
    await assert.rejects(verifier.verify(expired), { reason: 'expired' })
    assert.equal(issuer.jwksRequests, 1)
  })
})

describe('outages', () => {
  test('key server down after warm-up: known keys keep working (stale-if-error)', async () => {
    const issuer = await issuerFor()
    const verifier = verifierFor(issuer, { remoteKeys: { cacheMaxAge: 0.3 } })
    const token = await issuer.sign()
    await verifier.verify(token)
    issuer.simulateOutage('error')
    await sleep(600) // past cacheMaxAge: the background refresh has failed
    assert.ok(issuer.jwksRequests >= 2)
    const { payload } = await verifier.verify(await issuer.sign({ sub: 'still' }))
    assert.equal(payload.sub, 'still')
  })

  test('stale keys are used only up to staleIfError, then 503', async () => {
    const issuer = await issuerFor()
    const verifier = verifierFor(issuer, {
      remoteKeys: { cacheMaxAge: 0.2, staleIfError: 0.5 },
      cache: false,
    })
    await verifier.verify(await issuer.sign())
    issuer.simulateOutage('error')
    await sleep(700)
    await assert.rejects(verifier.verify(await issuer.sign()), (error: AuthError) => {
      assert.equal(error.status, 503)
      return true
    })
  })

  test('key server down from the start: 503 with Retry-After, no internals in the message', async () => {
    const issuer = await issuerFor()
    issuer.simulateOutage('error')
    const verifier = verifierFor(issuer)
    const token = await issuer.sign()
    await assert.rejects(verifier.verify(token), (error: AuthError) => {
      assert.equal(error.status, 503)
      assert.equal(error.code, 'temporarily_unavailable')
      assert.equal(error.reason, 'jwks_unavailable')
      assert.match(error.headers['Retry-After']!, /^[1-9]\d*$/)
      assert.ok(!error.message.includes('127.0.0.1'))
      assert.ok(!error.message.includes(new URL(issuer.url).port))
      assert.ok(error.cause, 'the cause is kept for logs')
      return true
    })
    // During the back-off, requests fail at once without hammering the server.
    const requests = issuer.jwksRequests
    await assert.rejects(verifier.verify(token), { status: 503 })
    assert.equal(issuer.jwksRequests, requests)
    // Once it heals and the back-off has passed, the same token verifies.
    issuer.simulateOutage(false)
    await sleep(1100)
    assert.equal((await verifier.verify(token)).payload.iss, issuer.url)
  })

  test('a hanging key server gives 503 within the fetch timeout', async () => {
    const issuer = await issuerFor()
    issuer.simulateOutage('hang')
    const verifier = verifierFor(issuer, { remoteKeys: { fetchTimeout: '300ms' } })
    const started = Date.now()
    await assert.rejects(verifier.verify(await issuer.sign()), {
      status: 503,
      reason: 'jwks_unavailable',
    })
    const elapsed = Date.now() - started
    assert.ok(elapsed >= 250 && elapsed < 2000, `${elapsed} ms`)
  })

  test('an unknown kid while the server is failing is 503 (it may exist there), not 401', async () => {
    const issuer = await issuerFor()
    const verifier = verifierFor(issuer)
    await verifier.verify(await issuer.sign())
    issuer.simulateOutage('error')
    await issuer.rotate()
    await assert.rejects(verifier.verify(await issuer.sign()), { status: 503 })
  })
})

describe('what the fetch accepts', () => {
  test('redirects are never followed', async () => {
    const issuer = await issuerFor()
    const redirecting = await serveJson((_req, res) => {
      res.writeHead(302, { location: issuer.jwksUri }).end()
    })
    const verifier = createVerifier({
      issuer: issuer.url,
      audience,
      jwksUri: `${redirecting.url}/jwks`,
    })
    cleanup.push(() => verifier.close())
    await assert.rejects(verifier.verify(await issuer.sign()), { status: 503 })
    assert.equal(issuer.jwksRequests, 0)
  })

  test('responses over maxResponseBytes are refused, with or without Content-Length', async () => {
    const issuer = await issuerFor()
    const body = JSON.stringify({ keys: issuer.jwks().keys, padding: 'x'.repeat(600_000) })
    for (const chunked of [false, true]) {
      const big = await serveJson((_req, res) => {
        res.writeHead(
          200,
          chunked
            ? { 'content-type': 'application/json' }
            : { 'content-length': Buffer.byteLength(body) },
        )
        if (chunked) {
          res.write(body.slice(0, 300_000))
          res.end(body.slice(300_000))
        } else res.end(body)
      })
      const verifier = createVerifier({ issuer: issuer.url, audience, jwksUri: `${big.url}/jwks` })
      cleanup.push(() => verifier.close())
      await assert.rejects(verifier.verify(await issuer.sign()), { status: 503 })
      const roomy = createVerifier({
        issuer: issuer.url,
        audience,
        jwksUri: `${big.url}/jwks`,
        remoteKeys: { maxResponseBytes: 1_000_000 },
      })
      cleanup.push(() => roomy.close())
      await roomy.verify(await issuer.sign())
    }
  })

  test('a set with too many keys, no usable key, or no JSON is a failed fetch (503)', async () => {
    const issuer = await issuerFor()
    const jwk = issuer.jwks().keys[0]!
    const bodies = [
      JSON.stringify({ keys: Array.from({ length: 101 }, (_, i) => ({ ...jwk, kid: `k${i}` })) }),
      JSON.stringify({ keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: issuer.kid }] }),
      JSON.stringify({ keys: [{ ...jwk, use: 'enc' }] }),
      '<html>not json</html>',
      JSON.stringify([jwk]),
    ]
    for (const body of bodies) {
      const server = await serveJson((_req, res) => res.end(body))
      const verifier = createVerifier({
        issuer: issuer.url,
        audience,
        jwksUri: `${server.url}/jwks`,
      })
      cleanup.push(() => verifier.close())
      await assert.rejects(verifier.verify(await issuer.sign()), { status: 503 }, body.slice(0, 40))
    }
  })

  test('keys published without "alg" work for every algorithm of their type', async () => {
    const issuer = await createTestIssuer({ alg: 'PS256', audience, omitAlgInJwks: true })
    cleanup.push(() => issuer.close())
    assert.equal(issuer.jwks().keys[0]!.alg, undefined)
    const verifier = verifierFor(issuer)
    await verifier.verify(await issuer.sign())
  })
})

describe('sharing and background work', () => {
  test('verifiers on the same JWKS URL share one cache', async () => {
    const issuer = await issuerFor()
    const a = verifierFor(issuer)
    const b = verifierFor(issuer, { algorithms: ['RS256'] })
    await a.verify(await issuer.sign())
    await b.verify(await issuer.sign())
    assert.equal(issuer.jwksRequests, 1)
  })

  test('keys are refreshed in the background before cacheMaxAge, with no request waiting', async () => {
    const issuer = await issuerFor()
    const verifier = verifierFor(issuer, { remoteKeys: { cacheMaxAge: 0.5 } })
    await verifier.verify(await issuer.sign())
    await sleep(900)
    assert.ok(issuer.jwksRequests >= 2, `${issuer.jwksRequests} fetches`)
    await issuer.rotate({ keepPrevious: false })
    await sleep(600)
    // The background refresh found the new key: this request needs no fetch of its own.
    const count = issuer.jwksRequests
    await verifier.verify(await issuer.sign())
    assert.ok(issuer.jwksRequests === count)
  })

  test('background refresh never keeps a process alive', async () => {
    const issuer = await issuerFor()
    const token = await issuer.sign()
    const script = `
      import { createVerifier } from './src/index.ts'
      const verifier = createVerifier({ issuer: ${JSON.stringify(issuer.url)}, audience: ${JSON.stringify(audience)}, jwksUri: ${JSON.stringify(issuer.jwksUri)} })
      const { payload } = await verifier.verify(${JSON.stringify(token)})
      console.log('verified', payload.iss)
      // no close(): the refresh timer alone must not hold the event loop
    `
    const started = Date.now()
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        cwd: new URL('../..', import.meta.url).pathname,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
    assert.equal(code, 0)
    assert.match(output, /verified http:\/\/127\.0\.0\.1/)
    assert.ok(Date.now() - started < 8000, `exited after ${Date.now() - started} ms`)
  })
})

describe('cached verifications end with the trust in their key (issue 12, items 1 and 2)', () => {
  test('a key removed from the JWKS ends its cached tokens on the first request after the refetch', async () => {
    const issuer = await issuerFor()
    const verifier = verifierFor(issuer, { remoteKeys: { cooldown: '100ms' } })
    const longLived = await issuer.sign({ sub: 'attacker' }, { expiresIn: 10 * 365 * 86400 })
    await verifier.verify(longLived)
    await verifier.verify(longLived) // now a cache hit
    await issuer.rotate({ keepPrevious: false })
    // A token of the new key makes the verifier refetch, and the refetch drops the old key.
    await verifier.verify(await issuer.sign({ sub: 'new' }))
    await assert.rejects(verifier.verify(longLived), { status: 401, reason: 'no_matching_key' })
  })

  test('a refetch that keeps the key keeps its cached tokens', async () => {
    const issuer = await issuerFor()
    const verifier = verifierFor(issuer, { remoteKeys: { cooldown: '100ms' } })
    const kept = await issuer.sign({ sub: 'kept' })
    await verifier.verify(kept)
    await issuer.rotate({ keepPrevious: true })
    await verifier.verify(await issuer.sign({ sub: 'new' }))
    const hits: boolean[] = []
    const listener = (event: unknown) => hits.push((event as VerifiedEvent).cached)
    subscribe(CHANNELS.verified, listener)
    try {
      await verifier.verify(kept)
    } finally {
      unsubscribe(CHANNELS.verified, listener)
    }
    assert.deepEqual(hits, [true])
  })

  test('past staleIfError a cached token answers 503 like a fresh one of the same key', async () => {
    const issuer = await issuerFor()
    const verifier = verifierFor(issuer, { remoteKeys: { cacheMaxAge: 0.2, staleIfError: 0.5 } })
    const cached = await issuer.sign({ sub: 'cached' })
    await verifier.verify(cached)
    issuer.simulateOutage('error')
    await sleep(300) // past cacheMaxAge, inside staleIfError: stale keys still serve
    assert.equal((await verifier.verify(cached)).payload.sub, 'cached')
    await sleep(400) // past staleIfError
    await assert.rejects(verifier.verify(await issuer.sign()), { status: 503 })
    await assert.rejects(verifier.verify(cached), (error: AuthError) => {
      assert.equal(error.status, 503)
      assert.equal(error.reason, 'jwks_unavailable')
      assert.match(error.headers['Retry-After']!, /^[1-9]\d*$/)
      return true
    })
  })

  test("with several issuers, removing one issuer's key ends only that issuer's cached tokens", async () => {
    const first = await issuerFor()
    const second = await issuerFor('ES256')
    const verifier = createVerifier({
      issuers: [
        { issuer: first.url, audience, jwksUri: first.jwksUri },
        { issuer: second.url, audience, jwksUri: second.jwksUri },
      ],
      remoteKeys: { cooldown: '100ms' },
    })
    cleanup.push(() => verifier.close())
    const ofFirst = await first.sign({ sub: 'first' })
    const ofSecond = await second.sign({ sub: 'second' })
    await verifier.verify(ofFirst)
    await verifier.verify(ofSecond)
    await first.rotate({ keepPrevious: false })
    await verifier.verify(await first.sign())
    await assert.rejects(verifier.verify(ofFirst), { reason: 'no_matching_key' })
    assert.equal((await verifier.verify(ofSecond)).payload.sub, 'second')
  })
})

describe('cold start with a burst of one unknown kid (issue 12, item 5)', () => {
  test('200 concurrent HTTP requests cost the initial load plus at most one refetch', async () => {
    const issuer = await issuerFor()
    // A long window: a deferred refetch at its end would show up as a third fetch.
    const verifier = verifierFor(issuer, { remoteKeys: { cooldown: '3s' } })
    const app = await serveJson((req, res) => {
      verifier.verifyRequest(req).then(
        () => res.writeHead(200).end(),
        (error: AuthError) => res.writeHead(error.status, { 'x-reason': error.reason }).end(),
      )
    })
    const token = forged(issuer, 'never-published')
    const responses = await Promise.all(
      Array.from({ length: 200 }, () => send(`${app.url}/`, { headers: bearer(token) })),
    )
    assert.deepEqual(
      new Set(responses.map((r) => `${r.status} ${String(r.headers['x-reason'])}`)),
      new Set(['401 no_matching_key']),
    )
    assert.ok(issuer.jwksRequests <= 2, `${issuer.jwksRequests} fetches`)
    assert.ok(issuer.jwksRequests >= 1)
  })

  test('a request that waited for a fetch never causes another for the same kid', async () => {
    const issuer = await issuerFor()
    const verifier = verifierFor(issuer, { remoteKeys: { cooldown: '3s' } })
    const token = forged(issuer, 'never-published')
    await assert.rejects(verifier.verify(token), { reason: 'no_matching_key' })
    assert.equal(issuer.jwksRequests, 1)
    // The same kid again, inside the window: the fetch that began after the first request
    // arrived is its answer, at once.
    await assert.rejects(verifier.verify(token), { reason: 'no_matching_key' })
    await assert.rejects(verifier.verify(forged(issuer, 'never-published')), {
      reason: 'no_matching_key',
    })
    assert.equal(issuer.jwksRequests, 1)
    // A kid nobody looked for yet still gets its refetch (a key published since is accepted).
    await issuer.rotate()
    await verifier.verify(await issuer.sign())
    assert.equal(issuer.jwksRequests, 2)
  })
})
