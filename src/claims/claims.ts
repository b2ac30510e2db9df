/**
 * (2) The JWT Claims Set rules (RFC 7519 §4.1, RFC 9068 §4), run on every token, in two steps
 * around the choice of issuer:
 *
 * - `checkClaimShapes`, before: every registered claim that is present has its registered type,
 *   whether or not a rule uses it (an array `iss`, a string `exp` or a non-finite number are
 *   refused, never skipped), and `exp`, `iss`, `aud` and the required claims are present.
 * - `checkAudienceAndTime`, after: the audience and time rules of the issuer the token claims.
 *   Time is whole seconds, as jose counts it, with the issuer's `clockTolerance` applied to
 *   `exp`, `nbf` and `iat`.
 *
 * Both run before the key lookup: a token that would fail them anyway must not make us fetch a
 * JWKS for its `kid`.
 */
import { invalidToken, type AuthErrorReason, type Realm } from '../errors.js'
import type { JwtPayload } from '../types.js'

/** What the claim rules need from the verifier's options. */
export interface ClaimOptions {
  maxTokenAge: number | undefined
  requiredClaims: readonly string[]
  realm: Realm
  /**
   * The `cnf` confirmation methods (RFC 7800) this verifier checks or was told to ignore; a
   * token bound by any other `cnf.jkt` / `cnf["x5t#S256"]` is refused.
   */
  acceptedBindings: ReadonlySet<BindingMethod>
  /** `'rfc9068'`: the token must be a JWT access token, never an OIDC ID token. */
  profile?: 'rfc9068' | undefined
}

/** The key-binding confirmation methods jwt-gate knows: DPoP (RFC 9449), mTLS (RFC 8705). */
export type BindingMethod = 'jkt' | 'x5t#S256'

/** Every binding method, in the order they are reported. */
export const BINDING_METHODS: readonly BindingMethod[] = ['jkt', 'x5t#S256']

/** The audience and time rules of one trusted issuer. */
export interface IssuerClaimRules {
  readonly audiences: readonly string[]
  /** Seconds. */
  readonly clockTolerance: number
}

/**
 * The time window a verified token stays valid in, in seconds since the epoch, so the token
 * cache can re-check a hit without re-reading claims.
 */
export interface ValidityWindow {
  /** Valid while `now >= notBefore`. */
  notBefore: number
  /** Valid while `now < expiresBefore`. */
  expiresBefore: number
}

/** Types and presence of the claims (see the module comment). */
export function checkClaimShapes(payload: JwtPayload, options: ClaimOptions): void {
  const fail = (reason: AuthErrorReason, message: string) =>
    invalidToken(options.realm, reason, message)

  // Types of every registered claim that is present.
  const { iss, sub, aud, exp, nbf, iat, jti } = payload
  if (iss !== undefined && typeof iss !== 'string')
    throw fail('invalid_claim', 'The "iss" claim must be a string.')
  if (sub !== undefined && typeof sub !== 'string')
    throw fail('invalid_claim', 'The "sub" claim must be a string.')
  if (jti !== undefined && typeof jti !== 'string')
    throw fail('invalid_claim', 'The "jti" claim must be a string.')
  if (aud !== undefined && !isAudience(aud)) {
    throw fail('invalid_claim', 'The "aud" claim must be a string or an array of strings.')
  }
  for (const [name, value] of [
    ['exp', exp],
    ['nbf', nbf],
    ['iat', iat],
  ] as const) {
    if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value))) {
      throw fail('invalid_claim', `The "${name}" claim must be a number of seconds.`)
    }
  }
  const { scope, scp } = payload
  if (scope !== undefined && typeof scope !== 'string') {
    throw fail('invalid_claim', 'The "scope" claim must be a space-separated string.')
  }
  if (scp !== undefined && typeof scp !== 'string' && !isStringArray(scp)) {
    throw fail('invalid_claim', 'The "scp" claim must be a string or an array of strings.')
  }

  checkBinding(payload.cnf, options, fail)

  // Presence.
  if (exp === undefined)
    throw fail('missing_claim', 'The token has no "exp" claim; it must expire.')
  if (iss === undefined) throw fail('missing_claim', 'The token has no "iss" claim.')
  if (aud === undefined) throw fail('missing_claim', 'The token has no "aud" claim.')
  for (const claim of options.requiredClaims) {
    if (!Object.hasOwn(payload, claim)) {
      throw fail('missing_claim', `The token has no "${claim}" claim, which is required.`)
    }
  }
  if (options.profile === 'rfc9068') checkAccessTokenProfile(payload, options.realm)
}

/** Claims only an OIDC ID token carries (OpenID Connect Core §2, §3.3.2.11). */
const ID_TOKEN_CLAIMS = ['nonce', 'at_hash', 'c_hash', 's_hash'] as const

/**
 * RFC 9068 on top of the required claims (checked above): `client_id` is a string, and the
 * token is not an OIDC ID token presented as an access token (RFC 9068 §4, §6): no ID-token-only
 * claim, and an audience that is not the client's own id (an ID token's audience is its client).
 */
function checkAccessTokenProfile(payload: JwtPayload, realm: Realm): void {
  const clientId = payload.client_id
  if (typeof clientId !== 'string') {
    throw invalidToken(realm, 'invalid_claim', 'The "client_id" claim must be a string.')
  }
  const idTokenClaim = ID_TOKEN_CLAIMS.find((claim) => Object.hasOwn(payload, claim))
  const aud = payload.aud!
  if (
    idTokenClaim !== undefined ||
    (typeof aud === 'string' ? aud === clientId : aud.includes(clientId))
  ) {
    throw invalidToken(
      realm,
      'id_token',
      'The token is an OpenID Connect ID token, not an access token.',
      undefined,
      { received: idTokenClaim ?? 'aud = client_id' },
    )
  }
}

/**
 * A token bound to a key or certificate (`cnf.jkt`, `cnf["x5t#S256"]`) only means something when
 * the binding is checked: accepted as a plain bearer token, a stolen bound token would work
 * without the key it is bound to — the very theft the binding exists to stop.
 */
function checkBinding(
  cnf: unknown,
  options: ClaimOptions,
  fail: (reason: AuthErrorReason, message: string) => Error,
): void {
  if (cnf === undefined) return
  if (typeof cnf !== 'object' || cnf === null || Array.isArray(cnf)) {
    throw fail('invalid_claim', 'The "cnf" claim must be an object.')
  }
  for (const method of BINDING_METHODS) {
    if (Object.hasOwn(cnf, method) && !options.acceptedBindings.has(method)) {
      throw fail(
        'unchecked_binding',
        `The token is bound to a ${method === 'jkt' ? 'DPoP key' : 'client certificate'} (cnf.${method}), which this API does not check.`,
      )
    }
  }
}

/**
 * The audience and time rules of the token's issuer at time `now` (whole seconds); the claims'
 * shapes were checked before. Returns the token's validity window.
 */
export function checkAudienceAndTime(
  payload: JwtPayload,
  rules: IssuerClaimRules,
  options: ClaimOptions,
  now: number,
): ValidityWindow {
  const { realm } = options
  const tolerance = rules.clockTolerance
  const fail = (reason: AuthErrorReason, message: string) => invalidToken(realm, reason, message)
  const { aud, exp, nbf, iat } = payload as {
    aud: string | string[]
    exp: number
    nbf?: number
    iat?: number
  }

  if (
    !rules.audiences.some((expected) =>
      typeof aud === 'string' ? aud === expected : aud.includes(expected),
    )
  ) {
    throw invalidToken(
      realm,
      'wrong_audience',
      'The token is not meant for this audience.',
      undefined,
      {
        expected: rules.audiences,
        received: aud,
      },
    )
  }

  let notBefore = Number.NEGATIVE_INFINITY
  let expiresBefore = exp + tolerance
  if (now >= expiresBefore) throw fail('expired', 'The token has expired.')
  if (nbf !== undefined) {
    notBefore = nbf - tolerance
    if (now < notBefore)
      throw fail('not_yet_valid', 'The token is not valid yet ("nbf" is in the future).')
  }
  if (options.maxTokenAge !== undefined) {
    if (iat === undefined)
      throw fail('missing_claim', 'The token has no "iat" claim, so its age cannot be checked.')
    if (now - iat - tolerance > options.maxTokenAge)
      throw fail('too_old', 'The token is older than this API accepts ("iat").')
    if (now - iat < -tolerance)
      throw fail('issued_in_future', 'The token was issued in the future ("iat").')
    notBefore = Math.max(notBefore, iat - tolerance)
    // Valid while now - iat - tolerance <= maxTokenAge, i.e. now < iat + tolerance + maxTokenAge + 1 for whole seconds.
    expiresBefore = Math.min(expiresBefore, Math.floor(iat + tolerance + options.maxTokenAge) + 1)
  }
  return { notBefore, expiresBefore }
}

function isAudience(value: unknown): value is string | string[] {
  return typeof value === 'string' || isStringArray(value)
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string')
}
