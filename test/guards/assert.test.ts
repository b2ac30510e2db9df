/**
 * `assertScopes` / `assertClaims`: the adapters' route checks for Fetch code without an adapter,
 * run on what `verifier.verifyRequest(new Request(…))` returns, as a Next.js or Bun handler would.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  assertClaims,
  assertScopes,
  createVerifier,
  isAuthError,
  type Verifier,
} from '../../src/index.js'
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js'

const audience = 'https://api.example.com'

describe('assertScopes and assertClaims on a Fetch Request', () => {
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

  const request = (token?: string) =>
    new Request('https://api.example.com/orders', {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    })
  const refusedWith = (status: number, code: string, challenge: RegExp) => (error: unknown) => {
    assert.ok(isAuthError(error))
    assert.equal(error.status, status)
    assert.equal(error.code, code)
    assert.match(error.headers['WWW-Authenticate'] ?? '', challenge)
    return true
  }

  test('scopes: all by default, any with { any: true }; 403 with scope= in the challenge', async () => {
    const auth = await verifier.verifyRequest(request(await issuer.sign({ scope: 'read:orders' })))
    assertScopes(auth, 'read:orders')
    assertScopes(auth, ['read:orders', 'write:orders'], { any: true })
    assert.throws(
      () => assertScopes(auth, ['read:orders', 'write:orders']),
      refusedWith(
        403,
        'insufficient_scope',
        /^Bearer realm="https:\/\/api\.example\.com", error="insufficient_scope".*scope="read:orders write:orders"$/,
      ),
    )
  })

  test('claims: exactly true passes; false or a throw is 403 invalid_token', async () => {
    const auth = await verifier.verifyRequest(request(await issuer.sign({ org: 'acme' })))
    assertClaims(auth, (payload) => payload.org === 'acme')
    assert.throws(
      () => assertClaims(auth, (payload) => payload.org === 'other'),
      refusedWith(403, 'invalid_token', /error="invalid_token"/),
    )
    assert.throws(
      () =>
        assertClaims(auth, () => {
          throw new Error('bug in the predicate')
        }),
      refusedWith(403, 'invalid_token', /error="invalid_token"/),
    )
  })

  test("no token with optional credentials: 401 naming the verifier's realm via { request }", async () => {
    const anonymous = request()
    const auth = await verifier.verifyRequest(anonymous, { credentialsRequired: false })
    assert.equal(auth, null)
    assert.throws(
      () => assertScopes(auth, 'read:orders', { request: anonymous }),
      refusedWith(401, 'unauthorized', /^Bearer realm="https:\/\/api\.example\.com"$/),
    )
  })

  test('unusable arguments are a TypeError at the call, not a refusal', () => {
    assert.throws(() => assertScopes(null, 'two scopes'), TypeError)
    assert.throws(() => assertClaims(null, 'org' as never), TypeError)
  })
})
