/**
 * jwt-gate with Fetch API `Request`s (Hono, Next.js route handlers, Bun, Deno): the core's
 * `verifyRequest` reads a `Request` directly; turn an `AuthError` into a `Response` with its
 * status and headers. Shown with Hono on Node.
 *
 * Run it: `node --import tsx examples/fetch.ts` (after `npm run build`).
 */
import { serve, type ServerType } from '@hono/node-server'
import { Hono } from 'hono'
import type { AddressInfo } from 'node:net'
import { createVerifier, isAuthError, type AuthResult } from 'jwt-gate'
import { createTestIssuer, type TestIssuer } from 'jwt-gate/testing'

export const AUDIENCE = 'https://api.example.com'

/** Answer an AuthError the way the other adapters do: status, headers, a short JSON body. */
export function authErrorResponse(error: unknown): Response {
  if (!isAuthError(error)) throw error
  return Response.json(
    { error: error.code, message: error.expose ? error.message : 'Service unavailable' },
    { status: error.status, headers: error.headers },
  )
}

/** Start the issuer and a Hono API on free loopback ports. */
export async function startFetchExample(
  port = 0,
): Promise<{ url: string; issuer: TestIssuer; close(): Promise<void> }> {
  const issuer = await createTestIssuer({ alg: 'RS256', audience: AUDIENCE })
  const verifier = createVerifier({
    issuer: issuer.url,
    audience: AUDIENCE,
    jwksUri: issuer.jwksUri,
  })
  const app = new Hono<{ Variables: { auth: AuthResult } }>()

  app.get('/health', (c) => c.json({ ok: true }))
  app.use('/me', async (c, next) => {
    try {
      c.set('auth', await verifier.verifyRequest(c.req.raw)) // c.req.raw is a Fetch Request
    } catch (error) {
      return authErrorResponse(error)
    }
    return next()
  })
  app.get('/me', (c) => c.json({ sub: c.get('auth').payload.sub }))

  const server: ServerType = await new Promise((resolve) => {
    const started = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, () => resolve(started))
  })
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    issuer,
    async close() {
      await verifier.close()
      await new Promise((resolve) => server.close(resolve))
      await issuer.close()
    },
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const example = await startFetchExample()
  const token = await example.issuer.sign({ sub: 'demo-user' })
  console.log(`Hono (Fetch Request) example on ${example.url}`)
  console.log(`curl -i -H 'Authorization: Bearer ${token}' ${example.url}/me`)
}
