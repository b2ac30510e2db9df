/**
 * Mutations of a valid token, as an attacker would try them: characters flipped, inserted or
 * deleted, segments reordered, re-encoded or re-serialised, header and payload edits re-signed
 * with anything but the trusted key, and noise. Each yields the token and a label for the
 * counterexample report.
 */
import fc from 'fast-check'
import { b64url, asymmetricToken, hmacToken } from '../helpers/tokens.js'
import { B64URL } from './canonical.js'
import { headerEdit, payloadEdit } from './edits.js'
import { ATTACKER_SECRET, keyRing, type TokenFamily } from './token-families.js'

/** A mutated token and what was done to it. */
export interface Mutated {
  kind: string
  token: string
}

/** Characters an attacker would splice in: other alphabets, separators, padding, odd bytes. */
const ODD_CHARS = [
  '.',
  '=',
  '+',
  '/',
  ' ',
  '\t',
  '\n',
  '%',
  '"',
  ',',
  ';',
  '\0',
  'é',
  'Ａ',
  '\u200b',
  // Beyond Latin-1 with a base64url letter as low byte (U+0141, U+016F, U+2D2D): a decoder that
  // reads code units as bytes would take them for 'A', 'o' and '-'.
  'Ł',
  'ů',
  '\u2d2d',
]

/** Decode a segment's JSON, or undefined. */
function decodeJson(segment: string | undefined): unknown {
  if (segment === undefined) return undefined
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
  } catch {
    return undefined
  }
}

type Resign = 'attacker-key' | 'hmac-with-public-key' | 'keep-signature' | 'empty' | 'random'

/** Sign edited segments with anything but the trusted key. */
function resign(
  family: TokenFamily,
  header: unknown,
  payload: unknown,
  how: Resign,
  confusionSecret: number,
  randomSig: Uint8Array,
): string {
  const input = `${b64url(header)}.${b64url(payload)}`
  const original = family.token.split('.')[2]!
  const alg =
    typeof header === 'object' && header !== null && 'alg' in header
      ? String(header.alg)
      : family.alg
  const keys = keyRing().attacker
  switch (how) {
    case 'keep-signature':
      return `${input}.${original}`
    case 'empty':
      return `${input}.`
    case 'random':
      return `${input}.${Buffer.from(randomSig).toString('base64url')}`
    case 'hmac-with-public-key': {
      // Algorithm confusion: the public key (in any encoding) used as the HMAC secret.
      const pem = family.publicKey?.export({ type: 'spki', format: 'pem' }) as string | undefined
      const der = family.publicKey?.export({ type: 'spki', format: 'der' })
      const jwk = family.publicJwk
      const secrets: Array<string | Buffer> = [
        pem ?? '',
        der ?? Buffer.alloc(0),
        JSON.stringify(jwk ?? {}),
        String(jwk?.n ?? jwk?.x ?? ''),
        '', // the empty key
      ]
      const secret = secrets[confusionSecret % secrets.length]!
      const hash = /^HS(384|512)$/.test(alg) ? `sha${alg.slice(2)}` : 'sha256'
      return hmacToken(header, payload, secret, hash)
    }
    case 'attacker-key': {
      if (alg.startsWith('HS')) {
        const hash = /^HS(384|512)$/.test(alg) ? `sha${alg.slice(2)}` : 'sha256'
        return hmacToken(header, payload, ATTACKER_SECRET, hash)
      }
      const pair = alg.startsWith('ES') ? keys.ec : alg.startsWith('Ed') ? keys.ed : keys.rsa
      const signAs = /^(RS|PS)(256|384|512)$|^ES256$|^EdDSA$|^Ed25519$/.test(alg)
        ? alg
        : pair === keys.ec
          ? 'ES256'
          : pair === keys.ed
            ? 'EdDSA'
            : 'RS256'
      const signed = asymmetricToken({ alg: signAs }, payload, pair.privateKey)
      return `${input}.${signed.split('.')[2]}`
    }
  }
}

/** Mutations of `family.token`: characters, segments, re-encodings, edits re-signed wrongly. */
export function mutationOf(family: TokenFamily): fc.Arbitrary<Mutated> {
  const token = family.token
  const [h, p, s] = token.split('.') as [string, string, string]
  const index = fc.nat({ max: token.length - 1 })
  const anyChar = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...B64URL) },
    { weight: 1, arbitrary: fc.constantFrom(...ODD_CHARS) },
  )

  const charFlip = fc.tuple(index, anyChar).map(([i, c]) => ({
    kind: `flip #${i} to ${JSON.stringify(c)}`,
    token: token.slice(0, i) + c + token.slice(i + 1),
  }))
  const charInsert = fc.tuple(index, anyChar).map(([i, c]) => ({
    kind: `insert ${JSON.stringify(c)} at #${i}`,
    token: token.slice(0, i) + c + token.slice(i),
  }))
  const charDelete = index.map((i) => ({
    kind: `delete #${i}`,
    token: token.slice(0, i) + token.slice(i + 1),
  }))
  const truncate = index.map((i) => ({ kind: `truncate to ${i}`, token: token.slice(0, i) }))
  const extend = fc
    .string({ unit: fc.constantFrom(...B64URL, '.'), minLength: 1, maxLength: 12 })
    .map((tail) => ({ kind: `append ${tail}`, token: token + tail }))

  const segments = fc
    .array(fc.constantFrom(h, p, s, ''), { minLength: 1, maxLength: 5 })
    .map((parts) => ({
      kind: `segments ${parts.map((x) => [h, p, s].indexOf(x)).join(',')}`,
      token: parts.join('.'),
    }))

  const reencode = fc.constantFrom(0, 1, 2).chain((which) =>
    fc
      .constantFrom<'base64' | 'pad' | 'pad2' | 'space' | 'wrap' | 'upper' | 'lower' | 'percent'>(
        'base64',
        'pad',
        'pad2',
        'space',
        'wrap',
        'upper',
        'lower',
        'percent',
      )
      .map((how) => {
        const parts = [h, p, s]
        const segment = parts[which]!
        const bytes = Buffer.from(segment, 'base64url')
        parts[which] =
          how === 'base64'
            ? bytes.toString('base64')
            : how === 'pad'
              ? `${segment}=`
              : how === 'pad2'
                ? `${segment}==`
                : how === 'space'
                  ? `${segment.slice(0, 4)} ${segment.slice(4)}`
                  : how === 'wrap'
                    ? `"${segment}"`
                    : how === 'upper'
                      ? segment.toUpperCase()
                      : how === 'lower'
                        ? segment.toLowerCase()
                        : encodeURIComponent(segment.slice(0, 1)) === segment.slice(0, 1)
                          ? `%${segment.charCodeAt(0).toString(16)}${segment.slice(1)}`
                          : segment
        return { kind: `re-encode segment ${which} (${how})`, token: parts.join('.') }
      }),
  )

  // The same header or payload JSON, serialised differently (whitespace, key order), old signature.
  const reserialise = fc.constantFrom(0, 1).map((which) => {
    const json = decodeJson(which === 0 ? h : p) as Record<string, unknown>
    const reordered = Object.fromEntries(Object.entries(json).reverse())
    const text = JSON.stringify(reordered, null, 1)
    const parts = [h, p, s]
    parts[which] = Buffer.from(text).toString('base64url')
    return { kind: `re-serialise segment ${which}`, token: parts.join('.') }
  })

  const resigned = fc
    .record({
      header: fc.option(headerEdit, { nil: undefined }),
      payload: fc.option(payloadEdit, { nil: undefined }),
      how: fc.constantFrom<Resign>(
        'attacker-key',
        'hmac-with-public-key',
        'keep-signature',
        'empty',
        'random',
      ),
      confusion: fc.nat({ max: 4 }),
      randomSig: fc.uint8Array({ minLength: 0, maxLength: 300 }),
    })
    .map(({ header, payload, how, confusion, randomSig }) => {
      const newHeader = header ? header.edit({ ...family.header }) : family.header
      const newPayload = payload ? payload.edit({ ...family.payload }) : family.payload
      return {
        kind: `edit [${header?.label ?? '-'}] [${payload?.label ?? '-'}] then ${how}`,
        token: resign(family, newHeader, newPayload, how, confusion, randomSig),
      }
    })

  // The whole token replaced by noise (control).
  const noise = fc
    .string({ unit: 'binary', maxLength: 200 })
    .map((value) => ({ kind: 'noise', token: value }))

  return fc.oneof(
    { weight: 4, arbitrary: charFlip },
    { weight: 2, arbitrary: charInsert },
    { weight: 2, arbitrary: charDelete },
    { weight: 1, arbitrary: truncate },
    { weight: 1, arbitrary: extend },
    { weight: 2, arbitrary: segments },
    { weight: 2, arbitrary: reencode },
    { weight: 1, arbitrary: reserialise },
    { weight: 6, arbitrary: resigned },
    { weight: 1, arbitrary: noise },
  )
}
