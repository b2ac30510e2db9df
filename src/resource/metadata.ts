/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728): the API's `resource` identifier, the URL of
 * its metadata document (which every 401 challenge names, §5.1), and the document itself. The
 * adapters serve it; this module only computes what they serve, so it knows no framework.
 *
 * A verifier publishes what the document needs (its `resource`, where it reads tokens from, its
 * DPoP settings) through `describeResource`, so `protectedResourceMetadata(verifier, …)` never
 * asks the user to repeat it.
 */
import { checkFetchUrl } from '../keys/fetch-json.js'
import type { Verifier } from '../types.js'

/** The well-known path of RFC 9728 §3. */
export const METADATA_PATH = '/.well-known/oauth-protected-resource'

/** What a verifier tells the metadata document about itself. */
export interface ResourceDescription {
  /** The resource identifier (`resource` option), or undefined when none was set. */
  readonly resource: string | undefined
  /** RFC 9728 `bearer_methods_supported`: `header` when the Authorization header is read. */
  readonly bearerMethods: readonly string[]
  /**
   * DPoP settings for `dpop_signing_alg_values_supported` and
   * `dpop_bound_access_tokens_required`; undefined while the verifier does not check DPoP.
   * (Filled by the DPoP stage: `verifier.ts` hands its settings over here.)
   */
  readonly dpop: { readonly algorithms: readonly string[]; readonly required: boolean } | undefined
}

/** What verifier options publish (verifier.ts's normalised options, or read without a verifier). */
export function describeOptions(config: {
  readonly resource: string | undefined
  readonly headerToken: boolean
  readonly dpop?: { readonly algorithms: ReadonlyMap<string, unknown>; readonly required: boolean }
}): ResourceDescription {
  const { dpop } = config
  return {
    resource: config.resource,
    bearerMethods: config.headerToken ? ['header'] : [],
    dpop:
      dpop === undefined
        ? undefined
        : { algorithms: [...dpop.algorithms.keys()], required: dpop.required },
  }
}

const descriptions = new WeakMap<Verifier, ResourceDescription>()

/** Record what `verifier` publishes (called once, by `createVerifier`). */
export function describeResource(verifier: Verifier, description: ResourceDescription): void {
  descriptions.set(verifier, description)
}

/** What `verifier` publishes; undefined for a verifier from another copy of jwt-gate. */
export function descriptionOf(verifier: Verifier): ResourceDescription | undefined {
  return descriptions.get(verifier)
}

/**
 * Check a `resource` option: an absolute `https:` URL (`http:` only on loopback, or with
 * `allowInsecureHttp`) without a fragment (RFC 9728 §1.2). Returned as given: a token's `aud`
 * is compared with it exactly.
 */
export function readResource(value: string, allowInsecureHttp: boolean, what: string): string {
  const url = checkFetchUrl(value, allowInsecureHttp, what)
  if (url.hash !== '' || value.includes('#')) {
    throw new TypeError(`${what} must not have a fragment (RFC 9728 §1.2)`)
  }
  return value
}

/**
 * The RFC 9728 §3.1 metadata URL of `resource`: `/.well-known/oauth-protected-resource` inserted
 * between the host and the path (a lone terminating `/` dropped), the query kept.
 * `https://api.example.com/mcp` → `https://api.example.com/.well-known/oauth-protected-resource/mcp`.
 */
export function metadataUrl(resource: string): string {
  const url = new URL(resource)
  return `${url.origin}${METADATA_PATH}${pathSuffix(url)}`
}

/**
 * The request paths the document is served at: the suffixed path of RFC 9728 §3.1, and the plain
 * well-known path too (clients that only know the origin ask there).
 */
export function metadataPaths(resource: string): string[] {
  const { pathname } = new URL(resource)
  const suffix = pathname === '/' ? '' : pathname
  return suffix === '' ? [METADATA_PATH] : [`${METADATA_PATH}${suffix}`, METADATA_PATH]
}

function pathSuffix(url: URL): string {
  const path = url.pathname === '/' ? '' : url.pathname
  return `${path}${url.search}`
}

/** What `protectedResourceMetadata` takes besides the verifier (or its options). */
export interface ResourceMetadataOptions {
  /**
   * RFC 9728 `authorization_servers`: issuer identifiers of the authorization servers that issue
   * tokens for this API (their RFC 8414 / OIDC metadata lives under each).
   */
  authorizationServers?: string[]
  /** RFC 9728 `scopes_supported`: scopes clients may request for this API. */
  scopesSupported?: string[]
  /** RFC 9728 `resource_name`: a human-readable name. */
  resourceName?: string
  /** RFC 9728 `resource_documentation`: a URL of developer documentation. */
  resourceDocumentation?: string
  /**
   * The resource identifier, when the verifier comes from elsewhere (another copy of jwt-gate).
   * Normally left out: the verifier's `resource` option is used, and a different value here is
   * an error.
   */
  resource?: string
  /**
   * Any further members, written as RFC 9728 names them (`resource_policy_uri`,
   * `jwks_uri`, …) or your own. They cannot replace `resource`.
   */
  extra?: Record<string, unknown>
}

/** The JSON document (RFC 9728 §2), ready to send. */
export interface ResourceMetadataDocument {
  resource: string
  authorization_servers?: string[]
  scopes_supported?: string[]
  bearer_methods_supported: string[]
  resource_name?: string
  resource_documentation?: string
  dpop_signing_alg_values_supported?: string[]
  dpop_bound_access_tokens_required?: boolean
  [member: string]: unknown
}

/** A served document: its body, the paths it answers at. Built once, at route definition. */
export interface ServedMetadata {
  readonly document: ResourceMetadataDocument
  readonly body: string
  readonly paths: ReadonlySet<string>
  readonly headers: Readonly<Record<string, string>>
}

const KNOWN = new Set([
  'authorizationServers',
  'scopesSupported',
  'resourceName',
  'resourceDocumentation',
  'resource',
  'extra',
])

/**
 * Build the document for `description` (what the verifier publishes) and `options`. Throws
 * `TypeError` on a mistake, when the route is defined.
 */
export function buildMetadata(
  description: ResourceDescription | undefined,
  options: ResourceMetadataOptions = {},
): ServedMetadata {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('protectedResourceMetadata: options must be an object')
  }
  for (const name of Object.keys(options)) {
    if (!KNOWN.has(name)) {
      throw new TypeError(
        `protectedResourceMetadata: unknown option "${name}" (put RFC 9728 members in extra)`,
      )
    }
  }
  const resource = description?.resource ?? options.resource
  if (resource === undefined) {
    throw new TypeError(
      "protectedResourceMetadata needs the API's resource identifier: set resource in the verifier options",
    )
  }
  if (options.resource !== undefined && options.resource !== resource) {
    throw new TypeError(
      `protectedResourceMetadata: resource "${options.resource}" differs from the verifier's "${resource}"`,
    )
  }
  readResource(resource, true, 'resource')
  const strings = (value: unknown, name: string): string[] | undefined => {
    if (value === undefined) return undefined
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && item !== '')) {
      throw new TypeError(`protectedResourceMetadata: ${name} must be an array of strings`)
    }
    return [...(value as string[])]
  }
  const text = (value: unknown, name: string): string | undefined => {
    if (value === undefined) return undefined
    if (typeof value !== 'string' || value === '') {
      throw new TypeError(`protectedResourceMetadata: ${name} must be a non-empty string`)
    }
    return value
  }
  const extra = options.extra ?? {}
  if (typeof extra !== 'object' || extra === null || Array.isArray(extra)) {
    throw new TypeError('protectedResourceMetadata: extra must be an object')
  }
  if (Object.hasOwn(extra, 'resource')) {
    throw new TypeError('protectedResourceMetadata: extra cannot replace resource')
  }

  const document: ResourceMetadataDocument = {
    resource,
    bearer_methods_supported: [...(description?.bearerMethods ?? ['header'])],
  }
  const servers = strings(options.authorizationServers, 'authorizationServers')
  if (servers !== undefined) document.authorization_servers = servers
  const scopes = strings(options.scopesSupported, 'scopesSupported')
  if (scopes !== undefined) document.scopes_supported = scopes
  const name = text(options.resourceName, 'resourceName')
  if (name !== undefined) document.resource_name = name
  const docs = text(options.resourceDocumentation, 'resourceDocumentation')
  if (docs !== undefined) document.resource_documentation = docs
  const dpop = description?.dpop
  if (dpop !== undefined) {
    document.dpop_signing_alg_values_supported = [...dpop.algorithms]
    document.dpop_bound_access_tokens_required = dpop.required
  }
  Object.assign(document, extra)

  return {
    document,
    body: JSON.stringify(document),
    paths: new Set(metadataPaths(resource)),
    headers: {
      'content-type': 'application/json',
      // Public, credential-free and the same for everyone: browsers' clients (MCP inspectors,
      // single-page apps) read it cross-origin, and caches may keep it a while.
      'access-control-allow-origin': '*',
      'cache-control': 'public, max-age=3600',
    },
  }
}

/** The path of a request target (`/a/b?x` → `/a/b`). */
export function pathOf(target: string | undefined): string {
  if (target === undefined) return ''
  const query = target.indexOf('?')
  return query === -1 ? target : target.slice(0, query)
}
