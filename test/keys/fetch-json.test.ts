/**
 * Fetching from key servers (src/keys/fetch-json.ts): every response is bounded — body size as
 * it streams (declared, chunked, endless, gzip bomb), the JWKS key count, the discovery document,
 * and the response time. Past a bound is a prompt 503, never a hang or unbounded work.
 */
import assert from 'node:assert/strict'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { gzipSync } from 'node:zlib'
import { after, describe, test } from 'node:test'
import {
  createVerifier,
  type RemoteKeyOptions,
  type Verifier,
  type VerifierOptions,
} from '../../src/index.js'
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js'
import { listen } from '../helpers/http.js'
import { fetchKind, refused } from '../helpers/refusals.js'

const issuer = 'https://id.example.com/'
const audience = 'https://api.example.com'
const secret = 'limits-secret-'.repeat(4)
const cleanup: Array<() => Promise<unknown>> = []
after(async () => {
  for (const fn of cleanup.reverse()) await fn()
})

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

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = await listen(handler)
  cleanup.push(() => server.close())
  return server
}

describe('limits on key-server input', () => {
  test('JWKS body: maxResponseBytes (default 512 KiB) caps it as it streams: declared, chunked, endless, gzip bomb', async () => {
    const idp = await testIssuer()
    const keys = JSON.stringify(idp.jwks())
    const token = await idp.sign()
    const jwksFrom = async (
      handler: (res: ServerResponse) => void,
      remoteKeys: RemoteKeyOptions = {},
    ) => {
      const server = await serve((_req, res) => handler(res))
      return verifier({
        secret: undefined,
        issuer: idp.url,
        jwksUri: `${server.url}/jwks`,
        // so only the size cap can end these fetches promptly
        remoteKeys: { fetchTimeout: '30s', ...remoteKeys },
      })
    }
    const padded = (size: number) => {
      const body = `{"keys":${keys.slice(8, -1)},"pad":"`
      return `${body}${'x'.repeat(size - body.length - 2)}"}`
    }

    // Exactly at the limit passes; one byte over fails, with or without Content-Length.
    const exact = padded(4096)
    assert.equal(Buffer.byteLength(exact), 4096)
    const atLimit = await jwksFrom((res) => res.end(exact), { maxResponseBytes: 4096 })
    await atLimit.verify(token)
    for (const declared of [true, false]) {
      const over = await jwksFrom(
        (res) => {
          if (declared) res.setHeader('content-length', 4097)
          res.write(padded(4097).slice(0, 2000))
          res.end(padded(4097).slice(2000))
        },
        { maxResponseBytes: 4096 },
      )
      const error = await refused(over.verify(token), 503, 'jwks_unavailable')
      assert.equal(fetchKind(error), 'too_large')
    }

    // The default, against a body that never ends: the cap, not the timeout, stops it.
    let written = 0
    const endless = await jwksFrom((res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write('{"keys":[],"pad":"')
      const chunk = 'x'.repeat(64 * 1024)
      const pump = () => {
        while (!res.destroyed && written < 64 * 1024 * 1024) {
          written += chunk.length
          if (!res.write(chunk)) return void res.once('drain', pump)
        }
      }
      res.on('close', () => (written = Number.POSITIVE_INFINITY))
      pump()
    })
    assert.equal(
      fetchKind(await refused(endless.verify(token), 503, 'jwks_unavailable')),
      'too_large',
    )

    // A gzip bomb: 20 KB on the wire, 20 MB once inflated. The cap counts inflated bytes.
    const bomb = gzipSync(`{"keys":${keys.slice(8, -1)},"pad":"${'0'.repeat(20 * 1024 * 1024)}"}`)
    assert.ok(bomb.length < 100 * 1024)
    const zipped = await jwksFrom((res) => {
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        'content-length': bomb.length,
      })
      res.end(bomb)
    })
    assert.equal(
      fetchKind(await refused(zipped.verify(token), 503, 'jwks_unavailable')),
      'too_large',
    )
  })

  test('JWKS keys: maxKeys (default 100) bounds the set; more is a failed fetch, not a partial import', async () => {
    const idp = await testIssuer()
    const jwk = idp.jwks().keys[0]!
    const token = await idp.sign()
    const serving = async (count: number, extra = {}) => {
      const body = JSON.stringify({
        keys: Array.from({ length: count }, (_, i) => ({
          ...jwk,
          kid: i === 0 ? jwk.kid : `k${i}`,
        })),
      })
      const server = await serve((_req, res) => res.end(body))
      return verifier({
        secret: undefined,
        issuer: idp.url,
        jwksUri: `${server.url}/jwks`,
        ...extra,
      })
    }
    await (await serving(100)).verify(token)
    await refused((await serving(101)).verify(token), 503, 'jwks_unavailable')
    await (await serving(3, { remoteKeys: { maxKeys: 3 } })).verify(token)
    await refused(
      (await serving(4, { remoteKeys: { maxKeys: 3 } })).verify(token),
      503,
      'jwks_unavailable',
    )
  })

  test('discovery document: the same maxResponseBytes cap applies', async () => {
    const idp = await testIssuer()
    const metadata = async () => {
      let base = ''
      const server = await serve((req, res) => {
        if (req.url !== '/.well-known/openid-configuration') return void res.writeHead(404).end()
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify({ issuer: base, jwks_uri: idp.jwksUri, pad: 'x'.repeat(600_000) }))
      })
      base = server.url
      return base
    }
    const small = await metadata()
    const capped = verifier({ secret: undefined, issuer: small })
    const error = await refused(
      capped.verify(await idp.sign({ iss: small })),
      503,
      'discovery_unavailable',
    )
    assert.equal(fetchKind(error), 'too_large')
    const large = await metadata()
    const roomy = verifier({
      secret: undefined,
      issuer: large,
      remoteKeys: { maxResponseBytes: 1_000_000 },
    })
    assert.equal((await roomy.verify(await idp.sign({ iss: large }))).payload.iss, large)
  })

  test('JWKS response time: fetchTimeout (default 5 s) bounds a server that drips its body forever', async () => {
    const idp = await testIssuer()
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      const timer = setInterval(() => res.write(' '), 20)
      res.on('close', () => clearInterval(timer))
    })
    const v = verifier({
      secret: undefined,
      issuer: idp.url,
      jwksUri: `${server.url}/jwks`,
      remoteKeys: { fetchTimeout: '300ms' },
    })
    const error = await refused(v.verify(await idp.sign()), 503, 'jwks_unavailable')
    assert.equal(fetchKind(error), 'timeout')
  })
})
