/**
 * (4) Sender-constrained tokens: a token whose `cnf` claim (RFC 7800) binds it to a key (`jkt`,
 * RFC 9449 DPoP) or to a client certificate (`x5t#S256`, RFC 8705) proves something only
 * together with that key or certificate. Run on every request, cache hits included, once the
 * token itself verified.
 *
 * - A binding the verifier does not check refuses the token (401 `unchecked_binding`) unless the
 *   user opted out with `uncheckedBinding: 'accept'`: otherwise a stolen bound token would work
 *   as a plain bearer token, which is exactly what the binding exists to prevent.
 * - With `dpop`, a `jkt`-bound token must come with the `DPoP` scheme and a proof by its key (no
 *   downgrade to `Bearer`); with `dpop.required`, every token must.
 * - With `mtls`, an `x5t#S256`-bound token must come over a connection whose client certificate
 *   has that thumbprint.
 */
import { dpopRefused, invalidToken, type AuthErrorReason, type Realm } from '../errors.js'
import type { JwtPayload, RequestLike } from '../types.js'

/** How the token was presented: its scheme, and the request (none for `verifier.verify`). */
export interface Presentation {
  /** `DPoP` for `Authorization: DPoP`; `Bearer` for a bearer header or a cookie. */
  readonly scheme: 'Bearer' | 'DPoP'
  readonly request: RequestLike | undefined
}

/** Checks a DPoP-bound presentation: the proof, its key against `jkt`. */
export interface DpopCheck {
  /** `dpop.required`: plain bearer tokens are refused too. */
  readonly required: boolean
  /** Check the request's proof for `token`, bound to `jkt`; throws an `AuthError`. */
  check(request: RequestLike, token: string, jkt: unknown): void | Promise<void>
}

/** Checks a certificate-bound presentation against the client certificate. */
export interface MtlsCheck {
  /** Compare `x5t` with the request's client certificate; throws an `AuthError`. */
  check(request: RequestLike, x5t: unknown): void
}

/** What the binding stage needs from the verifier's options. */
export interface BindingOptions {
  /** Accept `cnf`-bound tokens whose binding nothing checks (`uncheckedBinding: 'accept'`). */
  readonly acceptUncheckedBinding: boolean
  readonly dpop: DpopCheck | undefined
  readonly mtls: MtlsCheck | undefined
}

/**
 * Check how a verified token was presented against its `cnf` bindings. Undefined when nothing
 * waits; a promise when the DPoP replay store answers asynchronously.
 */
export function checkBinding(
  payload: Readonly<JwtPayload>,
  token: string,
  presentation: Presentation,
  options: BindingOptions,
  realm: Realm,
): void | Promise<void> {
  const cnf = payload.cnf
  const bound = typeof cnf === 'object' && cnf !== null
  const jkt = bound ? (cnf as Record<string, unknown>).jkt : undefined
  const x5t = bound ? (cnf as Record<string, unknown>)['x5t#S256'] : undefined
  const { dpop, mtls } = options
  const { request, scheme } = presentation

  if (x5t !== undefined) {
    if (mtls !== undefined && request !== undefined) mtls.check(request, x5t)
    else refuseUnchecked(options, realm, 'a client certificate (cnf x5t#S256)', mtls !== undefined)
  }
  if (scheme === 'DPoP') {
    if (jkt === undefined) {
      throw dpopRefused(
        realm,
        'invalid_token',
        'unbound_token',
        'The token sent with the DPoP scheme is not DPoP-bound.',
      )
    }
    return dpop!.check(request!, token, jkt)
  }
  if (jkt !== undefined) {
    if (dpop !== undefined && request !== undefined) {
      throw refuse(
        realm,
        'dpop_downgrade',
        'The token is DPoP-bound; send it with the DPoP scheme and a proof, not as a bearer token.',
      )
    }
    refuseUnchecked(options, realm, 'a DPoP key (cnf.jkt)', dpop !== undefined)
  } else if (dpop?.required === true && request !== undefined) {
    throw refuse(
      realm,
      'dpop_required',
      'This API accepts only DPoP-bound tokens, sent with the DPoP scheme.',
    )
  }
}

/**
 * A binding nothing checks here: refused unless the user accepts unchecked bindings. `checkable`
 * says the verifier could check it on a request (so `verifier.verify(token)` alone cannot).
 */
function refuseUnchecked(
  options: BindingOptions,
  realm: Realm,
  what: string,
  checkable: boolean,
): void {
  if (options.acceptUncheckedBinding) return
  throw refuse(
    realm,
    'unchecked_binding',
    checkable
      ? `The token is bound to ${what}; verify it with verifyRequest, which checks the binding.`
      : `The token is bound to ${what}, and this API does not check that binding.`,
  )
}

function refuse(realm: Realm, reason: AuthErrorReason, message: string) {
  return invalidToken(realm, reason, message)
}
