/**
 * `jwt-gate/express`: guards for Express 4 and 5.
 *
 * `requireJwt` verifies the request and sets `req.auth`; `requireScopes` and `requireClaims`
 * check it per route. Every failure goes to `next(err)` with an `AuthError`, whose `status` and
 * `headers` Express's own error handler (and yours) answer with; `jwtErrorHandler()` answers
 * them as JSON instead of Express's HTML page.
 *
 * @example
 * ```ts
 * import express from 'express'
 * import { jwtErrorHandler, requireJwt, requireScopes } from 'jwt-gate/express'
 *
 * const app = express()
 * app.use(requireJwt({ issuer: 'https://id.example.com/', audience: 'https://api.example.com' }))
 * app.get('/orders', requireScopes('read:orders'), (req, res) => res.json({ sub: req.auth?.payload.sub }))
 * app.use(jwtErrorHandler())
 * ```
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { isAuthError } from '../src/errors.js'
import {
  authErrorBody,
  resolveGuard,
  resolveMetadata,
  type GuardOptions,
  type OptionsOrVerifier,
} from '../src/adapter-support.js'
import { pathOf, type ResourceMetadataOptions } from '../src/resource/metadata.js'
import {
  checkAuthLevel,
  checkClaimPredicate,
  checkPredicate,
  checkScopes,
  parseAuthLevel,
  parseScopes,
  type AuthLevelOptions,
  type ClaimPredicate,
  type ScopeArguments,
} from '../src/guards/guards.js'
import type { AuthResult, Verifier } from '../src/types.js'

declare global {
  // Express's request type lives in this global namespace (Express 4 and 5 alike).
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The verified token, set by jwt-gate's `requireJwt` (absent on an anonymous request). */
      auth?: AuthResult
    }
  }
}

/** The request shape the guards read and write. */
export type ExpressLikeRequest = IncomingMessage & { auth?: AuthResult }

/** An Express middleware, typed structurally so users need no particular `@types/express`. */
export type ExpressMiddleware = (
  req: ExpressLikeRequest,
  res: unknown,
  next: (error?: unknown) => void,
) => void

/** The `requireJwt` middleware; `.verifier` is the verifier it uses (close it on shutdown). */
export interface JwtMiddleware extends ExpressMiddleware {
  readonly verifier: Verifier
}

/**
 * Verify every request's token and set `req.auth = { payload, header, token }`.
 *
 * @param optionsOrVerifier verifier options (a verifier is built), or an existing verifier
 *   (so one JWKS cache serves many guards).
 * @param guardOptions `{ credentialsRequired: false }` lets requests without a token through.
 */
export function requireJwt(
  optionsOrVerifier: OptionsOrVerifier,
  guardOptions?: GuardOptions,
): JwtMiddleware {
  const { verifier, authenticate } = resolveGuard(optionsOrVerifier, guardOptions)
  const middleware: ExpressMiddleware = (req, _res, next) => {
    let auth: ReturnType<typeof authenticate>
    try {
      auth = authenticate(req)
    } catch (error) {
      return next(error)
    }
    if (!(auth instanceof Promise)) {
      if (auth) req.auth = auth
      return next()
    }
    auth.then((verified) => {
      if (verified) req.auth = verified
      next()
    }, next)
  }
  return Object.assign(middleware, { verifier })
}

/**
 * Require scopes from the `scope` (or `scp`) claim: all of them, or any with a last
 * `{ any: true }`; `{ claim: 'realm_access.roles' }` reads another claim (roles, permissions).
 * Fails with 403 `insufficient_scope`.
 */
export function requireScopes(...scopes: ScopeArguments): ExpressMiddleware {
  const required = parseScopes(scopes)
  return (req, _res, next) => {
    try {
      checkScopes(req.auth, required, req)
    } catch (error) {
      return next(error)
    }
    next()
  }
}

/**
 * Require a recent or strong enough authentication (RFC 9470 step-up): the token's `acr` one of
 * `acr`, its `auth_time` within `maxAge`. Fails with 401 `insufficient_user_authentication`,
 * whose challenge carries `acr_values` and/or `max_age` for the client to ask again.
 *
 * @example
 * ```ts
 * app.post('/transfers', requireAuthLevel({ acr: ['urn:example:mfa'], maxAge: '5m' }), handler)
 * ```
 */
export function requireAuthLevel(options: AuthLevelOptions): ExpressMiddleware {
  const required = parseAuthLevel(options)
  return (req, _res, next) => {
    try {
      checkAuthLevel(req.auth, required, req)
    } catch (error) {
      return next(error)
    }
    next()
  }
}

/** Require `predicate(payload)` to be true. Fails with 403 `invalid_token`. */
export function requireClaims(predicate: ClaimPredicate): ExpressMiddleware {
  const check = checkPredicate(predicate)
  return (req, _res, next) => {
    try {
      checkClaimPredicate(req.auth, check, req)
    } catch (error) {
      return next(error)
    }
    next()
  }
}

/** An Express error-handling middleware (four parameters), typed structurally. */
export type ExpressErrorHandler = (
  error: unknown,
  req: IncomingMessage,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void

/**
 * An Express error handler that answers jwt-gate's refusals as JSON: the `AuthError`'s status,
 * its headers (`WWW-Authenticate`, `Retry-After`, `DPoP-Nonce`) and
 * `{ error, error_description }`. No HTML page, no stack trace, nothing printed to the console;
 * the token never appears. Any other error is passed on with `next(error)`, so your own handler
 * (or Express's) still sees it. Add it after your routes.
 *
 * @example
 * ```ts
 * app.use(requireJwt({ issuer, audience }))
 * app.get('/orders', requireScopes('read:orders'), listOrders)
 * app.use(jwtErrorHandler())
 * ```
 */
export function jwtErrorHandler(): ExpressErrorHandler {
  // Four declared parameters: Express recognises an error handler by its arity.
  return function jwtGateErrorHandler(error, _req, res, next) {
    if (!isAuthError(error) || res.headersSent) return next(error)
    const json = JSON.stringify(authErrorBody(error))
    res.statusCode = error.status
    for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value)
    res.setHeader('Content-Type', 'application/json; charset=utf-8')
    res.setHeader('Content-Length', Buffer.byteLength(json))
    res.setHeader('Cache-Control', 'no-store')
    res.end(json)
  }
}

/**
 * Serve the API's OAuth 2.0 Protected Resource Metadata (RFC 9728) at
 * `/.well-known/oauth-protected-resource` and its path-suffixed form for the verifier's
 * `resource` (`https://api.example.com/mcp` → `/.well-known/oauth-protected-resource/mcp`).
 * Mount it with `app.use` before any guard: the document is public. Other requests pass on.
 *
 * @param verifierOrOptions the verifier (or its options) whose `resource`, token location and
 *   DPoP settings the document describes.
 * @param metadata `authorizationServers`, `scopesSupported`, … and `extra` members.
 * @example
 * ```ts
 * app.use(protectedResourceMetadata(verifier, { authorizationServers: ['https://id.example.com'] }))
 * ```
 */
export function protectedResourceMetadata(
  verifierOrOptions: OptionsOrVerifier,
  metadata?: ResourceMetadataOptions,
): (
  req: IncomingMessage & { originalUrl?: string },
  res: ServerResponse,
  next: () => void,
) => void {
  const served = resolveMetadata(verifierOrOptions, metadata)
  const length = String(Buffer.byteLength(served.body))
  return (req, res, next) => {
    const method = req.method
    if (
      (method !== 'GET' && method !== 'HEAD') ||
      !served.paths.has(pathOf(req.originalUrl ?? req.url))
    ) {
      return next()
    }
    res.writeHead(200, { ...served.headers, 'content-length': length })
    res.end(method === 'HEAD' ? undefined : served.body)
  }
}

export { AuthError, isAuthError } from '../src/errors.js'
export type { ResourceMetadataDocument, ResourceMetadataOptions } from '../src/resource/metadata.js'
export type { AuthResult, Verifier, VerifierOptions } from '../src/types.js'
export type { AuthErrorBody, GuardOptions, OptionsOrVerifier } from '../src/adapter-support.js'
export type {
  AuthLevelOptions,
  ClaimPredicate,
  ScopeArguments,
  ScopeOptions,
} from '../src/guards/guards.js'
