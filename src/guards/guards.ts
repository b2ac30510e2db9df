/**
 * (5) Per-route checks on an already verified token, written once and wrapped by each adapter:
 * scopes (RFC 6749 §3.3 `scope`, or an `scp` array or string) and an arbitrary claim predicate.
 */
import { claimCheckFailed, insufficientScope, noToken, type AuthError } from '../errors.js'
import { publishRejection } from '../events.js'
import type { AuthResult, JwtPayload } from '../types.js'
import { realmFor } from './realm.js'

/** Stands for "no request known" when a guard is called outside an adapter. */
const NO_REQUEST = Object.freeze({})

/** Options of `requireScopes`, given as its last argument. */
export interface ScopeOptions {
  /** Any one of the listed scopes is enough (default: all are required). */
  any?: boolean
}

/** Arguments of `requireScopes`: scope names or arrays of them, then optionally `{ any }`. */
export type ScopeArguments = Array<string | readonly string[] | ScopeOptions>

/** A parsed scope requirement. */
export interface ScopeRequirement {
  readonly scopes: readonly string[]
  readonly any: boolean
}

/** A claim predicate for `requireClaims`. */
export type ClaimPredicate = (payload: Readonly<JwtPayload>) => boolean

/** Parse `requireScopes` arguments once, at route definition. Throws `TypeError` if unusable. */
export function parseScopes(args: ScopeArguments): ScopeRequirement {
  let any = false
  const scopes: string[] = []
  args.forEach((arg, index) => {
    if (typeof arg === 'string') scopes.push(arg)
    else if (Array.isArray(arg)) scopes.push(...(arg as readonly string[]))
    else if (typeof arg === 'object' && arg !== null && index === args.length - 1) {
      any = (arg as ScopeOptions).any === true
    } else throw new TypeError('requireScopes takes scope names, then optionally { any: true }')
  })
  if (scopes.length === 0) throw new TypeError('requireScopes needs at least one scope')
  for (const scope of scopes) {
    if (typeof scope !== 'string' || scope === '' || /\s/.test(scope)) {
      throw new TypeError(`requireScopes: "${String(scope)}" is not a scope name`)
    }
  }
  return { scopes, any }
}

/**
 * Throws 403 `insufficient_scope` unless `auth` grants the required scopes (401 when there is no
 * `auth`). `request` is the Node request the verifier saw, so an anonymous refusal names its realm.
 */
export function checkScopes(
  auth: AuthResult | null | undefined,
  required: ScopeRequirement,
  request: object = NO_REQUEST,
): void {
  if (!auth) refuse(noToken(realmFor(auth, request)))
  const granted = grantedScopes(auth.payload)
  const ok = required.any
    ? required.scopes.some((scope) => granted.has(scope))
    : required.scopes.every((scope) => granted.has(scope))
  if (!ok) refuse(insufficientScope(realmFor(auth, request), required.scopes))
}

/**
 * Throws 403 `invalid_token` unless `predicate(payload)` is exactly `true` (401 when there is no
 * `auth`). `request` as for `checkScopes`.
 */
export function checkClaimPredicate(
  auth: AuthResult | null | undefined,
  predicate: ClaimPredicate,
  request: object = NO_REQUEST,
): void {
  if (!auth) refuse(noToken(realmFor(auth, request)))
  let ok: unknown
  try {
    ok = predicate(auth.payload)
  } catch {
    ok = false // a throwing predicate refuses: fail closed, never a 500
  }
  if (ok !== true) refuse(claimCheckFailed(realmFor(auth, request)))
}

/** Guards' refusals count in `jwt-gate:rejected` like the verifier's. */
function refuse(error: AuthError): never {
  publishRejection(error)
  throw error
}

/** Check that a `requireClaims` argument is a function, at route definition. */
export function checkPredicate(predicate: unknown): ClaimPredicate {
  if (typeof predicate !== 'function') {
    throw new TypeError('requireClaims needs a function (payload) => boolean')
  }
  return predicate as ClaimPredicate
}

/** Scopes granted by `scope` (space-separated) and `scp` (array or space-separated string). */
function grantedScopes(payload: Readonly<JwtPayload>): Set<string> {
  const granted = new Set<string>()
  const add = (value: unknown) => {
    if (typeof value === 'string') {
      for (const scope of value.split(' ')) if (scope !== '') granted.add(scope)
    } else if (Array.isArray(value)) {
      for (const scope of value) if (typeof scope === 'string') granted.add(scope)
    }
  }
  add(payload.scope)
  add(payload.scp)
  return granted
}
