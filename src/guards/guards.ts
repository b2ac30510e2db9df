/**
 * (5) Per-route checks on an already verified token, written once and wrapped by each adapter:
 * scopes (RFC 6749 §3.3 `scope`, or an `scp` array or string, or any claim a provider puts its
 * roles in), the authentication level (RFC 9470 `acr` and `auth_time`) and an arbitrary claim
 * predicate.
 */
import {
  claimCheckFailed,
  insufficientAuthLevel,
  insufficientScope,
  noToken,
  type AuthError,
} from '../errors.js'
import { publishRejection } from '../events.js'
import { toSeconds } from '../options/duration.js'
import type { AuthResult, Duration, JwtPayload } from '../types.js'
import { realmFor } from './realm.js'

/** Stands for "no request known" when a guard is called outside an adapter. */
const NO_REQUEST = Object.freeze({})

/** Options of `requireScopes`, given as its last argument. */
export interface ScopeOptions {
  /** Any one of the listed scopes is enough (default: all are required). */
  any?: boolean
  /**
   * Read the granted values from this claim instead of `scope` and `scp`: `'permissions'`
   * (Auth0 RBAC), `'roles'` (Microsoft Entra), or a dotted path into nested objects such as
   * `'realm_access.roles'` or `'resource_access.my-client.roles'` (Keycloak). The claim may be an
   * array of strings or a space-separated string; matches are exact. A top-level claim whose
   * name itself holds dots (`'https://example.com/roles'`, Auth0's namespaced claims) is read as
   * one name when the token has it; an array (`['resource_access', 'my.client', 'roles']`)
   * names each step literally.
   */
  claim?: string | readonly string[]
}

/** Arguments of `requireScopes`: scope names or arrays of them, then optionally `{ any }`. */
export type ScopeArguments = Array<string | readonly string[] | ScopeOptions>

/** A parsed scope requirement. */
export interface ScopeRequirement {
  readonly scopes: readonly string[]
  readonly any: boolean
  /** Where the granted values are read; undefined: `scope` and `scp`. */
  readonly claim: ClaimPath | undefined
}

/** A claim to read: its name as written, and the steps of a path into nested objects. */
export interface ClaimPath {
  /** The name as given (for a string, also tried as one top-level claim first). */
  readonly name: string | undefined
  readonly steps: readonly string[]
}

/** A claim predicate for `requireClaims`. */
export type ClaimPredicate = (payload: Readonly<JwtPayload>) => boolean

/** Parse `requireScopes` arguments once, at route definition. Throws `TypeError` if unusable. */
export function parseScopes(args: ScopeArguments): ScopeRequirement {
  let any = false
  let claim: ClaimPath | undefined
  const scopes: string[] = []
  args.forEach((arg, index) => {
    if (typeof arg === 'string') scopes.push(arg)
    else if (Array.isArray(arg)) scopes.push(...(arg as readonly string[]))
    else if (typeof arg === 'object' && arg !== null && index === args.length - 1) {
      const options = arg as ScopeOptions
      any = options.any === true
      if (options.claim !== undefined) claim = parseClaimPath(options.claim)
    } else {
      throw new TypeError('requireScopes takes scope names, then optionally { any, claim }')
    }
  })
  if (scopes.length === 0) throw new TypeError('requireScopes needs at least one scope')
  for (const scope of scopes) {
    if (typeof scope !== 'string' || scope === '' || /\s/.test(scope)) {
      throw new TypeError(`requireScopes: "${String(scope)}" is not a scope name`)
    }
  }
  return { scopes, any, claim }
}

/** Parse `claim` of `requireScopes`: a name, a dotted path, or an array of literal steps. */
function parseClaimPath(claim: unknown): ClaimPath {
  const bad = () =>
    new TypeError(
      'requireScopes: claim must be a claim name, a dotted path such as "realm_access.roles", or an array of names',
    )
  if (typeof claim === 'string') {
    const steps = claim.split('.')
    if (steps.some((step) => step === '')) throw bad()
    return { name: claim, steps }
  }
  if (
    !Array.isArray(claim) ||
    claim.length === 0 ||
    !claim.every((step) => typeof step === 'string' && step !== '')
  ) {
    throw bad()
  }
  return { name: undefined, steps: [...(claim as string[])] }
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
  const granted =
    required.claim === undefined
      ? grantedScopes(auth.payload)
      : grantedValues(readClaim(auth.payload, required.claim))
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
  return grantedValues(payload.scope, grantedValues(payload.scp))
}

/** Values of an array of strings or a space-separated string; anything else grants nothing. */
function grantedValues(value: unknown, granted = new Set<string>()): Set<string> {
  if (typeof value === 'string') {
    for (const item of value.split(' ')) if (item !== '') granted.add(item)
  } else if (Array.isArray(value)) {
    for (const item of value) if (typeof item === 'string') granted.add(item)
  }
  return granted
}

/**
 * The value at `claim` in the payload, or undefined. Own properties of plain objects only, so a
 * path such as `constructor.name` or `__proto__` never reaches anything the token did not carry.
 */
function readClaim(payload: Readonly<JwtPayload>, claim: ClaimPath): unknown {
  if (claim.name !== undefined && Object.hasOwn(payload, claim.name)) return payload[claim.name]
  let value: unknown = payload
  for (const step of claim.steps) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
    if (!Object.hasOwn(value, step)) return undefined
    value = (value as Record<string, unknown>)[step]
  }
  return value
}

// ---------------------------------------------------------------------------------------------
// Authentication level (RFC 9470)

/** Options of `requireAuthLevel`: at least one of `acr` and `maxAge`. */
export interface AuthLevelOptions {
  /**
   * Accepted authentication context class references: the token's `acr` claim must be exactly
   * one of them (for example `['urn:example:mfa']`, or `['phr', 'phrh']`).
   */
  acr?: readonly string[]
  /**
   * Longest time since the user last authenticated, by the token's `auth_time` (seconds, or a
   * string such as `'5m'`). A token without `auth_time` fails this check.
   */
  maxAge?: Duration
}

/** A parsed authentication-level requirement. */
export interface AuthLevelRequirement {
  readonly acr: ReadonlySet<string> | undefined
  /** Whole seconds. */
  readonly maxAge: number | undefined
  /** The RFC 9470 auth-params every refusal carries: `acr_values`, `max_age`. */
  readonly params: Readonly<Record<string, string>>
}

/** Parse `requireAuthLevel` options once, at route definition. Throws `TypeError` if unusable. */
export function parseAuthLevel(options: unknown): AuthLevelRequirement {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError("requireAuthLevel needs options such as { acr: ['urn:example:mfa'] }")
  }
  const { acr, maxAge, ...rest } = options as AuthLevelOptions
  const unknown = Object.keys(rest)[0]
  if (unknown !== undefined) {
    throw new TypeError(`requireAuthLevel: unknown option "${unknown}" (acr, maxAge)`)
  }
  if (acr === undefined && maxAge === undefined) {
    throw new TypeError('requireAuthLevel needs acr, maxAge or both')
  }
  const params: Record<string, string> = {}
  let accepted: Set<string> | undefined
  if (acr !== undefined) {
    if (
      !Array.isArray(acr) ||
      acr.length === 0 ||
      !acr.every((value) => typeof value === 'string' && value !== '' && !/\s/.test(value))
    ) {
      throw new TypeError('requireAuthLevel: acr must be a non-empty array of acr values')
    }
    accepted = new Set(acr)
    params.acr_values = acr.join(' ')
  }
  let maxAgeSeconds: number | undefined
  if (maxAge !== undefined) {
    maxAgeSeconds = Math.floor(toSeconds(maxAge, 'requireAuthLevel: maxAge'))
    if (maxAgeSeconds < 0) throw new TypeError('requireAuthLevel: maxAge must not be negative')
    params.max_age = String(maxAgeSeconds)
  }
  return { acr: accepted, maxAge: maxAgeSeconds, params }
}

/**
 * Throws 401 `insufficient_user_authentication` (RFC 9470 §3) unless the token's `acr` is one
 * of the accepted values and its `auth_time` is recent enough (401 without `error=` when there is
 * no `auth` at all). The challenge names everything the route requires, so the client can ask
 * the authorization server for a token that satisfies all of it at once.
 */
export function checkAuthLevel(
  auth: AuthResult | null | undefined,
  required: AuthLevelRequirement,
  request: object = NO_REQUEST,
  now: number = Math.floor(Date.now() / 1000),
): void {
  if (!auth) refuse(noToken(realmFor(auth, request)))
  const message = authLevelShortfall(auth.payload, required, now)
  if (message !== undefined) {
    refuse(insufficientAuthLevel(realmFor(auth, request), message, required.params))
  }
}

/** What the token lacks for `required`, as a sentence; undefined when nothing. */
function authLevelShortfall(
  payload: Readonly<JwtPayload>,
  required: AuthLevelRequirement,
  now: number,
): string | undefined {
  const { acr, auth_time: authTime } = payload
  if (required.acr !== undefined && !(typeof acr === 'string' && required.acr.has(acr))) {
    return 'The token\'s authentication context ("acr") is not one this route accepts.'
  }
  if (required.maxAge === undefined) return undefined
  if (typeof authTime !== 'number' || !Number.isFinite(authTime)) {
    return 'The token has no "auth_time", so the age of the authentication cannot be checked.'
  }
  if (now - authTime > required.maxAge) {
    return 'The user authenticated too long ago for this route ("auth_time").'
  }
  return undefined
}
