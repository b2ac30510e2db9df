/**
 * The JWS algorithms jwt-gate verifies (RFC 7518 §3, RFC 8037, RFC 9864), what each needs from
 * a key, and the default allow-lists. `none` is absent on purpose: there is no code path that
 * could accept an unsigned token.
 */
import type { Algorithm } from '../types.js'

/** Everything the signature check needs to know about one algorithm. */
export interface AlgorithmSpec {
  readonly name: Algorithm
  /** JWK `kty` of the keys that may verify it. */
  readonly kty: 'oct' | 'RSA' | 'EC' | 'OKP'
  /** How node:crypto verifies it. */
  readonly scheme: 'hmac' | 'rsa-pkcs1' | 'rsa-pss' | 'ecdsa' | 'eddsa'
  /** node:crypto digest name; `null` for EdDSA, which hashes internally. */
  readonly hash: 'sha256' | 'sha384' | 'sha512' | null
  /** JWK `crv` the key must have (EC and OKP). */
  readonly curve?: 'P-256' | 'P-384' | 'P-521' | 'Ed25519'
  /** Exact signature length in bytes, where the algorithm fixes it (HMAC, ECDSA, EdDSA). */
  readonly signatureLength?: number
}

const spec = (s: AlgorithmSpec): AlgorithmSpec => Object.freeze(s)

/** Every supported algorithm, by its JOSE name. */
export const ALGORITHMS: ReadonlyMap<string, AlgorithmSpec> = new Map(
  [
    spec({ name: 'HS256', kty: 'oct', scheme: 'hmac', hash: 'sha256', signatureLength: 32 }),
    spec({ name: 'HS384', kty: 'oct', scheme: 'hmac', hash: 'sha384', signatureLength: 48 }),
    spec({ name: 'HS512', kty: 'oct', scheme: 'hmac', hash: 'sha512', signatureLength: 64 }),
    spec({ name: 'RS256', kty: 'RSA', scheme: 'rsa-pkcs1', hash: 'sha256' }),
    spec({ name: 'RS384', kty: 'RSA', scheme: 'rsa-pkcs1', hash: 'sha384' }),
    spec({ name: 'RS512', kty: 'RSA', scheme: 'rsa-pkcs1', hash: 'sha512' }),
    spec({ name: 'PS256', kty: 'RSA', scheme: 'rsa-pss', hash: 'sha256' }),
    spec({ name: 'PS384', kty: 'RSA', scheme: 'rsa-pss', hash: 'sha384' }),
    spec({ name: 'PS512', kty: 'RSA', scheme: 'rsa-pss', hash: 'sha512' }),
    spec({
      name: 'ES256',
      kty: 'EC',
      scheme: 'ecdsa',
      hash: 'sha256',
      curve: 'P-256',
      signatureLength: 64,
    }),
    spec({
      name: 'ES384',
      kty: 'EC',
      scheme: 'ecdsa',
      hash: 'sha384',
      curve: 'P-384',
      signatureLength: 96,
    }),
    spec({
      name: 'ES512',
      kty: 'EC',
      scheme: 'ecdsa',
      hash: 'sha512',
      curve: 'P-521',
      signatureLength: 132,
    }),
    // EdDSA is the RFC 8037 name, Ed25519 the fully specified RFC 9864 one; identity providers
    // sign with both. Ed448 is not supported (jose 6 and WebCrypto dropped it as well).
    spec({
      name: 'EdDSA',
      kty: 'OKP',
      scheme: 'eddsa',
      hash: null,
      curve: 'Ed25519',
      signatureLength: 64,
    }),
    spec({
      name: 'Ed25519',
      kty: 'OKP',
      scheme: 'eddsa',
      hash: null,
      curve: 'Ed25519',
      signatureLength: 64,
    }),
  ].map((s) => [s.name, s]),
)

/** Default allow-list with a shared secret. */
export const DEFAULT_HMAC_ALGORITHMS: readonly Algorithm[] = ['HS256']

/** Default allow-list with asymmetric keys (local JWKS, remote JWKS or discovery). */
export const DEFAULT_ASYMMETRIC_ALGORITHMS: readonly Algorithm[] = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
]

/** RSA keys shorter than this are refused, as jose and NIST SP 800-131A do. */
export const MIN_RSA_MODULUS_BITS = 2048

/**
 * The allow-list an `algorithms` option names (or the default for the key source), checked: never
 * `none`, only supported names, HMAC only with a secret (`symmetric`) and only HMAC with one.
 * Throws `TypeError`.
 */
export function allowedAlgorithms(
  value: unknown,
  symmetric: boolean,
): ReadonlyMap<string, AlgorithmSpec> {
  let names: readonly string[]
  if (value === undefined) {
    names = symmetric ? DEFAULT_HMAC_ALGORITHMS : DEFAULT_ASYMMETRIC_ALGORITHMS
  } else {
    if (!Array.isArray(value) || value.length === 0) {
      throw new TypeError('algorithms must be a non-empty array of JWS algorithm names')
    }
    names = value.map((name: unknown) => {
      if (typeof name !== 'string') throw new TypeError('algorithms must hold strings')
      if (name.toLowerCase() === 'none') {
        throw new TypeError('algorithms: "none" is never allowed (it means an unsigned token)')
      }
      if (!ALGORITHMS.has(name)) throw new TypeError(`algorithms: unsupported algorithm "${name}"`)
      return name
    })
  }
  const specs = new Map<string, AlgorithmSpec>()
  for (const name of names) {
    const spec = ALGORITHMS.get(name)!
    if (symmetric && spec.kty !== 'oct') {
      throw new TypeError(`algorithms: ${name} needs asymmetric keys; a secret only verifies HS*`)
    }
    if (!symmetric && spec.kty === 'oct') {
      throw new TypeError(
        `algorithms: ${name} is HMAC, which is refused with asymmetric keys (a public key must never serve as an HMAC secret)`,
      )
    }
    specs.set(name, spec)
  }
  return specs
}
