/**
 * One verifier — one JWKS cache, one token cache — behind three guards: an Express app, a Koa
 * app and a Fastify app in the same process. The key server is asked for its keys once, whichever
 * framework sees the first request.
 *
 * Run it: `node --import tsx examples/shared-verifier.ts` (after `npm run build`).
 */
import express from 'express'
import Fastify from 'fastify'
import Koa from 'koa'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createVerifier } from 'jwt-gate'
import { requireJwt as expressGuard } from 'jwt-gate/express'
import jwtGate from 'jwt-gate/fastify'
import { requireJwt as koaGuard } from 'jwt-gate/koa'
import { createTestIssuer, type TestIssuer } from 'jwt-gate/testing'

export const AUDIENCE = 'https://api.example.com'

const urlOf = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`
const listening = (server: Server) =>
  server.listening ? Promise.resolve() : new Promise((resolve) => server.once('listening', resolve))

/** Start one issuer, one verifier, and three apps sharing it. */
export async function startSharedVerifierExample(): Promise<{
  urls: { express: string; koa: string; fastify: string }
  issuer: TestIssuer
  close(): Promise<void>
}> {
  const issuer = await createTestIssuer({ alg: 'ES256', audience: AUDIENCE })
  const verifier = createVerifier({
    issuer: issuer.url,
    audience: AUDIENCE,
    jwksUri: issuer.jwksUri,
  })

  const expressApp = express()
  expressApp.get('/me', expressGuard(verifier), (req, res) => {
    res.json({ via: 'express', sub: req.auth?.payload.sub })
  })
  const expressServer = expressApp.listen(0, '127.0.0.1')

  const koaApp = new Koa()
  koaApp.use(koaGuard(verifier))
  koaApp.use((ctx) => {
    ctx.body = { via: 'koa', sub: ctx.state.auth?.payload.sub }
  })
  const koaServer = koaApp.listen(0, '127.0.0.1')

  const fastifyApp = Fastify()
  await fastifyApp.register(jwtGate, { verifier })
  fastifyApp.get('/me', { onRequest: fastifyApp.requireJwt }, (request) => ({
    via: 'fastify',
    sub: request.auth?.payload.sub,
  }))
  const fastifyUrl = await fastifyApp.listen({ port: 0, host: '127.0.0.1' })

  await Promise.all([listening(expressServer), listening(koaServer)])
  return {
    urls: {
      express: `${urlOf(expressServer)}/me`,
      koa: `${urlOf(koaServer)}/me`,
      fastify: `${fastifyUrl}/me`,
    },
    issuer,
    async close() {
      await fastifyApp.close() // a shared verifier is not closed by the plugin
      for (const server of [expressServer, koaServer]) {
        server.closeAllConnections()
        await new Promise((resolve) => server.close(resolve))
      }
      await verifier.close()
      await issuer.close()
    },
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const example = await startSharedVerifierExample()
  const token = await example.issuer.sign({ sub: 'demo-user' })
  for (const [name, url] of Object.entries(example.urls)) {
    const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } })
    console.log(name, response.status, await response.text())
  }
  console.log(`JWKS fetched ${example.issuer.jwksRequests} time(s) for three frameworks`)
  await example.close()
}
