/**
 * `jwt-gate/koa`: guards for Koa 2 and 3.
 *
 * `requireJwt` verifies the request and sets `ctx.state.auth`; `requireScopes` and
 * `requireClaims` check it per route. Failures are thrown as `AuthError`, so Koa's own error
 * handling answers with its `status`, `headers` and `expose` (and your error middleware, if any,
 * sees the error first).
 *
 * @example
 * ```ts
 * import Koa from 'koa'
 * import { requireJwt, requireScopes } from 'jwt-gate/koa'
 *
 * const app = new Koa()
 * app.use(requireJwt({ issuer: 'https://id.example.com/', audience: 'https://api.example.com' }))
 * app.use(requireScopes('read:orders'))
 * app.use((ctx) => { ctx.body = { sub: ctx.state.auth?.payload.sub } })
 * ```
 */
import type { Middleware } from 'koa'
import {
  resolveGuard,
  resolveMetadata,
  type GuardOptions,
  type OptionsOrVerifier,
} from '../src/adapter-support.js'
import type { ResourceMetadataOptions } from '../src/resource/metadata.js'
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

declare module 'koa' {
  interface DefaultState {
    /** The verified token, set by jwt-gate's `requireJwt` (absent on an anonymous request). */
    auth?: AuthResult
  }
}

/** The `requireJwt` middleware; `.verifier` is the verifier it uses (close it on shutdown). */
export type JwtMiddleware = Middleware & { readonly verifier: Verifier }

/**
 * Verify every request's token and set `ctx.state.auth = { payload, header, token }`.
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
  // Not async: a synchronous answer goes straight on to next() (a throw becomes a rejection
  // in koa-compose, so Koa's error handling still sees every AuthError).
  const middleware: Middleware = (ctx, next) => {
    const auth = authenticate(ctx.req)
    if (!(auth instanceof Promise)) {
      if (auth) ctx.state.auth = auth
      return next()
    }
    return auth.then((verified) => {
      if (verified) ctx.state.auth = verified
      return next()
    })
  }
  return Object.assign(middleware, { verifier })
}

/**
 * Require scopes from the `scope` (or `scp`) claim: all of them, or any with a last
 * `{ any: true }`; `{ claim: 'realm_access.roles' }` reads another claim (roles, permissions).
 * Throws 403 `insufficient_scope`.
 */
export function requireScopes(...scopes: ScopeArguments): Middleware {
  const required = parseScopes(scopes)
  return (ctx, next) => {
    checkScopes(ctx.state.auth, required, ctx.req)
    return next()
  }
}

/**
 * Require a recent or strong enough authentication (RFC 9470 step-up): the token's `acr` one of
 * `acr`, its `auth_time` within `maxAge`. Throws 401 `insufficient_user_authentication`, whose
 * challenge carries `acr_values` and/or `max_age` for the client to ask again.
 */
export function requireAuthLevel(options: AuthLevelOptions): Middleware {
  const required = parseAuthLevel(options)
  return (ctx, next) => {
    checkAuthLevel(ctx.state.auth, required, ctx.req)
    return next()
  }
}

/** Require `predicate(payload)` to be true. Throws 403 `invalid_token`. */
export function requireClaims(predicate: ClaimPredicate): Middleware {
  const check = checkPredicate(predicate)
  return (ctx, next) => {
    checkClaimPredicate(ctx.state.auth, check, ctx.req)
    return next()
  }
}

/**
 * Serve the API's OAuth 2.0 Protected Resource Metadata (RFC 9728) at
 * `/.well-known/oauth-protected-resource` and its path-suffixed form for the verifier's
 * `resource` (`https://api.example.com/mcp` → `/.well-known/oauth-protected-resource/mcp`).
 * `app.use` it before any guard: the document is public. Other requests pass on.
 *
 * @param verifierOrOptions the verifier (or its options) whose `resource`, token location and
 *   DPoP settings the document describes.
 * @param metadata `authorizationServers`, `scopesSupported`, … and `extra` members.
 */
export function protectedResourceMetadata(
  verifierOrOptions: OptionsOrVerifier,
  metadata?: ResourceMetadataOptions,
): Middleware {
  const served = resolveMetadata(verifierOrOptions, metadata)
  return (ctx, next) => {
    if ((ctx.method !== 'GET' && ctx.method !== 'HEAD') || !served.paths.has(ctx.path)) {
      return next()
    }
    ctx.set(served.headers)
    ctx.body = served.body // Koa answers HEAD without the body itself
    ctx.type = 'application/json'
    return undefined
  }
}

export { AuthError, isAuthError } from '../src/errors.js'
export type { ResourceMetadataDocument, ResourceMetadataOptions } from '../src/resource/metadata.js'
export type { AuthResult, Verifier, VerifierOptions } from '../src/types.js'
export type { GuardOptions, OptionsOrVerifier } from '../src/adapter-support.js'
export type {
  AuthLevelOptions,
  ClaimPredicate,
  ScopeArguments,
  ScopeOptions,
} from '../src/guards/guards.js'
