/**
 * `AuthError`, the one error jwt-gate throws for a refused request, and the RFC 6750
 * `WWW-Authenticate` challenge it carries. Express's finalhandler, Koa's `ctx.onerror` and
 * Fastify's reply all read the same fields (`status`/`statusCode`, `headers`, `expose`), so every
 * adapter hands this object over unchanged.
 */

/**
 * RFC 6750 error codes, plus `unauthorized` (no token at all), `temporarily_unavailable` (503),
 * RFC 9449's `invalid_dpop_proof` and `use_dpop_nonce`, and RFC 9470's
 * `insufficient_user_authentication`.
 */
export type AuthErrorCode =
  | 'invalid_request'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'unauthorized'
  | 'temporarily_unavailable'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce'
  | 'insufficient_user_authentication'

/**
 * Stable machine reasons for logs and metrics. The README lists each with its status.
 * New reasons may be added in minor versions; existing ones never change meaning.
 */
export type AuthErrorReason =
  | 'no_token'
  | 'malformed_request'
  | 'ambiguous_token'
  | 'csrf'
  | 'token_too_large'
  | 'malformed'
  | 'alg_not_allowed'
  | 'unsupported_header'
  | 'wrong_typ'
  | 'id_token'
  | 'no_matching_key'
  | 'bad_signature'
  | 'invalid_claim'
  | 'missing_claim'
  | 'unchecked_binding'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'expired'
  | 'not_yet_valid'
  | 'too_old'
  | 'issued_in_future'
  | 'revoked'
  | 'insufficient_scope'
  | 'insufficient_auth_level'
  | 'claim_check_failed'
  | 'jwks_unavailable'
  | 'discovery_unavailable'
  | 'issuer_unavailable'
  | 'denylist_unavailable'
  | 'unbound_token'
  | 'dpop_downgrade'
  | 'dpop_required'
  | 'dpop_proof_missing'
  | 'dpop_proof_malformed'
  | 'dpop_alg_not_allowed'
  | 'dpop_bad_key'
  | 'dpop_bad_signature'
  | 'dpop_wrong_method'
  | 'dpop_wrong_url'
  | 'dpop_proof_stale'
  | 'dpop_wrong_ath'
  | 'dpop_replayed'
  | 'dpop_key_mismatch'
  | 'dpop_nonce_required'
  | 'dpop_replay_unavailable'
  | 'certificate_missing'
  | 'certificate_mismatch'

/** HTTP statuses an `AuthError` can carry. */
export type AuthErrorStatus = 400 | 401 | 403 | 503

const brand = Symbol.for('jwt-gate.AuthError')

/** An HTTP authentication scheme jwt-gate answers with (RFC 6750, RFC 9449). */
export type AuthScheme = 'Bearer' | 'DPoP'

/**
 * How one verifier's challenges look, settled once when it is created: its realm, the schemes
 * it accepts (a challenge each, in this order: RFC 9449 §7.1 puts DPoP first), and auth-params
 * every challenge carries.
 */
export interface ChallengeSettings {
  readonly realm: string
  /** Default `['Bearer']`. */
  readonly schemes?: readonly AuthScheme[]
  /** RFC 9728 §5.1: the protected resource metadata URL, on every challenge. */
  readonly resourceMetadata?: string
  /** RFC 9449 §7.1: the proof algorithms, on the DPoP challenge. */
  readonly dpopAlgorithms?: readonly string[]
}

/** A realm alone (one Bearer challenge), or a verifier's whole challenge settings. */
export type Realm = string | ChallengeSettings

/**
 * Log-only facts about a refusal, such as what a check expected and what the token carried
 * (`iss` "https://id.example.com" vs "https://id.example.com/"). Never sent to the client.
 */
export interface AuthErrorDetails {
  /** What the check wanted (configured values). */
  readonly expected?: unknown
  /** What the request or token carried. */
  readonly received?: unknown
}

/** What a factory passes to the constructor. */
export interface AuthErrorInit {
  status: AuthErrorStatus
  code: AuthErrorCode
  reason: AuthErrorReason
  message: string
  /** The verifier's realm or challenge settings. */
  realm: Realm
  /** Which challenge carries `error=`: the scheme the request used. Default: Bearer if accepted. */
  scheme?: AuthScheme
  /** Space-separated scopes for an `insufficient_scope` challenge. */
  scope?: string
  /** More auth-params for the erroring challenge, in order (RFC 9470 `acr_values`, `max_age`). */
  params?: Readonly<Record<string, string>>
  /** Response headers besides the challenge (RFC 9449 `DPoP-Nonce`). */
  headers?: Readonly<Record<string, string>>
  /** Seconds, for 503. */
  retryAfter?: number
  /** Log-only facts; see `AuthErrorDetails`. */
  details?: AuthErrorDetails
  cause?: unknown
}

/**
 * A refused request. `status` (same as `statusCode`), `code` (RFC 6750), `reason` (stable and
 * finer), `message` (names the failed check, never contains the token), `headers` (the
 * `WWW-Authenticate` challenge, plus `Retry-After` on 503) and `expose` (true below 500).
 * The underlying error, if any, is `cause`: for logs, never for clients.
 *
 * `instanceof AuthError` also holds for an `AuthError` from another copy of jwt-gate (its ESM
 * and CommonJS builds in one process): the check reads a global brand, not the prototype.
 */
export class AuthError extends Error {
  /** HTTP status. */
  readonly status: AuthErrorStatus
  /** Same as `status`, for Fastify and libraries that read `statusCode`. */
  readonly statusCode: AuthErrorStatus
  /** RFC 6750 error code (`unauthorized` when the request carried no token). */
  readonly code: AuthErrorCode
  /** Stable machine reason, finer than `code`. */
  readonly reason: AuthErrorReason
  /** Response headers: `WWW-Authenticate`, and `Retry-After` on 503. */
  readonly headers: Readonly<Record<string, string>>
  /** Whether the message may be shown to the client (Koa reads this): true for 4xx. */
  readonly expose: boolean
  /**
   * Log-only facts (expected and received values) for `wrong_issuer`, `wrong_audience`,
   * `alg_not_allowed`, `wrong_typ` and the like. Not enumerable, so a handler that serialises the
   * error does not send it; never part of the message or the challenge.
   */
  declare readonly details?: AuthErrorDetails

  /** @internal Use the factories in this module; the constructor shape may change. */
  constructor(init: AuthErrorInit) {
    super(init.message)
    this.name = 'AuthError'
    this.status = init.status
    this.statusCode = init.status
    this.code = init.code
    this.reason = init.reason
    this.expose = init.status < 500
    const headers: Record<string, string> = { 'WWW-Authenticate': buildChallenges(init) }
    if (init.retryAfter !== undefined) headers['Retry-After'] = String(init.retryAfter)
    if (init.headers !== undefined) Object.assign(headers, init.headers)
    this.headers = Object.freeze(headers)
    // Non-enumerable, so serialisers that walk the error do not send internals to clients.
    if (init.cause !== undefined) {
      Object.defineProperty(this, 'cause', { value: init.cause, enumerable: false })
    }
    if (init.details !== undefined) {
      Object.defineProperty(this, 'details', { value: init.details, enumerable: false })
    }
    Object.defineProperty(this, brand, { value: true })
  }

  /** True for any jwt-gate `AuthError`, whichever copy of the package created it. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return isAuthError(value)
  }
}

/** Whether `value` is an `AuthError` from any copy of jwt-gate (ESM or CommonJS build). */
export function isAuthError(value: unknown): value is AuthError {
  return typeof value === 'object' && value !== null && brand in value
}

/**
 * The `WWW-Authenticate` value (RFC 6750 §3, RFC 9449 §7.1): one challenge per accepted scheme,
 * each with the realm and the verifier's own auth-params; `error=` (and `scope=`, and the
 * error's own params) only on the challenge of the scheme the request used, and nowhere when the
 * request had no token.
 */
function buildChallenges(init: AuthErrorInit): string {
  const settings: ChallengeSettings =
    typeof init.realm === 'string' ? { realm: init.realm } : init.realm
  const schemes = settings.schemes ?? ['Bearer']
  const erring =
    init.code === 'unauthorized'
      ? undefined
      : (init.scheme ?? (schemes.includes('Bearer') ? 'Bearer' : schemes[0]))
  return schemes
    .map((scheme) => {
      let challenge = `${scheme} realm="${quoteRealm(settings.realm)}"`
      if (scheme === erring) {
        challenge += `, error="${init.code}", error_description="${toDescription(init.message)}"`
        if (init.scope !== undefined) challenge += `, scope="${toDescription(init.scope)}"`
        for (const [name, value] of Object.entries(init.params ?? {})) {
          challenge += `, ${name}="${toDescription(value)}"`
        }
      }
      if (scheme === 'DPoP' && settings.dpopAlgorithms !== undefined) {
        challenge += `, algs="${settings.dpopAlgorithms.join(' ')}"`
      }
      if (settings.resourceMetadata !== undefined) {
        challenge += `, resource_metadata="${toDescription(settings.resourceMetadata)}"`
      }
      return challenge
    })
    .join(', ')
}

/** A realm is an RFC 7235 quoted-string: `"` and `\` are escaped with a backslash. */
function quoteRealm(realm: string): string {
  return realm.replace(/[^\x20-\x7e]/g, '').replace(/["\\]/g, '\\$&')
}

/**
 * RFC 6750 §3 allows only %x20-21 / %x23-5B / %x5D-7E in `error_description` and `scope`:
 * `"` and `\` cannot even be escaped there, so they become `'` and `/`, and anything outside
 * printable ASCII is dropped.
 */
function toDescription(text: string): string {
  return text
    .replace(/"/g, "'")
    .replace(/\\/g, '/')
    .replace(/[^\x20-\x7e]/g, '')
}

// ---------------------------------------------------------------------------------------------
// Factories: one per outcome, so status, code and reason always travel together.

/** 401 without `error=`: the request carried no token. */
export function noToken(realm: Realm): AuthError {
  return new AuthError({
    status: 401,
    code: 'unauthorized',
    reason: 'no_token',
    message: 'No bearer token was sent.',
    realm,
  })
}

/** 400 `invalid_request`: the request itself is malformed (header syntax, ambiguity, CSRF). */
export function invalidRequest(
  realm: Realm,
  reason: 'malformed_request' | 'ambiguous_token',
  message: string,
): AuthError {
  return new AuthError({ status: 400, code: 'invalid_request', reason, message, realm })
}

/** 403 `invalid_request`, reason `csrf`: a cookie-authenticated cross-site write. */
export function csrfRefused(realm: Realm, message: string): AuthError {
  return new AuthError({ status: 403, code: 'invalid_request', reason: 'csrf', message, realm })
}

/** 401 `invalid_token` for any failed token check. */
export function invalidToken(
  realm: Realm,
  reason: AuthErrorReason,
  message: string,
  cause?: unknown,
  details?: AuthErrorDetails,
): AuthError {
  return new AuthError({
    status: 401,
    code: 'invalid_token',
    reason,
    message,
    realm,
    cause,
    details,
  })
}

/**
 * 401 for a DPoP presentation (RFC 9449 §7.1), on the DPoP challenge: `invalid_dpop_proof` for a
 * proof problem, `invalid_token` for the token's binding, `use_dpop_nonce` with a `DPoP-Nonce`
 * header for a missing or stale server nonce.
 */
export function dpopRefused(
  realm: Realm,
  code: 'invalid_dpop_proof' | 'invalid_token' | 'use_dpop_nonce',
  reason: AuthErrorReason,
  message: string,
  headers?: Readonly<Record<string, string>>,
): AuthError {
  return new AuthError({ status: 401, code, reason, message, realm, scheme: 'DPoP', headers })
}

/** 403 `insufficient_scope` with the required scopes in the challenge. */
export function insufficientScope(realm: Realm, scopes: readonly string[]): AuthError {
  return new AuthError({
    status: 403,
    code: 'insufficient_scope',
    reason: 'insufficient_scope',
    message: `The token lacks the required scope (${scopes.join(' ')}).`,
    realm,
    scope: scopes.join(' '),
  })
}

/**
 * 401 `insufficient_user_authentication` (RFC 9470 §3): the token's `acr` or `auth_time` does
 * not meet the route's requirement; `params` holds `acr_values` and/or `max_age`.
 */
export function insufficientAuthLevel(
  realm: Realm,
  message: string,
  params: Readonly<Record<string, string>>,
): AuthError {
  return new AuthError({
    status: 401,
    code: 'insufficient_user_authentication',
    reason: 'insufficient_auth_level',
    message,
    realm,
    params,
  })
}

/** 403 `invalid_token`: a `requireClaims` predicate returned false. */
export function claimCheckFailed(realm: Realm): AuthError {
  return new AuthError({
    status: 403,
    code: 'invalid_token',
    reason: 'claim_check_failed',
    message: 'The token does not satisfy the claims this route requires.',
    realm,
  })
}

/**
 * 503 `temporarily_unavailable` with `Retry-After`. The message is generic on purpose: the key
 * server's address, port or errno stay in `cause`, for logs only.
 */
export function unavailable(
  realm: Realm,
  reason:
    | 'jwks_unavailable'
    | 'discovery_unavailable'
    | 'issuer_unavailable'
    | 'denylist_unavailable'
    | 'dpop_replay_unavailable',
  retryAfterSeconds: number,
  cause?: unknown,
): AuthError {
  const what =
    reason === 'denylist_unavailable'
      ? 'revocation list is'
      : reason === 'dpop_replay_unavailable'
        ? 'DPoP replay check is'
        : reason === 'issuer_unavailable'
          ? "token issuer's settings are"
          : 'signing keys are'
  return new AuthError({
    status: 503,
    code: 'temporarily_unavailable',
    reason,
    message: `The ${what} temporarily unavailable; try again shortly.`,
    realm,
    retryAfter: Math.max(1, Math.ceil(retryAfterSeconds)),
    cause,
  })
}

/**
 * The internal signal a shared key source (JWKS cache, discovery) raises when it has no usable
 * key. Shared caches know nothing of any verifier's realm, so the verifier turns this into a
 * 503 `AuthError` itself (see `unavailable`).
 */
export class SourceUnavailableError extends Error {
  /** Which source failed: a key server, discovery, or an `issuers` resolver. */
  readonly source: 'jwks' | 'discovery' | 'issuer'
  /** When a retry may succeed, in seconds (becomes `Retry-After`). */
  readonly retryAfterSeconds: number

  constructor(source: SourceUnavailableError['source'], retryAfterSeconds: number, cause: unknown) {
    super(`${source} unavailable`, { cause })
    this.name = 'SourceUnavailableError'
    this.source = source
    this.retryAfterSeconds = retryAfterSeconds
  }
}
