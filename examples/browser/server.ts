/**
 * The browser demo of cookie mode: a static page (./public) where a person signs in to the demo
 * issuer, and an Express API guarded by `jwt-gate/express` that reads the token from an HttpOnly
 * cookie, with the CSRF defence on.
 *
 *   POST /login        mint a token with the test issuer, set it as the cookie (never in the body)
 *   POST /logout       revoke the token's `jti` in the denylist (when there is one), clear the cookie
 *   GET  /api/me       the verified claims
 *   GET  /api/orders   the orders placed so far (scope read:orders)
 *   POST /api/orders   place an order (scope write:orders); a state-changing cookie request, so
 *                      jwt-gate refuses it unless it comes from this origin (or `allowedOrigins`)
 *
 * `startCrossOriginPage` serves a second page on another origin that tries to place an order
 * with the visitor's cookie, to watch the CSRF defence refuse it.
 *
 * Run it: `npm start` (it starts this demo next to the Bearer example), or
 * `node --import tsx examples/browser/server.ts` after `npm run build`.
 */
import { readFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import express, { type ErrorRequestHandler, type Request, type Response } from 'express'
import { createVerifier, isAuthError, type Denylist, type JwtPayload } from 'jwt-gate'
import { requireJwt, requireScopes } from 'jwt-gate/express'
import { createTestIssuer, type TestIssuer } from 'jwt-gate/testing'

/** The audience the demo API accepts (and its issuer puts in every token it mints). */
export const DEMO_AUDIENCE = 'https://api.example.com'

/** Scopes a person may pick on the sign-in form. */
export const DEMO_SCOPES = ['read:orders', 'write:orders'] as const

/** A denylist the demo can also write to: jwt-gate's Redis denylist has this shape. */
export interface RevocableDenylist extends Denylist {
  /** Revoke one token until its `exp`. */
  revoke(token: { jti: string; exp: number }): void | Promise<unknown>
}

/** An in-memory denylist keyed by `jti`, for one process (use jwt-gate/redis for several). */
export interface MemoryDenylist extends RevocableDenylist {
  /** Number of revoked tokens still remembered (entries go once their token has expired). */
  readonly size: number
}

/**
 * A denylist in a `Map` from `jti` to `exp`. Fine for a demo or a single process; an API that
 * runs as several processes needs a shared one such as `redisDenylist` from `jwt-gate/redis`.
 */
export function createMemoryDenylist(): MemoryDenylist {
  const revoked = new Map<string, number>()
  const purge = (now: number) => {
    for (const [jti, exp] of revoked) if (exp <= now) revoked.delete(jti)
  }
  return {
    revoke({ jti, exp }) {
      purge(Math.floor(Date.now() / 1000))
      revoked.set(jti, exp)
    },
    isRevoked(payload: Readonly<JwtPayload>) {
      return typeof payload.jti === 'string' && revoked.has(payload.jti)
    },
    get size() {
      return revoked.size
    },
  }
}

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

/** An order placed through the API. */
export interface Order {
  id: number
  item: string
  by: string | undefined
  at: string
}

/** One API request as the demo saw it: what the browser sent and what the API answered. */
export interface ApiLogEntry {
  method: string
  path: string
  origin: string | undefined
  secFetchSite: string | undefined
  /** Whether the request carried the demo's cookie. */
  hadCookie: boolean
  status: number
  /** jwt-gate's `reason` when the request was refused. */
  reason: string | undefined
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
const OTHER_ORIGIN_PAGE = new URL('./other-origin/index.html', import.meta.url)
const USER_NAME = /^[\w.@-]{1,64}$/
const LOOPBACK = /^(localhost|.+\.localhost|127(\.\d{1,3}){3}|\[::1\]|::1)$/i

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
  const alwaysSecure = /^__(Host|Secure)-/.test(cookieName)
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
  const auth = requireJwt(verifier)

  /**
   * `Secure`, except over plain http on a loopback host: Chromium keeps a Secure cookie there,
   * but not every browser does, and the demo should work in all of them.
   */
  const secureFor = (req: Request) => alwaysSecure || req.secure || !LOOPBACK.test(req.hostname)
  const cookieAttributes = (req: Request) =>
    ({ httpOnly: true, secure: secureFor(req), sameSite: 'lax', path: '/' }) as const

  const app = express()
  app.disable('x-powered-by')
  app.use((req, res, next) => {
    res.set({
      'Content-Security-Policy':
        "default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'; form-action 'self'",
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'same-origin',
    })
    if (/^\/(api|login|logout)(\/|$)/.test(req.path)) {
      res.set('Cache-Control', 'no-store')
      res.on('finish', () => {
        if (log.length >= 1000) log.shift()
        log.push({
          method: req.method,
          path: req.path,
          origin: req.get('origin'),
          secFetchSite: req.get('sec-fetch-site'),
          hadCookie: (req.get('cookie') ?? '').split(';').some((pair) => {
            return pair.trim().startsWith(`${cookieName}=`)
          }),
          status: res.statusCode,
          reason: typeof res.locals.reason === 'string' ? res.locals.reason : undefined,
        })
      })
    }
    next()
  })
  app.use(express.static(fileURLToPath(PUBLIC_DIR), { index: 'index.html' }))

  // Sign-in. A real app does this after its login flow (e.g. an OAuth authorization-code
  // exchange on the server); here the demo issuer mints the token directly. The body must be
  // JSON from this very origin: a cross-origin page cannot send that without a CORS preflight,
  // which this server never grants (no login CSRF).
  app.post('/login', express.json({ limit: '2kb' }), async (req: Request, res: Response) => {
    if (!req.is('application/json') || !isSameOriginFetch(req)) {
      res.status(403).json({ error: 'invalid_request', message: 'Sign in from the demo page.' })
      return
    }
    const body = (req.body ?? {}) as { user?: unknown; scopes?: unknown }
    const user = typeof body.user === 'string' ? body.user.trim() : ''
    const scopes = Array.isArray(body.scopes) ? body.scopes : []
    if (!USER_NAME.test(user)) {
      res.status(400).json({
        error: 'invalid_request',
        message: 'The user name must be 1–64 letters, digits or . _ @ -',
      })
      return
    }
    if (!scopes.every((scope) => (DEMO_SCOPES as readonly unknown[]).includes(scope))) {
      res.status(400).json({
        error: 'invalid_request',
        message: `Scopes must be among: ${DEMO_SCOPES.join(', ')}`,
      })
      return
    }
    const scope = (scopes as string[]).join(' ')
    const token = await issuer.sign(
      { sub: user, scope, name: user },
      { expiresIn: lifetime, audience: DEMO_AUDIENCE },
    )
    const cookie = cookieAttributes(req)
    res.cookie(cookieName, token, { ...cookie, maxAge: lifetime * 1000 })
    res.json({
      sub: user,
      scope,
      expiresAt: new Date(Date.now() + lifetime * 1000).toISOString(),
      cookie: { name: cookieName, httpOnly: true, secure: cookie.secure, sameSite: 'Lax' },
    })
  })

  // Sign-out: a state-changing cookie request like any other, so the CSRF check applies (a
  // hostile page cannot sign you out either). The token's jti goes on the denylist, so even a
  // copy of the cookie stops working; then the cookie is cleared.
  app.post('/logout', async (req: Request, res: Response, next) => {
    let revoked = false
    try {
      const found = await verifier.verifyRequest(req, { credentialsRequired: false })
      const { jti, exp } = found?.payload ?? {}
      if (denylist && typeof jti === 'string' && typeof exp === 'number') {
        await denylist.revoke({ jti, exp })
        revoked = true
      }
    } catch (error) {
      // An expired or already revoked token has nothing left to revoke: just clear the cookie.
      // A CSRF refusal, a malformed request or an unavailable denylist is answered as an error.
      if (!isAuthError(error) || error.status !== 401) return next(error)
    }
    res.clearCookie(cookieName, cookieAttributes(req))
    res.json({ signedOut: true, revoked })
  })

  app.get('/api/me', auth, (req, res) => {
    const payload = req.auth!.payload
    res.json({ sub: payload.sub, scope: payload.scope ?? '', claims: payload })
  })
  app.get('/api/orders', auth, requireScopes('read:orders'), (_req, res) => {
    res.json({ orders })
  })
  app.post(
    '/api/orders',
    auth,
    requireScopes('write:orders'),
    express.json({ limit: '1kb' }),
    (req, res) => {
      const requested = (req.body as { item?: unknown } | undefined)?.item
      const item = typeof requested === 'string' && requested !== '' ? requested.slice(0, 40) : '☕'
      const order: Order = {
        id: orders.length + 1,
        item,
        by: req.auth!.payload.sub,
        at: new Date().toISOString(),
      }
      orders.push(order)
      res.status(201).json({ order, total: orders.length })
    },
  )
  app.use('/api', (_req, res) => {
    res.status(404).json({ error: 'not_found', message: 'No such API route.' })
  })

  // jwt-gate's AuthError carries status, code, reason and the WWW-Authenticate challenge: answer
  // with all of them so the page can show each error exactly as the API returned it.
  const onError: ErrorRequestHandler = (err, _req, res, next) => {
    if (isAuthError(err)) {
      res.locals.reason = err.reason
      res
        .status(err.status)
        .set(err.headers)
        .json({
          status: err.status,
          error: err.code,
          reason: err.reason,
          message: err.expose ? err.message : 'Service unavailable',
        })
      return
    }
    const status = (err as { status?: unknown }).status
    if (typeof status === 'number' && status >= 400 && status < 500) {
      res.status(status).json({ error: 'invalid_request', message: 'Malformed request.' })
      return
    }
    next(err)
  }
  app.use(onError)

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

/** Options of `startCrossOriginPage`. */
export interface CrossOriginPageOptions {
  /** The demo's URL (the origin whose cookie the page tries to use). */
  target: string
  /** Port to listen on. Default: a free one. */
  port?: number
  /**
   * Address to listen on. Default `'127.0.0.1'`: with the demo on 127.0.0.1 too, this page is a
   * different origin (another port) but the same site, so the browser does send the SameSite=Lax
   * cookie along, and only jwt-gate's CSRF check stands in the way. `'127.0.0.2'` makes it a
   * different site, where the browser itself withholds the cookie.
   */
  host?: string
}

/** A running page on another origin. */
export interface CrossOriginPage {
  /** The page, e.g. `http://127.0.0.1:5174`. */
  readonly url: string
  /** Point the page at another demo from now on (to start a demo that allows this origin). */
  retarget(target: string): void
  /** Stop its server. */
  close(): Promise<void>
}

/**
 * Serve a page on another origin that tries to place an order on `target` with the visitor's
 * cookie: once with `fetch(…, { credentials: 'include' })`, once with a plain HTML form.
 */
export async function startCrossOriginPage(
  options: CrossOriginPageOptions,
): Promise<CrossOriginPage> {
  const template = await readFile(OTHER_ORIGIN_PAGE, 'utf8')
  let target = new URL(options.target).origin
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
      return
    }
    res
      .writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        // Inline script on purpose: this page is the "attacker", not part of the demo's origin.
        'content-security-policy': `default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src ${target}; form-action ${target}`,
      })
      .end(template.replaceAll('%TARGET%', target))
  })
  const url = await listen(server, options.port ?? 0, options.host ?? '127.0.0.1')
  return {
    url,
    retarget(next: string) {
      target = new URL(next).origin
    },
    close: () => close(server),
  }
}

/**
 * Whether a request comes from a page of this origin: `Sec-Fetch-Site: same-origin` when the
 * browser sends it, else an `Origin` equal to this host. (jwt-gate does the same for cookie
 * requests; /login has no cookie yet, so it checks for itself.)
 */
function isSameOriginFetch(req: Request): boolean {
  const site = req.get('sec-fetch-site')
  if (site !== undefined) return site === 'same-origin'
  const origin = req.get('origin')
  if (origin === undefined || origin === 'null' || !URL.canParse(origin)) return false
  return new URL(origin).host === req.get('host')
}

async function listen(server: Server, port: number, host: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve())
  })
  const address = server.address() as AddressInfo
  const name = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return `http://${name}:${address.port}`
}

async function close(server: Server): Promise<void> {
  await new Promise<void>((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  })
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
