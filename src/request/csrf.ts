/**
 * (1) Cross-site request forgery defence for cookie mode. A browser attaches the cookie to any
 * request, including one a hostile page makes it send, so a state-changing request whose token
 * came from the cookie must come from our own origin (or an allowed one).
 *
 * The origin is judged by `Sec-Fetch-Site` when the browser sends it, else by `Origin`, else by
 * `Referer`; with none of them the request is refused. GET, HEAD and OPTIONS are not checked:
 * they must not change state. Tokens from the `Authorization` header are never checked here: a
 * browser does not add that header on its own.
 *
 * "Our own origin" is a whole origin — scheme, host and port (RFC 6454) — so `https://h:p` is
 * not the origin of a plain-HTTP server on `h:p`. It is the configured public origin
 * (`csrf.origin`, for servers behind TLS termination), else a Fetch `Request`'s own URL, else
 * the Host header with the scheme of the socket (TLS or not). `X-Forwarded-Proto` and
 * `Forwarded` are never read: any client can send them.
 */
import { csrfRefused, type Realm } from '../errors.js'
import { readHeader } from './headers.js'
import type { RequestLike } from '../types.js'

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/** A Host header that is a host and an optional port, nothing else (no userinfo, no path). */
const HOST = /^(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i

/** The CSRF settings the check needs, validated. */
export interface CsrfSettings {
  /** Normalised origins (`scheme://host[:port]`) allowed besides our own. */
  readonly allowedOrigins: ReadonlySet<string>
  /** Our public origin (normalised), a function giving it per request, or undefined: derive it. */
  readonly origin: string | ((request: RequestLike) => string) | undefined
}

/** Throws a 403 `AuthError` (reason `csrf`) unless `request` may use the cookie's token. */
export function checkCsrf(request: RequestLike, settings: CsrfSettings, realm: Realm): void {
  const { allowedOrigins } = settings
  // A request without a method is treated as unsafe: fail closed.
  if (request.method !== undefined && SAFE_METHODS.has(request.method.toUpperCase())) return

  const origin = readHeader(request, 'origin')
  const site = readHeader(request, 'sec-fetch-site')
  if (site !== undefined) {
    if (site === 'same-origin') return
    if (origin !== undefined && allowedOrigins.has(origin)) return
    throw csrfRefused(realm, `Cross-site request refused (Sec-Fetch-Site: ${site.slice(0, 20)}).`)
  }
  if (origin !== undefined) {
    if (isOurs(origin, request, settings)) return
    throw csrfRefused(realm, 'Cross-site request refused: its Origin is not allowed.')
  }
  const referer = readHeader(request, 'referer')
  if (referer !== undefined) {
    const refererOrigin = originOf(referer)
    if (refererOrigin !== undefined && isOurs(refererOrigin, request, settings)) return
    throw csrfRefused(realm, 'Cross-site request refused: its Referer is not allowed.')
  }
  throw csrfRefused(
    realm,
    'A cookie-authenticated request that changes state must send Origin or Referer.',
  )
}

/** Whether `origin` is allowed or is the request's own origin (scheme, host and port). */
function isOurs(origin: string, request: RequestLike, settings: CsrfSettings): boolean {
  if (origin === 'null') return false
  if (settings.allowedOrigins.has(origin)) return true
  const theirs = originOf(origin)
  if (theirs === undefined) return false
  return settings.allowedOrigins.has(theirs) || theirs === ownOrigin(request, settings.origin)
}

/** The request's own origin, normalised; undefined when it cannot be told (then: refused). */
function ownOrigin(request: RequestLike, configured: CsrfSettings['origin']): string | undefined {
  if (typeof configured === 'string') return configured
  if (configured !== undefined) {
    let computed: unknown
    try {
      computed = configured(request)
    } catch {
      return undefined // fail closed: no origin, no match
    }
    return typeof computed === 'string' ? originOf(computed) : undefined
  }
  // A Fetch Request knows its full URL; a Node request knows the Host and its socket.
  if (request.url !== undefined && /^https?:\/\//i.test(request.url)) return originOf(request.url)
  const host = readHeader(request, 'host') ?? readHeader(request, ':authority')
  if (host === undefined || !HOST.test(host)) return undefined
  return originOf(`${isTlsSocket(request) ? 'https' : 'http'}://${host}`)
}

/** Whether a Node request arrived over TLS (an `https` or TLS `http2` server's socket). */
function isTlsSocket(request: RequestLike): boolean {
  const socket = (request as { socket?: { encrypted?: unknown } }).socket
  return socket?.encrypted === true
}

/** `scheme://host[:port]` of a URL (default port dropped, host lowercased); undefined if none. */
function originOf(text: string): string | undefined {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return undefined
  }
  return url.origin === 'null' ? undefined : url.origin
}
