/**
 * Certificate-bound tokens (RFC 8705 §3) over a real HTTPS server with client certificates: the
 * token's `cnf["x5t#S256"]` against the TLS peer certificate, or against what the user's
 * `certificate(req)` returns (a proxy-forwarded certificate). Certificates are made with the
 * `openssl` CLI (node:crypto cannot create X.509); without it the suite skips loudly.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, request as httpsRequest, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import express from 'express'
import { requireJwt } from '../../adapters/express.js'
import { createVerifier, type Verifier } from '../../src/index.js'
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js'

const audience = 'https://api.example.com'
const hasOpenssl = spawnSync('openssl', ['version']).status === 0
if (!hasOpenssl) console.error('\n!!! SKIPPING mTLS tests: the openssl CLI is not installed\n')

interface Pair {
  key: string
  cert: string
}

/** A self-signed certificate and its key, made by openssl. */
function selfSigned(dir: string, name: string): Pair {
  const keyFile = join(dir, `${name}.key`)
  const certFile = join(dir, `${name}.crt`)
  const made = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']
      .concat(['-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', `/CN=${name}`])
      .concat(['-addext', 'subjectAltName=IP:127.0.0.1']),
    { encoding: 'utf8' },
  )
  assert.equal(made.status, 0, made.stderr)
  return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') }
}

describe('mTLS-bound tokens', { skip: hasOpenssl ? undefined : 'no openssl CLI' }, () => {
  let dir: string
  let serverPair: Pair
  let alice: Pair
  let mallory: Pair
  let issuer: TestIssuer
  let verifier: Verifier
  let proxyVerifier: Verifier
  let server: Server
  let url: string
  let handled = 0

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jwt-gate-mtls-'))
    serverPair = selfSigned(dir, 'server')
    alice = selfSigned(dir, 'alice')
    mallory = selfSigned(dir, 'mallory')
    issuer = await createTestIssuer({ alg: 'ES256', audience })
    const options = { issuer: issuer.url, audience, jwksUri: issuer.jwksUri }
    verifier = createVerifier({ ...options, mtls: {} })
    // A TLS-terminating proxy we trust forwards the certificate it verified (RFC 9440 style).
    proxyVerifier = createVerifier({
      ...options,
      mtls: {
        certificate: (req) => {
          const value = (req.headers as Record<string, string | undefined>)['x-client-cert']
          return value === undefined ? undefined : decodeURIComponent(value)
        },
      },
    })
    const app = express()
    app.set('env', 'test') // finalhandler logs every refusal otherwise
    app.get('/me', requireJwt(verifier), (req, res) => {
      handled++
      res.json({ sub: req.auth?.payload.sub })
    })
    app.get('/proxied', requireJwt(proxyVerifier), (req, res) => {
      handled++
      res.json({ sub: req.auth?.payload.sub })
    })
    // Self-signed client certificates (RFC 8705 §2.2): the handshake proves the key; the
    // binding, not a CA, decides.
    server = createServer(
      { ...serverPair, requestCert: true, rejectUnauthorized: false },
      app as never,
    )
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  after(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
    await Promise.all([verifier.close(), proxyVerifier.close(), issuer.close()])
    rmSync(dir, { recursive: true, force: true })
  })

  function get(
    path: string,
    token: string,
    client?: Pair,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; challenge: string; body: string }> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(`${url}${path}`, {
        ...client,
        ca: serverPair.cert,
        agent: false,
        headers: { authorization: `Bearer ${token}`, ...headers },
      })
      req.on('error', reject)
      req.on('response', (res) => {
        let body = ''
        res.on('data', (chunk: Buffer) => (body += chunk.toString()))
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            challenge: String(res.headers['www-authenticate']),
            body,
          }),
        )
      })
      req.end()
    })
  }

  test('the certificate the token is bound to passes; another or none is 401 invalid_token', async () => {
    const token = await issuer.sign({ sub: 'alice' }, { certificate: alice.cert })
    const ok = await get('/me', token, alice)
    assert.equal(ok.status, 200, ok.body)
    assert.deepEqual(JSON.parse(ok.body), { sub: 'alice' })

    const before = handled
    for (const [client, reason] of [
      [mallory, 'another client certificate'],
      [undefined, 'without one'],
    ] as const) {
      const refused = await get('/me', token, client)
      assert.equal(refused.status, 401)
      assert.match(refused.challenge, /error="invalid_token"/)
      assert.match(refused.challenge, new RegExp(reason))
      assert.ok(!refused.body.includes(token))
    }
    assert.equal(handled, before)
  })

  test('an unbound token still passes with or without a certificate', async () => {
    const token = await issuer.sign({ sub: 'plain' })
    assert.equal((await get('/me', token, mallory)).status, 200)
    assert.equal((await get('/me', token)).status, 200)
  })

  test("certificate(req): a trusted proxy's forwarded certificate is compared instead", async () => {
    const token = await issuer.sign({ sub: 'alice' }, { certificate: alice.cert })
    const forwarded = (pair: Pair) => ({ 'x-client-cert': encodeURIComponent(pair.cert) })
    assert.equal((await get('/proxied', token, undefined, forwarded(alice))).status, 200)
    const other = await get('/proxied', token, alice, forwarded(mallory))
    assert.equal(other.status, 401, 'the forwarded certificate, not the socket, decides')
    const garbage = await get('/proxied', token, undefined, { 'x-client-cert': 'not-a-cert' })
    assert.equal(garbage.status, 401)
    assert.equal((await get('/proxied', token)).status, 401)
  })
})
