/**
 * The smallest real Express API guarded by jwt-gate: a test issuer stands in for your identity
 * provider, one open route, one authenticated route, two scoped routes, and an error handler
 * that answers jwt-gate's errors as JSON (status and WWW-Authenticate included).
 *
 * Run it: `node --import tsx examples/express.ts` (after `npm run build`).
 */
import express from 'express'
import type { AddressInfo } from 'node:net'
import { jwtErrorHandler, requireJwt, requireScopes } from 'jwt-gate/express'
import { createTestIssuer, type TestIssuer } from 'jwt-gate/testing'

export const AUDIENCE = 'https://api.example.com'

/** A running example: the API, its issuer, and how to stop both. */
export interface RunningExample {
  url: string
  issuer: TestIssuer
  app: express.Express
  close(): Promise<void>
}

/** Start the issuer and the API on free loopback ports (or `port`). */
export async function startExpressExample(port = 0): Promise<RunningExample> {
  const issuer = await createTestIssuer({ alg: 'RS256', audience: AUDIENCE })
  const app = express()
  const auth = requireJwt({ issuer: issuer.url, audience: AUDIENCE, jwksUri: issuer.jwksUri })

  app.get('/health', (_req, res) => {
    res.json({ ok: true })
  })
  app.get('/me', auth, (req, res) => {
    res.json({ sub: req.auth?.payload.sub, claims: req.auth?.payload })
  })
  app.get('/orders', auth, requireScopes('read:orders'), (req, res) => {
    res.json({ orders: [{ id: 1, owner: req.auth?.payload.sub }] })
  })
  app.post('/orders', auth, requireScopes('write:orders'), (req, res) => {
    res.status(201).json({ created: true, by: req.auth?.payload.sub })
  })

  // jwt-gate hands Express an AuthError carrying status and headers; answer it as JSON.
  app.use(jwtErrorHandler())

  const server = app.listen(port, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    issuer,
    app,
    async close() {
      await auth.verifier.close()
      await new Promise((resolve) => server.close(resolve))
      server.closeAllConnections()
      await issuer.close()
    },
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const example = await startExpressExample()
  const token = await example.issuer.sign({ sub: 'demo-user', scope: 'read:orders' })
  console.log(`Express example on ${example.url}`)
  console.log(`curl -i -H 'Authorization: Bearer ${token}' ${example.url}/orders`)
}
