/**
 * Interop with a real authorization server (oidc-provider 9): JWT access tokens from the
 * client_credentials grant with a resource indicator, DPoP-bound by a real proof at the token
 * endpoint (`cnf.jkt`), accepted by jwt-gate with real proofs over HTTP on Express, Koa and
 * Fastify; a replayed proof, a proof for another URL or method, a proof by another key and the
 * bound token sent as Bearer are refused.
 */
import assert from 'node:assert/strict'
import type { KeyObject } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { decodeJwt, decodeProtectedHeader } from 'jose'
import { createVerifier, type Verifier } from '../../src/index.js'
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js'
import { generateKeyPairSafely } from '../../src/testing/key-generation.js'
import { APPS, type RunningApp } from '../adapters/apps.js'
import {
  startAuthorizationServer,
  type AuthorizationServer,
} from '../helpers/authorization-server.js'
import { bearer, send } from '../helpers/http.js'

const resource = 'https://api.example.com'
const publicOrigin = 'https://api.example.com'

describe('oidc-provider DPoP-bound JWT access tokens', () => {
  let as: AuthorizationServer
  // Only its dpopProof helper is used: the proofs a client library would make.
  let proofs: TestIssuer
  let clientKey: KeyObject
  let otherKey: KeyObject
  let token: string

  before(async () => {
    as = await startAuthorizationServer({ resource })
    proofs = await createTestIssuer({ alg: 'ES256' })
    clientKey = (await generateKeyPairSafely({ type: 'ec', namedCurve: 'P-256' })).privateKey
    otherKey = (await generateKeyPairSafely({ type: 'ec', namedCurve: 'P-256' })).privateKey
    const dpopProof = await proofs.dpopProof({
      key: clientKey,
      method: 'POST',
      url: as.tokenEndpoint,
    })
    const response = await as.clientCredentials({ scope: 'read', dpopProof })
    assert.equal(response.token_type, 'DPoP')
    token = response.access_token
  })
  after(async () => {
    await proofs.close()
    await as.close()
  })

  test('the token is an RFC 9068 JWT bound to the client key', () => {
    assert.equal(decodeProtectedHeader(token).typ, 'at+jwt')
    const payload = decodeJwt(token)
    assert.equal(payload.aud, resource)
    assert.equal(typeof (payload.cnf as { jkt?: unknown }).jkt, 'string')
  })

  for (const factory of APPS.filter((app) =>
    ['express@5', 'koa@3', 'fastify@5'].includes(app.name),
  )) {
    describe(factory.name, () => {
      let verifier: Verifier
      let app: RunningApp
      before(async () => {
        verifier = createVerifier({
          issuer: as.issuer,
          audience: resource,
          typ: 'at+jwt',
          dpop: { origin: publicOrigin },
        })
        app = await factory.start(verifier)
      })
      after(async () => {
        await app.close()
        await verifier.close()
      })

      const proofFor = (extra: { method?: string; path?: string; key?: KeyObject } = {}) =>
        proofs.dpopProof({
          key: extra.key ?? clientKey,
          method: extra.method ?? 'GET',
          url: `${publicOrigin}${extra.path ?? '/me'}`,
          token,
        })
      const call = (proof: string) =>
        send(`${app.url}/me`, { headers: { authorization: `DPoP ${token}`, dpop: proof } })

      test('real token + real proof: 200 (discovery → JWKS → signature → proof)', async () => {
        const response = await call(await proofFor())
        assert.equal(response.status, 200, response.body)
        assert.deepEqual(response.json(), { sub: as.client.id })
      })

      test('replayed proof, other URL, other method, other key, as Bearer: 401', async () => {
        const proof = await proofFor()
        assert.equal((await call(proof)).status, 200)
        const refusals: Array<[string, Promise<Awaited<ReturnType<typeof send>>>, RegExp]> = [
          ['replay', call(proof), /^DPoP .*error="invalid_dpop_proof"/],
          ['other URL', call(await proofFor({ path: '/orders' })), /error="invalid_dpop_proof"/],
          ['other method', call(await proofFor({ method: 'POST' })), /error="invalid_dpop_proof"/],
          ['other key', call(await proofFor({ key: otherKey })), /^DPoP .*error="invalid_token"/],
          [
            'as Bearer',
            send(`${app.url}/me`, { headers: bearer(token) }),
            /Bearer .*error="invalid_token"/,
          ],
        ]
        for (const [name, pending, challenge] of refusals) {
          const response = await pending
          assert.equal(response.status, 401, name)
          assert.match(String(response.headers['www-authenticate']), challenge, name)
          assert.ok(!response.body.includes(token), name)
        }
      })
    })
  }
})
