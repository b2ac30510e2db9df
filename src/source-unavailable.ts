/**
 * The internal signal a shared key source (JWKS cache, discovery) raises when it has no usable
 * key. Shared caches know nothing of any verifier's realm, so the verifier turns this into a
 * 503 `AuthError` itself.
 */
export class SourceUnavailableError extends Error {
  /** Which source failed. */
  readonly source: 'jwks' | 'discovery'
  /** When a retry may succeed, in seconds (becomes `Retry-After`). */
  readonly retryAfterSeconds: number

  constructor(source: 'jwks' | 'discovery', retryAfterSeconds: number, cause: unknown) {
    super(`${source} unavailable`, { cause })
    this.name = 'SourceUnavailableError'
    this.source = source
    this.retryAfterSeconds = retryAfterSeconds
  }
}
