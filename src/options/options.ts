/**
 * Options are checked and normalised once, when a verifier is created. A mistake is a
 * `TypeError` naming the option, before the first request; the hot path then trusts the result
 * and re-checks nothing.
 *
 * `OPTIONS` is the one list of option names and defaults: unknown names are refused from it (a
 * misspelt `audiance` must not silently turn a check off), and README's options table is tested
 * against it. What one option means for another (exactly one key source, HMAC only with a
 * secret, `remoteKeys` only with a remote source) is checked after the table is read.
 */
import { allowedAlgorithms, type AlgorithmSpec } from '../jws/algorithms.js'
import { checkFetchUrl } from '../keys/fetch-json.js'
import type { JwksCacheSettings } from '../keys/jwks-cache.js'
import { keySourceOf, type KeySourceConfig } from '../keys/key-source.js'
import type { Denylist, VerifierOptions } from '../types.js'
import {
  anything,
  boolean,
  falseOr,
  milliseconds,
  nonEmptyString,
  optional,
  positiveInteger,
  readTable,
  row,
  seconds,
  stringArray,
  stringList,
  table,
  type Reader,
} from './readers.js'

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
  keySource: KeySourceConfig
  remote: JwksCacheSettings
}

/** RFC 6265 cookie-name: an RFC 7230 token. */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

const cookieName: Reader<string> = (value, name) => {
  if (typeof value !== 'string' || !COOKIE_NAME.test(value)) {
    throw new TypeError(`${name} must be a cookie name (RFC 6265 token characters)`)
  }
  return value
}

const origin: Reader<string> = (value, name) => {
  const text = nonEmptyString(value, name)
  let parsed: URL
  try {
    parsed = new URL(text)
  } catch {
    throw new TypeError(`${name}: "${text}" is not an origin such as https://app.example.com`)
  }
  if (parsed.origin === 'null' || parsed.origin !== text.replace(/\/$/, '')) {
    throw new TypeError(
      `${name}: "${text}" must be scheme://host[:port] only, such as ${parsed.origin}`,
    )
  }
  return parsed.origin
}

const denylist: Reader<Denylist> = (value) => {
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof (value as Denylist).isRevoked !== 'function'
  ) {
    throw new TypeError('denylist must be an object with an isRevoked(payload, header) method')
  }
  return value as Denylist
}

const tokenCount: Reader<number | false> = (value, name) => {
  if (value === false) return false
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new TypeError(`${name} must be a non-negative integer, or false`)
  }
  return value
}

/** Remote-key tuning: applies to `jwksUri` and to discovery. */
const REMOTE_KEYS = {
  cacheMaxAge: row(milliseconds, '10m'),
  cooldown: row(milliseconds, '1s'),
  fetchTimeout: row(milliseconds, '5s'),
  staleIfError: row(milliseconds, '24h'),
  maxResponseBytes: row(positiveInteger, 512 * 1024),
  maxKeys: row(positiveInteger, 100),
  allowInsecureHttp: row(boolean, false),
}

/** Every option `createVerifier` accepts, with its default. */
export const OPTIONS = {
  issuer: row(stringList),
  audience: row(stringList),
  secret: row(anything),
  keys: row(anything),
  jwksUri: row(optional(nonEmptyString)),
  remoteKeys: row(table(REMOTE_KEYS)),
  algorithms: row(anything),
  clockTolerance: row(seconds, 0),
  maxTokenAge: row(optional(seconds)),
  requiredClaims: row(stringArray, []),
  typ: row(optional(nonEmptyString)),
  token: row(table({ header: row(boolean, true), cookie: row(optional(cookieName)) })),
  csrf: row(falseOr(table({ allowedOrigins: row(stringArray, []) }))),
  denylist: row(optional(denylist)),
  denylistTimeout: row(milliseconds, '2s'),
  cache: row(falseOr(table({ tokens: row(tokenCount, 10_000) }))),
  maxTokenLength: row(positiveInteger, 8192),
  maxPayloadDepth: row(positiveInteger, 32),
  realm: row(optional(nonEmptyString)),
}

/** Validate `options` and apply defaults. Throws `TypeError` on any mistake. */
export function normalizeOptions(options: VerifierOptions): NormalizedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('createVerifier needs an options object')
  }
  if ((options as { credentialsRequired?: unknown }).credentialsRequired !== undefined) {
    throw new TypeError(
      'credentialsRequired is a guard option: requireJwt(verifier, { credentialsRequired: false }), or verifier.verifyRequest(req, { credentialsRequired: false })',
    )
  }
  const given = readTable(options, OPTIONS, '')
  const keySource = keySourceOf(options as unknown as Record<string, unknown>, given.issuer)
  const remote = given.remoteKeys
  if ((keySource.kind === 'secret' || keySource.kind === 'keys') && options.remoteKeys) {
    throw new TypeError(`remoteKeys applies only to jwksUri or discovery, not to ${keySource.kind}`)
  }
  if (keySource.kind === 'remote') {
    checkFetchUrl(keySource.url.href, remote.allowInsecureHttp, 'jwksUri')
  }
  if (keySource.kind === 'discovery') {
    for (const issuer of given.issuer) checkFetchUrl(issuer, remote.allowInsecureHttp, 'issuer')
  }
  if (given.maxTokenAge === 0) throw new TypeError('maxTokenAge must be greater than zero')
  const { header: headerToken, cookie } = given.token
  if (!headerToken && cookie === undefined) {
    throw new TypeError('token: with header: false, name a cookie, or no token can ever be found')
  }
  const csrf = given.csrf
  const cache = given.cache

  return {
    issuers: new Set(given.issuer),
    audiences: given.audience,
    algorithms: allowedAlgorithms(given.algorithms, keySource.kind === 'secret'),
    clockTolerance: given.clockTolerance,
    maxTokenAge: given.maxTokenAge,
    requiredClaims: given.requiredClaims,
    typ: given.typ === undefined ? undefined : normalizeTyp(given.typ),
    headerToken,
    cookieName: cookie,
    csrf:
      csrf === false
        ? false
        : {
            allowedOrigins: new Set(
              csrf.allowedOrigins.map((o) => origin(o, 'csrf.allowedOrigins')),
            ),
          },
    denylist: given.denylist,
    denylistTimeoutMs: given.denylistTimeout,
    tokenCacheSize: cache === false || cache.tokens === false ? 0 : cache.tokens,
    maxTokenLength: given.maxTokenLength,
    maxPayloadDepth: given.maxPayloadDepth,
    realm: given.realm ?? given.audience[0]!,
    keySource,
    remote: {
      cacheMaxAgeMs: remote.cacheMaxAge,
      cooldownMs: remote.cooldown,
      staleIfErrorMs: remote.staleIfError,
      maxKeys: remote.maxKeys,
      fetch: {
        timeoutMs: Math.max(1, remote.fetchTimeout),
        maxBytes: remote.maxResponseBytes,
        allowInsecureHttp: remote.allowInsecureHttp,
      },
    },
  }
}

/**
 * RFC 7515 §4.1.9: `typ` compares case-insensitively, and `application/` may be left out.
 */
export function normalizeTyp(value: string): string {
  const lower = value.toLowerCase()
  return lower.includes('/') ? lower : `application/${lower}`
}
