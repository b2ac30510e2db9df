/**
 * (2) Token syntax and the protected header, checked before any key is looked up.
 *
 * - Syntax (RFC 7515 §7.1): exactly three non-empty base64url segments, no padding, no `+` `/`,
 *   no whitespace, within the length limit. Checked before any JSON is parsed, so five-segment
 *   JWE, padded or `+/` encodings and oversized input never reach a parser.
 * - Header: a JSON object whose `alg` is in the allow-list (so never `none`), `kid` a short
 *   string, `crit` understood (only `b64`, and only as `true`: a JWT never has an unencoded
 *   payload), `typ` as configured. `jku`, `x5u`, `jwk` and `x5c` are never read: keys come only
 *   from the configured source.
 * - Payload: a JSON object, nested no deeper than the limit, frozen.
 * - Both are valid UTF-8 (RFC 7515 §5.2, RFC 7519 §7.2): decoding would otherwise turn each
 *   invalid sequence into U+FFFD, so different signed bytes (0xFF, 0xFE) would read as one claim.
 *
 * Validated headers are remembered by their encoded segment: an API sees the same few headers
 * over and over, so most tokens skip the header's base64 and JSON work entirely.
 */
import { isUtf8 } from 'node:buffer'
import type { AlgorithmSpec } from './algorithms.js'
import { invalidToken, type Realm } from '../errors.js'
import type { JwtHeader, JwtPayload } from '../types.js'

/** A token whose syntax and header passed; the signature is not checked yet. */
export interface DecodedToken {
  readonly header: Readonly<JwtHeader>
  readonly alg: AlgorithmSpec
  readonly kid: string | undefined
  /** The header's `typ`, normalised (see `normalizeTyp`), or undefined. */
  readonly typ: string | undefined
  readonly payload: Readonly<JwtPayload>
  /** `header.payload`, the bytes the signature covers. */
  readonly signingInput: string
  readonly signature: Buffer
}

/** What decoding needs from the verifier's options. */
export interface DecodeOptions {
  /** Every algorithm any trusted issuer allows (each issuer's own list is applied later). */
  algorithms: ReadonlyMap<string, AlgorithmSpec>
  maxTokenLength: number
  maxPayloadDepth: number
  realm: Realm
}

/** The header rules of one trusted issuer. */
export interface HeaderRules {
  readonly algorithms: ReadonlyMap<string, AlgorithmSpec>
  /** Normalised expected `typ`, or undefined when not checked. */
  readonly typ: string | undefined
}

/** A validated header, shared by every token that carries the same encoded header. */
interface CheckedHeader {
  header: Readonly<JwtHeader>
  alg: AlgorithmSpec
  kid: string | undefined
  typ: string | undefined
}

/** Longest `kid` accepted; real ones are UUIDs or thumbprints (≤ 64 characters). */
export const MAX_KID_LENGTH = 256
/** Distinct headers remembered per verifier; the map is cleared when it fills. */
const HEADER_MEMO_SIZE = 512

const NOT_THREE_SEGMENTS = 'The token is not three base64url segments (header.payload.signature).'

/** A decoder bound to one verifier's options (and its header memo). */
export type Decoder = (token: string) => DecodedToken

/** Build the decoder for one verifier. */
export function createDecoder(options: DecodeOptions): Decoder {
  const memo = new Map<string, CheckedHeader>()
  const { realm } = options

  const malformed = (message: string, cause?: unknown) =>
    invalidToken(realm, 'malformed', message, cause)

  return function decode(token) {
    if (token.length > options.maxTokenLength) {
      throw invalidToken(
        realm,
        'token_too_large',
        `The token is longer than ${options.maxTokenLength} characters.`,
      )
    }
    // The syntax check is a few scans, not a regular expression over the whole token (the regex
    // was most of an uncached HS256 verification's overhead in a profile): dots and `+` `/`
    // here, every other foreign character when a segment is decoded (see decodeSegment).
    const firstDot = token.indexOf('.')
    const secondDot = firstDot === -1 ? -1 : token.indexOf('.', firstDot + 1)
    if (
      firstDot < 1 ||
      secondDot < firstDot + 2 ||
      secondDot === token.length - 1 ||
      token.indexOf('.', secondDot + 1) !== -1 ||
      token.indexOf('+') !== -1 ||
      token.indexOf('/') !== -1 ||
      !isAscii(token)
    ) {
      throw malformed(NOT_THREE_SEGMENTS)
    }
    const headerSegment = token.slice(0, firstDot)
    const payloadSegment = token.slice(firstDot + 1, secondDot)
    const signatureSegment = token.slice(secondDot + 1)
    if (
      !isCanonical(headerSegment) ||
      !isCanonical(payloadSegment) ||
      !isCanonical(signatureSegment)
    ) {
      throw malformed('A token segment is not canonical base64url.')
    }
    // Decoded before either JSON segment is parsed: a foreign character anywhere stops here.
    const signature = decodeSegment(signatureSegment, malformed)

    let checked = memo.get(headerSegment)
    if (checked === undefined) {
      const header = parseSegment(headerSegment, 'header', malformed)
      // Shared by every later token with this header: frozen all the way down.
      freezeWithin(header, options.maxPayloadDepth, malformed)
      checked = checkHeader(header, options)
      if (memo.size >= HEADER_MEMO_SIZE) memo.clear()
      memo.set(headerSegment, checked)
    }

    const payload = parseSegment(payloadSegment, 'payload', malformed)
    freezeWithin(payload, options.maxPayloadDepth, malformed)

    return {
      header: checked.header,
      alg: checked.alg,
      kid: checked.kid,
      typ: checked.typ,
      payload: payload,
      signingInput: token.slice(0, secondDot),
      signature,
    }
  }
}

/** base64url → UTF-8 → JSON, which must be an object (not an array, null or a primitive). */
function parseSegment(
  segment: string,
  which: 'header' | 'payload',
  malformed: (message: string, cause?: unknown) => Error,
): Record<string, unknown> {
  const bytes = decodeSegment(segment, malformed)
  // A validity scan of the bytes, not a second decode: `toString('utf8')` never fails, it
  // substitutes U+FFFD (overlongs, encoded surrogates and truncated sequences included).
  if (!isUtf8(bytes)) throw malformed(`The token ${which} is not valid UTF-8.`)
  let value: unknown
  try {
    value = JSON.parse(bytes.toString('utf8'))
  } catch (error) {
    throw malformed(`The token ${which} is not valid JSON.`, error)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw malformed(`The token ${which} is not a JSON object.`)
  }
  return value as Record<string, unknown>
}

function checkHeader(header: Record<string, unknown>, options: DecodeOptions): CheckedHeader {
  const { realm } = options
  const { alg, kid, crit, typ } = header
  const spec = typeof alg === 'string' ? options.algorithms.get(alg) : undefined
  if (spec === undefined) {
    throw invalidToken(
      realm,
      'alg_not_allowed',
      typeof alg === 'string'
        ? `The token's algorithm "${alg.slice(0, 16)}" is not allowed.`
        : 'The token header has no "alg".',
      undefined,
      {
        expected: [...options.algorithms.keys()],
        received: typeof alg === 'string' ? alg.slice(0, 32) : typeof alg,
      },
    )
  }
  if (kid !== undefined && (typeof kid !== 'string' || kid.length > MAX_KID_LENGTH)) {
    throw invalidToken(
      realm,
      'malformed',
      `The token header's "kid" must be a string of at most ${MAX_KID_LENGTH} characters.`,
    )
  }
  if (crit !== undefined) checkCrit(header, crit, realm)
  return {
    header: Object.freeze(header) as JwtHeader,
    alg: spec,
    kid: kid,
    typ: typeof typ === 'string' ? normalizeTyp(typ) : undefined,
  }
}

/**
 * The header rules of the issuer the token claims: its algorithm allow-list (the decoder only
 * checked the union of every issuer's) and its expected `typ`.
 */
export function checkHeaderRules(decoded: DecodedToken, rules: HeaderRules, realm: Realm): void {
  if (!rules.algorithms.has(decoded.alg.name)) {
    throw invalidToken(
      realm,
      'alg_not_allowed',
      `The token's algorithm "${decoded.alg.name}" is not allowed for its issuer.`,
      undefined,
      { expected: [...rules.algorithms.keys()], received: decoded.alg.name },
    )
  }
  if (rules.typ !== undefined && decoded.typ !== rules.typ) {
    throw invalidToken(
      realm,
      'wrong_typ',
      'The token header "typ" is not the expected type.',
      undefined,
      { expected: rules.typ, received: decoded.header.typ },
    )
  }
}

/**
 * RFC 7515 §4.1.9: `typ` compares case-insensitively, and `application/` may be left out.
 */
export function normalizeTyp(value: string): string {
  const lower = value.toLowerCase()
  return lower.includes('/') ? lower : `application/${lower}`
}

/**
 * RFC 7515 §4.1.11: a non-empty array of names, none of them registered, each present in the
 * header, and each understood. The only extension understood is RFC 7797's `b64`, and only as
 * `true` (RFC 7797 §7: a JWT never uses an unencoded payload) — as jose does.
 */
function checkCrit(header: Record<string, unknown>, crit: unknown, realm: Realm): void {
  const unsupported = (message: string) => invalidToken(realm, 'unsupported_header', message)
  if (
    !Array.isArray(crit) ||
    crit.length === 0 ||
    crit.some((name) => typeof name !== 'string' || name.length === 0)
  ) {
    throw unsupported('The token header "crit" must be a non-empty array of names.')
  }
  for (const name of crit as string[]) {
    // Registered names (alg, kid, …) may not be critical either; they fail this test too.
    if (name !== 'b64') {
      throw unsupported(
        `The token header marks "${name.slice(0, 32)}" critical, which is not supported.`,
      )
    }
    if (header.b64 !== true) {
      throw unsupported('Unencoded payloads ("b64": false) are not allowed in a JWT.')
    }
  }
}

/**
 * Decode one segment, refusing any character outside the base64url alphabet. Node's decoder
 * skips such characters (or stops at `=`), so they show as fewer bytes than the segment's
 * length promises; `+` and `/`, which it would decode, and anything beyond ASCII, whose low
 * byte it might read as a letter, were refused before (see `decode`). A 4n+1 length, where one
 * skipped character would go unnoticed, is refused by `isCanonical` before this runs.
 */
function decodeSegment(segment: string, malformed: (message: string) => Error): Buffer {
  const bytes = Buffer.from(segment, 'base64url')
  if (bytes.length !== Math.floor((segment.length * 3) / 4)) throw malformed(NOT_THREE_SEGMENTS)
  return bytes
}

/** Whether every character of `text` is ASCII (its UTF-8 form has one byte per character). */
function isAscii(text: string): boolean {
  return Buffer.byteLength(text, 'utf8') === text.length
}

/**
 * Whether `segment` is the one canonical encoding of its bytes: no 4n+1 length, and the unused
 * low bits of the last character zero. Otherwise several strings would carry the same
 * signature, and anything keyed by the token string (a cache, a replay log) would see "new"
 * valid tokens. (A foreign last character is refused when the segment is decoded.)
 */
function isCanonical(segment: string): boolean {
  const rest = segment.length % 4
  if (rest === 0) return true
  if (rest === 1) return false
  const unusedBits = rest === 2 ? 0b1111 : 0b11
  return (base64urlValue(segment.charCodeAt(segment.length - 1)) & unusedBits) === 0
}

/** The 6-bit value of a base64url character. */
function base64urlValue(code: number): number {
  if (code >= 65 && code <= 90) return code - 65 // A-Z
  if (code >= 97 && code <= 122) return code - 71 // a-z
  if (code >= 48 && code <= 57) return code + 4 // 0-9
  return code === 45 ? 62 : 63 // '-' or '_'
}

/**
 * Freeze the payload and everything in it (results may be shared through the token cache),
 * refusing nesting deeper than `maxDepth`. Iterative, so hostile depth cannot overflow a stack.
 */
function freezeWithin(
  root: Record<string, unknown>,
  maxDepth: number,
  malformed: (message: string) => Error,
): void {
  const stack: Array<[object, number]> = [[root, 1]]
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!
    if (depth > maxDepth) throw malformed(`The token payload nests deeper than ${maxDepth} levels.`)
    Object.freeze(value)
    for (const key in value) {
      const child = (value as Record<string, unknown>)[key]
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1])
    }
  }
}
