/**
 * The adapters' fast path into a verifier: the same work as `verifyRequest`, but answered
 * synchronously whenever nothing waits for I/O (a cache hit, a known key, a synchronous
 * denylist), so a guard can call `next()` without a promise and a microtask per request.
 *
 * It hangs off the verifier under a global symbol; a verifier without it (another copy of the
 * package, or your own `Verifier`) is driven through the public `verifyRequest` instead.
 */
import type { AuthResult, RequestLike, Verifier } from './types.js'

/** Where a verifier keeps its synchronous-when-possible entry point. */
export const AUTHENTICATE = Symbol.for('jwt-gate.authenticate')

/**
 * Verify one request: the result (null without a token when credentials are optional), a
 * promise of it, or a thrown `AuthError`.
 */
export type Authenticate = (
  request: RequestLike,
  credentialsRequired: boolean,
) => AuthResult | null | Promise<AuthResult | null>

/** The fast path of `verifier`, or an equivalent built on its public `verifyRequest`. */
export function authenticatorOf(verifier: Verifier): Authenticate {
  const own = (verifier as { [AUTHENTICATE]?: Authenticate })[AUTHENTICATE]
  if (typeof own === 'function') return own
  return (request, credentialsRequired) => verifier.verifyRequest(request, { credentialsRequired })
}
