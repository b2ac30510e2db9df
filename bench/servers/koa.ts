/**
 * Koa 3 benchmark servers: bare (the ceiling), jwt-gate's `requireJwt`, and koa-jwt with
 * jwks-rsa's `koaJwtSecret`, configured as their READMEs show against the parent's test issuer.
 */
import Koa, { type Middleware } from 'koa'
import koaJwt from 'koa-jwt'
import jwksRsa from 'jwks-rsa'
import { requireJwt } from 'jwt-gate/koa'
import type { ServerConfig } from './protocol.js'
import { BODY, listen, serve, type BenchServer } from './serve.js'

function app(guard: Middleware | undefined): Promise<BenchServer> {
  const application = new Koa()
  if (guard) application.use(guard)
  application.use((context) => {
    context.body = BODY
  })
  const callback = application.callback()
  return listen((request, response) => {
    void callback(request, response)
  })
}

await serve({
  bare: () => app(undefined),
  'jwt-gate': (config: ServerConfig) =>
    app(requireJwt({ issuer: config.issuer, audience: config.audience, jwksUri: config.jwksUri })),
  'koa-jwt': (config: ServerConfig) =>
    app(
      koaJwt({
        secret: jwksRsa.koaJwtSecret({
          jwksUri: config.jwksUri,
          cache: true,
          rateLimit: true,
          jwksRequestsPerMinute: 5,
        }) as koaJwt.SecretLoader,
        audience: config.audience,
        issuer: config.issuer,
        algorithms: ['RS256'],
      }),
    ),
})
