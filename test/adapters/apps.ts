/**
 * The same small API written for each framework and major version, guarded by jwt-gate through
 * that framework's adapter. The scenario table runs against every one of them.
 *
 * Routes (all behind `requireJwt` unless said):
 *   GET  /me         → { sub }
 *   GET  /orders     → requireScopes('read:orders')
 *   GET  /any        → requireScopes('a', 'b', { any: true })
 *   GET  /claims     → requireClaims((p) => p.org === 'acme')
 *   POST /orders     → requireScopes('write:orders'); counts a side effect
 *   GET  /optional   → requireJwt(verifier, { credentialsRequired: false }) → { sub | null }
 *   GET  /optional/orders → the same, then requireScopes('read:orders')
 *   GET  /roles      → requireScopes('admin', { claim: 'realm_access.roles' })
 *   GET  /step-up    → requireAuthLevel({ acr: ['urn:example:mfa'], maxAge: '5m' })
 *   GET  /.well-known/oauth-protected-resource[/path] → protectedResourceMetadata, before every
 *        guard, when `start` is given `{ metadata }`
 *
 * Hono runs on @hono/node-server, so its guards see a Fetch `Request` (the path every Fetch
 * runtime takes) while the table speaks the same HTTP to it.
 */
import type { RequestListener } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import KoaRouter from '@koa/router'
import { getRequestListener } from '@hono/node-server'
import { Hono } from 'hono'
import express5 from 'express'
import express4 from 'express4'
import fastify5, { type FastifyInstance } from 'fastify'
import fastify4 from 'fastify4'
import koa3 from 'koa'
import koa2 from 'koa2'
import type { JwtPayload, Verifier } from '../../src/index.js'
import * as expressGuards from '../../adapters/express.js'
import jwtGate, * as fastifyGuards from '../../adapters/fastify.js'
import * as honoGuards from '../../adapters/hono.js'
import * as koaGuards from '../../adapters/koa.js'
import type { ResourceMetadataOptions } from '../../src/resource/metadata.js'
import { listen, type Listening } from '../helpers/http.js'
import { LATEST_PEERS_DIR, latestPeer, latestPeerVersion } from '../helpers/peers.js'
import type { TestCertificate } from '../helpers/tls.js'

/** A running app and what its handlers saw. */
export interface RunningApp extends Listening {
  /** Handler invocations (a guarded handler must never run for a refused request). */
  handled: number
  /** Side effects performed by POST /orders. */
  created: number
}

/** How to start an app: plain HTTP by default; `tls` serves HTTPS with that certificate. */
export interface StartOptions {
  tls?: TestCertificate
  /** Serve the RFC 9728 document with these options, before every guard. */
  metadata?: ResourceMetadataOptions
}

/** One framework at one major version. */
export interface AppFactory {
  name: string
  start(verifier: Verifier, options?: StartOptions): Promise<RunningApp>
}

/** Listen with `handler` over HTTP, or over HTTPS when `tls` is given (the URL says which). */
async function listenWith(
  handler: RequestListener,
  tls: TestCertificate | undefined,
): Promise<Listening> {
  if (tls === undefined) return listen(handler)
  return asHttps(await listen(createHttpsServer(tls, handler)))
}

/** The same listening server, addressed as `https:`. */
function asHttps(listening: Listening): Listening {
  return Object.assign(listening, { url: listening.url.replace(/^http:/, 'https:') })
}

const anyOf = { any: true }
const keycloakRole = ['admin', { claim: 'realm_access.roles' }] as const
const stepUp = { acr: ['urn:example:mfa'], maxAge: '5m' }
const isAcme = (payload: Readonly<JwtPayload>) => payload.org === 'acme'

function expressApp(name: string, express: typeof express5): AppFactory {
  return {
    name,
    async start(verifier, options = {}) {
      const counters = { handled: 0, created: 0 }
      const { requireJwt, requireScopes, requireClaims, requireAuthLevel } = expressGuards
      const app = express()
      if (options.metadata) {
        app.use(expressGuards.protectedResourceMetadata(verifier, options.metadata))
      }
      const guard = requireJwt(verifier)
      const done = (body: () => unknown) => (req: any, res: any) => {
        counters.handled++
        res.json(body.call(req))
      }
      app.get('/me', guard, (req, res) => {
        counters.handled++
        res.json({ sub: req.auth?.payload.sub })
      })
      app.get(
        '/orders',
        guard,
        requireScopes('read:orders'),
        done(() => ({ orders: [] })),
      )
      app.get(
        '/any',
        guard,
        requireScopes('a', 'b', anyOf),
        done(() => ({ ok: true })),
      )
      app.get(
        '/claims',
        guard,
        requireClaims(isAcme),
        done(() => ({ ok: true })),
      )
      app.get(
        '/roles',
        guard,
        requireScopes(...keycloakRole),
        done(() => ({ ok: true })),
      )
      app.get(
        '/step-up',
        guard,
        requireAuthLevel(stepUp),
        done(() => ({ ok: true })),
      )
      app.post('/orders', guard, requireScopes('write:orders'), (_req, res) => {
        counters.handled++
        counters.created++
        res.status(201).json({ created: true })
      })
      const optional = requireJwt(verifier, { credentialsRequired: false })
      app.get('/optional', optional, (req, res) => {
        counters.handled++
        res.json({ sub: req.auth?.payload.sub ?? null })
      })
      app.get(
        '/optional/orders',
        optional,
        requireScopes('read:orders'),
        done(() => ({ orders: [] })),
      )
      const listening = await listenWith(app, options.tls)
      return Object.assign(listening, counters, {
        get handled() {
          return counters.handled
        },
        get created() {
          return counters.created
        },
      })
    },
  }
}

function koaApp(name: string, Koa: typeof koa3): AppFactory {
  return {
    name,
    async start(verifier, options = {}) {
      const counters = { handled: 0, created: 0 }
      const { requireJwt, requireScopes, requireClaims, requireAuthLevel } = koaGuards
      const app = new Koa()
      app.silent = true // 503s are expected in the table; keep the test output clean
      if (options.metadata) {
        app.use(koaGuards.protectedResourceMetadata(verifier, options.metadata))
      }
      const router = new KoaRouter()
      const guard = requireJwt(verifier)
      router.get('/me', guard, (ctx) => {
        counters.handled++
        ctx.body = { sub: ctx.state.auth?.payload.sub }
      })
      router.get('/orders', guard, requireScopes('read:orders'), (ctx) => {
        counters.handled++
        ctx.body = { orders: [] }
      })
      router.get('/any', guard, requireScopes('a', 'b', anyOf), (ctx) => {
        counters.handled++
        ctx.body = { ok: true }
      })
      router.get('/claims', guard, requireClaims(isAcme), (ctx) => {
        counters.handled++
        ctx.body = { ok: true }
      })
      router.get('/roles', guard, requireScopes(...keycloakRole), (ctx) => {
        counters.handled++
        ctx.body = { ok: true }
      })
      router.get('/step-up', guard, requireAuthLevel(stepUp), (ctx) => {
        counters.handled++
        ctx.body = { ok: true }
      })
      router.post('/orders', guard, requireScopes('write:orders'), (ctx) => {
        counters.handled++
        counters.created++
        ctx.status = 201
        ctx.body = { created: true }
      })
      const optional = requireJwt(verifier, { credentialsRequired: false })
      router.get('/optional', optional, (ctx) => {
        counters.handled++
        ctx.body = { sub: ctx.state.auth?.payload.sub ?? null }
      })
      router.get('/optional/orders', optional, requireScopes('read:orders'), (ctx) => {
        counters.handled++
        ctx.body = { orders: [] }
      })
      app.use(router.routes())
      const handle = app.callback()
      const listening = await listenWith((req, res) => void handle(req, res), options.tls)
      return Object.assign(listening, {
        get handled() {
          return counters.handled
        },
        get created() {
          return counters.created
        },
      })
    },
  }
}

function fastifyApp(name: string, Fastify: typeof fastify5): AppFactory {
  return {
    name,
    async start(verifier, options = {}) {
      const counters = { handled: 0, created: 0 }
      const { requireScopes, requireClaims, requireAuthLevel } = fastifyGuards
      // The HTTPS instance differs from the plain one only in its server's type.
      const app: FastifyInstance = options.tls ? Fastify({ https: options.tls }) : Fastify()
      await app.register(jwtGate, { verifier })
      if (options.metadata) {
        await app.register(fastifyGuards.protectedResourceMetadata(verifier, options.metadata))
      }
      const onRequest = app.requireJwt
      app.get('/me', { onRequest }, (request) => {
        counters.handled++
        return { sub: request.auth?.payload.sub }
      })
      app.get('/orders', { onRequest, preHandler: requireScopes('read:orders') }, () => {
        counters.handled++
        return { orders: [] }
      })
      app.get('/any', { onRequest, preHandler: requireScopes('a', 'b', anyOf) }, () => {
        counters.handled++
        return { ok: true }
      })
      app.get('/claims', { onRequest, preHandler: requireClaims(isAcme) }, () => {
        counters.handled++
        return { ok: true }
      })
      app.get('/roles', { onRequest, preHandler: requireScopes(...keycloakRole) }, () => {
        counters.handled++
        return { ok: true }
      })
      app.get('/step-up', { onRequest, preHandler: requireAuthLevel(stepUp) }, () => {
        counters.handled++
        return { ok: true }
      })
      app.post(
        '/orders',
        { onRequest, preHandler: requireScopes('write:orders') },
        (_request, reply) => {
          counters.handled++
          counters.created++
          return reply.code(201).send({ created: true })
        },
      )
      const optional = fastifyGuards.requireJwt(verifier, { credentialsRequired: false })
      app.get('/optional', { onRequest: optional }, (request) => {
        counters.handled++
        return { sub: request.auth?.payload.sub ?? null }
      })
      app.get(
        '/optional/orders',
        { onRequest: optional, preHandler: requireScopes('read:orders') },
        () => {
          counters.handled++
          return { orders: [] }
        },
      )
      await app.ready()
      const served = await listen(app.server)
      const listening = options.tls ? asHttps(served) : served
      return Object.assign(listening, {
        get handled() {
          return counters.handled
        },
        get created() {
          return counters.created
        },
        close: async () => {
          await app.close()
        },
      })
    },
  }
}

function honoApp(name: string): AppFactory {
  return {
    name,
    async start(verifier, options = {}) {
      const counters = { handled: 0, created: 0 }
      const { requireJwt, requireScopes, requireClaims, requireAuthLevel } = honoGuards
      const app = new Hono()
      if (options.metadata)
        app.use(honoGuards.protectedResourceMetadata(verifier, options.metadata))
      const guard = requireJwt(verifier)
      app.get('/me', guard, (c) => {
        counters.handled++
        return c.json({ sub: c.get('auth').payload.sub }) // typed: set by the guard
      })
      app.get('/orders', guard, requireScopes('read:orders'), (c) => {
        counters.handled++
        return c.json({ orders: [] })
      })
      app.get('/any', guard, requireScopes('a', 'b', anyOf), (c) => {
        counters.handled++
        return c.json({ ok: true })
      })
      app.get('/claims', guard, requireClaims(isAcme), (c) => {
        counters.handled++
        return c.json({ ok: true })
      })
      app.get('/roles', guard, requireScopes(...keycloakRole), (c) => {
        counters.handled++
        return c.json({ ok: true })
      })
      app.get('/step-up', guard, requireAuthLevel(stepUp), (c) => {
        counters.handled++
        return c.json({ ok: true })
      })
      app.post('/orders', guard, requireScopes('write:orders'), (c) => {
        counters.handled++
        counters.created++
        return c.json({ created: true }, 201)
      })
      const optional = requireJwt(verifier, { credentialsRequired: false })
      app.get('/optional', optional, (c) => {
        counters.handled++
        return c.json({ sub: c.get('auth')?.payload.sub ?? null })
      })
      app.get('/optional/orders', optional, requireScopes('read:orders'), (c) => {
        counters.handled++
        return c.json({ orders: [] })
      })
      const listener = getRequestListener(app.fetch)
      const listening = await listenWith((req, res) => void listener(req, res), options.tls)
      return Object.assign(listening, {
        get handled() {
          return counters.handled
        },
        get created() {
          return counters.created
        },
      })
    },
  }
}

/** The newest published frameworks, under `npm run test:latest` (see test/helpers/peers.ts). */
const LATEST_APPS: AppFactory[] | undefined = LATEST_PEERS_DIR
  ? [
      expressApp(
        `express@${latestPeerVersion('express')}`,
        (await latestPeer<{ default: typeof express5 }>('express')).default,
      ),
      koaApp(
        `koa@${latestPeerVersion('koa')}`,
        (await latestPeer<{ default: typeof koa3 }>('koa')).default,
      ),
      fastifyApp(
        `fastify@${latestPeerVersion('fastify')}`,
        (await latestPeer<{ default: typeof fastify5 }>('fastify')).default,
      ),
    ]
  : undefined

/** Every framework and major version the adapters support (or the newest, under test:latest). */
export const APPS: AppFactory[] = LATEST_APPS ?? [
  expressApp('express@5', express5),
  expressApp('express@4', express4),
  koaApp('koa@3', koa3),
  koaApp('koa@2', koa2),
  fastifyApp('fastify@5', fastify5),
  fastifyApp('fastify@4', fastify4 as unknown as typeof fastify5),
  honoApp('hono@4'),
]
