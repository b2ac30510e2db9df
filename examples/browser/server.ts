/**
 * The browser demo of cookie mode: a static page (./public) where a person signs in to the demo
 * issuer, and an Express API guarded by `jwt-gate/express` that reads the token from an HttpOnly
 * cookie, with the CSRF defence on. This file puts the parts together:
 *
 *   session.ts            POST /login and /logout (the token only ever in the cookie)
 *   orders-api.ts         GET /api/me, GET and POST /api/orders
 *   memory-denylist.ts    where sign-out revokes tokens
 *   request-log.ts        security headers, and the log of API requests
 *   error-handler.ts      errors answered as JSON with jwt-gate's challenge
 *   cross-origin-page.ts  a second page on another origin that tries to place an order with the
 *                         visitor's cookie, to watch the CSRF defence refuse it
 *
 * Run it: `npm start` (it starts this demo next to the Bearer example), or
 * `node --import tsx examples/browser/server.ts` after `npm run build`.
 */
import { createServer } from 'node:http'
import { fileURLToPath } from 'node:url'
import express from 'express'
import { createVerifier } from 'jwt-gate'
import { requireJwt } from 'jwt-gate/express'
import { createTestIssuer, type TestIssuer } from 'jwt-gate/testing'
import { startCrossOriginPage } from './cross-origin-page.js'
import { answerErrors } from './error-handler.js'
import { close, listen } from './listen.js'
import { createMemoryDenylist, type RevocableDenylist } from './memory-denylist.js'
import { addOrdersApi, type Order } from './orders-api.js'
import { securityHeadersAndLog, type ApiLogEntry } from './request-log.js'
import { addSessionRoutes } from './session.js'

/** The audience the demo API accepts (and its issuer puts in every token it mints). */
export const DEMO_AUDIENCE = 'https://api.example.com'

/** Options of `startBrowserDemo`. */
export interface BrowserDemoOptions {
  /** Port to listen on. Default: a free one. */
  port?: number
  /** Address to listen on. Default `'127.0.0.1'`. */
  host?: string
  /** The issuer that signs people in. Default: a new test issuer, closed with the demo. */
  issuer?: TestIssuer
  /**
   * Where sign-out revokes tokens. Default: an in-memory denylist. `false`: no denylist, sign-out
   * only clears the cookie (a copy of the token then stays valid until it expires).
   */
  denylist?: RevocableDenylist | false
  /**
   * Name of the cookie. Default `'access_token'`. A `__Host-` (or `__Secure-`) name always gets
   * `Secure`, which browsers require for it; over plain http that works on localhost only.
   */
  cookieName?: string
  /** Other origins allowed to send state-changing requests with the cookie. Default: none. */
  allowedOrigins?: string[]
  /** Lifetime of the tokens (and of the cookie), in seconds. Default 900 (15 minutes). */
  tokenLifetime?: number
}

/** A running browser demo. */
export interface BrowserDemo {
  /** The page, e.g. `http://127.0.0.1:5173`. */
  readonly url: string
  /** The issuer that signs people in. */
  readonly issuer: TestIssuer
  /** The Express app. */
  readonly app: express.Express
  /** Name of the cookie that carries the token. */
  readonly cookieName: string
  /** The denylist sign-out revokes into, if any. */
  readonly denylist: RevocableDenylist | undefined
  /** Orders placed so far. */
  readonly orders: readonly Order[]
  /** Requests to /login, /logout and /api/*, in order (the last 1000). */
  readonly log: readonly ApiLogEntry[]
  /** Stop the server, the verifier and (when the demo created it) the issuer. */
  close(): Promise<void>
}

const PUBLIC_DIR = new URL('./public/', import.meta.url)

/**
 * Start the browser demo: the page and the cookie-mode API on one origin.
 *
 * @example
 * ```ts
 * import { startBrowserDemo } from './examples/browser/server.js'
 *
 * const demo = await startBrowserDemo({ port: 5173 })
 * console.log(`open ${demo.url}`)
 * // later: await demo.close()
 * ```
 */
export async function startBrowserDemo(options: BrowserDemoOptions = {}): Promise<BrowserDemo> {
  const ownIssuer = options.issuer === undefined
  const issuer =
    options.issuer ?? (await createTestIssuer({ alg: 'ES256', audience: DEMO_AUDIENCE }))
  const denylist =
    options.denylist === false ? undefined : (options.denylist ?? createMemoryDenylist())
  const cookieName = options.cookieName ?? 'access_token'
  const lifetime = options.tokenLifetime ?? 900
  const orders: Order[] = []
  const log: ApiLogEntry[] = []

  // One verifier: the guards use it, and /logout asks it which token it is revoking.
  const verifier = createVerifier({
    issuer: issuer.url,
    audience: DEMO_AUDIENCE,
    jwksUri: issuer.jwksUri,
    token: { cookie: cookieName },
    csrf: { allowedOrigins: options.allowedOrigins ?? [] },
    ...(denylist ? { denylist } : {}),
  })

  const app = express()
  app.disable('x-powered-by')
  app.use(securityHeadersAndLog(log, cookieName))
  app.use(express.static(fileURLToPath(PUBLIC_DIR), { index: 'index.html' }))
  addSessionRoutes(app, {
    issuer,
    verifier,
    denylist,
    cookieName,
    audience: DEMO_AUDIENCE,
    lifetime,
  })
  addOrdersApi(app, requireJwt(verifier), orders)
  app.use(answerErrors)

  const server = createServer(app)
  const url = await listen(server, options.port ?? 0, options.host ?? '127.0.0.1')
  return {
    url,
    issuer,
    app,
    cookieName,
    denylist,
    orders,
    log,
    async close() {
      await close(server)
      await verifier.close()
      if (ownIssuer) await issuer.close()
    },
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const demo = await startBrowserDemo({ port: Number(process.env.PORT ?? 0) })
  const other = await startCrossOriginPage({ target: demo.url })
  console.log(`jwt-gate cookie-mode demo: open ${demo.url}/`)
  console.log(`A page on another origin that tries to use your cookie: ${other.url}/`)
  const stop = () => {
    void Promise.all([demo.close(), other.close()]).then(() => process.exit(0))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}
