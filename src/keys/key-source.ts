/**
 * (2) Where verification keys come from, behind one interface: a shared secret, a local JWKS,
 * a remote JWKS (shared cache) or OIDC discovery (one JWKS cache per configured issuer).
 */
import { createSecretKey } from 'node:crypto'
import type { AlgorithmSpec } from '../jws/algorithms.js'
import { acquireDiscovery, type DiscoveryLease } from './discovery.js'
import { acquireJwksCache, type JwksCacheLease, type JwksCacheSettings } from './jwks-cache.js'
import { importKeySet, type VerificationKey } from '../jws/jwk-set.js'
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
 * issuers when none is given. Throws `TypeError` for two sources or an unusable one.
 */
export function keySourceOf(raw: Record<string, unknown>, issuers: string[]): KeySourceConfig {
  const given = (['secret', 'keys', 'jwksUri'] as const).filter((name) => raw[name] !== undefined)
  if (given.length > 1) {
    throw new TypeError(`give exactly one key source; got ${given.join(' and ')}`)
  }
  if (raw.secret !== undefined) return { kind: 'secret', secret: secretBytes(raw.secret) }
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

function secretBytes(secret: unknown): Uint8Array {
  let bytes: Uint8Array
  if (typeof secret === 'string') bytes = Buffer.from(secret, 'utf8')
  else if (secret instanceof Uint8Array) bytes = secret
  else throw new TypeError('secret must be a string or a Uint8Array')
  if (bytes.length === 0) throw new TypeError('secret must not be empty')
  if (bytes.length < MIN_SECRET_BYTES) {
    process.emitWarning(
      `the HMAC secret is ${bytes.length} bytes; HS256 needs at least ${MIN_SECRET_BYTES} to keep its strength`,
      { code: 'JWT_GATE_SHORT_SECRET' },
    )
  }
  return new Uint8Array(bytes)
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
  const only: VerificationKey[] = [{ kid: undefined, byAlgorithm }]
  return { resolve: () => only, close() {} }
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
  return { resolve: (alg, kid) => set.select(alg, kid), close() {} }
}

function remoteKeySource(lease: JwksCacheLease): KeySource {
  return { resolve: (alg, kid) => lease.cache.resolve(alg, kid), close: () => lease.release() }
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
    close() {
      for (const entry of perIssuer.values()) {
        entry.jwks?.release()
        entry.discovery.release()
      }
    },
  }
}
