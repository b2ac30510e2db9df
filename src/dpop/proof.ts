/**
 * (3) The DPoP proof of one request (RFC 9449 §4.3, §7.1): the `DPoP` header is a JWS the client
 * signed with the key its access token is bound to. Checked on every request, in this order, so
 * the cheap and local checks run before the signature and the replay store is asked last (only a
 * proof that passed everything else uses up its `jti`):
 *
 *   one `DPoP` header · compact syntax and size · header JSON: `typ` dpop+jwt, an allowed
 *   asymmetric `alg`, a public `jwk` of the algorithm's key type (no private or symmetric
 *   members) · signature · claims: `htm` = method, `htu` = configured origin + path (no query or
 *   fragment, both sides normalised), `iat` within `maxProofAge`, `ath` = SHA-256 of the token ·
 *   RFC 7638 thumbprint of `jwk` = the token's `cnf.jkt` · server nonce · `jti` unused.
 */
import {
  createPublicKey,
  hash,
  type JsonWebKey as NodeJsonWebKey,
  type KeyObject,
} from 'node:crypto'
import { LRUCache } from 'lru-cache'
import type { DpopCheck } from '../binding/binding.js'
import { withDeadline } from '../deadline.js'
import { dpopRefused, unavailable, type AuthErrorReason, type Realm } from '../errors.js'
import { MIN_RSA_MODULUS_BITS, type AlgorithmSpec } from '../jws/algorithms.js'
import { prepareKey, verifySignature, type PreparedKey } from '../jws/signature.js'
import { dpopProofHeader } from '../request/extract.js'
import type { NonceSource } from './nonce.js'
import { jwkThumbprint } from './thumbprint.js'
import type { ReplayStore, RequestLike } from '../types.js'

/** The DPoP settings, validated (see `DpopOptions`). */
export interface DpopSettings {
  readonly required: boolean
  readonly origin: string | ((request: RequestLike) => string)
  readonly algorithms: ReadonlyMap<string, AlgorithmSpec>
  /** Seconds either way, `clockTolerance` included. */
  readonly maxProofAgeSeconds: number
  readonly nonce: NonceSource | undefined
  readonly replay: ReplayStore
  /** How long the replay store may take, in milliseconds (the denylist's timeout). */
  readonly replayTimeoutMs: number
}

/** Longest `DPoP` header read: an RSA-4096 proof is about 2 KiB. */
export const MAX_PROOF_LENGTH = 8192

/** JWK members that only a private or symmetric key has (RFC 7518 §6). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']

const BASE64URL_SEGMENT = /^[A-Za-z0-9_-]+$/

/** Imported proof keys by thumbprint: a client signs every proof with the same key. */
interface ProofKey {
  readonly thumbprint: string
  readonly prepared: Map<string, PreparedKey>
}

/** The check `checkBinding` runs for `Authorization: DPoP` requests. */
export function createDpopCheck(settings: DpopSettings, realm: Realm): DpopCheck {
  const keys = new LRUCache<string, ProofKey>({ max: 1000 })
  const proofError = (reason: AuthErrorReason, message: string) =>
    dpopRefused(realm, 'invalid_dpop_proof', reason, message)
  const malformed = (message: string) => proofError('dpop_proof_malformed', message)

  function check(request: RequestLike, token: string, jkt: unknown): void | Promise<void> {
    const proof = dpopProofHeader(request, realm)
    if (proof === undefined || proof === '') {
      throw proofError('dpop_proof_missing', 'The request has no DPoP proof header.')
    }
    if (proof.length > MAX_PROOF_LENGTH) {
      throw malformed(`The DPoP proof is longer than ${MAX_PROOF_LENGTH} characters.`)
    }
    const segments = proof.split('.')
    if (segments.length !== 3 || !segments.every((part) => BASE64URL_SEGMENT.test(part))) {
      throw malformed('The DPoP proof is not a compact JWS of three base64url segments.')
    }
    const [headerPart, payloadPart, signaturePart] = segments as [string, string, string]
    const header = parseObject(headerPart, 'header')
    const payload = parseObject(payloadPart, 'payload')

    if (typeof header.typ !== 'string' || header.typ.toLowerCase() !== 'dpop+jwt') {
      throw malformed('The DPoP proof\'s "typ" must be "dpop+jwt".')
    }
    const alg = typeof header.alg === 'string' ? settings.algorithms.get(header.alg) : undefined
    if (alg === undefined) {
      throw proofError(
        'dpop_alg_not_allowed',
        'The DPoP proof\'s "alg" is missing, "none" or not among the accepted proof algorithms.',
      )
    }
    const key = proofKey(header.jwk, alg)
    const signingInput = `${headerPart}.${payloadPart}`
    if (!verifySignature(alg, key.prepared.get(alg.name)!, signingInput, fromB64(signaturePart))) {
      throw proofError('dpop_bad_signature', 'The DPoP proof signature is invalid.')
    }

    const { jti, htm, htu, iat, ath } = payload
    if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) {
      throw malformed('The DPoP proof needs a "jti" string (at most 256 characters).')
    }
    if (typeof htm !== 'string' || typeof htu !== 'string' || typeof ath !== 'string') {
      throw malformed('The DPoP proof needs "htm", "htu" and "ath" strings.')
    }
    if (typeof iat !== 'number' || !Number.isFinite(iat)) {
      throw malformed('The DPoP proof needs a numeric "iat".')
    }
    if (htm !== request.method) {
      throw proofError('dpop_wrong_method', 'The DPoP proof was made for another HTTP method.')
    }
    if (normalizeHtu(htu) !== expectedHtu(request)) {
      throw proofError('dpop_wrong_url', 'The DPoP proof was made for another URL.')
    }
    const now = Date.now() / 1000
    if (Math.abs(now - iat) > settings.maxProofAgeSeconds) {
      throw proofError(
        'dpop_proof_stale',
        'The DPoP proof\'s "iat" is outside the accepted window; make a fresh proof.',
      )
    }
    if (ath !== hash('sha256', token, 'base64url')) {
      throw proofError(
        'dpop_wrong_ath',
        'The DPoP proof was made for another access token ("ath").',
      )
    }
    if (key.thumbprint !== jkt) {
      throw dpopRefused(
        realm,
        'invalid_token',
        'dpop_key_mismatch',
        'The token is bound to another key than the one that signed the DPoP proof.',
      )
    }
    const { nonce } = settings
    if (nonce !== undefined && !nonce.accepts(payload.nonce)) {
      throw dpopRefused(
        realm,
        'use_dpop_nonce',
        'dpop_nonce_required',
        'The DPoP proof must carry the server nonce given in the DPoP-Nonce header.',
        { 'DPoP-Nonce': nonce.current() },
      )
    }
    return useOnce(`${key.thumbprint}.${jti}`)
  }

  /** Ask the replay store; a replay is 401, a store that cannot answer is 503. */
  function useOnce(id: string): void | Promise<void> {
    const ttlMs = 2 * settings.maxProofAgeSeconds * 1000
    const decide = (unused: unknown): void => {
      if (unused === true) return
      if (unused === false) {
        throw proofError('dpop_replayed', 'The DPoP proof was already used; make a new one.')
      }
      throw storeDown(new TypeError('ReplayStore.markUsed must answer true or false'))
    }
    let answer: boolean | Promise<boolean>
    try {
      answer = settings.replay.markUsed(hash('sha256', id, 'base64url'), ttlMs)
    } catch (error) {
      throw storeDown(error)
    }
    if (!(answer instanceof Promise)) return decide(answer)
    return withDeadline(answer, settings.replayTimeoutMs, () => new Error('replay store timeout'))
      .catch((error: unknown) => {
        throw storeDown(error)
      })
      .then(decide)
  }

  function storeDown(cause: unknown) {
    return unavailable(realm, 'dpop_replay_unavailable', 1, cause)
  }

  /** The proof's `jwk`, imported once per thumbprint, checked against `alg`. */
  function proofKey(jwk: unknown, alg: AlgorithmSpec): ProofKey {
    const badKey = (message: string) => proofError('dpop_bad_key', message)
    if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) {
      throw badKey('The DPoP proof header needs a "jwk" object: the public key.')
    }
    const members = jwk as Record<string, unknown>
    if (PRIVATE_MEMBERS.some((name) => Object.hasOwn(members, name))) {
      throw badKey('The DPoP proof\'s "jwk" holds private or symmetric key material.')
    }
    if (members.kty !== alg.kty || (alg.curve !== undefined && members.crv !== alg.curve)) {
      throw badKey(`The DPoP proof's "jwk" is not a key for ${alg.name}.`)
    }
    const thumbprint = jwkThumbprint(members)
    if (thumbprint === undefined) throw badKey('The DPoP proof\'s "jwk" is incomplete.')
    let entry = keys.get(thumbprint)
    if (entry === undefined) {
      let imported: KeyObject
      try {
        imported = createPublicKey({ key: publicMembers(members), format: 'jwk' })
      } catch (error) {
        throw Object.assign(badKey('The DPoP proof\'s "jwk" is not a valid public key.'), {
          cause: error,
        })
      }
      if (
        alg.kty === 'RSA' &&
        (imported.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_MODULUS_BITS
      ) {
        throw badKey(`The DPoP proof's RSA key is shorter than ${MIN_RSA_MODULUS_BITS} bits.`)
      }
      entry = { thumbprint, prepared: new Map() }
      for (const spec of settings.algorithms.values()) {
        if (spec.kty === alg.kty && (spec.curve === undefined || spec.curve === members.crv)) {
          entry.prepared.set(spec.name, prepareKey(spec, imported))
        }
      }
      keys.set(thumbprint, entry)
    }
    return entry
  }

  /** The expected `htu`: configured origin + the request path, without query or fragment. */
  function expectedHtu(request: RequestLike): string {
    const { origin } = settings
    const base = typeof origin === 'string' ? origin : origin(request)
    const target = (request as { originalUrl?: string }).originalUrl ?? request.url ?? '/'
    // A Fetch Request's url is absolute: only its path counts, the origin is the configured one.
    const path = /^[a-z][a-z0-9+.-]*:/i.test(target) ? new URL(target).pathname : target
    return normalizeHtu(`${base.replace(/\/$/, '')}${path.startsWith('/') ? path : `/${path}`}`)
  }

  function parseObject(segment: string, what: string): Record<string, unknown> {
    let value: unknown
    try {
      value = JSON.parse(fromB64(segment).toString('utf8'))
    } catch {
      throw malformed(`The DPoP proof ${what} is not JSON.`)
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw malformed(`The DPoP proof ${what} is not a JSON object.`)
    }
    return value as Record<string, unknown>
  }

  return { required: settings.required, check }
}

/** `htu` compared as RFC 9449 §4.3 says: normalised (RFC 3986 §6.2.2–6.2.3), no query, no fragment. */
function normalizeHtu(value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return '\u0000invalid'
  }
  return `${url.origin}${url.pathname}`
}

/** Only the members `createPublicKey` needs, so no odd member reaches OpenSSL. */
function publicMembers(jwk: Record<string, unknown>): NodeJsonWebKey {
  const { kty, crv, x, y, n, e } = jwk as Record<string, string | undefined>
  return Object.fromEntries(
    Object.entries({ kty, crv, x, y, n, e }).filter(([, value]) => value !== undefined),
  )
}

function fromB64(segment: string): Buffer {
  return Buffer.from(segment, 'base64url')
}
