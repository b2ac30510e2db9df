/**
 * Express 5 benchmark servers: bare (the ceiling), jwt-gate's `requireJwt`, express-jwt with
 * jwks-rsa, and express-oauth2-jwt-bearer. Each guard is configured as its README shows, against
 * the parent's test issuer (remote JWKS, RS256), and mounted with `app.use` before the route.
 */
import express, { type ErrorRequestHandler, type RequestHandler } from 'express'
import { expressjwt, type GetVerificationKey } from 'express-jwt'
import { auth } from 'express-oauth2-jwt-bearer'
import jwksRsa from 'jwks-rsa'
import { requireJwt } from 'jwt-gate/express'
import type { ServerConfig } from './protocol.js'
import { BODY, listen, serve, type BenchServer } from './serve.js'

/**
 * Answer a guard's error with its status and headers. Express's default handler would do the
 * same and also print every 401's stack to stderr; the same handler serves every variant.
 */
const answerError: ErrorRequestHandler = (
  error: { status?: number; headers?: object },
  _request,
  response,
  _next,
) => {
  response
    .status(error.status ?? 500)
    .set(error.headers ?? {})
    .end()
}

function app(guard: RequestHandler | undefined): Promise<BenchServer> {
  const application = express()
  if (guard) application.use(guard)
  application.get('/', (_request, response) => {
    response.json(BODY)
  })
  application.use(answerError)
  return listen(application)
}

await serve({
  bare: () => app(undefined),
  'jwt-gate': (config: ServerConfig) =>
    app(
      requireJwt({
        issuer: config.issuer,
        audience: config.audience,
        jwksUri: config.jwksUri,
      }),
    ),
  'express-jwt': (config: ServerConfig) =>
    app(
      expressjwt({
        secret: jwksRsa.expressJwtSecret({
          jwksUri: config.jwksUri,
          cache: true,
          rateLimit: true,
          jwksRequestsPerMinute: 5,
        }) as GetVerificationKey,
        audience: config.audience,
        issuer: config.issuer,
        algorithms: ['RS256'],
      }),
    ),
  'express-oauth2-jwt-bearer': (config: ServerConfig) =>
    app(
      auth({
        issuer: config.issuer,
        jwksUri: config.jwksUri,
        audience: config.audience,
        tokenSigningAlg: 'RS256',
      }),
    ),
})
