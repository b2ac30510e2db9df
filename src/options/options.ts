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
import {
  ISSUER_ENTRY_OPTIONS,
  readIssuerSettings,
  type IssuerDefaults,
  type TrustConfig,
} from '../issuers/issuer-settings.js'
import { BINDING_METHODS, type BindingMethod } from '../claims/claims.js'
import type { ChallengeSettings, Realm } from '../errors.js'
import type { JwksCacheSettings } from '../keys/jwks-cache.js'
import { metadataUrl, readResource } from '../resource/metadata.js'
import type { CsrfSettings } from '../request/csrf.js'
import { allowedAlgorithms } from '../jws/algorithms.js'
import { createNonceSource } from '../dpop/nonce.js'
import type { DpopSettings } from '../dpop/proof.js'
import { createMemoryReplayStore } from '../dpop/replay.js'
import type { MtlsSettings } from '../binding/mtls.js'
import type {
  Denylist,
  IssuerResolver,
  ReplayStore,
  RequestLike,
  VerifierOptions,
} from '../types.js'
import {
  anything,
  boolean,
  falseOr,
  milliseconds,
  nonEmptyString,
  oneOf,
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

/** The trusted issuers: a fixed list (one entry for the single-issuer options) or a resolver. */
export type TrustedIssuers =
  | { kind: 'fixed'; configs: readonly TrustConfig[] }
  | { kind: 'resolver'; resolver: IssuerResolver; defaults: IssuerDefaults }

/** Everything the verifier needs, validated, with defaults applied and units converted. */
export interface NormalizedOptions {
  /** Issuers, each with its audiences, algorithms, `typ`, clock tolerance and key source. */
  trusted: TrustedIssuers
  /** Seconds, or undefined when `iat` age is not checked. */
  maxTokenAge: number | undefined
  requiredClaims: readonly string[]
  /** Bindings (`cnf`) a token may carry: those checked, plus those the user chose to ignore. */
  acceptedBindings: ReadonlySet<BindingMethod>
  headerToken: boolean
  cookieName: string | undefined
  csrf: CsrfSettings | false
  denylist: Denylist | undefined
  denylistTimeoutMs: number
  /** 0 disables the verified-token cache. */
  tokenCacheSize: number
  maxTokenLength: number
  maxPayloadDepth: number
  /** The realm, with RFC 9728 `resource_metadata` when `resource` is set. */
  realm: Realm
  /** The RFC 9728 resource identifier, or undefined. */
  resource: string | undefined
  /** The access-token profile enforced, or undefined. */
  profile: AccessTokenProfile | undefined
  remote: JwksCacheSettings
  /** `uncheckedBinding: 'accept'`: accept `cnf`-bound tokens whose binding nothing checks. */
  acceptUncheckedBinding: boolean
  /** DPoP, when configured. */
  dpop: DpopSettings | undefined
  /** Certificate-bound tokens, when configured. */
  mtls: MtlsSettings | undefined
}

/** Access-token profiles `profile` accepts. */
export type AccessTokenProfile = 'rfc9068'

/** Claims RFC 9068 §2.2 makes required in a JWT access token. */
export const RFC9068_REQUIRED_CLAIMS = ['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti']

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

/** Our public origin: an origin string (normalised), or a function of the request. */
const publicOrigin: Reader<CsrfSettings['origin']> = (value, name) => {
  if (value === undefined || typeof value === 'function') {
    return value as CsrfSettings['origin']
  }
  if (typeof value !== 'string') {
    throw new TypeError(`${name} must be an origin string or a function (request) => origin`)
  }
  return origin(value, name)
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

const profile: Reader<AccessTokenProfile> = (value, name) => {
  if (value !== 'rfc9068') throw new TypeError(`${name} must be 'rfc9068'`)
  return value
}

const tokenCount: Reader<number | false> = (value, name) => {
  if (value === false) return false
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new TypeError(`${name} must be a non-negative integer, or false`)
  }
  return value
}

/** DPoP's proof algorithms when none are given (RFC 9449 leaves the choice to the server). */
const DEFAULT_DPOP_ALGORITHMS = ['ES256', 'EdDSA', 'RS256', 'PS256']

/** `dpop: { ... }` (see `DpopOptions`); cross-checked in `dpopSettings`. */
const DPOP = {
  required: row(boolean, false),
  origin: row(anything),
  algorithms: row(anything),
  maxProofAge: row(seconds, '60s'),
  nonce: row(anything, false),
  replay: row(anything),
}

/** `mtls: { ... }` (see `MtlsOptions`). */
const MTLS = {
  certificate: row(anything),
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
  issuer: row(optional(stringList)),
  audience: row(optional(stringList)),
  issuers: row(anything),
  secret: row(anything),
  keys: row(anything),
  jwksUri: row(optional(nonEmptyString)),
  remoteKeys: row(table(REMOTE_KEYS)),
  algorithms: row(anything),
  clockTolerance: row(seconds, 0),
  maxTokenAge: row(optional(seconds)),
  requiredClaims: row(stringArray, []),
  typ: row(optional(nonEmptyString)),
  uncheckedBinding: row(oneOf(['refuse', 'accept'] as const), 'refuse'),
  token: row(table({ header: row(boolean, true), cookie: row(optional(cookieName)) })),
  csrf: row(falseOr(table({ allowedOrigins: row(stringArray, []), origin: row(publicOrigin) }))),
  denylist: row(optional(denylist)),
  denylistTimeout: row(milliseconds, '2s'),
  cache: row(falseOr(table({ tokens: row(tokenCount, 10_000) }))),
  maxTokenLength: row(positiveInteger, 8192),
  maxPayloadDepth: row(positiveInteger, 32),
  realm: row(optional(nonEmptyString)),
  dpop: row(optional(table(DPOP))),
  mtls: row(optional(table(MTLS))),
  resource: row(optional(nonEmptyString)),
  profile: row(optional(profile)),
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
  const remote = given.remoteKeys
  const resource =
    given.resource === undefined
      ? undefined
      : readResource(given.resource, remote.allowInsecureHttp, 'resource')
  const defaults: IssuerDefaults = {
    clockTolerance: given.clockTolerance,
    allowInsecureHttp: remote.allowInsecureHttp,
    resource,
    profile: given.profile,
  }
  const trusted = trustedIssuers(options as unknown as Record<string, unknown>, defaults)
  const remoteSources = trusted.kind === 'resolver' || trusted.configs.some(isRemote)
  if (!remoteSources && options.remoteKeys) {
    const kind = trusted.kind === 'fixed' ? trusted.configs[0]!.keySource.kind : 'resolver'
    throw new TypeError(`remoteKeys applies only to jwksUri or discovery, not to ${kind}`)
  }
  if (given.maxTokenAge === 0) throw new TypeError('maxTokenAge must be greater than zero')
  const { header: headerToken, cookie } = given.token
  if (!headerToken && cookie === undefined) {
    throw new TypeError('token: with header: false, name a cookie, or no token can ever be found')
  }
  const csrf = given.csrf
  const cache = given.cache
  const realmName = given.realm ?? defaultRealm(trusted, resource)
  const requiredClaims =
    given.profile === 'rfc9068'
      ? [...new Set([...given.requiredClaims, ...RFC9068_REQUIRED_CLAIMS])]
      : given.requiredClaims
  const dpop =
    given.dpop === undefined
      ? undefined
      : dpopSettings(given.dpop, given.clockTolerance, given.denylistTimeout)
  const mtls = given.mtls === undefined ? undefined : mtlsSettings(given.mtls)

  return {
    trusted,
    maxTokenAge: given.maxTokenAge,
    requiredClaims,
    // A checked binding is accepted here; the binding stage then checks it on every request.
    acceptedBindings: new Set<BindingMethod>(
      given.uncheckedBinding === 'accept'
        ? BINDING_METHODS
        : [...(dpop ? ['jkt' as const] : []), ...(mtls ? ['x5t#S256' as const] : [])],
    ),
    headerToken,
    cookieName: cookie,
    csrf:
      csrf === false
        ? false
        : {
            allowedOrigins: new Set(
              csrf.allowedOrigins.map((o) => origin(o, 'csrf.allowedOrigins')),
            ),
            origin: csrf.origin,
          },
    denylist: given.denylist,
    denylistTimeoutMs: given.denylistTimeout,
    tokenCacheSize: cache === false || cache.tokens === false ? 0 : cache.tokens,
    maxTokenLength: given.maxTokenLength,
    maxPayloadDepth: given.maxPayloadDepth,
    realm: challengeSettings(realmName, resource, dpop),
    resource,
    profile: given.profile,
    acceptUncheckedBinding: given.uncheckedBinding === 'accept',
    dpop,
    mtls,
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

/** The names that describe one issuer: at the top level, or in each `issuers` entry. */
const PER_ISSUER = [...ISSUER_ENTRY_OPTIONS].filter(
  (name) => name !== 'clockTolerance' && name !== 'tenants',
)

/** The top-level options as one issuer, or `issuers` (a list, or a resolver function). */
function trustedIssuers(raw: Record<string, unknown>, defaults: IssuerDefaults): TrustedIssuers {
  const { issuers } = raw
  if (issuers === undefined) {
    const entry = Object.fromEntries(PER_ISSUER.map((name) => [name, raw[name]]))
    return { kind: 'fixed', configs: [readIssuerSettings(entry, defaults, '')] }
  }
  const misplaced = PER_ISSUER.find((name) => raw[name] !== undefined)
  if (misplaced !== undefined) {
    throw new TypeError(
      `with issuers, give ${misplaced} in each issuer's settings, not at the top level`,
    )
  }
  if (typeof issuers === 'function') {
    return { kind: 'resolver', resolver: issuers as IssuerResolver, defaults }
  }
  if (!Array.isArray(issuers) || issuers.length === 0) {
    throw new TypeError(
      'issuers must be a non-empty array of issuer settings, or a function (iss) => settings',
    )
  }
  return {
    kind: 'fixed',
    configs: issuers.map((entry, index) =>
      readIssuerSettings(entry, defaults, `issuers[${index}]`),
    ),
  }
}

function isRemote(config: TrustConfig): boolean {
  return config.keySource.kind === 'remote' || config.keySource.kind === 'discovery'
}

/**
 * The realm when none is set: the first audience of the first issuer; with a resolver, the
 * `resource`, or `'api'`.
 */
function defaultRealm(trusted: TrustedIssuers, resource: string | undefined): string {
  return trusted.kind === 'fixed' ? trusted.configs[0]!.audiences[0]! : (resource ?? 'api')
}

/**
 * What every challenge carries: the realm, with RFC 9728 §5.1's `resource_metadata` when the API
 * names its `resource` (so a client refused for any reason learns where to find out more), and
 * with DPoP its scheme and `algs` (RFC 9449 §7.1).
 */
function challengeSettings(
  realm: string,
  resource: string | undefined,
  dpop: DpopSettings | undefined,
): Realm {
  if (resource === undefined && dpop === undefined) return realm
  const settings: ChallengeSettings = dpop === undefined ? { realm } : dpopChallenge(realm, dpop)
  return resource === undefined
    ? settings
    : { ...settings, resourceMetadata: metadataUrl(resource) }
}

/** DPoP's settings from `dpop: { ... }`, checked. */
function dpopSettings(
  given: { [K in keyof typeof DPOP]: ReturnType<(typeof DPOP)[K]['read']> },
  clockTolerance: number,
  replayTimeoutMs: number,
): DpopSettings {
  const { origin: configured, nonce, replay } = given
  if (typeof configured !== 'string' && typeof configured !== 'function') {
    throw new TypeError(
      "dpop.origin is required: the API's public origin such as 'https://api.example.com' (or (req) => origin); the Host header is never trusted for htu",
    )
  }
  if (given.maxProofAge <= 0) throw new TypeError('dpop.maxProofAge must be greater than zero')
  let secret: Uint8Array | undefined
  if (typeof nonce === 'object' && nonce !== null) {
    const value = (nonce as { secret?: unknown }).secret
    secret = typeof value === 'string' ? Buffer.from(value, 'utf8') : (value as Uint8Array)
    if (!(secret instanceof Uint8Array) || secret.length < 32) {
      throw new TypeError('dpop.nonce.secret must be a string or bytes of at least 32 bytes')
    }
  } else if (typeof nonce !== 'boolean') {
    throw new TypeError('dpop.nonce must be true, false or { secret }')
  }
  if (
    replay !== undefined &&
    (typeof replay !== 'object' ||
      replay === null ||
      typeof (replay as ReplayStore).markUsed !== 'function')
  ) {
    throw new TypeError('dpop.replay must be a ReplayStore: an object with markUsed(id, ttlMs)')
  }
  return {
    required: given.required,
    origin:
      typeof configured === 'string'
        ? origin(configured, 'dpop.origin')
        : (configured as (request: RequestLike) => string),
    algorithms: allowedAlgorithms(given.algorithms ?? DEFAULT_DPOP_ALGORITHMS, false),
    maxProofAgeSeconds: given.maxProofAge + clockTolerance,
    nonce: nonce === false ? undefined : createNonceSource(secret),
    replay: (replay as ReplayStore | undefined) ?? createMemoryReplayStore(),
    replayTimeoutMs,
  }
}

/** RFC 9449 §7.1: a DPoP challenge first (with `algs`), then Bearer unless DPoP is required. */
function dpopChallenge(realm: string, dpop: DpopSettings): ChallengeSettings {
  return {
    realm,
    schemes: dpop.required ? ['DPoP'] : ['DPoP', 'Bearer'],
    dpopAlgorithms: [...dpop.algorithms.keys()],
  }
}

/** Certificate-bound tokens' settings from `mtls: { ... }`, checked. */
function mtlsSettings(given: { certificate: unknown }): MtlsSettings {
  if (given.certificate !== undefined && typeof given.certificate !== 'function') {
    throw new TypeError('mtls.certificate must be a function (req) => certificate | undefined')
  }
  return { certificate: given.certificate as MtlsSettings['certificate'] }
}
