/**
 * (1) Find the token in a request: `Authorization: Bearer <token>` and, when configured, one
 * cookie. The request-level rules of RFC 6750 §2 live here; the token's own syntax is checked
 * by decode.ts.
 *
 * - The `Bearer` scheme is case-insensitive. `Bearer` with no token, or more than one, is 400.
 * - Another scheme (`Basic …`) counts as no token.
 * - A token both in the header and in the cookie is 400: never a silent choice between them.
 * - The cookie appearing twice is 400 (a sibling subdomain can plant a second one).
 */
import { invalidRequest, invalidToken, type Realm } from '../errors.js'
import { countRawHeader, readHeader } from './headers.js'
import type { RequestLike } from '../types.js'

/** What extraction found: the token and where, or nothing. */
export type Extracted = { token: string; from: 'header' | 'cookie' } | undefined

/** What extraction needs from the verifier's options. */
export interface ExtractOptions {
  headerToken: boolean
  cookieName: string | undefined
  maxTokenLength: number
  realm: Realm
}

/** Find the token in `request`. Throws a 400 `AuthError` for malformed or ambiguous input. */
export function extractToken(request: RequestLike, options: ExtractOptions): Extracted {
  const fromHeader = options.headerToken ? bearerToken(request, options) : undefined
  const fromCookie =
    options.cookieName === undefined
      ? undefined
      : cookieToken(readHeader(request, 'cookie'), options.cookieName, options.realm)
  if (fromHeader !== undefined && fromCookie !== undefined) {
    throw invalidRequest(
      options.realm,
      'ambiguous_token',
      'The request carries a token in both the Authorization header and the cookie; send one.',
    )
  }
  if (fromHeader !== undefined) return { token: fromHeader, from: 'header' }
  if (fromCookie !== undefined) return { token: fromCookie, from: 'cookie' }
  return undefined
}

/**
 * Whether a bearer value holds a separator, i.e. is more than one token. HTTP parsers let only
 * SP and HTAB through as whitespace inside a header value; `indexOf` finds them with a vectorised
 * scan, far cheaper than a regular expression on the hot path.
 */
function hasSeparator(value: string): boolean {
  return value.indexOf(' ') !== -1 || value.indexOf(',') !== -1 || value.indexOf('\t') !== -1
}

/** The token of `Authorization: Bearer <token>`, or undefined for no header / another scheme. */
function bearerToken(request: RequestLike, options: ExtractOptions): string | undefined {
  const { realm } = options
  const value = readHeader(request, 'authorization')
  if (value === undefined) return undefined
  // Fast path for the well-formed header almost every request carries.
  let rest: string
  if (value.startsWith('Bearer ')) {
    rest = value.slice(7)
  } else {
    const trimmed = value.trim()
    const space = trimmed.search(/\s/)
    const scheme = space === -1 ? trimmed : trimmed.slice(0, space)
    if (scheme.toLowerCase() !== 'bearer') return undefined
    rest = space === -1 ? '' : trimmed.slice(space)
  }
  // Bound the work on hostile input before any scan of the value (Node caps the whole header
  // block at 16 KiB; a Fetch runtime may not).
  if (rest.length > options.maxTokenLength + 64) {
    throw invalidToken(
      realm,
      'token_too_large',
      `The token is longer than ${options.maxTokenLength} characters.`,
    )
  }
  // Node drops a repeated Authorization header silently; two headers are two tokens.
  if ((countRawHeader(request, 'authorization') ?? 1) > 1) {
    throw invalidRequest(
      realm,
      'malformed_request',
      'The request has more than one Authorization header.',
    )
  }
  // A well-formed token holds no separator, so it is scanned once; only a padded or doubled
  // value is trimmed and scanned again.
  if (hasSeparator(rest)) {
    rest = rest.trim()
    if (hasSeparator(rest)) {
      throw invalidRequest(
        realm,
        'malformed_request',
        'The Authorization header must carry exactly one bearer token.',
      )
    }
  }
  if (rest === '') {
    throw invalidRequest(
      realm,
      'malformed_request',
      'The Authorization header has no bearer token.',
    )
  }
  return rest
}

/**
 * The value of cookie `name` in a `Cookie` header (RFC 6265 §4.2.1: `name=value` pairs separated
 * by `;`, a value optionally in double quotes). Undefined when absent or empty.
 */
export function cookieToken(
  header: string | undefined,
  name: string,
  realm: Realm,
): string | undefined {
  if (header === undefined || !header.includes(name)) return undefined
  let found: string | undefined
  let count = 0
  for (const pair of header.split(';')) {
    const equals = pair.indexOf('=')
    if (equals === -1 || pair.slice(0, equals).trim() !== name) continue
    count++
    let value = pair.slice(equals + 1).trim()
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"'))
      value = value.slice(1, -1)
    found = value
  }
  if (count > 1) {
    throw invalidRequest(
      realm,
      'malformed_request',
      `The cookie "${name}" appears more than once; send it once.`,
    )
  }
  return found === '' ? undefined : found
}
