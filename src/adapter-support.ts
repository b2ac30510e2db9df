/**
 * What every framework adapter needs before it translates: turn "options or a verifier" into a
 * verifier, and settle `credentialsRequired`. Kept in the core so each adapter stays a thin
 * translation layer.
 */
import { createVerifier } from './verifier.js'
import { authenticatorOf } from './authenticate.js'
import type { AuthResult, RequestLike, Verifier, VerifierOptions } from './types.js'

/** Options a guard takes besides (or inside) the verifier options. */
export interface GuardOptions {
  /**
   * With `false`, a request that carries no token passes with no `auth` attached; a request
   * with a bad token still fails. Default `true` (or the verifier options' value).
   */
  credentialsRequired?: boolean
}

/** Options or an existing verifier, as `requireJwt` accepts them. */
export type OptionsOrVerifier = (VerifierOptions & GuardOptions) | Verifier

/** A verifier plus the guard's `credentialsRequired`, and its fast path bound to both. */
export interface ResolvedGuard {
  verifier: Verifier
  credentialsRequired: boolean
  /**
   * Verify one request with this guard's settings: the result (null when an optional token is
   * absent), a promise of it, or a thrown `AuthError`. Synchronous whenever it can be.
   */
  authenticate: (request: RequestLike) => AuthResult | null | Promise<AuthResult | null>
}

/** Whether `value` is a jwt-gate verifier (from any copy of the package). */
export function isVerifier(value: unknown): value is Verifier {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Verifier).verifyRequest === 'function' &&
    typeof (value as Verifier).verify === 'function' &&
    typeof (value as Verifier).close === 'function'
  )
}

/** Build (or take) the verifier and settle `credentialsRequired` for one guard. */
export function resolveGuard(
  optionsOrVerifier: OptionsOrVerifier,
  guardOptions: GuardOptions = {},
): ResolvedGuard {
  if (typeof guardOptions !== 'object' || guardOptions === null) {
    throw new TypeError('guard options must be an object such as { credentialsRequired: false }')
  }
  const verifier = isVerifier(optionsOrVerifier)
    ? optionsOrVerifier
    : createVerifier(optionsOrVerifier)
  const credentialsRequired = guardOptions.credentialsRequired ?? verifier.credentialsRequired
  if (typeof credentialsRequired !== 'boolean') {
    throw new TypeError('credentialsRequired must be true or false')
  }
  const fastPath = authenticatorOf(verifier)
  return {
    verifier,
    credentialsRequired,
    authenticate: (request) => fastPath(request, credentialsRequired),
  }
}
