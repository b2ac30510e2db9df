/**
 * `jwt-gate/fastify`: a Fastify 4 and 5 plugin.
 *
 * Registering it decorates `request.auth` (null until verified) and `app.requireJwt`, an
 * `onRequest` hook to add globally or per route. `requireScopes` and `requireClaims` are
 * `preHandler`s. Failures are thrown as `AuthError`: Fastify's error handler answers with its
 * `statusCode`, its `headers` (`WWW-Authenticate`, `Retry-After`) and the usual JSON error body.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify'
 * import jwtGate, { requireScopes } from 'jwt-gate/fastify'
 *
 * const app = Fastify()
 * await app.register(jwtGate, { issuer: 'https://id.example.com/', audience: 'https://api.example.com' })
 * app.addHook('onRequest', app.requireJwt)
 * app.get('/orders', { preHandler: requireScopes('read:orders') }, (request) => request.auth?.payload)
 * ```
 */
import type {
  FastifyInstance,
  FastifyPluginCallback,
  onRequestHookHandler,
  preHandlerHookHandler,
} from 'fastify'
import {
  isVerifier,
  resolveGuard,
  resolveMetadata,
  type GuardOptions,
  type OptionsOrVerifier,
} from '../src/adapter-support.js'
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

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified token, set by `app.requireJwt`; null when not (yet) verified. */
    auth: AuthResult | null
  }
  interface FastifyInstance {
    /** jwt-gate's `onRequest` hook: verify the token and set `request.auth`. */
    requireJwt: onRequestHookHandler
    /** The verifier behind `requireJwt`. */
    jwtVerifier: Verifier
  }
}

/** Plugin options: the verifier options, or `{ verifier }` to share one; plus guard options. */
export type JwtGatePluginOptions = (VerifierOptions | { verifier: Verifier }) & GuardOptions

// Register options Fastify itself may hand to every plugin; they are not verifier options.
const FASTIFY_REGISTER_OPTIONS = ['prefix', 'logLevel', 'logSerializers'] as const

const plugin: FastifyPluginCallback<JwtGatePluginOptions> = (app, options, done) => {
  const {
    verifier: given,
    credentialsRequired,
    ...rest
  } = options as unknown as Record<string, unknown>
  for (const name of FASTIFY_REGISTER_OPTIONS) delete rest[name]
  const ownsVerifier = !isVerifier(given)
  let hook: ReturnType<typeof requireJwt>
  try {
    hook = requireJwt(isVerifier(given) ? given : (rest as unknown as VerifierOptions), {
      credentialsRequired: credentialsRequired as boolean | undefined,
    })
  } catch (error) {
    // A bad option: reject register()/ready() with its TypeError. Thrown here instead, it
    // escaped avvio as an uncaught exception and ready() only timed out.
    done(error as Error)
    return
  }
  const { verifier } = hook

  app.decorateRequest('auth', null)
  app.decorate('requireJwt', hook)
  app.decorate('jwtVerifier', verifier)
  // A verifier built here is closed with the app; a shared one belongs to its owner.
  if (ownsVerifier) app.addHook('onClose', (_instance: FastifyInstance) => verifier.close())
  done()
}

// What fastify-plugin would set, written out so the plugin needs no runtime dependency: skip
// encapsulation (the decorators reach the whole app), a name, and the supported Fastify range.
Object.assign(plugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'jwt-gate',
  [Symbol.for('plugin-meta')]: { name: 'jwt-gate', fastify: '4.x || 5.x' },
})

/** The plugin. `await app.register(jwtGate, options)`. */
export default plugin

/** The same plugin as a named export. */
export { plugin as jwtGate }

/** An `onRequest` hook that verifies the token; `.verifier` is the verifier it uses. */
export type JwtHook = onRequestHookHandler & { readonly verifier: Verifier }

/**
 * Build an `onRequest` hook without the plugin's decorator: for a route that needs another
 * verifier or `credentialsRequired: false`. Register the plugin once as well, so `request.auth`
 * is declared on every request.
 */
export function requireJwt(
  optionsOrVerifier: OptionsOrVerifier,
  guardOptions?: GuardOptions,
): JwtHook {
  const { verifier, authenticate } = resolveGuard(optionsOrVerifier, guardOptions)
  // Callback style (not async): the same function fits Fastify 4 and 5 hook typings, and a
  // synchronous answer calls done() without a promise.
  const hook: onRequestHookHandler = function requireJwt(request, _reply, done) {
    let auth: ReturnType<typeof authenticate>
    try {
      auth = authenticate(request.raw)
    } catch (error) {
      return done(error as Error)
    }
    if (!(auth instanceof Promise)) {
      request.auth = auth
      return done()
    }
    auth.then((verified) => {
      request.auth = verified
      done()
    }, done)
  }
  return Object.assign(hook, { verifier })
}

/**
 * A `preHandler` requiring scopes from the `scope` (or `scp`) claim: all of them, or any with a
 * last `{ any: true }`; `{ claim: 'realm_access.roles' }` reads another claim (roles,
 * permissions). Fails with 403 `insufficient_scope`.
 */
export function requireScopes(...scopes: ScopeArguments): preHandlerHookHandler {
  const required = parseScopes(scopes)
  return function requireScopes(request, _reply, done) {
    try {
      checkScopes(request.auth, required, request.raw)
    } catch (error) {
      return done(error as Error)
    }
    done()
  }
}

/**
 * A `preHandler` requiring a recent or strong enough authentication (RFC 9470 step-up): the
 * token's `acr` one of `acr`, its `auth_time` within `maxAge`. Fails with 401
 * `insufficient_user_authentication`, whose challenge carries `acr_values` and/or `max_age`.
 */
export function requireAuthLevel(options: AuthLevelOptions): preHandlerHookHandler {
  const required = parseAuthLevel(options)
  return function requireAuthLevel(request, _reply, done) {
    try {
      checkAuthLevel(request.auth, required, request.raw)
    } catch (error) {
      return done(error as Error)
    }
    done()
  }
}

/** A `preHandler` requiring `predicate(payload)` to be true. Fails with 403 `invalid_token`. */
export function requireClaims(predicate: ClaimPredicate): preHandlerHookHandler {
  const check = checkPredicate(predicate)
  return function requireClaims(request, _reply, done) {
    try {
      checkClaimPredicate(request.auth, check, request.raw)
    } catch (error) {
      return done(error as Error)
    }
    done()
  }
}

/**
 * A plugin serving the API's OAuth 2.0 Protected Resource Metadata (RFC 9728) at
 * `/.well-known/oauth-protected-resource` and its path-suffixed form for the verifier's
 * `resource` (`https://api.example.com/mcp` → `/.well-known/oauth-protected-resource/mcp`), GET
 * and HEAD. Register it without a `prefix`: the paths are fixed by the RFC.
 *
 * @param verifierOrOptions the verifier (or its options) whose `resource`, token location and
 *   DPoP settings the document describes.
 * @param metadata `authorizationServers`, `scopesSupported`, … and `extra` members.
 * @example
 * ```ts
 * await app.register(protectedResourceMetadata(app.jwtVerifier, { authorizationServers: [idp] }))
 * ```
 */
export function protectedResourceMetadata(
  verifierOrOptions: OptionsOrVerifier,
  metadata?: ResourceMetadataOptions,
): FastifyPluginCallback {
  const served = resolveMetadata(verifierOrOptions, metadata)
  const metadataPlugin: FastifyPluginCallback = (app, _options, done) => {
    for (const url of served.paths) {
      app.get(url, (_request, reply) => {
        void reply.headers(served.headers).send(served.body)
      })
    }
    done()
  }
  Object.assign(metadataPlugin, {
    [Symbol.for('fastify.display-name')]: 'jwt-gate-resource-metadata',
  })
  return metadataPlugin
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
