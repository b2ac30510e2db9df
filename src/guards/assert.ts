/**
 * (5) The route checks for code that has no adapter (a Fetch handler in Next.js, Bun, Deno,
 * Cloudflare Workers): the same scope and claim checks the adapters' `requireScopes` and
 * `requireClaims` run, called with the verified result and throwing the same `AuthError`.
 */
import type { AuthResult } from '../types.js'
import {
  checkClaimPredicate,
  checkPredicate,
  checkScopes,
  parseScopes,
  type ClaimPredicate,
  type ScopeOptions,
} from './guards.js'

/** Options of `assertScopes` and `assertClaims`. */
export interface AssertOptions {
  /**
   * The request the verifier saw: with no `auth` (an optional token was absent), the 401 then
   * carries that verifier's realm.
   */
  request?: object
}

/**
 * Throw unless `auth` grants `scopes` (from the `scope` claim, or `scp`): all of them, or any one
 * with `{ any: true }`. 403 `insufficient_scope` with `scope="…"` in the challenge; 401 when there
 * is no `auth`. What `requireScopes` checks in the adapters.
 *
 * @example
 * ```ts
 * const auth = await verifier.verifyRequest(request)
 * assertScopes(auth, ['read:orders'])
 * ```
 */
export function assertScopes(
  auth: AuthResult | null | undefined,
  scopes: string | readonly string[],
  options: ScopeOptions & AssertOptions = {},
): void {
  checkScopes(auth, parseScopes([scopes, options]), options.request)
}

/**
 * Throw 403 `invalid_token` unless `predicate(payload)` returns exactly `true` (a throwing
 * predicate refuses too); 401 when there is no `auth`. What `requireClaims` checks in the
 * adapters.
 */
export function assertClaims(
  auth: AuthResult | null | undefined,
  predicate: ClaimPredicate,
  options: AssertOptions = {},
): void {
  checkClaimPredicate(auth, checkPredicate(predicate), options.request)
}
