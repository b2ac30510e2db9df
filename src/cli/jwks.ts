/**
 * `jwt-gate jwks`: fetch an issuer's key set (by discovery, a discovery URL or a JWKS URL) with
 * the verifier's own bounded fetch, list its keys, and point out what commonly goes wrong:
 * duplicate `kid`s, weak or private keys, keys without `alg`, missing or odd cache headers, and
 * keys jwt-gate's own import would skip (with its reason).
 */
import { createPublicKey, type JsonWebKey as NodeJsonWebKey } from 'node:crypto'
import { DEFAULT_ASYMMETRIC_ALGORITHMS, MIN_RSA_MODULUS_BITS } from '../jws/algorithms.js'
import { importKeySet, PRIVATE_MEMBERS, toSpecs } from '../jws/jwk-set.js'
import { metadataUrls } from '../keys/discovery.js'
import { checkFetchUrl, fetchJsonResponse, type FetchLimits } from '../keys/fetch-json.js'

/** The verifier's default fetch limits (`remoteKeys` defaults). */
const LIMITS: FetchLimits = { timeoutMs: 5000, maxBytes: 512 * 1024, allowInsecureHttp: false }
/** Shorter than this, clients refetch the keys all the time. */
const SHORT_MAX_AGE_SECONDS = 60
/** Longer than this, a rotated-out key lingers in caches. */
const LONG_MAX_AGE_SECONDS = 7 * 24 * 3600

/** One key of the set, described. */
export interface KeyReport {
  index: number
  kid: string | undefined
  kty: string | undefined
  alg: string | undefined
  use: string | undefined
  /** RSA modulus bits, or the curve name. */
  size: string | undefined
  /** Why jwt-gate would not use this key, if it would not. */
  skipped?: string
}

/** The whole answer of `jwks`. */
export interface JwksReport {
  jwksUri: string
  /** Set when the JWKS was found through a discovery document. */
  discoveredFrom?: string
  cacheControl: string | undefined
  keys: KeyReport[]
  warnings: string[]
}

/** A failure to fetch anything usable (exit 2). */
export class JwksFetchError extends Error {
  override name = 'JwksFetchError'
}

/** Fetch and inspect the key set `target` names. */
export async function inspectJwks(target: string): Promise<JwksReport> {
  const warnings: string[] = []
  const { jwksUrl, discoveredFrom } = await locateJwks(target, warnings)
  let fetched
  try {
    fetched = await fetchJsonResponse(jwksUrl, LIMITS)
  } catch (error) {
    throw new JwksFetchError((error as Error).message, { cause: error })
  }
  const { document, headers } = fetched
  const rawKeys = (document as { keys?: unknown } | null)?.keys
  if (!Array.isArray(rawKeys)) {
    throw new JwksFetchError(`${jwksUrl.href} is not a JSON Web Key Set (no "keys" array)`)
  }

  const skipped = new Map<number, string>()
  try {
    importKeySet(document, toSpecs(DEFAULT_ASYMMETRIC_ALGORITHMS), Infinity, (key) =>
      skipped.set(key.index, key.why),
    )
  } catch (error) {
    warnings.push(`jwt-gate cannot read this set: ${(error as Error).message}`)
  }

  const keys = rawKeys.map((jwk: unknown, index): KeyReport => describeKey(jwk, index, skipped))
  warnings.push(...keyWarnings(rawKeys, keys), ...cacheWarnings(headers))
  if (keys.length > 0 && keys.every((key) => key.skipped !== undefined)) {
    warnings.push('no key in the set can verify a token with jwt-gate')
  }
  const report: JwksReport = {
    jwksUri: jwksUrl.href,
    cacheControl: headers.get('cache-control') ?? undefined,
    keys,
    warnings,
  }
  if (discoveredFrom !== undefined) report.discoveredFrom = discoveredFrom
  return report
}

/** The JWKS URL: `target` itself, or the `jwks_uri` of its (or its issuer's) metadata. */
async function locateJwks(
  target: string,
  warnings: string[],
): Promise<{ jwksUrl: URL; discoveredFrom?: string }> {
  let url: URL
  try {
    url = checkFetchUrl(target, false, 'the issuer or URL')
  } catch (error) {
    throw new JwksFetchError((error as Error).message)
  }
  const direct = await fetchJsonResponse(url, LIMITS).catch(() => undefined)
  const document = direct?.document as Record<string, unknown> | undefined
  if (document && Array.isArray(document.keys)) return { jwksUrl: url }
  if (document && typeof document.jwks_uri === 'string') {
    return { jwksUrl: jwksUriOf(document, url.href), discoveredFrom: url.href }
  }
  // An issuer: OIDC discovery, then RFC 8414, as the verifier does.
  const failures: string[] = []
  for (const metadataUrl of metadataUrls(target)) {
    try {
      const metadata = (await fetchJsonResponse(metadataUrl, LIMITS)).document as Record<
        string,
        unknown
      >
      if (typeof metadata?.jwks_uri !== 'string') {
        failures.push(`${metadataUrl.href} has no jwks_uri`)
        continue
      }
      if (metadata.issuer !== target) {
        warnings.push(
          `the discovery document names issuer ${JSON.stringify(metadata.issuer)}, not ` +
            `${JSON.stringify(target)}: a verifier configured with ${JSON.stringify(target)} ` +
            'refuses it (discovery_unavailable)',
        )
      }
      return { jwksUrl: jwksUriOf(metadata, metadataUrl.href), discoveredFrom: metadataUrl.href }
    } catch (error) {
      failures.push((error as Error).message)
    }
  }
  throw new JwksFetchError(`no JWKS or discovery document found: ${failures.join('; ')}`)
}

function jwksUriOf(metadata: Record<string, unknown>, from: string): URL {
  try {
    return checkFetchUrl(metadata.jwks_uri as string, false, `the jwks_uri of ${from}`)
  } catch (error) {
    throw new JwksFetchError((error as Error).message)
  }
}

function describeKey(jwk: unknown, index: number, skipped: Map<number, string>): KeyReport {
  const key = (typeof jwk === 'object' && jwk !== null ? jwk : {}) as Record<string, unknown>
  const report: KeyReport = {
    index,
    kid: typeof key.kid === 'string' ? key.kid : undefined,
    kty: member(key.kty),
    alg: member(key.alg),
    use: member(key.use),
    size: sizeOf(key),
  }
  const why = skipped.get(index)
  if (why !== undefined) report.skipped = why
  return report
}

/** A JWK member as text (a non-string member shown as its JSON). */
function member(value: unknown): string | undefined {
  return value === undefined || typeof value === 'string' ? value : JSON.stringify(value)
}

function sizeOf(jwk: Record<string, unknown>): string | undefined {
  if (jwk.kty === 'RSA') {
    const bits = rsaBits(jwk)
    return bits === undefined ? undefined : `${bits} bits`
  }
  if (typeof jwk.crv === 'string') return jwk.crv
  return undefined
}

function rsaBits(jwk: Record<string, unknown>): number | undefined {
  try {
    const publicOnly = { kty: 'RSA', n: jwk.n, e: jwk.e } as NodeJsonWebKey
    return createPublicKey({ key: publicOnly, format: 'jwk' }).asymmetricKeyDetails?.modulusLength
  } catch {
    return undefined
  }
}

function keyWarnings(rawKeys: unknown[], keys: KeyReport[]): string[] {
  const warnings: string[] = []
  const seen = new Map<string, number>()
  for (const key of keys) {
    const name = key.kid === undefined ? `key #${key.index}` : `key "${key.kid}"`
    if (key.kid !== undefined) seen.set(key.kid, (seen.get(key.kid) ?? 0) + 1)
    const jwk = rawKeys[key.index] as Record<string, unknown> | null
    const privateMembers = PRIVATE_MEMBERS.filter(
      (member) => typeof jwk === 'object' && jwk !== null && member in jwk,
    )
    if (privateMembers.length > 0) {
      warnings.push(
        `${name} publishes private members (${privateMembers.join(', ')}): rotate it now`,
      )
    }
    if (key.kty === 'RSA') {
      const bits = rsaBits(jwk ?? {})
      if (bits !== undefined && bits < MIN_RSA_MODULUS_BITS) {
        warnings.push(`${name} is a weak RSA key (${bits} bits, under ${MIN_RSA_MODULUS_BITS})`)
      }
    }
    if (key.alg === undefined) {
      warnings.push(`${name} has no "alg": any algorithm of its type may be used with it`)
    }
    if (key.kid === undefined) warnings.push(`${name} has no "kid"`)
  }
  for (const [kid, count] of seen) {
    if (count > 1) warnings.push(`kid "${kid}" is used by ${count} keys`)
  }
  return warnings
}

function cacheWarnings(headers: Headers): string[] {
  const cacheControl = headers.get('cache-control')
  if (cacheControl === null) {
    return [
      headers.get('expires') === null
        ? 'no Cache-Control header: clients and proxies guess how long to keep the keys'
        : 'only an Expires header: prefer Cache-Control max-age',
    ]
  }
  const directives = cacheControl.toLowerCase()
  if (/\bno-store\b|\bno-cache\b/.test(directives)) {
    return [`Cache-Control "${cacheControl}" forbids caching the keys: every client refetches`]
  }
  const maxAge = /\bmax-age=(\d+)/.exec(directives)?.[1]
  if (maxAge === undefined) return [`Cache-Control "${cacheControl}" has no max-age`]
  const seconds = Number(maxAge)
  if (seconds < SHORT_MAX_AGE_SECONDS) {
    return [`Cache-Control max-age=${seconds} is very short: clients refetch the keys constantly`]
  }
  if (seconds > LONG_MAX_AGE_SECONDS) {
    return [`Cache-Control max-age=${seconds} is over a week: rotated keys linger in caches`]
  }
  return []
}
