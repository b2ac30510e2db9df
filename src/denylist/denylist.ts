/**
 * (3) The revocation check, run after every successful verification (cache hits included).
 * A denylist that throws, rejects or does not answer within the timeout fails the request with
 * 503: an outage never lets a possibly revoked token through.
 */
import { withDeadline } from '../deadline.js'
import { invalidToken, unavailable, type Realm } from '../errors.js'
import type { AuthResult, Denylist } from '../types.js'

/** Retry-After for a failing denylist, in seconds. */
const DENYLIST_RETRY_AFTER = 1

/**
 * Resolve to `result` unless `denylist` says the token is revoked (401 `revoked`) or cannot say
 * (503). Synchronous when the denylist answers synchronously, which is how jwt-gate's Redis
 * denylist answers from its local replica.
 */
export function checkDenylist(
  denylist: Denylist,
  result: AuthResult,
  timeoutMs: number,
  realm: Realm,
): AuthResult | Promise<AuthResult> {
  let answer: boolean | Promise<boolean>
  try {
    answer = denylist.isRevoked(result.payload, result.header)
  } catch (error) {
    throw unavailable(realm, 'denylist_unavailable', DENYLIST_RETRY_AFTER, error)
  }
  if (typeof answer === 'boolean') return decide(answer, result, realm)
  const deadline = () => new Error(`the denylist did not answer in ${timeoutMs} ms`)
  return withDeadline(Promise.resolve(answer), timeoutMs, deadline).then(
    (revoked) => decide(revoked, result, realm),
    (error: unknown) => {
      throw unavailable(realm, 'denylist_unavailable', DENYLIST_RETRY_AFTER, error)
    },
  )
}

function decide(revoked: unknown, result: AuthResult, realm: Realm): AuthResult {
  if (revoked === false) return result
  if (revoked === true) throw invalidToken(realm, 'revoked', 'The token has been revoked.')
  // Anything but a boolean is a broken denylist: refuse rather than guess.
  throw unavailable(
    realm,
    'denylist_unavailable',
    DENYLIST_RETRY_AFTER,
    new TypeError('denylist.isRevoked returned neither true nor false'),
  )
}
