/**
 * Options are checked and normalised once, when a verifier is created. A mistake is a
 * `TypeError` naming the option, before the first request; the hot path then trusts the result
 * and re-checks nothing. Unknown option names are refused too: a misspelt `audiance` must not
 * silently turn a check off.
 */
import {
  ALGORITHMS,
  DEFAULT_ASYMMETRIC_ALGORITHMS,
  DEFAULT_HMAC_ALGORITHMS,
  type AlgorithmSpec,
} from '../jws/algorithms.js'
import { toMilliseconds, toSeconds } from './duration.js'
import { checkFetchUrl } from '../keys/fetch-json.js'
import type { JwksCacheSettings } from '../keys/jwks-cache.js'
import type { Denylist, VerifierOptions } from '../types.js'

/** The key source, resolved. */
export type KeySourceConfig =
  | { kind: 'secret'; secret: Uint8Array }
  | { kind: 'keys'; jwks: unknown }
  | { kind: 'remote'; url: URL }
  | { kind: 'discovery'; issuers: readonly string[] }

/** Everything the verifier needs, validated, with defaults applied and units converted. */
export interface NormalizedOptions {
  issuers: ReadonlySet<string>
  audiences: readonly string[]
  /** Allowed algorithms by name. */
  algorithms: ReadonlyMap<string, AlgorithmSpec>
  /** Seconds. */
  clockTolerance: number
  /** Seconds, or undefined when `iat` age is not checked. */
  maxTokenAge: number | undefined
  requiredClaims: readonly string[]
  /** Normalised expected `typ` (lowercase, `application/` prefix), or undefined. */
  typ: string | undefined
  headerToken: boolean
  cookieName: string | undefined
  csrf: { allowedOrigins: ReadonlySet<string> } | false
  denylist: Denylist | undefined
  denylistTimeoutMs: number
  /** 0 disables the verified-token cache. */
  tokenCacheSize: number
  maxTokenLength: number
  maxPayloadDepth: number
  realm: string
  credentialsRequired: boolean
  keySource: KeySourceConfig
  remote: JwksCacheSettings
}

const KNOWN_OPTIONS = new Set([
  'issuer',
  'audience',
  'secret',
  'keys',
  'jwksUri',
  'algorithms',
  'clockTolerance',
  'maxTokenAge',
  'requiredClaims',
  'typ',
  'token',
  'csrf',
  'denylist',
  'denylistTimeout',
  'cache',
  'maxTokenLength',
  'maxPayloadDepth',
  'realm',
  'credentialsRequired',
  'cacheMaxAge',
  'cooldown',
  'fetchTimeout',
  'staleIfError',
  'maxResponseBytes',
  'maxKeys',
  'allowInsecureHttp',
])

const REMOTE_OPTIONS = [
  'cacheMaxAge',
  'cooldown',
  'fetchTimeout',
  'staleIfError',
  'maxResponseBytes',
  'maxKeys',
  'allowInsecureHttp',
] as const

/** RFC 6265 cookie-name: an RFC 7230 token. */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/** HMAC keys shorter than the hash output weaken HS256 (RFC 7518 §3.2). */
const MIN_SECRET_BYTES = 32

/** Validate `options` and apply defaults. Throws `TypeError` on any mistake. */
export function normalizeOptions(options: VerifierOptions): NormalizedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('createVerifier needs an options object')
  }
  const raw = options as unknown as Record<string, unknown>
  for (const name of Object.keys(raw)) {
    if (!KNOWN_OPTIONS.has(name) && raw[name] !== undefined) {
      throw new TypeError(`unknown option "${name}"`)
    }
  }

  const issuers = stringList(raw.issuer, 'issuer')
  const audiences = stringList(raw.audience, 'audience')
  const keySource = keySourceOf(raw, issuers)
  const algorithms = algorithmsFor(raw.algorithms, keySource.kind)

  const remote = remoteSettings(raw)
  if (keySource.kind === 'secret' || keySource.kind === 'keys') {
    const misplaced = REMOTE_OPTIONS.find((name) => raw[name] !== undefined)
    if (misplaced) {
      throw new TypeError(
        `${misplaced} applies only to jwksUri or discovery, not to ${keySource.kind}`,
      )
    }
  }
  if (keySource.kind === 'remote') {
    checkFetchUrl(keySource.url.href, remote.fetch.allowInsecureHttp, 'jwksUri')
  }
  if (keySource.kind === 'discovery') {
    for (const issuer of issuers) checkFetchUrl(issuer, remote.fetch.allowInsecureHttp, 'issuer')
  }

  const token = tokenLocation(raw.token)
  const maxTokenAge =
    raw.maxTokenAge === undefined ? undefined : toSeconds(raw.maxTokenAge as never, 'maxTokenAge')
  if (maxTokenAge === 0) throw new TypeError('maxTokenAge must be greater than zero')

  return {
    issuers: new Set(issuers),
    audiences,
    algorithms,
    clockTolerance:
      raw.clockTolerance === undefined
        ? 0
        : toSeconds(raw.clockTolerance as never, 'clockTolerance'),
    maxTokenAge,
    requiredClaims: optionalStringList(raw.requiredClaims, 'requiredClaims'),
    typ: raw.typ === undefined ? undefined : normalizeTyp(nonEmptyString(raw.typ, 'typ')),
    headerToken: token.header,
    cookieName: token.cookie,
    csrf: csrfOption(raw.csrf),
    denylist: denylistOption(raw.denylist),
    denylistTimeoutMs:
      raw.denylistTimeout === undefined
        ? 2000
        : toMilliseconds(raw.denylistTimeout as never, 'denylistTimeout'),
    tokenCacheSize: tokenCacheSize(raw.cache),
    maxTokenLength: positiveInteger(raw.maxTokenLength, 'maxTokenLength', 8192),
    maxPayloadDepth: positiveInteger(raw.maxPayloadDepth, 'maxPayloadDepth', 32),
    realm: raw.realm === undefined ? audiences[0]! : nonEmptyString(raw.realm, 'realm'),
    credentialsRequired: optionalBoolean(raw.credentialsRequired, 'credentialsRequired', true),
    keySource,
    remote,
  }
}

/**
 * RFC 7515 §4.1.9: `typ` compares case-insensitively, and `application/` may be left out.
 */
export function normalizeTyp(value: string): string {
  const lower = value.toLowerCase()
  return lower.includes('/') ? lower : `application/${lower}`
}

function keySourceOf(raw: Record<string, unknown>, issuers: string[]): KeySourceConfig {
  const given = (['secret', 'keys', 'jwksUri'] as const).filter((name) => raw[name] !== undefined)
  if (given.length > 1) {
    throw new TypeError(`give exactly one key source; got ${given.join(' and ')}`)
  }
  if (raw.secret !== undefined) return { kind: 'secret', secret: secretBytes(raw.secret) }
  if (raw.keys !== undefined) return { kind: 'keys', jwks: raw.keys }
  if (raw.jwksUri !== undefined) {
    const uri = nonEmptyString(raw.jwksUri, 'jwksUri')
    let url: URL
    try {
      url = new URL(uri)
    } catch {
      throw new TypeError('jwksUri is not an absolute URL')
    }
    return { kind: 'remote', url }
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

function algorithmsFor(
  value: unknown,
  kind: KeySourceConfig['kind'],
): ReadonlyMap<string, AlgorithmSpec> {
  const symmetric = kind === 'secret'
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

function remoteSettings(raw: Record<string, unknown>): JwksCacheSettings {
  const ms = (name: string, fallback: string) =>
    toMilliseconds((raw[name] ?? fallback) as never, name)
  return {
    cacheMaxAgeMs: ms('cacheMaxAge', '10m'),
    cooldownMs: ms('cooldown', '1s'),
    staleIfErrorMs: ms('staleIfError', '24h'),
    maxKeys: positiveInteger(raw.maxKeys, 'maxKeys', 100),
    fetch: {
      timeoutMs: Math.max(1, ms('fetchTimeout', '5s')),
      maxBytes: positiveInteger(raw.maxResponseBytes, 'maxResponseBytes', 512 * 1024),
      allowInsecureHttp: optionalBoolean(raw.allowInsecureHttp, 'allowInsecureHttp', false),
    },
  }
}

function tokenLocation(value: unknown): { header: boolean; cookie: string | undefined } {
  if (value === undefined) return { header: true, cookie: undefined }
  if (typeof value !== 'object' || value === null) {
    throw new TypeError('token must be an object such as { header: true, cookie: "access_token" }')
  }
  const { header, cookie, ...rest } = value as Record<string, unknown>
  const unknown = Object.keys(rest)[0]
  if (unknown !== undefined) throw new TypeError(`token: unknown option "${unknown}"`)
  const useHeader = optionalBoolean(header, 'token.header', true)
  let cookieName: string | undefined
  if (cookie !== undefined) {
    if (typeof cookie !== 'string' || !COOKIE_NAME.test(cookie)) {
      throw new TypeError('token.cookie must be a cookie name (RFC 6265 token characters)')
    }
    cookieName = cookie
  }
  if (!useHeader && cookieName === undefined) {
    throw new TypeError('token: with header: false, name a cookie, or no token can ever be found')
  }
  return { header: useHeader, cookie: cookieName }
}

function csrfOption(value: unknown): NormalizedOptions['csrf'] {
  if (value === false) return false
  if (value === undefined) return { allowedOrigins: new Set() }
  if (typeof value !== 'object' || value === null) {
    throw new TypeError('csrf must be { allowedOrigins: [...] } or false')
  }
  const { allowedOrigins, ...rest } = value as Record<string, unknown>
  const unknown = Object.keys(rest)[0]
  if (unknown !== undefined) throw new TypeError(`csrf: unknown option "${unknown}"`)
  const origins = optionalStringList(allowedOrigins, 'csrf.allowedOrigins').map((origin) => {
    let parsed: URL
    try {
      parsed = new URL(origin)
    } catch {
      throw new TypeError(
        `csrf.allowedOrigins: "${origin}" is not an origin such as https://app.example.com`,
      )
    }
    if (parsed.origin === 'null' || parsed.origin !== origin.replace(/\/$/, '')) {
      throw new TypeError(
        `csrf.allowedOrigins: "${origin}" must be scheme://host[:port] only, such as ${parsed.origin}`,
      )
    }
    return parsed.origin
  })
  return { allowedOrigins: new Set(origins) }
}

function denylistOption(value: unknown): Denylist | undefined {
  if (value === undefined) return undefined
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof (value as Denylist).isRevoked !== 'function'
  ) {
    throw new TypeError('denylist must be an object with an isRevoked(payload, header) method')
  }
  return value as Denylist
}

function tokenCacheSize(value: unknown): number {
  if (value === undefined) return 10_000
  if (value === false) return 0
  if (typeof value !== 'object' || value === null) {
    throw new TypeError('cache must be { tokens: number } or false')
  }
  const { tokens, ...rest } = value as Record<string, unknown>
  const unknown = Object.keys(rest)[0]
  if (unknown !== undefined) throw new TypeError(`cache: unknown option "${unknown}"`)
  if (tokens === false) return 0
  if (tokens === undefined) return 10_000
  if (typeof tokens !== 'number' || !Number.isInteger(tokens) || tokens < 0) {
    throw new TypeError('cache.tokens must be a non-negative integer, or false')
  }
  return tokens
}

function stringList(value: unknown, name: string): string[] {
  if (value === undefined) throw new TypeError(`${name} is required`)
  const list = typeof value === 'string' ? [value] : value
  if (!Array.isArray(list) || list.length === 0) {
    throw new TypeError(`${name} must be a non-empty string or array of strings`)
  }
  return list.map((item: unknown) => nonEmptyString(item, name))
}

function optionalStringList(value: unknown, name: string): string[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) throw new TypeError(`${name} must be an array of strings`)
  return value.map((item: unknown) => nonEmptyString(item, name))
}

function nonEmptyString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(`${name} must be a non-empty string`)
  }
  return value
}

function optionalBoolean(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw new TypeError(`${name} must be true or false`)
  return value
}

function positiveInteger(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new TypeError(`${name} must be a positive integer`)
  }
  return value
}
