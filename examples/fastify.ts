/**
 * The same API in Fastify: register the plugin once, add `app.requireJwt` as an `onRequest`
 * hook (here per route), and `requireScopes` as a `preHandler`. Failures reach Fastify's error
 * handler, which answers with the status, the WWW-Authenticate header and its JSON error shape.
 *
 * Run it: `node --import tsx examples/fastify.ts` (after `npm run build`).
 */
import Fastify from 'fastify'
import jwtGate, { requireScopes } from 'jwt-gate/fastify'
import { createTestIssuer, type TestIssuer } from 'jwt-gate/testing'

export const AUDIENCE = 'https://api.example.com'

/** Start the issuer and the Fastify API on free loopback ports. */
export async function startFastifyExample(
  port = 0,
): Promise<{ url: string; issuer: TestIssuer; close(): Promise<void> }> {
  const issuer = await createTestIssuer({ alg: 'EdDSA', audience: AUDIENCE })
  const app = Fastify()
  await app.register(jwtGate, { issuer: issuer.url, audience: AUDIENCE, jwksUri: issuer.jwksUri })

  app.get('/health', () => ({ ok: true }))
  app.get('/me', { onRequest: app.requireJwt }, (request) => ({ sub: request.auth?.payload.sub }))
  app.get(
    '/orders',
    { onRequest: app.requireJwt, preHandler: requireScopes('read:orders') },
    (request) => ({ orders: [{ id: 1, owner: request.auth?.payload.sub }] }),
  )

  const url = await app.listen({ port, host: '127.0.0.1' })
  return {
    url,
    issuer,
    async close() {
      await app.close() // also closes the verifier the plugin built
      await issuer.close()
    },
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const example = await startFastifyExample()
  const token = await example.issuer.sign({ sub: 'demo-user', scope: 'read:orders' })
  console.log(`Fastify example on ${example.url}`)
  console.log(`curl -i -H 'Authorization: Bearer ${token}' ${example.url}/orders`)
}
