/**
 * Shared by the property suites in test/fuzz (and by `npm run fuzz`, which runs the same files
 * with more runs): fixed seeds, run counts, replay of a failure, the key ring, and the token
 * mutations an attacker would try.
 *
 * Environment (all optional):
 *   FUZZ_RUNS   runs per property (default: each property's own, small enough for `npm test`)
 *   FUZZ_FACTOR multiply each property's default runs (what `npm run fuzz` sets)
 *   FUZZ_SEED   seed for every property (default: a fixed seed per property, see `seedOf`)
 *   FUZZ_PATH   replay one counterexample: the `path` a failure printed (use with FUZZ_SEED and
 *               `--test-name-pattern` so only that property runs)
 */
import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto'
import type { TestContext } from 'node:test'
import fc from 'fast-check'
import type { JsonWebKey } from '../../src/index.js'
import { keyPair, type TestKeyPair } from '../helpers/keys.js'
import { asymmetricToken, b64url, hmacToken } from '../helpers/tokens.js'

/** The seed every property derives its own from; change it only on purpose. */
export const BASE_SEED = 0x6a776761

/** A stable 32-bit seed per property name, so adding a property never reshuffles the others. */
export function seedOf(name: string): number {
  const fromEnv = process.env.FUZZ_SEED
  if (fromEnv !== undefined && fromEnv !== '') {
    const seed = Number(fromEnv)
    if (!Number.isInteger(seed)) throw new TypeError(`FUZZ_SEED must be an integer: ${fromEnv}`)
    return seed
  }
  let hash = BASE_SEED
  for (const char of name) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0
  return hash | 0
}

/**
 * Runs for one property: FUZZ_RUNS when set; else the property's default times FUZZ_FACTOR
 * (default 1), which is how `npm run fuzz` scales every property at once.
 */
export function runsOf(defaultRuns: number): number {
  const positive = (name: string) => {
    const raw = process.env[name]
    if (raw === undefined || raw === '') return undefined
    const value = Number(raw)
    if (!Number.isFinite(value) || value <= 0) {
      throw new TypeError(`${name} must be a positive number: ${raw}`)
    }
    return value
  }
  const runs = positive('FUZZ_RUNS')
  if (runs !== undefined) return Math.ceil(runs)
  return Math.ceil(defaultRuns * (positive('FUZZ_FACTOR') ?? 1))
}

/**
 * Check a property with its fixed seed. On failure the error names the seed, the path and the
 * command that replays exactly that counterexample; the test's diagnostics always carry the
 * seed and run count, so a long run's log says what it covered.
 */
export async function checkProperty<Ts extends [unknown, ...unknown[]]>(
  t: TestContext,
  property: fc.IAsyncProperty<Ts> | fc.IProperty<Ts>,
  defaultRuns: number,
): Promise<void> {
  const seed = seedOf(t.name)
  const numRuns = runsOf(defaultRuns)
  const path = process.env.FUZZ_PATH || undefined
  const details = await fc.check(property as fc.IAsyncProperty<Ts>, {
    seed,
    numRuns,
    path,
    endOnFailure: false,
  })
  t.diagnostic(`seed ${seed}, ${details.numRuns} runs${path ? `, path ${path}` : ''}`)
  if (details.failed) {
    // node --test runs each file in a process of its own, with the file as argv[1].
    const file = (process.argv[1] ?? 'test/fuzz/*.test.ts').replace(/^.*\/test\//, 'test/')
    const replay =
      `FUZZ_SEED=${details.seed} FUZZ_PATH=${details.counterexamplePath ?? ''} ` +
      `node --import tsx --test --test-name-pattern=${JSON.stringify(t.name)} ${file}`
    throw new Error(
      `Property "${t.name}" failed (seed ${details.seed}, path ${details.counterexamplePath}).\n` +
        `Replay: ${replay}\n${fc.defaultReportMessage(details) ?? ''}`,
      { cause: details.errorInstance },
    )
  }
}

/** Resolve a promise (or a synchronous throw) into an outcome, never throwing. */
export async function outcomeOf<T>(
  run: () => Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await run() }
  } catch (error) {
    return { ok: false, error }
  }
}

// ---------------------------------------------------------------------------------------------
// Keys and base tokens.

export const ISSUER = 'https://id.example.com/'
export const AUDIENCE = 'https://api.example.com'
export const SECRET = 'fuzz-secret-'.repeat(4)
export const ATTACKER_SECRET = 'attacker-secret-'.repeat(3)

/** Trusted keys (published to the verifier) and the attacker's look-alikes (same kid). */
export interface KeyRing {
  rsa: TestKeyPair
  ec: TestKeyPair
  ed: TestKeyPair
  attacker: { rsa: TestKeyPair; ec: TestKeyPair; ed: TestKeyPair }
  jwks: { keys: JsonWebKey[] }
}

let ring: KeyRing | undefined

/** One key ring per process (RSA key generation is not free). */
export function keyRing(): KeyRing {
  ring ??= (() => {
    const rsa = keyPair('rsa', 'rsa-1')
    const ec = keyPair('ec', 'ec-1', 'ES256')
    const ed = keyPair('ed25519', 'ed-1')
    return {
      rsa,
      ec,
      ed,
      attacker: {
        rsa: keyPair('rsa', 'rsa-1'),
        ec: keyPair('ec', 'ec-1', 'ES256'),
        ed: keyPair('ed25519', 'ed-1'),
      },
      jwks: { keys: [rsa.jwk, ec.jwk, ed.jwk] },
    }
  })()
  return ring
}

/** A family of tokens: one algorithm, its valid base token, and how an attacker re-signs. */
export interface TokenFamily {
  name: string
  alg: string
  kid: string | undefined
  header: Record<string, unknown>
  payload: Record<string, unknown>
  token: string
  /** The trusted public key (what an algorithm-confusion attacker uses as an HMAC secret). */
  publicKey: KeyObject | undefined
  publicJwk: JsonWebKey | undefined
}

/** Valid claims for `ISSUER` / `AUDIENCE`, expiring `lifetime` seconds from now. */
export function validClaims(lifetime = 3600): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000)
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'user-1',
    iat: now,
    exp: now + lifetime,
    jti: randomBytes(8).toString('hex'),
    scope: 'read:orders write:orders',
    org: 'acme',
  }
}

/** Sign `header.payload` with the trusted key for `family`'s algorithm. */
export function signTrusted(
  alg: string,
  header: Record<string, unknown>,
  payload: unknown,
): string {
  const keys = keyRing()
  if (alg.startsWith('HS')) return hmacToken(header, payload, SECRET, `sha${alg.slice(2)}`)
  const pair = alg.startsWith('ES') ? keys.ec : alg.startsWith('Ed') ? keys.ed : keys.rsa
  return asymmetricToken(header, payload, pair.privateKey)
}

/** The families verified by `localVerifierOptions` (asymmetric) or the secret (HS256). */
export function tokenFamilies(): TokenFamily[] {
  const keys = keyRing()
  const family = (alg: string, pair: TestKeyPair | undefined): TokenFamily => {
    const header: Record<string, unknown> = pair ? { alg, kid: pair.jwk.kid } : { alg }
    const payload = validClaims()
    return {
      name: alg,
      alg,
      kid: pair?.jwk.kid,
      header,
      payload,
      token: signTrusted(alg, header, payload),
      publicKey: pair?.publicKey,
      publicJwk: pair?.jwk,
    }
  }
  return [
    family('RS256', keys.rsa),
    family('PS256', keys.rsa),
    family('ES256', keys.ec),
    family('EdDSA', keys.ed),
    family('Ed25519', keys.ed),
    family('HS256', undefined),
  ]
}

// ---------------------------------------------------------------------------------------------
// Mutations. Each yields the mutated token and a label for the counterexample report.

/** A mutated token and what was done to it. */
export interface Mutated {
  kind: string
  token: string
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
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

const ALGS = [
  'none',
  'None',
  'NONE',
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
  'Ed448',
  'RSA-OAEP',
  'dir',
  '',
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

/** JSON values that break type rules, shapes or trust (advisory classes of other libraries). */
const hostileValue = fc.oneof(
  fc.constantFrom<unknown>(
    null,
    true,
    0,
    -1,
    1e308,
    '',
    [],
    {},
    [ISSUER],
    [AUDIENCE],
    'admin',
    ISSUER,
    AUDIENCE,
    9_999_999_999,
    'https://evil.example.com/',
  ),
  fc.jsonValue({ maxDepth: 2 }),
)

const headerEdit: fc.Arbitrary<{ label: string; edit: (h: Record<string, unknown>) => unknown }> =
  fc.oneof(
    fc.constantFrom(...ALGS).map((alg) => ({
      label: `alg=${alg}`,
      edit: (h: Record<string, unknown>) => ({ ...h, alg }),
    })),
    fc
      .constantFrom<unknown>('rsa-1', 'ec-1', 'ed-1', 'unknown', 7, null, 'k'.repeat(300))
      .map((kid) => ({
        label: `kid=${String(kid).slice(0, 12)}`,
        edit: (h: Record<string, unknown>) => ({ ...h, kid }),
      })),
    fc.constant({
      label: 'embedded jwk',
      edit: (h: Record<string, unknown>) => ({ ...h, jwk: keyRing().attacker.rsa.jwk }),
    }),
    fc.constantFrom('jku', 'x5u').map((name) => ({
      label: name,
      edit: (h: Record<string, unknown>) => ({ ...h, [name]: 'http://127.0.0.1:9/keys' }),
    })),
    fc.constantFrom<unknown>(['exp'], [], 'b64', ['b64'], ['alg'], ['x-unknown']).map((crit) => ({
      label: `crit=${JSON.stringify(crit)}`,
      edit: (h: Record<string, unknown>) => ({ ...h, crit, 'x-unknown': 1 }),
    })),
    fc.constant({
      label: 'b64=false',
      edit: (h: Record<string, unknown>) => ({ ...h, b64: false, crit: ['b64'] }),
    }),
    fc.constant({ label: 'no alg', edit: ({ alg: _alg, ...h }: Record<string, unknown>) => h }),
    fc.constant({ label: 'header array', edit: (h: Record<string, unknown>) => [h] }),
    fc.constant({ label: 'header null', edit: () => null }),
  )

const REGISTERED = ['iss', 'aud', 'exp', 'nbf', 'iat', 'sub', 'jti', 'scope', 'scp'] as const

const payloadEdit: fc.Arbitrary<{ label: string; edit: (p: Record<string, unknown>) => unknown }> =
  fc.oneof(
    fc
      .tuple(fc.constantFrom(...REGISTERED, 'role', '__proto__'), hostileValue)
      .map(([claim, value]) => ({
        label: `${claim}=${JSON.stringify(value)?.slice(0, 24)}`,
        edit: (p: Record<string, unknown>) => ({ ...p, [claim]: value }),
      })),
    fc.constantFrom(...REGISTERED).map((claim) => ({
      label: `delete ${claim}`,
      edit: (p: Record<string, unknown>) => {
        const copy = { ...p }
        delete copy[claim]
        return copy
      },
    })),
    fc.constant({ label: 'payload array', edit: (p: Record<string, unknown>) => [p] }),
    fc.constant({
      label: 'payload string',
      edit: (p: Record<string, unknown>) => JSON.stringify(p),
    }),
    fc.constant({ label: 'identity', edit: (p: Record<string, unknown>) => p }),
  )

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
      return hmacToken(header as Record<string, unknown>, payload, secret, hash)
    }
    case 'attacker-key': {
      if (alg.startsWith('HS')) {
        const hash = /^HS(384|512)$/.test(alg) ? `sha${alg.slice(2)}` : 'sha256'
        return hmacToken(header as Record<string, unknown>, payload, ATTACKER_SECRET, hash)
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

/**
 * Whether `candidate` is `original` written with different unused trailing bits in its
 * signature segment: same signing input, same signature bytes, different string. That
 * malleability has its own test; the general mutation property leaves it to that test.
 */
export function isNonCanonicalTwin(candidate: string, original: string): boolean {
  if (candidate === original) return false
  const a = candidate.split('.')
  const b = original.split('.')
  if (a.length !== 3 || b.length !== 3) return false
  if (a[0] !== b[0] || a[1] !== b[1]) return false
  if (!/^[A-Za-z0-9_-]+$/.test(a[2]!)) return false
  if (a[2]!.length % 4 === 1) return false
  return Buffer.from(a[2]!, 'base64url').equals(Buffer.from(b[2]!, 'base64url'))
}

/** Every other spelling of a base64url segment's last character that decodes to the same bytes. */
export function nonCanonicalSpellings(segment: string): string[] {
  const unused = [0, 0, 4, 2][segment.length % 4]!
  if (unused === 0) return []
  const last = B64URL.indexOf(segment.at(-1)!)
  const spellings: string[] = []
  for (let bits = 1; bits < 1 << unused; bits++) {
    spellings.push(segment.slice(0, -1) + B64URL[(last & ~((1 << unused) - 1)) | bits])
  }
  return spellings
}

/** The public key of `jwk` (for tests that need the PEM). */
export const publicKeyOf = (jwk: JsonWebKey): KeyObject =>
  createPublicKey({ key: jwk as never, format: 'jwk' })
