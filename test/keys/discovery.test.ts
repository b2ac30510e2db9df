/**
 * OIDC discovery (and RFC 8414 metadata) from the issuer when no key source is configured.
 */
import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { createVerifier, type AuthError } from '../../src/index.js'
import { metadataUrls } from '../../src/keys/discovery.js'
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js'
import { listen, type Listening } from '../helpers/http.js'

const audience = 'https://api.example.com'
const cleanup: Array<() => Promise<unknown>> = []
after(() => Promise.all(cleanup.map((fn) => fn())))

async function issuer(): Promise<TestIssuer> {
  const created = await createTestIssuer({ audience })
  cleanup.push(() => created.close())
  return created
}

/** A metadata server that proxies the JWKS of `keys` and answers `documents` by path. */
async function metadataServer(
  documents: (base: string) => Record<string, unknown>,
  counts: Record<string, number> = {},
): Promise<Listening> {
  let base = ''
  const server = await listen((req, res) => {
    const path = req.url ?? '/'
    counts[path] = (counts[path] ?? 0) + 1
    const body = documents(base)[path]
    if (body === undefined) res.writeHead(404).end()
    else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  })
  base = server.url
  cleanup.push(() => server.close())
  return server
}

describe('discovery', () => {
  test('finds the JWKS through the issuer, once, whatever the concurrency', async () => {
    const idp = await issuer()
    const verifier = createVerifier({ issuer: idp.url, audience })
    cleanup.push(() => verifier.close())
    const tokens = await Promise.all(Array.from({ length: 50 }, () => idp.sign()))
    await Promise.all(tokens.map((t) => verifier.verify(t)))
    assert.equal(idp.discoveryRequests, 1)
    assert.equal(idp.jwksRequests, 1)
  })

  test('the issuer must name itself exactly; the trailing slash is dropped only to build the URL', async () => {
    const idp = await issuer()
    const withSlash = await metadataServer((base) => ({
      '/.well-known/openid-configuration': { issuer: `${base}/`, jwks_uri: idp.jwksUri },
    }))
    const ok = createVerifier({ issuer: `${withSlash.url}/`, audience })
    cleanup.push(() => ok.close())
    await ok.verify(await idp.sign({ iss: `${withSlash.url}/` }))

    const mismatch = createVerifier({ issuer: withSlash.url, audience })
    cleanup.push(() => mismatch.close())
    await assert.rejects(
      mismatch.verify(await idp.sign({ iss: withSlash.url })),
      (error: AuthError) => {
        assert.equal(error.status, 503)
        assert.equal(error.reason, 'discovery_unavailable')
        assert.match(String((error.cause as Error).message), /names issuer/)
        return true
      },
    )
  })

  test('falls back to RFC 8414 authorization-server metadata, inserted before the issuer path', async () => {
    const idp = await issuer()
    const counts: Record<string, number> = {}
    const server = await metadataServer(
      (base) => ({
        '/.well-known/oauth-authorization-server/tenant-a': {
          issuer: `${base}/tenant-a`,
          jwks_uri: idp.jwksUri,
        },
      }),
      counts,
    )
    const verifier = createVerifier({ issuer: `${server.url}/tenant-a`, audience })
    cleanup.push(() => verifier.close())
    await verifier.verify(await idp.sign({ iss: `${server.url}/tenant-a` }))
    assert.equal(counts['/tenant-a/.well-known/openid-configuration'], 1)
    assert.equal(counts['/.well-known/oauth-authorization-server/tenant-a'], 1)
  })

  test('metadata URLs', () => {
    assert.deepEqual(metadataUrls('https://id.example.com/').map(String), [
      'https://id.example.com/.well-known/openid-configuration',
      'https://id.example.com/.well-known/oauth-authorization-server',
    ])
    assert.deepEqual(metadataUrls('https://id.example.com/t/1/').map(String), [
      'https://id.example.com/t/1/.well-known/openid-configuration',
      'https://id.example.com/.well-known/oauth-authorization-server/t/1',
    ])
  })

  test("the document's ID-token algorithms are never the access-token allow-list", async () => {
    const idp = await issuer()
    const server = await metadataServer((base) => ({
      '/.well-known/openid-configuration': {
        issuer: base,
        jwks_uri: idp.jwksUri,
        id_token_signing_alg_values_supported: ['HS256', 'none'],
      },
    }))
    const verifier = createVerifier({ issuer: server.url, audience })
    cleanup.push(() => verifier.close())
    await verifier.verify(await idp.sign({ iss: server.url })) // RS256, not listed, still fine
    const hs = Buffer.from('{"alg":"HS256"}').toString('base64url')
    const body = Buffer.from(JSON.stringify({ iss: server.url, aud: audience, exp: 2e9 })).toString(
      'base64url',
    )
    await assert.rejects(verifier.verify(`${hs}.${body}.c2ln`), { reason: 'alg_not_allowed' })
  })

  test('a jwks_uri on plain http off loopback is refused', async () => {
    const server = await metadataServer((base) => ({
      '/.well-known/openid-configuration': {
        issuer: base,
        jwks_uri: 'http://keys.example.com/jwks',
      },
    }))
    const verifier = createVerifier({ issuer: server.url, audience })
    cleanup.push(() => verifier.close())
    const idp = await issuer()
    await assert.rejects(verifier.verify(await idp.sign({ iss: server.url })), {
      status: 503,
      reason: 'discovery_unavailable',
    })
  })

  test('an unreachable issuer is 503 discovery_unavailable with Retry-After', async () => {
    const idp = await issuer()
    idp.simulateOutage('error')
    const verifier = createVerifier({ issuer: idp.url, audience })
    cleanup.push(() => verifier.close())
    await assert.rejects(verifier.verify(await idp.sign()), (error: AuthError) => {
      assert.equal(error.status, 503)
      assert.equal(error.reason, 'discovery_unavailable')
      assert.ok(Number(error.headers['Retry-After']) >= 1)
      return true
    })
  })

  test('several issuers: each token is checked against its own issuer keys', async () => {
    const a = await issuer()
    const b = await issuer()
    const verifier = createVerifier({ issuer: [a.url, b.url], audience })
    cleanup.push(() => verifier.close())
    assert.equal((await verifier.verify(await a.sign({ sub: 'from-a' }))).payload.sub, 'from-a')
    assert.equal((await verifier.verify(await b.sign({ sub: 'from-b' }))).payload.sub, 'from-b')
    // b's key does not vouch for a token claiming to come from a.
    await assert.rejects(verifier.verify(await b.sign({ iss: a.url })), { status: 401 })
  })
})
