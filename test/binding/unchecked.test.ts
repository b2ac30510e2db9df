/**
 * Issue 12 item 7: a token bound to a key or certificate (`cnf.jkt`, `cnf["x5t#S256"]`) is not
 * a bearer token. Where the verifier does not check the binding it is refused, unless the user
 * opts out with `uncheckedBinding: 'accept'`.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createVerifier, type AuthError, type Verifier } from '../../src/index.js'
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js'

const audience = 'https://api.example.com'
const jkt = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs'
const x5t = 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2'

describe('cnf-bound tokens where the binding is not checked', () => {
  let issuer: TestIssuer
  let strict: Verifier
  let optedOut: Verifier
  before(async () => {
    issuer = await createTestIssuer({ alg: 'ES256', audience })
    const options = { issuer: issuer.url, audience, jwksUri: issuer.jwksUri }
    strict = createVerifier(options)
    optedOut = createVerifier({ ...options, uncheckedBinding: 'accept' })
  })
  after(async () => {
    await Promise.all([strict.close(), optedOut.close()])
    await issuer.close()
  })

  const refused = (error: AuthError) => {
    assert.equal(error.status, 401)
    assert.equal(error.code, 'invalid_token')
    assert.equal(error.reason, 'unchecked_binding')
    assert.match(error.headers['WWW-Authenticate']!, /^Bearer realm="[^"]+", error="invalid_token"/)
    return true
  }

  test('cnf.jkt and cnf["x5t#S256"] are refused by verify and verifyRequest', async () => {
    for (const cnf of [{ jkt }, { 'x5t#S256': x5t }, { jkt, 'x5t#S256': x5t }]) {
      const token = await issuer.sign({ sub: 'alice', cnf })
      await assert.rejects(strict.verify(token), refused, JSON.stringify(cnf))
      const request = { headers: { authorization: `Bearer ${token}` } }
      await assert.rejects(strict.verifyRequest(request), refused, JSON.stringify(cnf))
    }
  })

  test('a cached bound token is refused on every request, not only the first', async () => {
    const token = await issuer.sign({ cnf: { jkt } })
    for (let i = 0; i < 3; i++) await assert.rejects(strict.verify(token), refused)
  })

  test("uncheckedBinding: 'accept' accepts them as bearer tokens", async () => {
    for (const cnf of [{ jkt }, { 'x5t#S256': x5t }]) {
      const token = await issuer.sign({ sub: 'alice', cnf })
      assert.equal((await optedOut.verify(token)).payload.sub, 'alice')
    }
  })

  test('a cnf without jkt or x5t#S256 is no binding jwt-gate knows: accepted', async () => {
    const token = await issuer.sign({ sub: 'alice', cnf: { kid: 'something' } })
    assert.equal((await strict.verify(token)).payload.sub, 'alice')
  })

  test('uncheckedBinding must be refuse or accept', () => {
    assert.throws(
      () =>
        createVerifier({
          issuer: issuer.url,
          audience,
          jwksUri: issuer.jwksUri,
          uncheckedBinding: 'yes' as never,
        }),
      /uncheckedBinding must be one of 'refuse', 'accept'/,
    )
  })
})
