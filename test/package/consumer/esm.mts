// Type-level test, compiled as an ESM consumer of the packed tarball: the augmentations and the
// options union must be visible exactly as a user sees them.
import express from 'express'
import Koa from 'koa'
import Fastify from 'fastify'
import { Hono } from 'hono'
import {
  createVerifier,
  subscribe,
  AuthError,
  type AuthErrorReason,
  type AuthResult,
  type VerifierOptions,
} from 'jwt-gate'
import { jwtErrorHandler, requireJwt, requireScopes } from 'jwt-gate/express'
import { requireJwt as honoJwt, requireScopes as honoScopes } from 'jwt-gate/hono'
import { instrument } from 'jwt-gate/otel'
import { requireJwt as koaJwt } from 'jwt-gate/koa'
import jwtGate, { requireClaims } from 'jwt-gate/fastify'
import { redisDenylist } from 'jwt-gate/redis'
import { createTestIssuer } from 'jwt-gate/testing'

const options: VerifierOptions = {
  issuer: 'https://id.example.com/',
  audience: 'api',
  jwksUri: 'https://id.example.com/jwks',
}
// @ts-expect-error two key sources must not type-check
const twoSources: VerifierOptions = {
  issuer: 'i',
  audience: 'a',
  secret: 's',
  jwksUri: 'https://x',
}
void twoSources

const app = express()
app.use(requireJwt(options))
app.get('/', requireScopes('read'), (req, res) => {
  const sub: string | undefined = req.auth?.payload.sub
  const auth: AuthResult | undefined = req.auth
  res.json({ sub, token: auth?.token })
})

app.use(jwtErrorHandler())

const hono = new Hono()
const honoVerifier = createVerifier(options)
hono.get('/inline', honoJwt(honoVerifier), honoScopes('read'), (c) => {
  const auth: AuthResult = c.get('auth') // set by the inline guard
  return c.json({ sub: auth.payload.sub })
})
hono.get('/optional', honoJwt(honoVerifier, { credentialsRequired: false }), (c) => {
  // @ts-expect-error absent on an anonymous request
  const auth: AuthResult = c.get('auth')
  return c.json({ sub: auth.payload.sub })
})

const stopListening = subscribe('rejected', (event) => {
  const reason: AuthErrorReason = event.reason
  void reason
})
stopListening()
instrument({ spans: true }).close()

const koa = new Koa()
koa.use(koaJwt(createVerifier(options)))
koa.use((ctx) => {
  const auth: AuthResult | undefined = ctx.state.auth
  ctx.body = auth?.payload.iss
})

const fastify = Fastify()
await fastify.register(jwtGate, options)
fastify.get(
  '/',
  { onRequest: fastify.requireJwt, preHandler: requireClaims((p) => p.sub === 'x') },
  (request) => {
    const auth: AuthResult | null = request.auth
    return auth?.header.alg
  },
)

const issuer = await createTestIssuer({ alg: 'ES256' })
const token: string = await issuer.sign({ sub: 'u' }, { expiresIn: '5m' })
void token
void redisDenylist
const error: AuthError | undefined = undefined
void error
