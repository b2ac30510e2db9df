/**
 * (2) A JSON Web Key Set turned into verification keys: each usable JWK is imported once into a
 * node:crypto `KeyObject`, checked the way jose checks keys, and indexed by `kid`, so picking the
 * keys for a token is a map lookup.
 *
 * A JWK is skipped (and reported) when it is not a public signing key: a symmetric key, an
 * encryption key, a private key, an RSA modulus under 2048 bits, an unsupported curve.
 */
import { createPublicKey, type JsonWebKey as NodeJsonWebKey, type KeyObject } from 'node:crypto'
import { ALGORITHMS, MIN_RSA_MODULUS_BITS, type AlgorithmSpec } from './algorithms.js'
import { prepareKey, type PreparedKey } from './signature.js'

/**
 * How long a key may still be trusted without asking its source again. Shared by every cached
 * verification the key made, so ending the trust (the key left its JWKS, its JWKS is past
 * `staleIfError`) ends those entries with one number compare on their next hit.
 */
export interface KeyTrust {
  /** Milliseconds since epoch; `Infinity` for keys that never change, `-Infinity` once removed. */
  usableUntilMs: number
}

/** The trust of keys that live as long as their verifier: a secret, a local `keys` set. */
export const PERMANENT_TRUST: Readonly<KeyTrust> = Object.freeze({
  usableUntilMs: Number.POSITIVE_INFINITY,
})

/** One imported key, ready to verify the algorithms it is allowed for. */
export interface VerificationKey {
  readonly kid: string | undefined
  /** Prepared node:crypto input per allowed algorithm name. */
  readonly byAlgorithm: ReadonlyMap<string, PreparedKey>
  /**
   * The JWK members that make it this key (kid, type, algorithm, use and the public material):
   * a refetch that publishes the same identity keeps the key's trust and its cached tokens.
   */
  readonly identity: string
  /** Its trust; a remote key set hands the same object on to the same key in the next set. */
  trust: KeyTrust
}

/** The imported set, indexed for selection. */
export interface KeySet {
  /** Keys that may verify `alg` for a token with this `kid` (any key when `kid` is undefined). */
  select(alg: AlgorithmSpec, kid: string | undefined): VerificationKey[]
  /** Number of usable keys. */
  readonly size: number
  /** Every usable key. */
  readonly keys: readonly VerificationKey[]
}

/**
 * Why a JWK was skipped; reported through `onSkip`. `invalid` keys are broken or dangerous
 * (private, symmetric, unparseable, too short); the others are simply not for this verifier
 * (an encryption key, a key for an algorithm outside the allow-list).
 */
export type SkippedKey = { index: number; kid: string | undefined; why: string; invalid: boolean }

/** `importOne`'s refusal: a reason, and whether the key itself is at fault. */
type Refusal = { why: string; invalid: boolean }
const invalid = (why: string): Refusal => ({ why, invalid: true })
const unfit = (why: string): Refusal => ({ why, invalid: false })

/** Private JWK members: a published key carrying any of these is a leaked private key. */
export const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const

/**
 * Import the public signing keys of `jwks` for the `allowed` algorithms. `onSkip` hears about
 * every JWK left out, with the reason.
 */
export function importKeySet(
  jwks: unknown,
  allowed: readonly AlgorithmSpec[],
  maxKeys: number,
  onSkip: (skipped: SkippedKey) => void,
): KeySet {
  if (!isObject(jwks) || !Array.isArray(jwks.keys)) {
    throw new TypeError('a JSON Web Key Set must be an object with a "keys" array')
  }
  if (jwks.keys.length > maxKeys) {
    throw new TypeError(
      `the JSON Web Key Set has ${jwks.keys.length} keys; the limit is ${maxKeys}`,
    )
  }
  const all: VerificationKey[] = []
  const byKid = new Map<string, VerificationKey[]>()
  jwks.keys.forEach((jwk: unknown, index: number) => {
    const kid = isObject(jwk) && typeof jwk.kid === 'string' ? jwk.kid : undefined
    const result = importOne(jwk, allowed)
    if ('why' in result) {
      onSkip({ index, kid, ...result })
      return
    }
    all.push(result)
    if (kid !== undefined) {
      const list = byKid.get(kid)
      if (list) list.push(result)
      else byKid.set(kid, [result])
    }
  })
  const empty: VerificationKey[] = []
  return {
    size: all.length,
    keys: all,
    select(alg, kid) {
      const pool = kid === undefined ? all : (byKid.get(kid) ?? empty)
      // Most sets hold one key per kid: skip the filter allocation in that common case.
      if (pool.length === 1) return pool[0]!.byAlgorithm.has(alg.name) ? pool : empty
      return pool.filter((k) => k.byAlgorithm.has(alg.name))
    },
  }
}

/** Import one JWK, or return why it cannot be used. */
function importOne(jwk: unknown, allowed: readonly AlgorithmSpec[]): VerificationKey | Refusal {
  if (!isObject(jwk)) return invalid('not an object')
  const { kty, kid, alg, use, key_ops: keyOps, crv } = jwk
  if (kid !== undefined && typeof kid !== 'string') return invalid('"kid" is not a string')
  if (kty === 'oct') {
    return invalid('symmetric keys are never taken from a JWKS (use the secret option)')
  }
  if (kty !== 'RSA' && kty !== 'EC' && kty !== 'OKP') return unfit('unsupported "kty"')
  if (use !== undefined && use !== 'sig') return unfit('"use" is not "sig"')
  if (keyOps !== undefined && !(Array.isArray(keyOps) && keyOps.includes('verify'))) {
    return unfit('"key_ops" does not include "verify"')
  }
  if (alg !== undefined && typeof alg !== 'string') return invalid('"alg" is not a string')
  if (PRIVATE_MEMBERS.some((member) => member in jwk)) return invalid('it is a private key')

  let key: KeyObject
  try {
    key = createPublicKey({ key: jwk as NodeJsonWebKey, format: 'jwk' })
  } catch {
    return invalid('node:crypto cannot import it')
  }
  if (kty === 'RSA') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0
    if (bits < MIN_RSA_MODULUS_BITS) return invalid(`RSA modulus of ${bits} bits is under 2048`)
  }

  const byAlgorithm = new Map<string, PreparedKey>()
  for (const spec of allowed) {
    if (spec.kty !== kty) continue
    if (alg !== undefined && alg !== spec.name) continue
    if (spec.curve !== undefined && spec.curve !== crv) continue
    byAlgorithm.set(spec.name, prepareKey(spec, key))
  }
  if (byAlgorithm.size === 0) return unfit('no allowed algorithm fits this key')
  return { kid, byAlgorithm, identity: identityOf(jwk), trust: { ...PERMANENT_TRUST } }
}

/** The members that decide what a JWK verifies, in a fixed order (see `VerificationKey.identity`). */
const IDENTITY_MEMBERS = ['kid', 'kty', 'alg', 'use', 'key_ops', 'crv', 'n', 'e', 'x', 'y'] as const

function identityOf(jwk: Record<string, unknown>): string {
  return JSON.stringify(IDENTITY_MEMBERS.map((member) => jwk[member] ?? null))
}

/** The allow-list as specs, in a stable order. */
export function toSpecs(names: Iterable<string>): AlgorithmSpec[] {
  return [...names].map((name) => ALGORITHMS.get(name)!)
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
