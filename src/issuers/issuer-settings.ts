/**
 * (2) What one trusted issuer allows, read from its settings: the `iss` values it covers, its
 * audiences, algorithms, `typ`, clock tolerance and its one key source. The top-level options of
 * a single-issuer verifier are one such entry; `issuers: [...]` lists several; an `issuers`
 * resolver returns one at run time, read by the same code.
 *
 * An entry whose issuer holds `{tenantid}` (Microsoft Entra multi-tenant) covers exactly the
 * issuers its `tenants` allow-list spells out; a token must carry the matching `tid`. The
 * token's own claims are never substituted into a template.
 */
import { allowedAlgorithms, type AlgorithmSpec } from '../jws/algorithms.js'
import { normalizeTyp } from '../jws/decode.js'
import { checkFetchUrl } from '../keys/fetch-json.js'
import { keySourceOf, type KeySourceConfig } from '../keys/key-source.js'
import {
  anything,
  nonEmptyString,
  optional,
  readTable,
  row,
  seconds,
  stringArray,
  stringList,
} from '../options/readers.js'

/** The placeholder of an Entra multi-tenant issuer template. */
export const TENANT_PLACEHOLDER = '{tenantid}'

/** A tenant id as Entra writes it: a lowercase GUID. */
const TENANT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** One trusted issuer (or issuer template), validated. */
export interface TrustConfig {
  /** Every `iss` value this entry accepts, each with the `tid` it requires (templates only). */
  readonly issuers: ReadonlyMap<string, string | undefined>
  readonly audiences: readonly string[]
  readonly algorithms: ReadonlyMap<string, AlgorithmSpec>
  /** Normalised expected `typ` (see `normalizeTyp`), or undefined. */
  readonly typ: string | undefined
  /** Seconds. */
  readonly clockTolerance: number
  readonly keySource: KeySourceConfig
}

/** What every entry shares with the verifier's top-level options. */
export interface IssuerDefaults {
  /** Seconds; an entry's own `clockTolerance` wins. */
  clockTolerance: number
  allowInsecureHttp: boolean
  /** The API's RFC 9728 resource identifier: an audience every issuer's tokens may carry. */
  resource?: string
  /** An access-token profile: `'rfc9068'` makes `typ` `at+jwt` the rule of every issuer. */
  profile?: 'rfc9068'
}

/** The `typ` RFC 9068 §2.1 gives JWT access tokens. */
const ACCESS_TOKEN_TYP = normalizeTyp('at+jwt')

/** The options of one `issuers` entry. */
const ENTRY = {
  issuer: row(stringList),
  audience: row(optional(stringList)),
  secret: row(anything),
  keys: row(anything),
  jwksUri: row(optional(nonEmptyString)),
  algorithms: row(anything),
  typ: row(optional(nonEmptyString)),
  clockTolerance: row(optional(seconds)),
  tenants: row(optional(stringArray)),
}

/** Names `issuers` entries may hold, for the top level's own check. */
export const ISSUER_ENTRY_OPTIONS: ReadonlySet<string> = new Set(Object.keys(ENTRY))

/**
 * Read one issuer's settings (`where` names it in errors, e.g. `issuers[1]`). Throws
 * `TypeError` naming the option at fault.
 */
export function readIssuerSettings(
  settings: unknown,
  defaults: IssuerDefaults,
  where: string,
): TrustConfig {
  const entry = readTable(settings, ENTRY, where)
  const issuers = expandIssuers(entry.issuer, entry.tenants, where)
  const raw = settings as Record<string, unknown>
  const keySource = keySourceOf(raw, [...issuers.keys()], where)
  if (keySource.kind === 'remote') {
    checkFetchUrl(keySource.url.href, defaults.allowInsecureHttp, at(where, 'jwksUri'))
  }
  if (keySource.kind === 'discovery') {
    for (const issuer of issuers.keys()) {
      checkFetchUrl(issuer, defaults.allowInsecureHttp, at(where, 'issuer'))
    }
  }
  return {
    issuers,
    audiences: audiencesOf(entry.audience, defaults.resource, where),
    algorithms: allowedAlgorithms(entry.algorithms, keySource.kind === 'secret'),
    typ: typOf(entry.typ, defaults.profile, where),
    clockTolerance: entry.clockTolerance ?? defaults.clockTolerance,
    keySource,
  }
}

/**
 * The accepted audiences: the entry's own, plus the API's `resource` (RFC 9728: the resource
 * identifier is an audience its tokens carry). Without `resource`, `audience` is required.
 */
function audiencesOf(
  audience: readonly string[] | undefined,
  resource: string | undefined,
  where: string,
): readonly string[] {
  if (audience === undefined) {
    if (resource === undefined) throw new TypeError(`${at(where, 'audience')} is required`)
    return [resource]
  }
  return resource === undefined || audience.includes(resource) ? audience : [...audience, resource]
}

/** The expected `typ`: as given, or `at+jwt` under the RFC 9068 profile (which nothing may relax). */
function typOf(typ: string | undefined, profile: 'rfc9068' | undefined, where: string) {
  const expected = typ === undefined ? undefined : normalizeTyp(typ)
  if (profile === undefined) return expected
  if (expected !== undefined && expected !== ACCESS_TOKEN_TYP) {
    throw new TypeError(`${at(where, 'typ')} must be at+jwt (or left out) with profile: 'rfc9068'`)
  }
  return ACCESS_TOKEN_TYP
}

/** Exact issuers as given; a `{tenantid}` template spelt out once per allowed tenant. */
function expandIssuers(
  issuers: readonly string[],
  tenants: readonly string[] | undefined,
  where: string,
): Map<string, string | undefined> {
  const expanded = new Map<string, string | undefined>()
  const templates = issuers.filter((issuer) => issuer.includes(TENANT_PLACEHOLDER))
  if (templates.length === 0 && tenants !== undefined) {
    throw new TypeError(
      `${at(where, 'tenants')} needs an issuer template holding ${TENANT_PLACEHOLDER}`,
    )
  }
  if (templates.length > 0 && (tenants === undefined || tenants.length === 0)) {
    throw new TypeError(
      `${at(where, 'issuer')} is a ${TENANT_PLACEHOLDER} template: list the allowed tenant ids in tenants`,
    )
  }
  for (const tenant of tenants ?? []) {
    if (!TENANT_ID.test(tenant)) {
      throw new TypeError(
        `${at(where, 'tenants')}: "${tenant}" is not a tenant id (a lowercase GUID)`,
      )
    }
  }
  for (const issuer of issuers) {
    if (!issuer.includes(TENANT_PLACEHOLDER)) {
      expanded.set(issuer, undefined)
      continue
    }
    for (const tenant of tenants!)
      expanded.set(issuer.replaceAll(TENANT_PLACEHOLDER, tenant), tenant)
  }
  return expanded
}

function at(where: string, name: string): string {
  return where ? `${where}.${name}` : name
}
