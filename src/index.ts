/**
 * `jwt-gate`: the framework-neutral core. `createVerifier`, `AuthError`, and the public types.
 * Framework guards live in `jwt-gate/express`, `jwt-gate/koa` and `jwt-gate/fastify`; the Redis
 * denylist in `jwt-gate/redis`; the test issuer in `jwt-gate/testing`.
 *
 * @packageDocumentation
 */
export { createVerifier } from './verifier.js'
export { AuthError, isAuthError } from './errors.js'
export { assertClaims, assertScopes, type AssertOptions } from './guards/assert.js'
export type { ClaimPredicate, ScopeOptions } from './guards/guards.js'
export type { AuthErrorCode, AuthErrorReason, AuthErrorStatus } from './errors.js'
export { CHANNELS, VERIFICATION_TRACING_CHANNEL, subscribe } from './events.js'
export type {
  DenylistEvent,
  EventMap,
  VerificationContext,
  JwksEvent,
  JwksTrigger,
  RejectedEvent,
  VerifiedEvent,
} from './events.js'
export type {
  Algorithm,
  AuthResult,
  BaseVerifierOptions,
  CommonVerifierOptions,
  CacheOptions,
  ClientCertificate,
  CsrfOptions,
  DpopOptions,
  Denylist,
  DiscoveryKeySource,
  Duration,
  HeadersLike,
  IssuerResolver,
  IssuerRules,
  IssuerSettings,
  JsonWebKey,
  JsonWebKeySet,
  JwtHeader,
  JwtPayload,
  LocalKeySource,
  MtlsOptions,
  MultiIssuerOptions,
  NodeHeaders,
  RemoteKeyOptions,
  RemoteKeySource,
  ReplayStore,
  RequestLike,
  SecretKeySource,
  TokenLocation,
  Verifier,
  VerifierOptions,
  VerifyRequestOptions,
} from './types.js'
