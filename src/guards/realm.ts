/**
 * The realm (and challenge settings) a guard's refusal uses. A route guard (`requireScopes`, `requireClaims`) is built
 * without a verifier, so it learns the realm from the verifier that ran before it: the verifier
 * remembers its realm once per verified token (keyed by the payload object, which cache hits
 * share) and once per anonymous request it let through (keyed by the request). Module-private
 * weak maps: nothing is added to results or requests, and nothing outlives them.
 */
import type { Realm } from '../errors.js'
import type { AuthResult } from '../types.js'

const realms = new WeakMap<object, Realm>()

/**
 * The realm of a guard that runs with no verifier before it (a route set up without
 * `requireJwt`): its 401 still needs one.
 */
export const UNKNOWN_VERIFIER_REALM = 'api'

/** Record that `realm`'s verifier produced `key` (a verified payload, or an anonymous request). */
export function rememberRealm(key: object, realm: Realm): void {
  realms.set(key, realm)
}

/** The realm for a guard's refusal of `auth` (or of the anonymous `request`). */
export function realmFor(auth: AuthResult | null | undefined, request: object): Realm {
  return realms.get(auth ? auth.payload : request) ?? UNKNOWN_VERIFIER_REALM
}
