/**
 * `jwtErrorHandler()` on real Express 4 and 5 apps over HTTP: jwt-gate's refusals come back as
 * JSON with the error's status and headers (no HTML page, no stack trace, nothing printed, never
 * the token); every other error goes on to the next error handler.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import express5 from 'express'
import express4 from 'express4'
import { createVerifier, type Verifier } from '../../src/index.js'
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js'
import { jwtErrorHandler, requireJwt, requireScopes } from '../../adapters/express.js'
import { bearer, listen, send, type Listening } from '../helpers/http.js'

const audience = 'https://api.example.com'

for (const [name, express] of [
  ['express@5', express5],
  ['express@4', express4],
] as const) {
  describe(`jwtErrorHandler on ${name}`, () => {
    let issuer: TestIssuer
    let downIssuer: TestIssuer
    let verifier: Verifier
    let downVerifier: Verifier
    let server: Listening
    const passedOn: unknown[] = []
    const printed: unknown[][] = []
    const consoleError = console.error

    before(async () => {
      issuer = await createTestIssuer({ alg: 'ES256', audience })
      downIssuer = await createTestIssuer({ alg: 'ES256', audience })
      downIssuer.simulateOutage('error')
      verifier = createVerifier({ issuer: issuer.url, audience, jwksUri: issuer.jwksUri })
      downVerifier = createVerifier({
        issuer: downIssuer.url,
        audience,
        jwksUri: downIssuer.jwksUri,
      })
      const app = express()
      app.get('/orders', requireJwt(verifier), requireScopes('read:orders'), (_req, res) => {
        res.json({ orders: [] })
      })
      app.get('/down', requireJwt(downVerifier), (_req, res) => {
        res.json({ ok: true })
      })
      app.get('/boom', () => {
        throw new Error('database is on fire')
      })
      app.use(jwtErrorHandler())
      // The user's own handler after it: must see every non-jwt-gate error, unchanged.
      app.use((error: unknown, _req: express5.Request, res: express5.Response, _next: unknown) => {
        passedOn.push(error)
        res.status(500).json({ error: 'server_error' })
      })
      server = await listen(app as never)
      // Express's default handler prints every error it answers; ours must print nothing.
      console.error = (...args: unknown[]) => void printed.push(args)
    })
    after(async () => {
      console.error = consoleError
      await server.close()
      await Promise.all([verifier.close(), downVerifier.close()])
      await Promise.all([issuer.close(), downIssuer.close()])
    })

    test('an expired token: 401 JSON with the challenge, no stack, no token', async () => {
      const token = await issuer.sign({ sub: 'u', scope: 'read:orders' }, { expiresIn: -60 })
      const response = await send(`${server.url}/orders`, { headers: bearer(token) })
      assert.equal(response.status, 401)
      assert.match(String(response.headers['content-type']), /^application\/json/)
      const body = response.json() as Record<string, unknown>
      assert.deepEqual(Object.keys(body).sort(), ['error', 'error_description'])
      assert.equal(body.error, 'invalid_token')
      assert.match(String(body.error_description), /expired/)
      assert.match(
        String(response.headers['www-authenticate']),
        /^Bearer realm="[^"]+", error="invalid_token"/,
      )
      assert.ok(!response.body.includes(token))
      assert.ok(!/\bat .+:\d+:\d+/.test(response.body), 'no stack trace in the body')
      assert.ok(!/<html|<pre/i.test(response.body), 'no HTML page')
    })

    test('no token: 401 unauthorized with a bare challenge', async () => {
      const response = await send(`${server.url}/orders`)
      assert.equal(response.status, 401)
      assert.equal(response.json().error, 'unauthorized')
      assert.match(String(response.headers['www-authenticate']), /^Bearer realm="[^"]+"$/)
    })

    test('missing scope: 403 insufficient_scope with scope= in the challenge', async () => {
      const token = await issuer.sign({ sub: 'u', scope: 'profile' })
      const response = await send(`${server.url}/orders`, { headers: bearer(token) })
      assert.equal(response.status, 403)
      assert.equal(response.json().error, 'insufficient_scope')
      assert.match(String(response.headers['www-authenticate']), /scope="read:orders"/)
    })

    test('key server down: 503 with Retry-After, no key-server address', async () => {
      const token = await downIssuer.sign({ sub: 'u' })
      const response = await send(`${server.url}/down`, { headers: bearer(token) })
      assert.equal(response.status, 503)
      assert.match(String(response.headers['retry-after']), /^\d+$/)
      assert.equal(response.json().error, 'temporarily_unavailable')
      assert.ok(!response.body.includes('127.0.0.1'))
    })

    test('a valid token still reaches the route', async () => {
      const token = await issuer.sign({ sub: 'u', scope: 'read:orders' })
      const response = await send(`${server.url}/orders`, { headers: bearer(token) })
      assert.equal(response.status, 200)
    })

    test('any other error is passed on to the next error handler, unchanged', async () => {
      const before = passedOn.length
      const response = await send(`${server.url}/boom`)
      assert.equal(response.status, 500)
      assert.deepEqual(response.json(), { error: 'server_error' })
      assert.equal(passedOn.length, before + 1)
      assert.equal((passedOn.at(-1) as Error).message, 'database is on fire')
    })

    test('nothing was printed for the refusals', () => {
      // The down key server's once-per-process JWT_GATE_KEYS_UNREACHABLE warning is Node's own
      // warning output (whichever test file meets a down key server first), not a refusal print.
      const refusalPrints = printed.filter(
        (args) => !String(args[0]).includes('[JWT_GATE_KEYS_UNREACHABLE]'),
      )
      assert.deepEqual(refusalPrints, [])
    })
  })
}
