/**
 * (2) OIDC discovery (then RFC 8414 authorization-server metadata) for a verifier configured
 * with an issuer and no key source: fetch the issuer's metadata once per process, check that its
 * `issuer` is exactly the configured one, and hand back its `jwks_uri`.
 *
 * Only `issuer` and `jwks_uri` are read. In particular the document's algorithm lists describe
 * ID tokens and are never used as the access-token allow-list.
 */
import { publishJwks } from '../events.js'
import { checkFetchUrl, FetchError, fetchJson, type FetchLimits } from './fetch-json.js'
import { SourceUnavailableError } from '../errors.js'
import { Backoff, SharedRegistry } from './shared-registry.js'
import { warnKeysUnreachableOnce } from './unreachable-warning.js'

/** A lease on the shared discovery result for one issuer. */
export interface DiscoveryLease {
  /** The issuer's JWKS URL, once known; throws `SourceUnavailableError` while it cannot be had. */
  jwksUri(): URL | Promise<URL>
  release(): void
}

const registry = new SharedRegistry<Discovery>((id) => {
  const { issuer, limits } = JSON.parse(id) as { issuer: string; limits: FetchLimits }
  return new Discovery(issuer, limits)
})

/** Lease the process-wide discovery state of `issuer`. */
export function acquireDiscovery(issuer: string, limits: FetchLimits): DiscoveryLease {
  const lease = registry.acquire(JSON.stringify({ issuer, limits }))
  return { jwksUri: () => lease.value.jwksUri(), release: lease.release }
}

/** The metadata URLs to try, in order (the issuer's trailing slash dropped first). */
export function metadataUrls(issuer: string): URL[] {
  const base = issuer.replace(/\/+$/, '')
  const url = new URL(base)
  const path = url.pathname === '/' ? '' : url.pathname
  return [
    new URL(`${base}/.well-known/openid-configuration`),
    // RFC 8414 §3.1: the well-known segment goes between the host and the issuer's path.
    new URL(`${url.origin}/.well-known/oauth-authorization-server${path}`),
  ]
}

class Discovery {
  private resolved: URL | undefined
  private inflight: Promise<URL> | undefined
  private readonly backoff = new Backoff()

  constructor(
    private readonly issuer: string,
    private readonly limits: FetchLimits,
  ) {}

  jwksUri(): URL | Promise<URL> {
    if (this.resolved) return this.resolved
    if (this.inflight) return this.inflight
    const now = Date.now()
    if (this.backoff.backingOff(now)) {
      throw new SourceUnavailableError(
        'discovery',
        this.backoff.secondsUntilRetry(now),
        this.backoff.error,
      )
    }
    this.inflight = this.discover().finally(() => {
      this.inflight = undefined
    })
    return this.inflight
  }

  private async discover(): Promise<URL> {
    try {
      const document = await this.fetchMetadata()
      const jwksUri = this.check(document)
      this.resolved = jwksUri
      this.backoff.succeeded()
      publishJwks({ type: 'discovered', issuer: this.issuer, jwksUri: jwksUri.href })
      return jwksUri
    } catch (error) {
      const backoff = this.backoff.failed(error, Date.now())
      warnKeysUnreachableOnce(`the discovery document of ${this.issuer}`, error)
      publishJwks({
        type: 'discovery-failed',
        issuer: this.issuer,
        error: error instanceof Error ? error.message : String(error),
      })
      throw new SourceUnavailableError('discovery', backoff / 1000, error)
    }
  }

  /** The OIDC document, or on 404 the RFC 8414 one. */
  private async fetchMetadata(): Promise<unknown> {
    const [openid, oauth] = metadataUrls(this.issuer)
    try {
      return await fetchJson(openid!, this.limits)
    } catch (error) {
      const notFound = error instanceof FetchError && error.status === 404
      if (!notFound || oauth!.href === openid!.href) throw error
      return await fetchJson(oauth!, this.limits)
    }
  }

  private check(document: unknown): URL {
    if (typeof document !== 'object' || document === null || Array.isArray(document)) {
      throw new TypeError('the discovery document is not a JSON object')
    }
    const { issuer, jwks_uri: jwksUri } = document as Record<string, unknown>
    if (issuer !== this.issuer) {
      throw new TypeError(
        `the discovery document names issuer ${JSON.stringify(issuer)}, not ${JSON.stringify(this.issuer)}`,
      )
    }
    if (typeof jwksUri !== 'string') throw new TypeError('the discovery document has no jwks_uri')
    return checkFetchUrl(jwksUri, this.limits.allowInsecureHttp, 'the discovered jwks_uri')
  }
}
