/**
 * (1) Cross-site request forgery defence for cookie mode. A browser attaches the cookie to any
 * request, including one a hostile page makes it send, so a state-changing request whose token
 * came from the cookie must come from our own origin (or an allowed one).
 *
 * The origin is judged by `Sec-Fetch-Site` when the browser sends it, else by `Origin`, else by
 * `Referer`; with none of them the request is refused. GET, HEAD and OPTIONS are not checked:
 * they must not change state. Tokens from the `Authorization` header are never checked here: a
 * browser does not add that header on its own.
 */
import { csrfRefused } from '../errors.js'
import { readHeader } from './headers.js'
import type { RequestLike } from '../types.js'

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/** Throws a 403 `AuthError` (reason `csrf`) unless `request` may use the cookie's token. */
export function checkCsrf(
  request: RequestLike,
  allowedOrigins: ReadonlySet<string>,
  realm: string,
): void {
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
    if (isOurs(origin, request, allowedOrigins)) return
    throw csrfRefused(realm, 'Cross-site request refused: its Origin is not allowed.')
  }
  const referer = readHeader(request, 'referer')
  if (referer !== undefined) {
    let refererOrigin: string | undefined
    try {
      refererOrigin = new URL(referer).origin
    } catch {
      refererOrigin = undefined
    }
    if (refererOrigin !== undefined && isOurs(refererOrigin, request, allowedOrigins)) return
    throw csrfRefused(realm, 'Cross-site request refused: its Referer is not allowed.')
  }
  throw csrfRefused(
    realm,
    'A cookie-authenticated request that changes state must send Origin or Referer.',
  )
}

/** Whether `origin` is allowed or is the request's own origin. */
function isOurs(
  origin: string,
  request: RequestLike,
  allowedOrigins: ReadonlySet<string>,
): boolean {
  if (origin === 'null') return false
  if (allowedOrigins.has(origin)) return true
  let parsed: URL
  try {
    parsed = new URL(origin)
  } catch {
    return false
  }
  // A Fetch Request knows its full URL; a Node request knows only the Host it was sent to.
  if (request.url !== undefined && /^https?:\/\//i.test(request.url)) {
    return new URL(request.url).origin === parsed.origin
  }
  const host = readHeader(request, 'host') ?? readHeader(request, ':authority')
  return host !== undefined && host.toLowerCase() === parsed.host
}
