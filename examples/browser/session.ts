/**
 * Sign-in and sign-out of the browser demo: the token travels only in an HttpOnly cookie.
 *
 *   POST /login    mint a token with the test issuer, set it as the cookie (never in the body)
 *   POST /logout   revoke the token's `jti` in the denylist (when there is one), clear the cookie
 */
import express, { type Express, type Request, type Response } from 'express'
import { isAuthError, type Verifier } from 'jwt-gate'
import type { TestIssuer } from 'jwt-gate/testing'
import type { RevocableDenylist } from './memory-denylist.js'

/** Scopes a person may pick on the sign-in form. */
export const DEMO_SCOPES = ['read:orders', 'write:orders'] as const

const USER_NAME = /^[\w.@-]{1,64}$/
const LOOPBACK = /^(localhost|.+\.localhost|127(\.\d{1,3}){3}|\[::1\]|::1)$/i

/** What the session routes need from the demo. */
export interface SessionSettings {
  issuer: TestIssuer
  /** The demo's verifier: /logout asks it which token it is revoking. */
  verifier: Verifier
  denylist: RevocableDenylist | undefined
  cookieName: string
  audience: string
  /** Token (and cookie) lifetime in seconds. */
  lifetime: number
}

/** Add POST /login and POST /logout to `app`. */
export function addSessionRoutes(app: Express, settings: SessionSettings): void {
  const { issuer, verifier, denylist, cookieName, audience, lifetime } = settings
  const alwaysSecure = /^__(Host|Secure)-/.test(cookieName)

  /**
   * `Secure`, except over plain http on a loopback host: Chromium keeps a Secure cookie there,
   * but not every browser does, and the demo should work in all of them.
   */
  const secureFor = (req: Request) => alwaysSecure || req.secure || !LOOPBACK.test(req.hostname)
  const cookieAttributes = (req: Request) =>
    ({ httpOnly: true, secure: secureFor(req), sameSite: 'lax', path: '/' }) as const

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
      { expiresIn: lifetime, audience },
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
