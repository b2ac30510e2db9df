/**
 * Property: no mutation of a valid token verifies, and every refusal is an `AuthError` (401,
 * never a crash, never another error type) whose message and challenge do not echo the token.
 *
 * Mutations: character flips, inserts and deletes; truncation and extension; segment swaps,
 * drops and duplicates; re-encodings (standard base64, `=` padding, whitespace, quotes, case,
 * percent-encoding, JSON re-serialisation); header and payload edits (alg swaps to every name
 * including `none`, kid, embedded jwk, jku/x5u, crit, b64, array or null header, array payload,
 * hostile values in every registered claim) re-signed with the attacker's key, with the public
 * key as an HMAC secret (algorithm confusion), with the empty key, or not re-signed at all.
 *
 * Byte-level payloads: random bytes (invalid UTF-8 among them) inside a claim, signed by the
 * trusted key, verify only when they are valid UTF-8, and then to exactly those bytes: never to a
 * claim in which the decoder substituted U+FFFD.
 *
 * Six algorithm families against a local JWKS and a shared secret, plus a remote JWKS served by
 * `createTestIssuer`. Every base token verifies before the mutations run, and is cached: a
 * mutation must not be served from the cache entry of its original.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { isUtf8 } from 'node:buffer'
import fc from 'fast-check'
import { createVerifier, isAuthError, type Verifier } from '../../src/index.js'
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js'
import { isNonCanonicalTwin, nonCanonicalSpellings } from './canonical.js'
import { checkProperty, outcomeOf } from './harness.js'
import { mutationOf } from './mutations.js'
import {
  AUDIENCE,
  ISSUER,
  SECRET,
  keyRing,
  publicKeyOf,
  signTrusted,
  tokenFamilies,
  validClaims,
  type TokenFamily,
} from './token-families.js'

interface Target {
  family: TokenFamily
  verifier: Verifier
}

let targets: Target[] = []
let issuer: TestIssuer
const verifiers: Verifier[] = []

before(async () => {
  const ring = keyRing()
  const local = createVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: ring.jwks })
  const hmac = createVerifier({ issuer: ISSUER, audience: AUDIENCE, secret: SECRET })
  issuer = await createTestIssuer({ alg: 'RS256', audience: AUDIENCE })
  // A short cooldown bounds what a mutated (unknown) kid can cost, whether the cache refuses it
  // at once or holds it for the refetch at the end of the window.
  const remote = createVerifier({
    issuer: issuer.url,
    audience: AUDIENCE,
    jwksUri: issuer.jwksUri,
    remoteKeys: { cooldown: '100ms' },
  })
  verifiers.push(local, hmac, remote)

  targets = tokenFamilies().map((family) => ({
    family,
    verifier: family.alg.startsWith('HS') ? hmac : local,
  }))
  const claims = { ...validClaims(), iss: issuer.url }
  const remoteToken = await issuer.sign(claims)
  const publicJwk = issuer.jwks().keys[0]!
  targets.push({
    family: {
      name: 'remote RS256',
      alg: 'RS256',
      kid: issuer.kid,
      header: { alg: 'RS256', kid: issuer.kid },
      payload: JSON.parse(Buffer.from(remoteToken.split('.')[1]!, 'base64url').toString()),
      token: remoteToken,
      publicKey: publicKeyOf(publicJwk),
      publicJwk,
    },
    verifier: remote,
  })
  // Every base token verifies (and is now cached), so a refusal below is the mutation's doing.
  for (const { family, verifier } of targets) {
    const { payload } = await verifier.verify(family.token)
    assert.equal(payload.sub, 'user-1', family.name)
  }
})

after(async () => {
  await Promise.all(verifiers.map((verifier) => verifier.close()))
  await issuer.close()
})

/** The refusal must be an AuthError that says nothing of the token. */
function assertCleanRefusal(error: unknown, token: string, what: string): void {
  assert.ok(isAuthError(error), `${what}: threw a non-AuthError: ${String(error)}`)
  assert.equal(error.status, 401, `${what}: ${error.reason} ${error.message}`)
  assert.equal(error.code, 'invalid_token')
  const exposed = [error.message, ...Object.values(error.headers)].join('\n')
  for (const piece of [token, ...token.split(/[.\s]/)]) {
    if (piece.length >= 12)
      assert.ok(!exposed.includes(piece), `${what}: the error echoes the token`)
  }
}

describe('token mutations', () => {
  test('no mutation of a valid token verifies; each is refused with a clean AuthError', async (t) => {
    const families = fc.constantFrom(...targets.map((_, i) => i))
    const cases = families.chain((i) => mutationOf(targets[i]!.family).map((m) => ({ i, ...m })))
    await checkProperty(
      t,
      fc.asyncProperty(cases, async ({ i, kind, token }) => {
        const { family, verifier } = targets[i]!
        fc.pre(token !== family.token) // not a mutation
        fc.pre(!isNonCanonicalTwin(token, family.token)) // its own test below
        const outcome = await outcomeOf(() => verifier.verify(token))
        assert.ok(!outcome.ok, `${family.name}: "${kind}" verified`)
        assertCleanRefusal(outcome.error, token, `${family.name}: ${kind}`)
      }),
      600,
    )
  })

  test('arbitrary strings and non-strings passed to verify() are refused with a clean AuthError', async (t) => {
    const { verifier } = targets[0]!
    await checkProperty(
      t,
      fc.asyncProperty(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 300 }),
          fc.stringMatching(/^[A-Za-z0-9_-]{0,40}\.[A-Za-z0-9_-]{0,40}\.[A-Za-z0-9_-]{0,40}$/),
          fc.anything(),
        ),
        async (value) => {
          const outcome = await outcomeOf(() => verifier.verify(value as string))
          assert.ok(!outcome.ok, 'verified')
          assertCleanRefusal(outcome.error, typeof value === 'string' ? value : '', 'garbage')
        },
      ),
      300,
    )
  })

  test('random bytes in a signed claim verify only as valid UTF-8, never to a U+FFFD substitute', async (t) => {
    const local = targets.filter((target) => target.family.name !== 'remote RS256')
    // JSON-safe bytes inside a string: no control characters, quote or backslash. High bytes are
    // drawn often, and valid multi-byte sequences (from any code point) are mixed in.
    const jsonSafe = (byte: number) => byte >= 0x20 && byte !== 0x22 && byte !== 0x5c
    const piece = fc.oneof(
      fc.integer({ min: 0x80, max: 0xff }).map((byte) => [byte]),
      fc
        .integer({ min: 0x20, max: 0x7e })
        .filter(jsonSafe)
        .map((byte) => [byte]),
      fc
        .string({ unit: 'binary', minLength: 1, maxLength: 3 })
        .map((text) => [...Buffer.from(text, 'utf8')]),
    )
    const subBytes = fc
      .array(piece, { minLength: 1, maxLength: 12 })
      .map((pieces) => Buffer.from(pieces.flat().filter(jsonSafe)))
    let accepted = 0
    let refused = 0
    await checkProperty(
      t,
      fc.asyncProperty(fc.nat(local.length - 1), subBytes, async (i, bytes) => {
        const { family, verifier } = local[i]!
        const [head, tail] = JSON.stringify({ ...validClaims(), sub: '@' }).split('@') as [
          string,
          string,
        ]
        const payload = Buffer.concat([Buffer.from(head), bytes, Buffer.from(tail)])
        const token = signTrusted(family.alg, family.header, payload)
        const outcome = await outcomeOf(() => verifier.verify(token))
        if (!outcome.ok) {
          refused++
          assertCleanRefusal(outcome.error, token, family.name)
          assert.equal(isUtf8(bytes), false, `${family.name}: valid UTF-8 refused`)
          assert.equal((outcome.error as { reason?: string }).reason, 'malformed')
          return
        }
        accepted++
        const sub = outcome.value.payload.sub as string
        // Exactly the signed bytes: a substituted U+FFFD would re-encode as EF BF BD.
        assert.deepEqual(
          Buffer.from(sub, 'utf8'),
          bytes,
          `${family.name}: sub is not the signed bytes`,
        )
        if (sub.includes('\uFFFD')) {
          assert.ok(bytes.includes(Buffer.from('\uFFFD')), `${family.name}: U+FFFD not signed`)
        }
      }),
      300,
    )
    t.diagnostic(`${accepted} accepted, ${refused} refused`)
    assert.ok(accepted > 0 && refused > 0, 'the generator covers both valid and invalid UTF-8')
  })

  test('non-canonical base64url: a signature re-spelt with its unused trailing bits set never verifies', async () => {
    // RFC 7515 §2 / RFC 4648 §3.5: the same signature bytes written with non-zero pad bits is a
    // different token string. Accepting it makes tokens malleable: a denylist, rate limit or log
    // keyed by the token string sees a "new" token that verifies like the original.
    const accepted: string[] = []
    for (const { family, verifier } of targets) {
      const [h, p, s] = family.token.split('.') as [string, string, string]
      for (const spelling of nonCanonicalSpellings(s)) {
        const twin = `${h}.${p}.${spelling}`
        const outcome = await outcomeOf(() => verifier.verify(twin))
        if (outcome.ok) accepted.push(`${family.name} (…${spelling.slice(-3)})`)
        else assertCleanRefusal(outcome.error, twin, family.name)
      }
    }
    assert.equal(
      accepted.length,
      0,
      `${accepted.length} non-canonical twins verified, e.g. ${accepted.slice(0, 3).join(', ')}`,
    )
  })
})
