/**
 * Fastify 5 benchmark servers: bare (the ceiling), jwt-gate's plugin with its `onRequest` hook,
 * and @fastify/jwt. @fastify/jwt is given the issuer's public key as PEM: verifying against a
 * JWKS needs the `get-jwks` package, which is not among our devDependencies. A static key is
 * @fastify/jwt's fastest configuration, so this favours the peer.
 */
import fastifyJwt from '@fastify/jwt'
import Fastify, { type FastifyInstance } from 'fastify'
import jwtGate from 'jwt-gate/fastify'
import type { ServerConfig } from './protocol.js'
import { BODY, serve, type BenchServer } from './serve.js'

/** fast-jwt cache size in the cached variant: jwt-gate's default token-cache size. */
const CACHE_SIZE = 10_000

async function app(guard?: (application: FastifyInstance) => Promise<void>): Promise<BenchServer> {
  const application = Fastify({ logger: false })
  if (guard) await guard(application)
  application.get('/', () => BODY)
  await application.listen({ port: 0, host: '127.0.0.1' })
  const address = application.server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  return { port, close: () => application.close() }
}

function fastifyJwtGuard(config: ServerConfig, cache: boolean) {
  return async (application: FastifyInstance) => {
    await application.register(fastifyJwt, {
      secret: { public: config.publicKeyPem },
      verify: {
        allowedIss: config.issuer,
        allowedAud: config.audience,
        algorithms: ['RS256'],
        ...(cache ? { cache: CACHE_SIZE } : {}),
      },
    })
    application.addHook('onRequest', async (request) => {
      await request.jwtVerify()
    })
  }
}

await serve({
  bare: () => app(),
  'jwt-gate': (config: ServerConfig) =>
    app(async (application) => {
      await application.register(jwtGate, {
        issuer: config.issuer,
        audience: config.audience,
        jwksUri: config.jwksUri,
      })
      application.addHook('onRequest', application.requireJwt)
    }),
  'fastify-jwt': (config: ServerConfig) => app(fastifyJwtGuard(config, false)),
  'fastify-jwt-cache': (config: ServerConfig) => app(fastifyJwtGuard(config, true)),
})
