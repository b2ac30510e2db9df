// Type-level test, compiled as a CommonJS consumer (require) of the packed tarball.
import express = require('express')
import Koa = require('koa')
import jwtGateCore = require('jwt-gate')
import expressGuards = require('jwt-gate/express')
import koaGuards = require('jwt-gate/koa')
import fastifyPlugin = require('jwt-gate/fastify')
import redis = require('jwt-gate/redis')
import testing = require('jwt-gate/testing')
import Fastify = require('fastify')

const options: jwtGateCore.VerifierOptions = {
  issuer: 'urn:i',
  audience: 'a',
  secret: 'x'.repeat(32),
}
const app = express()
app.use(expressGuards.requireJwt(options))
app.get('/', (req, res) => {
  const auth: jwtGateCore.AuthResult | undefined = req.auth
  res.json(auth?.payload)
})
const koa = new Koa()
koa.use(koaGuards.requireJwt(options))
koa.use((ctx) => {
  const auth: jwtGateCore.AuthResult | undefined = ctx.state.auth
  ctx.body = auth?.token
})
const fastify = Fastify()
void fastify.register(fastifyPlugin.default, options).after(() => {
  fastify.get('/', { onRequest: fastify.requireJwt }, (request) => {
    const auth: jwtGateCore.AuthResult | null = request.auth
    return auth?.payload
  })
})
void redis.redisDenylist
void testing.createTestIssuer
