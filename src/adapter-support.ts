/**
 * What every framework adapter needs before it translates: turn "options or a verifier" into a
 * verifier, settle the guard's `credentialsRequired`, and reach the verifier's fast path. Kept
 * in the core so each adapter stays a thin translation layer.
 */
import type { AuthError } from './errors.js'
import { normalizeOptions } from './options/options.js'
import {
  buildMetadata,
  describeOptions,
  descriptionOf,
  type ResourceMetadataOptions,
  type ServedMetadata,
} from './resource/metadata.js'
import { createVerifier, fastPathOf } from './verifier.js'
import type { AuthResult, RequestLike, Verifier, VerifierOptions } from './types.js'

/** Options a guard takes besides (or inside) the verifier options. */
export interface GuardOptions {
  /**
   * With `false`, a request that carries no token passes with no `auth` attached; a request
   * with a bad token still fails. Default `true`.
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

/**
 * Build (or take) the verifier and settle `credentialsRequired` for one guard. The guard option
 * may also sit in the verifier options (as express-jwt users write it); it is taken out before
 * the verifier is built, since the core has no such option.
 */
export function resolveGuard(
  optionsOrVerifier: OptionsOrVerifier,
  guardOptions: GuardOptions = {},
): ResolvedGuard {
  if (typeof guardOptions !== 'object' || guardOptions === null) {
    throw new TypeError('guard options must be an object such as { credentialsRequired: false }')
  }
  let verifier: Verifier
  let fromOptions: unknown
  if (isVerifier(optionsOrVerifier)) {
    verifier = optionsOrVerifier
  } else if (typeof optionsOrVerifier === 'object' && optionsOrVerifier !== null) {
    const { credentialsRequired, ...verifierOptions } = optionsOrVerifier
    fromOptions = credentialsRequired
    verifier = createVerifier(verifierOptions)
  } else {
    verifier = createVerifier(optionsOrVerifier) // not an object: its TypeError says so
  }
  const credentialsRequired = guardOptions.credentialsRequired ?? fromOptions ?? true
  if (typeof credentialsRequired !== 'boolean') {
    throw new TypeError('credentialsRequired must be true or false')
  }
  const fastPath = fastPathOf(verifier)
  const authenticate = fastPath
    ? (request: RequestLike) => fastPath(request, credentialsRequired)
    : (request: RequestLike) => verifier.verifyRequest(request, { credentialsRequired })
  return { verifier, credentialsRequired, authenticate }
}

/** The JSON body jwt-gate's adapters answer a refusal with (the RFC 6750 §3 error attributes). */
export interface AuthErrorBody {
  /** The error code: `invalid_token`, `insufficient_scope`, `unauthorized`, … */
  error: string
  /** Which check failed, in words; never the token, never the internals of a 503. */
  error_description: string
}

/** The JSON body for a refusal; `AuthError` messages are safe to send (see errors.ts). */
export function authErrorBody(error: AuthError): AuthErrorBody {
  return { error: error.code, error_description: error.message }
}

/**
 * The RFC 9728 document a `protectedResourceMetadata` handler serves: what the verifier (or the
 * verifier options, read without building a verifier) publishes, plus `metadata`. Throws
 * `TypeError` at route definition on a mistake.
 */
export function resolveMetadata(
  verifierOrOptions: OptionsOrVerifier,
  metadata?: ResourceMetadataOptions,
): ServedMetadata {
  if (isVerifier(verifierOrOptions)) {
    return buildMetadata(descriptionOf(verifierOrOptions), metadata)
  }
  if (typeof verifierOrOptions !== 'object' || verifierOrOptions === null) {
    throw new TypeError('protectedResourceMetadata needs a verifier or verifier options')
  }
  // The guard option is not a verifier option; leave it out, as resolveGuard does.
  const verifierOptions: Record<string, unknown> = { ...verifierOrOptions }
  delete verifierOptions.credentialsRequired
  return buildMetadata(
    describeOptions(normalizeOptions(verifierOptions as unknown as VerifierOptions)),
    metadata,
  )
}
