/**
 * The same API in Koa: `requireJwt` sets `ctx.state.auth`; failures are thrown as `AuthError`
 * and answered by Koa with their status, headers and (for 4xx) message.
 *
 * Run it: `node --import tsx examples/koa.ts` (after `npm run build`).
 */
import Router from '@koa/router'
import Koa from 'koa'
import type { AddressInfo } from 'node:net'
import { requireJwt, requireScopes } from 'jwt-gate/koa'
import { createTestIssuer, type TestIssuer } from 'jwt-gate/testing'

export const AUDIENCE = 'https://api.example.com'

/** Start the issuer and the Koa API on free loopback ports. */
export async function startKoaExample(
  port = 0,
): Promise<{ url: string; issuer: TestIssuer; close(): Promise<void> }> {
  const issuer = await createTestIssuer({ alg: 'ES256', audience: AUDIENCE })
  const app = new Koa()
  const router = new Router()
  const auth = requireJwt({ issuer: issuer.url, audience: AUDIENCE, jwksUri: issuer.jwksUri })

  router.get('/health', (ctx) => {
    ctx.body = { ok: true }
  })
  router.get('/me', auth, (ctx) => {
    ctx.body = { sub: ctx.state.auth?.payload.sub }
  })
  router.get('/orders', auth, requireScopes('read:orders'), (ctx) => {
    ctx.body = { orders: [{ id: 1, owner: ctx.state.auth?.payload.sub }] }
  })
  app.use(router.routes())

  const server = app.listen(port, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    issuer,
    async close() {
      await auth.verifier.close()
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
      await issuer.close()
    },
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const example = await startKoaExample()
  const token = await example.issuer.sign({ sub: 'demo-user', scope: 'read:orders' })
  console.log(`Koa example on ${example.url}`)
  console.log(`curl -i -H 'Authorization: Bearer ${token}' ${example.url}/orders`)
}
