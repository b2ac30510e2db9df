/**
 * Interop with a real authorization server: two oidc-provider instances on loopback as two
 * trusted issuers of one API. Tokens come from their token endpoints (client_credentials with an
 * RFC 8707 resource indicator → RFC 9068 JWT access tokens, `typ` `at+jwt`); keys come from their
 * discovery documents and JWKS. Checked through the core verifier and a real Express app.
 *
 * oidc-provider 9 prints "Unsupported runtime" on Node 20; harmless here.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import express from 'express'
import { createVerifier, type AuthError, type Verifier } from '../../src/index.js'
import { requireJwt, requireScopes } from '../../adapters/express.js'
import {
  startAuthorizationServer,
  type AuthorizationServer,
} from '../helpers/authorization-server-clients.js'
import { bearer, listen, send, type Listening } from '../helpers/http.js'

const RESOURCE = 'https://api.example.com/orders'
const client = (id: string) => ({
  client_id: id,
  client_secret: `${id}-secret-that-is-long-enough-for-hs256-000000`,
  grant_types: ['client_credentials'],
  redirect_uris: [],
  response_types: [],
})

describe('oidc-provider: two authorization servers as two trusted issuers', () => {
  const clientA = client('orders-batch')
  const clientB = client('partner-app')
  let a: AuthorizationServer
  let b: AuthorizationServer
  let stranger: AuthorizationServer
  let verifier: Verifier
  let api: Listening

  before(async () => {
    const resources = { [RESOURCE]: { scope: 'read:orders write:orders' } }
    ;[a, b, stranger] = await Promise.all([
      startAuthorizationServer({ clients: [clientA], resources, alg: 'ES256' }),
      startAuthorizationServer({ clients: [clientB], resources, alg: 'RS256' }),
      startAuthorizationServer({ clients: [clientA], resources, alg: 'ES256' }),
    ])
    // No key source: each issuer's keys come from its own discovery document.
    verifier = createVerifier({
      issuers: [{ issuer: a.issuer }, { issuer: b.issuer }],
      resource: RESOURCE,
      profile: 'rfc9068',
    })
    const app = express()
    app.get('/orders', requireJwt(verifier), requireScopes('read:orders'), (req, res) => {
      res.json({ iss: req.auth?.payload.iss, client: req.auth?.payload.client_id })
    })
    app.use(((error, _req, res, _next) => {
      const refusal = error as AuthError
      res.status(refusal.status).set(refusal.headers).end()
    }) as express.ErrorRequestHandler)
    api = await listen(app as never)
  })
  after(async () => {
    await api.close()
    await verifier.close()
    await Promise.all([a.close(), b.close(), stranger.close()])
  })

  async function accessToken(
    server: AuthorizationServer,
    who: { client_id: string; client_secret: string },
    scope = 'read:orders',
  ): Promise<string> {
    const { status, body } = await server.clientCredentials(who, { resource: RESOURCE, scope })
    assert.equal(status, 200, JSON.stringify(body))
    return body.access_token as string
  }

  test('a resource-indicator access token from each server verifies as RFC 9068', async () => {
    for (const [server, who] of [
      [a, clientA],
      [b, clientB],
    ] as const) {
      const token = await accessToken(server, who)
      const { header, payload } = await verifier.verify(token)
      assert.equal(header.typ, 'at+jwt')
      assert.equal(payload.iss, server.issuer)
      assert.equal(payload.aud, RESOURCE)
      assert.equal(payload.client_id, who.client_id)
      assert.equal(payload.scope, 'read:orders')
    }
  })

  test('over HTTP: each issuer reaches the handler; a missing scope is 403', async () => {
    for (const [server, who] of [
      [a, clientA],
      [b, clientB],
    ] as const) {
      const response = await send(`${api.url}/orders`, {
        headers: bearer(await accessToken(server, who)),
      })
      assert.equal(response.status, 200, response.body)
      assert.deepEqual(response.json(), { iss: server.issuer, client: who.client_id })
    }
    const writeOnly = await accessToken(a, clientA, 'write:orders')
    const refused = await send(`${api.url}/orders`, { headers: bearer(writeOnly) })
    assert.equal(refused.status, 403)
    assert.match(String(refused.headers['www-authenticate']), /error="insufficient_scope"/)
    assert.match(
      String(refused.headers['www-authenticate']),
      /resource_metadata="https:\/\/api\.example\.com\/\.well-known\/oauth-protected-resource\/orders"/,
    )
  })

  test('a third, untrusted server: its real token is refused as wrong_issuer', async () => {
    const token = await accessToken(stranger, clientA)
    const error = await verifier.verify(token).then(
      () => assert.fail('an untrusted issuer must be refused'),
      (caught: AuthError) => caught,
    )
    assert.equal(error.reason, 'wrong_issuer')
  })

  test('without a resource indicator the server issues an opaque token: refused as malformed', async () => {
    const { status, body } = await a.clientCredentials(clientA, { scope: 'read:orders' })
    assert.equal(status, 200, JSON.stringify(body))
    await assert.rejects(verifier.verify(body.access_token as string), {
      status: 401,
      reason: 'malformed',
    })
  })
})
