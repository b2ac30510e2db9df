/**
 * `verifier.ready()`: keys fetched at start-up, the reason when they cannot be had, and the
 * first key-server failure of the process reported once as a process warning.
 */
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { AuthError, createVerifier } from '../../src/index.js'
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js'
import { listen } from '../helpers/http.js'

const audience = 'https://api.test'
const cleanup: Array<() => Promise<unknown>> = []
after(() => Promise.all(cleanup.map((fn) => fn())))

// Installed before anything in this process can fail a fetch: the warning is once per process.
const warnings: Array<Error & { code?: string }> = []
process.on('warning', (warning) => warnings.push(warning))
const unreachableWarnings = () => warnings.filter((w) => w.code === 'JWT_GATE_KEYS_UNREACHABLE')

async function issuer(options: Parameters<typeof createTestIssuer>[0] = {}): Promise<TestIssuer> {
  const created = await createTestIssuer({ audience, ...options })
  cleanup.push(() => created.close())
  return created
}

async function downServer(): Promise<string> {
  const down = await listen((_req, res) => res.writeHead(500).end())
  cleanup.push(() => down.close())
  return down.url
}

test('jwksUri: ready() fetches the keys, and the first request needs no fetch', async () => {
  const idp = await issuer()
  const verifier = createVerifier({ issuer: idp.url, audience, jwksUri: idp.jwksUri })
  cleanup.push(() => verifier.close())
  assert.equal(idp.jwksRequests, 0)
  await verifier.ready()
  assert.equal(idp.jwksRequests, 1)
  await verifier.verify(await idp.sign())
  assert.equal(idp.jwksRequests, 1)
})

test('discovery: ready() discovers, then fetches the JWKS', async () => {
  const idp = await issuer()
  const verifier = createVerifier({ issuer: idp.url, audience })
  cleanup.push(() => verifier.close())
  await verifier.ready()
  assert.equal(idp.discoveryRequests, 1)
  assert.equal(idp.jwksRequests, 1)
  await verifier.verify(await idp.sign())
  assert.equal(idp.jwksRequests, 1)
})

test('several issuers: ready() fetches each one', async () => {
  const [a, b] = [await issuer(), await issuer()]
  const verifier = createVerifier({
    issuers: [
      { issuer: a.url, audience, jwksUri: a.jwksUri },
      { issuer: b.url, audience },
    ],
  })
  cleanup.push(() => verifier.close())
  await verifier.ready()
  assert.deepEqual([a.jwksRequests, b.discoveryRequests, b.jwksRequests], [1, 1, 1])
})

test('a secret or local keys: ready() resolves at once', async () => {
  const hmac = await issuer({ alg: 'HS256' })
  const local = await issuer()
  const withSecret = createVerifier({ issuer: hmac.url, audience, secret: hmac.secret! })
  const withKeys = createVerifier({ issuer: local.url, audience, keys: local.jwks() })
  await withSecret.ready()
  await withKeys.ready()
  assert.equal(local.jwksRequests, 0)
  await Promise.all([withSecret.close(), withKeys.close()])
})

test('an unreachable JWKS: ready() rejects with the 503 a request would get; warned once', async () => {
  const url = await downServer()
  const verifier = createVerifier({ issuer: url, audience, jwksUri: `${url}/jwks.json` })
  cleanup.push(() => verifier.close())
  const error = await verifier.ready().then(
    () => assert.fail('ready() resolved'),
    (rejection: unknown) => rejection,
  )
  assert.ok(error instanceof AuthError)
  assert.equal(error.status, 503)
  assert.equal(error.reason, 'jwks_unavailable')
  assert.match(String((error.cause as Error).message), /HTTP 500/)
  await nextTurn()
  assert.equal(unreachableWarnings().length, 1)
  assert.match(unreachableWarnings()[0]!.message, new RegExp(`${url}/jwks.json.*HTTP 500`))
})

test('a failing discovery: discovery_unavailable; no second warning in this process', async () => {
  const url = await downServer()
  const verifier = createVerifier({ issuer: url, audience })
  cleanup.push(() => verifier.close())
  await assert.rejects(verifier.ready(), { status: 503, reason: 'discovery_unavailable' })
  await assert.rejects(verifier.verify('a.b.c'))
  const other = createVerifier({ issuer: url, audience, jwksUri: `${url}/other.json` })
  cleanup.push(() => other.close())
  await assert.rejects(other.ready(), { reason: 'jwks_unavailable' })
  await nextTurn()
  assert.equal(unreachableWarnings().length, 1)
})

test('during the back-off after a failure, ready() rejects without another fetch', async () => {
  const idp = await issuer()
  idp.simulateOutage('error')
  const verifier = createVerifier({ issuer: idp.url, audience, jwksUri: idp.jwksUri })
  cleanup.push(() => verifier.close())
  await assert.rejects(verifier.ready(), { reason: 'jwks_unavailable' })
  const fetched = idp.jwksRequests
  idp.simulateOutage(false)
  // The failed fetch backs off (1 s, doubling): ready() says so rather than hammering the server.
  await assert.rejects(verifier.ready(), { reason: 'jwks_unavailable' })
  assert.equal(idp.jwksRequests, fetched)
})
