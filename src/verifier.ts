/**
 * `createVerifier`: the one place that knows the order of the stages.
 *
 *   (1) extract the token (and check CSRF in cookie mode)
 *   (2) verified-token cache → syntax + header → claim shapes → the issuer's trust (an
 *       untrusted `iss` stops here, before any fetch) → its header, audience and time rules →
 *       its keys → signature
 *   (3) sender constraint: the token's `cnf` binding against how it was presented (DPoP proof,
 *       client certificate), on every request, cache hits included
 *   (4) denylist
 *   → { payload, header, token }
 *
 * Each stage is synchronous when it can be; only a key fetch or an asynchronous denylist makes a
 * request wait for I/O. The public methods still return promises, as the contract says.
 */
import { checkBinding, type BindingOptions, type Presentation } from './binding/binding.js'
import { createMtlsCheck } from './binding/mtls.js'
import { createDpopCheck } from './dpop/proof.js'
import { checkAudienceAndTime, checkClaimShapes } from './claims/claims.js'
import { checkCsrf } from './request/csrf.js'
import { checkHeaderRules, createDecoder, type DecodedToken } from './jws/decode.js'
import { checkDenylist } from './denylist/denylist.js'
import {
  invalidToken,
  isAuthError,
  noToken,
  SourceUnavailableError,
  unavailable,
  type AuthError,
  type Realm,
} from './errors.js'
import { rememberRealm } from './guards/realm.js'
import {
  hasVerificationTracing,
  hasVerifiedSubscribers,
  publishRejection,
  publishVerified,
  traceVerification,
} from './events.js'
import { extractToken } from './request/extract.js'
import type { KeySource, KeySourceConfig } from './keys/key-source.js'
import { createFixedSelector, createResolverSelector, type Trust } from './issuers/select.js'
import type { VerificationKey } from './jws/jwk-set.js'
import { normalizeOptions } from './options/options.js'
import { describeOptions, describeResource } from './resource/metadata.js'
import { verifySignature } from './jws/signature.js'
import { createTokenCache, type CachedVerification } from './token-cache/token-cache.js'
import type {
  AuthResult,
  RequestLike,
  Verifier,
  VerifierOptions,
  VerifyRequestOptions,
} from './types.js'

/**
 * Verify one request: the result (null without a token when credentials are optional), a
 * promise of it, or a thrown `AuthError`. Synchronous whenever nothing waits for I/O (a cache
 * hit, a known key, a synchronous denylist), so a guard can call `next()` without a promise and
 * a microtask per request.
 */
export type Authenticate = (
  request: RequestLike,
  credentialsRequired: boolean,
) => AuthResult | null | Promise<AuthResult | null>

/**
 * Each verifier's synchronous-when-possible entry point, for the adapters. Module-private: it
 * is reachable only through `fastPathOf`, which the package's entry points never re-export.
 */
const fastPaths = new WeakMap<Verifier, Authenticate>()

/**
 * The fast path of a verifier this copy of jwt-gate created, or undefined (a verifier of your
 * own, or one from the package's other module format): then use `verifyRequest`.
 */
export function fastPathOf(verifier: Verifier): Authenticate | undefined {
  return fastPaths.get(verifier)
}

/**
 * The stages of one token's verification, in the order `verifyToken` runs them (the denylist,
 * which `explain` never has, comes after). For the `jwt-gate explain` CLI only.
 */
export const TRACED_STAGES = [
  'syntax',
  'claims',
  'issuer',
  'header',
  'time',
  'keys',
  'signature',
] as const

/** One of `TRACED_STAGES`. */
export type TracedStage = (typeof TRACED_STAGES)[number]

/**
 * Package-internal diagnostic hook (the `explain` CLI): told as each stage starts, so the stage
 * that threw is the last one entered, and which key verified the signature.
 */
export interface VerificationTrace {
  enter(stage: TracedStage): void
  keyMatched(kid: string | undefined, alg: string, source: KeySourceConfig): void
}

/** Verify one token, bypassing the token cache, reporting to `trace`. */
export type TracedVerify = (token: string, trace: VerificationTrace) => Promise<AuthResult>

const tracedVerifies = new WeakMap<Verifier, TracedVerify>()

/** The traced entry point of a verifier this copy of jwt-gate created (never re-exported). */
export function tracedVerifyOf(verifier: Verifier): TracedVerify | undefined {
  return tracedVerifies.get(verifier)
}

/**
 * Create a verifier: options are checked now (a mistake throws `TypeError`), keys are fetched on
 * first use and cached process-wide.
 *
 * @example
 * ```ts
 * import { createVerifier } from 'jwt-gate'
 *
 * const verifier = createVerifier({
 *   issuer: 'https://id.example.com/',
 *   audience: 'https://api.example.com',
 *   jwksUri: 'https://id.example.com/.well-known/jwks.json',
 * })
 * const { payload } = await verifier.verify(token)
 * ```
 */
export function createVerifier(options: VerifierOptions): Verifier {
  const config = normalizeOptions(options)
  const { denylist } = config
  // With DPoP the challenges name both schemes and the proof algorithms.
  const realm = config.realm
  const trusted = config.trusted
  const issuers =
    trusted.kind === 'fixed'
      ? createFixedSelector(trusted.configs, config.remote)
      : createResolverSelector(trusted.resolver, trusted.defaults, config.remote)
  const decode = createDecoder({ ...config, algorithms: issuers.algorithms })
  const tokenCache = config.tokenCacheSize > 0 ? createTokenCache(config.tokenCacheSize) : undefined
  const binding: BindingOptions = {
    acceptUncheckedBinding: config.acceptUncheckedBinding,
    dpop: config.dpop === undefined ? undefined : createDpopCheck(config.dpop, realm),
    mtls: config.mtls === undefined ? undefined : createMtlsCheck(config.mtls, realm),
  }
  const extractOptions = { ...config, realm, dpopScheme: config.dpop !== undefined }
  let closed = false

  /** (2)–(4) for one token; synchronous unless a key fetch or the denylist is asynchronous. */
  function verifyToken(
    token: string,
    presentation: Presentation,
    trace?: VerificationTrace,
  ): AuthResult | Promise<AuthResult> {
    const nowMs = Date.now()
    const now = Math.floor(nowMs / 1000)
    // A traced run explains the checks, so it never answers from the cache.
    const hit = trace === undefined ? tokenCache?.get(token, now, nowMs) : undefined
    if (hit !== undefined) {
      const result = { payload: hit.payload, header: hit.header, token }
      return checkBindingThenDenylist(result, true, hit, presentation)
    }

    trace?.enter('syntax')
    const decoded = decode(token)
    trace?.enter('claims')
    checkClaimShapes(decoded.payload, config)
    trace?.enter('issuer')
    const trust = selectTrust(decoded)
    return trust instanceof Promise
      ? trust.then((selected) =>
          verifyForIssuer(token, decoded, selected, now, presentation, trace),
        )
      : verifyForIssuer(token, decoded, trust, now, presentation, trace)
  }

  /** The issuer this token claims, or a refusal: before anything could fetch keys for it. */
  function selectTrust(decoded: DecodedToken): Trust | Promise<Trust> {
    const iss = decoded.payload.iss!
    const refuse = (trust: Trust | undefined): Trust => {
      if (trust !== undefined) return trust
      throw invalidToken(
        realm,
        'wrong_issuer',
        'The token was issued by an issuer this API does not trust.',
        undefined,
        { received: iss },
      )
    }
    try {
      const trust = issuers.select(iss, decoded.payload)
      return trust instanceof Promise ? trust.then(refuse, toAuthError) : refuse(trust)
    } catch (error) {
      return toAuthError(error)
    }
  }

  /** (2) for a token whose issuer is trusted: its header and claim rules, its keys, the signature. */
  function verifyForIssuer(
    token: string,
    decoded: DecodedToken,
    trust: Trust,
    now: number,
    presentation: Presentation,
    trace?: VerificationTrace,
  ): AuthResult | Promise<AuthResult> {
    trace?.enter('header')
    checkHeaderRules(decoded, trust, realm)
    trace?.enter('time')
    const window = checkAudienceAndTime(decoded.payload, trust, config, now)
    trace?.enter('keys')
    const keys = resolveKeys(trust.keys, decoded)
    const finish = (candidates: VerificationKey[]): AuthResult | Promise<AuthResult> => {
      trace?.enter('signature')
      const matched = checkSignature(decoded, candidates)
      trace?.keyMatched(matched.kid, decoded.alg.name, trust.keySource)
      const entry: CachedVerification = {
        payload: decoded.payload,
        header: decoded.header,
        keyTrust: matched.trust,
        ...window,
      }
      tokenCache?.set(token, entry)
      // Once per verified token (cache hits share the payload): the guards' 403s name our realm.
      rememberRealm(decoded.payload, realm)
      return checkBindingThenDenylist(
        { payload: decoded.payload, header: decoded.header, token },
        false,
        entry,
        presentation,
      )
    }
    return Array.isArray(keys) ? finish(keys) : keys.then(finish)
  }

  /** (3) then (4): the binding is checked per request, so a cached token needs it too. */
  function checkBindingThenDenylist(
    result: AuthResult,
    cached: boolean,
    entry: CachedVerification,
    presentation: Presentation,
  ): AuthResult | Promise<AuthResult> {
    const bound = checkBinding(result.payload, result.token, presentation, binding, realm)
    return bound instanceof Promise
      ? bound.then(() => applyDenylist(result, cached, entry))
      : applyDenylist(result, cached, entry)
  }

  /**
   * (4) The denylist, then the `verified` event: only a token that passed everything counts.
   * A cached token already let through at the denylist's current `generation` needs no new
   * answer: nothing that could revoke it has happened since.
   */
  function applyDenylist(
    result: AuthResult,
    cached: boolean,
    entry: CachedVerification,
  ): AuthResult | Promise<AuthResult> {
    if (denylist === undefined) return publishVerifiedResult(result, cached)
    const generation = denylist.generation
    if (generation !== undefined && entry.denylistGeneration === generation) {
      return publishVerifiedResult(result, cached)
    }
    const passed = (checked: AuthResult) => {
      entry.denylistGeneration = generation
      return publishVerifiedResult(checked, cached)
    }
    const checked = checkDenylist(denylist, result, config.denylistTimeoutMs, realm)
    return checked instanceof Promise ? checked.then(passed) : passed(checked)
  }

  function resolveKeys(
    keySource: KeySource,
    decoded: DecodedToken,
  ): VerificationKey[] | Promise<VerificationKey[]> {
    try {
      const keys = keySource.resolve(decoded.alg, decoded.kid, decoded.payload.iss!)
      return Array.isArray(keys) ? keys : keys.catch(toAuthError)
    } catch (error) {
      return toAuthError(error)
    }
  }

  function toAuthError(error: unknown): never {
    if (error instanceof SourceUnavailableError) {
      throw unavailable(realm, `${error.source}_unavailable`, error.retryAfterSeconds, error.cause)
    }
    throw error
  }

  /** The key whose signature verifies, or the refusal. */
  function checkSignature(decoded: DecodedToken, candidates: VerificationKey[]): VerificationKey {
    if (candidates.length === 0) {
      throw invalidToken(
        realm,
        'no_matching_key',
        decoded.kid === undefined
          ? 'No trusted key matches the token.'
          : 'No trusted key matches the token\'s "kid".',
      )
    }
    for (const candidate of candidates) {
      const prepared = candidate.byAlgorithm.get(decoded.alg.name)!
      if (verifySignature(decoded.alg, prepared, decoded.signingInput, decoded.signature)) {
        return candidate
      }
    }
    throw invalidToken(realm, 'bad_signature', 'The token signature is invalid.')
  }

  /** (1) then (2)–(4) for one request. */
  function verifyRequestNow(
    request: RequestLike,
    credentialsRequired: boolean,
  ): AuthResult | null | Promise<AuthResult | null> {
    const found = extractToken(request, extractOptions)
    if (found === undefined) {
      if (credentialsRequired) throw noToken(realm)
      rememberRealm(request, realm)
      return null
    }
    if (found.from === 'cookie' && config.csrf !== false) {
      checkCsrf(request, config.csrf, realm)
    }
    return verifyToken(found.token, { scheme: found.scheme, request })
  }

  /** (1)–(4) for one request, synchronous when it can be; every refusal is published. */
  const authenticateNow: Authenticate = (request, credentialsRequired) => {
    try {
      return publishingRejection(verifyRequestNow(request, credentialsRequired), realm)
    } catch (error) {
      throw publishedAuthError(error, realm)
    }
  }
  // Traced (durations, spans) only while someone subscribes: otherwise no wrapper at all.
  const authenticate: Authenticate = (request, credentialsRequired) =>
    hasVerificationTracing()
      ? traceVerification(() => authenticateNow(request, credentialsRequired))
      : authenticateNow(request, credentialsRequired)

  const verifier: Verifier = {
    verify(token: string): Promise<AuthResult> {
      if (typeof token !== 'string') {
        return runAsPromise(realm, () => {
          throw invalidToken(realm, 'malformed', 'The token must be a string.')
        })
      }
      const run = () =>
        runAsPromise(realm, () => verifyToken(token, { scheme: 'Bearer', request: undefined }))
      return hasVerificationTracing() ? (traceVerification(run) as Promise<AuthResult>) : run()
    },
    verifyRequest(request: RequestLike, requestOptions?: VerifyRequestOptions) {
      const required = requestOptions?.credentialsRequired ?? true
      // The executor turns a synchronous throw into a rejection.
      return new Promise<AuthResult | null>((resolve) => resolve(authenticate(request, required)))
    },
    ready() {
      return issuers.ready().catch(toAuthError)
    },
    close() {
      if (!closed) {
        closed = true
        issuers.close()
        tokenCache?.clear()
      }
      return Promise.resolve()
    },
  } as Verifier
  fastPaths.set(verifier, authenticate)
  describeResource(verifier, describeOptions(config))
  tracedVerifies.set(verifier, (token, trace) =>
    runAsPromise(realm, () => verifyToken(token, { scheme: 'Bearer', request: undefined }, trace)),
  )
  return verifier
}

/**
 * Run a stage chain into a promise. A thrown `AuthError` is published and rejected as is;
 * anything else (a bug, a broken denylist object) becomes a 401 rather than a 500 or a pass.
 */
function runAsPromise<T>(realm: Realm, run: () => T | Promise<T>): Promise<T> {
  try {
    return Promise.resolve(publishingRejection(run(), realm))
  } catch (error) {
    return Promise.reject(publishedAuthError(error, realm))
  }
}

/** A synchronous value as is; a promise whose rejection becomes a published `AuthError`. */
function publishingRejection<T>(value: T | Promise<T>, realm: Realm): T | Promise<T> {
  if (!(value instanceof Promise)) return value
  return value.catch((error: unknown) => {
    throw publishedAuthError(error, realm)
  })
}

/** `error` as an `AuthError` (anything else becomes a 401), published on `jwt-gate:rejected`. */
function publishedAuthError(error: unknown, realm: Realm): AuthError {
  const authError = isAuthError(error)
    ? error
    : invalidToken(realm, 'malformed', 'The token could not be verified.', error)
  publishRejection(authError)
  return authError
}

/** Publish `jwt-gate:verified` (when anyone listens) and pass the result on. */
function publishVerifiedResult(result: AuthResult, cached: boolean): AuthResult {
  if (hasVerifiedSubscribers()) {
    const { header, payload } = result
    publishVerified({
      cached,
      alg: header.alg,
      kid: header.kid,
      iss: payload.iss,
      sub: payload.sub,
    })
  }
  return result
}
