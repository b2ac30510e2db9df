/**
 * What is particular to the Hono adapter beyond the shared scenario table: refusals reach a
 * user's `app.onError` as Hono's `HTTPException` carrying the `AuthError` as `cause`, and Hono's
 * default handling answers with a JSON body (never a 500, never the token).
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { createVerifier, isAuthError, type Verifier } from '../../src/index.js'
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js'
import { requireJwt, requireScopes } from '../../adapters/hono.js'

const audience = 'https://api.example.com'

describe('jwt-gate/hono errors', () => {
  let issuer: TestIssuer
  let verifier: Verifier
  before(async () => {
    issuer = await createTestIssuer({ alg: 'ES256', audience })
    verifier = createVerifier({ issuer: issuer.url, audience, jwksUri: issuer.jwksUri })
  })
  after(async () => {
    await verifier.close()
    await issuer.close()
  })

  test("types: c.get('auth') is set after an inline guard, possibly absent when optional", () => {
    const app = new Hono()
    app.get('/inline', requireJwt(verifier), (c) => c.json(c.get('auth').payload))
    app.get('/optional', requireJwt(verifier, { credentialsRequired: false }), (c) =>
      // @ts-expect-error absent on an anonymous request
      c.json(c.get('auth').payload),
    )
    const inOptions = {
      issuer: issuer.url,
      audience,
      jwksUri: issuer.jwksUri,
      credentialsRequired: false as const,
    }
    const optional = requireJwt(inOptions)
    // @ts-expect-error the same when credentialsRequired: false sits in the options
    app.get('/optional2', optional, (c) => c.json(c.get('auth').payload))
    assert.equal(typeof optional.verifier.close, 'function')
    return optional.verifier.close()
  })

  test("Hono's default handling: the AuthError's status, headers and a JSON body", async () => {
    const app = new Hono()
    app.get('/orders', requireJwt(verifier), requireScopes('read:orders'), (c) => c.json([]))
    const expired = await issuer.sign({ scope: 'read:orders' }, { expiresIn: -60 })
    const response = await app.request('/orders', {
      headers: { authorization: `Bearer ${expired}` },
    })
    assert.equal(response.status, 401)
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/)
    assert.match(response.headers.get('www-authenticate') ?? '', /error="invalid_token"/)
    const body = await response.text()
    assert.deepEqual(Object.keys(JSON.parse(body) as object).sort(), ['error', 'error_description'])
    assert.ok(!body.includes(expired))
  })

  test('app.onError sees an HTTPException whose cause is the AuthError; other errors pass as they are', async () => {
    const app = new Hono()
    const seen: unknown[] = []
    app.onError((error, c) => {
      seen.push(error)
      if (error instanceof HTTPException && isAuthError(error.cause)) {
        return c.json({ refused: error.cause.reason }, error.cause.status, error.cause.headers)
      }
      return c.json({ error: 'server_error' }, 500)
    })
    app.get('/orders', requireJwt(verifier), requireScopes('read:orders'), (c) => c.json([]))
    app.get('/boom', requireJwt(verifier), () => {
      throw new Error('database is on fire')
    })
    const noScope = await issuer.sign({ scope: 'profile' })
    const refused = await app.request('/orders', {
      headers: { authorization: `Bearer ${noScope}` },
    })
    assert.equal(refused.status, 403)
    assert.deepEqual(await refused.json(), { refused: 'insufficient_scope' })
    assert.match(refused.headers.get('www-authenticate') ?? '', /scope="read:orders"/)
    const boom = await app.request('/boom', {
      headers: { authorization: `Bearer ${await issuer.sign()}` },
    })
    assert.equal(boom.status, 500)
    assert.equal((seen.at(-1) as Error).message, 'database is on fire')
    assert.ok(!(seen.at(-1) instanceof HTTPException))
  })
})
