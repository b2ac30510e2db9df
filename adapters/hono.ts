/**
 * `jwt-gate/hono`: guards for Hono 4, on any runtime Hono runs on (Node, Bun, Deno, Workers).
 *
 * `requireJwt` verifies the request (`c.req.raw`, a Fetch `Request`) and sets `c.get('auth')`;
 * `requireScopes` and `requireClaims` check it per route. Unlike Hono's own `jwk` middleware, the
 * key set is cached (one fetch per rotation, not per request). A failure is thrown as Hono's
 * `HTTPException`, the way Hono's `jwt` middleware does it: Hono answers with its response — the
 * `AuthError`'s status and headers (`WWW-Authenticate`, `Retry-After`) and a JSON body
 * `{ error, error_description }` — and your `app.onError` finds the `AuthError` in `err.cause`.
 *
 * @example
 * ```ts
 * import { Hono } from 'hono'
 * import { requireJwt, requireScopes } from 'jwt-gate/hono'
 *
 * const app = new Hono()
 * app.use(requireJwt({ issuer: 'https://id.example.com/', audience: 'https://api.example.com' }))
 * app.get('/orders', requireScopes('read:orders'), (c) => c.json({ sub: c.get('auth')?.payload.sub }))
 * ```
 */
import type { MiddlewareHandler } from 'hono'
import { HTTPException } from 'hono/http-exception'
import {
  authErrorBody,
  resolveGuard,
  resolveMetadata,
  type GuardOptions,
  type OptionsOrVerifier,
} from '../src/adapter-support.js'
import { isAuthError, type AuthError } from '../src/errors.js'
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
import type { ResourceMetadataOptions } from '../src/resource/metadata.js'
import type { AuthResult, Verifier, VerifierOptions } from '../src/types.js'

declare module 'hono' {
  interface ContextVariableMap {
    /**
     * The verified token, set by jwt-gate's `requireJwt` (absent on an anonymous request, or on
     * a route without the guard). Routes guarded inline get it typed without `undefined`.
     */
    auth: AuthResult | undefined
  }
}

/** The Hono environment `requireJwt` gives the handlers after it: `c.get('auth')` is set. */
export interface JwtEnv {
  Variables: { auth: AuthResult }
}

/** The environment of `requireJwt(…, { credentialsRequired: false })`: `auth` may be absent. */
export interface OptionalJwtEnv {
  Variables: { auth: AuthResult | undefined }
}

/** The `requireJwt` middleware; `.verifier` is the verifier it uses (close it on shutdown). */
export type JwtMiddleware<E extends JwtEnv | OptionalJwtEnv = JwtEnv> = MiddlewareHandler<E> & {
  readonly verifier: Verifier
}

/**
 * Verify every request's token and set `c.get('auth')` to `{ payload, header, token }`.
 *
 * @param optionsOrVerifier verifier options (a verifier is built), or an existing verifier
 *   (so one JWKS cache serves many guards).
 * @param guardOptions `{ credentialsRequired: false }` lets requests without a token through.
 */
export function requireJwt(
  optionsOrVerifier: OptionsOrVerifier,
  guardOptions: GuardOptions & { credentialsRequired: false },
): JwtMiddleware<OptionalJwtEnv>
export function requireJwt(
  options: VerifierOptions & { credentialsRequired: false },
  guardOptions?: GuardOptions,
): JwtMiddleware<OptionalJwtEnv>
export function requireJwt(
  optionsOrVerifier: OptionsOrVerifier,
  guardOptions?: GuardOptions,
): JwtMiddleware
export function requireJwt(
  optionsOrVerifier: OptionsOrVerifier,
  guardOptions?: GuardOptions,
): JwtMiddleware<OptionalJwtEnv> | JwtMiddleware {
  const { verifier, authenticate } = resolveGuard(optionsOrVerifier, guardOptions)
  const middleware: MiddlewareHandler<OptionalJwtEnv> = async (c, next) => {
    let auth: AuthResult | null
    try {
      auth = await authenticate(c.req.raw)
    } catch (error) {
      throw toHttpException(error)
    }
    if (auth) c.set('auth', auth)
    await next()
  }
  // Typed per overload: `auth` is set whenever a token was required.
  return Object.assign(middleware, { verifier })
}

/**
 * Require scopes from the `scope` (or `scp`) claim: all of them, or any with a last
 * `{ any: true }`. Fails with 403 `insufficient_scope`.
 */
export function requireScopes(...scopes: ScopeArguments): MiddlewareHandler {
  const required = parseScopes(scopes)
  return async (c, next) => {
    try {
      checkScopes(c.get('auth'), required, c.req.raw)
    } catch (error) {
      throw toHttpException(error)
    }
    await next()
  }
}

/**
 * Require a recent or strong enough authentication (RFC 9470 step-up): the token's `acr` one of
 * `acr`, its `auth_time` within `maxAge`. Fails with 401 `insufficient_user_authentication`,
 * whose challenge carries `acr_values` and/or `max_age`.
 */
export function requireAuthLevel(options: AuthLevelOptions): MiddlewareHandler {
  const required = parseAuthLevel(options)
  return async (c, next) => {
    try {
      checkAuthLevel(c.get('auth'), required, c.req.raw)
    } catch (error) {
      throw toHttpException(error)
    }
    await next()
  }
}

/**
 * Serve the API's OAuth 2.0 Protected Resource Metadata (RFC 9728) at
 * `/.well-known/oauth-protected-resource` and its path-suffixed form for the verifier's
 * `resource`; `app.use` it before any guard. Other requests pass on.
 */
export function protectedResourceMetadata(
  verifierOrOptions: OptionsOrVerifier,
  metadata?: ResourceMetadataOptions,
): MiddlewareHandler {
  const served = resolveMetadata(verifierOrOptions, metadata)
  return async (c, next) => {
    if ((c.req.method !== 'GET' && c.req.method !== 'HEAD') || !served.paths.has(c.req.path)) {
      return next()
    }
    const body = c.req.method === 'HEAD' ? null : served.body
    return new Response(body, { status: 200, headers: served.headers })
  }
}

/** Require `predicate(payload)` to be true. Fails with 403 `invalid_token`. */
export function requireClaims(predicate: ClaimPredicate): MiddlewareHandler {
  const check = checkPredicate(predicate)
  return async (c, next) => {
    try {
      checkClaimPredicate(c.get('auth'), check, c.req.raw)
    } catch (error) {
      throw toHttpException(error)
    }
    await next()
  }
}

/**
 * The `HTTPException` Hono answers a refusal with: the `AuthError`'s status, headers and JSON
 * body, the `AuthError` itself as `cause`. Anything else is rethrown unchanged.
 */
export function toHttpException(error: unknown): unknown {
  if (!isAuthError(error)) return error
  return new HTTPException(error.status, {
    res: authErrorResponse(error),
    message: error.message,
    cause: error,
  })
}

/** A refusal as a Fetch `Response`: status, headers and `{ error, error_description }`. */
export function authErrorResponse(error: AuthError): Response {
  return Response.json(authErrorBody(error), { status: error.status, headers: error.headers })
}

export { AuthError, isAuthError } from '../src/errors.js'
export type { AuthResult, Verifier, VerifierOptions } from '../src/types.js'
export type { AuthErrorBody, GuardOptions, OptionsOrVerifier } from '../src/adapter-support.js'
export type {
  AuthLevelOptions,
  ClaimPredicate,
  ScopeArguments,
  ScopeOptions,
} from '../src/guards/guards.js'
export type { ResourceMetadataDocument, ResourceMetadataOptions } from '../src/resource/metadata.js'
