/**
 * (2) Where verification keys come from, behind one interface: a shared secret, a local JWKS,
 * a remote JWKS (shared cache) or OIDC discovery (one JWKS cache per configured issuer).
 */
import { createSecretKey, KeyObject, type webcrypto } from 'node:crypto'
import type { AlgorithmSpec } from '../jws/algorithms.js'
import { acquireDiscovery, type DiscoveryLease } from './discovery.js'
import { acquireJwksCache, type JwksCacheLease, type JwksCacheSettings } from './jwks-cache.js'
import { importKeySet, PERMANENT_TRUST, type VerificationKey } from '../jws/jwk-set.js'
import { prepareKey, type PreparedKey } from '../jws/signature.js'

/** The key source, resolved. */
export type KeySourceConfig =
  | { kind: 'secret'; secret: Uint8Array }
  | { kind: 'keys'; jwks: unknown }
  | { kind: 'remote'; url: URL }
  | { kind: 'discovery'; issuers: readonly string[] }

/** HMAC keys shorter than the hash output weaken HS256 (RFC 7518 §3.2). */
const MIN_SECRET_BYTES = 32

/**
 * The one key source `raw` options name: `secret`, `keys` or `jwksUri`, or discovery from the
 * issuers when none is given. Throws `TypeError` for two sources or an unusable one; `where`
 * names the settings in errors (`issuers[1]`; empty at the top level).
 */
export function keySourceOf(
  raw: Record<string, unknown>,
  issuers: string[],
  where = '',
): KeySourceConfig {
  const given = (['secret', 'keys', 'jwksUri'] as const).filter((name) => raw[name] !== undefined)
  if (given.length > 1) {
    throw new TypeError(`give exactly one key source; got ${given.join(' and ')}`)
  }
  if (raw.secret !== undefined) {
    return { kind: 'secret', secret: secretBytes(raw.secret, where ? `${where}.secret` : 'secret') }
  }
  if (raw.keys !== undefined) return { kind: 'keys', jwks: raw.keys }
  if (raw.jwksUri !== undefined) {
    try {
      return { kind: 'remote', url: new URL(raw.jwksUri as string) }
    } catch {
      throw new TypeError('jwksUri is not an absolute URL')
    }
  }
  return { kind: 'discovery', issuers }
}

/** What to do instead, said by every refusal of public-key material as a secret. */
const USE_KEYS_INSTEAD =
  'give the public key as keys: { keys: [jwk] } (a JWKS; createPublicKey(pem).export({ format: "jwk" }) converts a PEM) or the issuer\'s jwksUri'

/**
 * The HMAC key bytes of `secret`. Public-key material is refused (RFC 8725 §2.1, the
 * CVE-2022-23541 class): a "secret" anyone can read — a public PEM handed over by an
 * express-jwt migration, a JWK, a JWKS — would let anyone sign HS256 tokens we accept.
 */
function secretBytes(secret: unknown, name: string): Uint8Array {
  let bytes: Uint8Array
  if (secret instanceof KeyObject) {
    if (secret.type !== 'secret') {
      throw new TypeError(
        `${name} is a ${secret.type} KeyObject, not an HMAC secret: ${USE_KEYS_INSTEAD}`,
      )
    }
    bytes = secret.export()
  } else if (isCryptoKey(secret)) {
    throw new TypeError(
      secret.type === 'secret'
        ? `${name} is a secret CryptoKey, which cannot be read synchronously: pass its raw bytes (crypto.subtle.exportKey('raw', key)); or ${USE_KEYS_INSTEAD}`
        : `${name} is a ${secret.type} CryptoKey, not an HMAC secret: ${USE_KEYS_INSTEAD}`,
    )
  } else if (typeof secret === 'string' || secret instanceof Uint8Array) {
    refuseKeyText(
      typeof secret === 'string'
        ? secret
        : Buffer.from(secret.buffer, secret.byteOffset, secret.byteLength).toString('latin1'),
      name,
    )
    bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret
  } else if (typeof secret === 'object' && secret !== null) {
    refuseJwkLike(secret as Record<string, unknown>, name)
    throw new TypeError(`${name} must be a string, a Uint8Array or a secret KeyObject`)
  } else {
    throw new TypeError(`${name} must be a string, a Uint8Array or a secret KeyObject`)
  }
  if (bytes.length === 0) throw new TypeError(`${name} must not be empty`)
  if (bytes.length < MIN_SECRET_BYTES) {
    process.emitWarning(
      `the HMAC secret is ${bytes.length} bytes; HS256 needs at least ${MIN_SECRET_BYTES} to keep its strength`,
      { code: 'JWT_GATE_SHORT_SECRET' },
    )
  }
  return new Uint8Array(bytes)
}

/** Refuse secret text that is a PEM (any `-----BEGIN`), or JSON holding a JWK or a JWKS. */
function refuseKeyText(text: string, name: string): void {
  const pem = /-----BEGIN ([A-Z0-9 ]{1,40})-----/.exec(text)
  if (pem !== null || text.includes('-----BEGIN')) {
    throw new TypeError(
      `${name} is a PEM${pem ? ` (${pem[1]})` : ''}, which is key material, not a shared secret: ${USE_KEYS_INSTEAD}`,
    )
  }
  const trimmed = text.trim()
  if (!trimmed.startsWith('{')) return
  let parsed: unknown
  try {
    parsed = JSON.parse(trimmed)
  } catch {
    return // not JSON: text that merely starts with a brace
  }
  if (typeof parsed === 'object' && parsed !== null) {
    refuseJwkLike(parsed as Record<string, unknown>, name)
  }
}

/** Refuse an object (or parsed JSON) that is a JWK (`kty`) or a JWKS (`keys`). */
function refuseJwkLike(value: Record<string, unknown>, name: string): void {
  if (typeof value.kty === 'string') {
    if (value.kty === 'oct') {
      throw new TypeError(
        `${name} is a JWK (kty "oct"): pass its key bytes, Buffer.from(jwk.k, 'base64url'), not the JWK (for public keys, ${USE_KEYS_INSTEAD})`,
      )
    }
    throw new TypeError(
      `${name} is a JWK (kty "${value.kty.slice(0, 8)}"), which is public-key material, not a shared secret: ${USE_KEYS_INSTEAD}`,
    )
  }
  if (Array.isArray(value.keys)) {
    throw new TypeError(
      `${name} is a JWKS, which is public-key material, not a shared secret: ${USE_KEYS_INSTEAD}`,
    )
  }
}

/** A WebCrypto key (Node 20 has the class as a global only; its types do not declare it). */
function isCryptoKey(value: unknown): value is webcrypto.CryptoKey {
  const CryptoKeyClass = (globalThis as { CryptoKey?: abstract new () => unknown }).CryptoKey
  return CryptoKeyClass !== undefined && value instanceof CryptoKeyClass
}

/** Resolves the candidate keys for a token. */
export interface KeySource {
  /**
   * Keys that may verify `alg` for this `kid`, for a token from issuer `iss` (already checked
   * against the configured issuers). `[]`: no such key. Throws `SourceUnavailableError` (or
   * rejects with it) when the keys cannot be had right now.
   */
  resolve(
    alg: AlgorithmSpec,
    kid: string | undefined,
    iss: string,
  ): VerificationKey[] | Promise<VerificationKey[]>
  /**
   * Resolves once keys are at hand (fetched now if need be); rejects with
   * `SourceUnavailableError` when they cannot be had. Secrets and local keys resolve at once.
   */
  ready(): Promise<void>
  /** Release shared caches. */
  close(): void
}

/** Build the key source a verifier's options describe. */
export function createKeySource(
  config: KeySourceConfig,
  algorithms: readonly AlgorithmSpec[],
  settings: JwksCacheSettings,
): KeySource {
  switch (config.kind) {
    case 'secret':
      return secretKeySource(config.secret, algorithms)
    case 'keys':
      return localKeySource(config.jwks, algorithms)
    case 'remote':
      return remoteKeySource(acquireJwksCache(config.url, settings))
    case 'discovery':
      return discoveryKeySource(config.issuers, settings)
  }
}

function secretKeySource(secret: Uint8Array, algorithms: readonly AlgorithmSpec[]): KeySource {
  const key = createSecretKey(secret)
  const byAlgorithm = new Map<string, PreparedKey>()
  for (const spec of algorithms) byAlgorithm.set(spec.name, prepareKey(spec, key))
  // A secret changes only with a new verifier: its trust ends only when its source closes (an
  // issuers resolver's answer pushed out of its cache), so those cached tokens are asked again.
  const only: VerificationKey[] = [
    { kid: undefined, byAlgorithm, identity: 'secret', trust: { ...PERMANENT_TRUST } },
  ]
  return { resolve: () => only, ready: () => Promise.resolve(), close: () => endTrust(only) }
}

function localKeySource(jwks: unknown, algorithms: readonly AlgorithmSpec[]): KeySource {
  const set = importKeySet(jwks, algorithms, Number.POSITIVE_INFINITY, (skipped) => {
    // A broken key in the user's own configuration is a mistake to report now, not to skip.
    if (skipped.invalid) {
      throw new TypeError(`keys: key #${skipped.index} cannot be used: ${skipped.why}`)
    }
  })
  if (set.size === 0) {
    throw new TypeError('keys: no key in the set can verify any of the allowed algorithms')
  }
  return {
    resolve: (alg, kid) => set.select(alg, kid),
    ready: () => Promise.resolve(),
    close: () => endTrust(set.keys),
  }
}

/** End the trust of keys whose source closed: their cached verifications are not served again. */
function endTrust(keys: readonly VerificationKey[]): void {
  for (const key of keys) key.trust.usableUntilMs = Number.NEGATIVE_INFINITY
}

function remoteKeySource(lease: JwksCacheLease): KeySource {
  return {
    resolve: (alg, kid) => lease.cache.resolve(alg, kid),
    ready: () => lease.cache.ready(),
    close: () => lease.release(),
  }
}

function discoveryKeySource(issuers: readonly string[], settings: JwksCacheSettings): KeySource {
  interface PerIssuer {
    discovery: DiscoveryLease
    jwks?: JwksCacheLease
  }
  const perIssuer = new Map<string, PerIssuer>(
    issuers.map((issuer) => [issuer, { discovery: acquireDiscovery(issuer, settings.fetch) }]),
  )
  return {
    resolve(alg, kid, iss) {
      const entry = perIssuer.get(iss)!
      if (entry.jwks) return entry.jwks.cache.resolve(alg, kid)
      const withUri = (url: URL) => {
        entry.jwks ??= acquireJwksCache(url, settings)
        return entry.jwks.cache.resolve(alg, kid)
      }
      const uri = entry.discovery.jwksUri()
      return uri instanceof URL ? withUri(uri) : uri.then(withUri)
    },
    async ready() {
      for (const entry of perIssuer.values()) {
        entry.jwks ??= acquireJwksCache(await entry.discovery.jwksUri(), settings)
        await entry.jwks.cache.ready()
      }
    },
    close() {
      for (const entry of perIssuer.values()) {
        entry.jwks?.release()
        entry.discovery.release()
      }
    },
  }
}
