/**
 * Keys and tokens for the micro and HTTP benchmarks: one real test issuer per algorithm (the
 * same `createTestIssuer` users test with, serving its JWKS on 127.0.0.1), a corpus of distinct
 * tokens it signed, and the public key in each form a peer library wants (KeyObject, PEM, JWK).
 */
import {
  createPublicKey,
  createSecretKey,
  type JsonWebKey as NodeJsonWebKey,
  type KeyObject,
} from 'node:crypto'
import { createTestIssuer, type TestIssuer } from 'jwt-gate/testing'
import type { JsonWebKey } from 'jwt-gate'

/** The algorithms the micro benchmark covers. */
export const MICRO_ALGORITHMS = ['HS256', 'RS256', 'ES256', 'EdDSA'] as const
/** One of them. */
export type MicroAlgorithm = (typeof MICRO_ALGORITHMS)[number]

/** `aud` of every benchmark token. */
export const AUDIENCE = 'https://api.bench.test'

/** Everything needed to verify one algorithm's tokens, every way. */
export interface Fixture {
  readonly alg: MicroAlgorithm
  readonly issuer: TestIssuer
  /** Distinct valid tokens (different `sub` and `jti`), all with the same header. */
  readonly tokens: readonly string[]
  /** A token whose signature was altered: every contestant must reject it. */
  readonly tampered: string
  /** Valid signature, another audience: every library (not the floor) must reject it. */
  readonly wrongAudience: string
  /** Valid signature, expired a minute ago: every library must reject it. */
  readonly expired: string
  /** Pre-imported verification key (the public key, or the HMAC secret). */
  readonly keyObject: KeyObject
  /** What PEM-based libraries take: SPKI PEM, or the HMAC secret itself. */
  readonly pemOrSecret: string
  /** The public JWK as published (undefined for HMAC). */
  readonly jwk: JsonWebKey | undefined
}

/** Tokens live long enough for the longest full run. */
const LIFETIME = '2h'
/** Signing happens on jose's WebCrypto thread pool; this many in flight keeps both cores busy. */
const SIGN_CONCURRENCY = 64

/** Start an issuer for `alg` and sign `count` distinct tokens. Close `fixture.issuer` after. */
export async function createFixture(alg: MicroAlgorithm, count: number): Promise<Fixture> {
  const issuer = await createTestIssuer({ alg, audience: AUDIENCE })
  const tokens = await signMany(issuer, count)
  const jwk = issuer.jwks().keys[0]
  const keyObject =
    issuer.secret !== undefined
      ? createSecretKey(Buffer.from(issuer.secret, 'utf8'))
      : createPublicKey({ key: jwk as NodeJsonWebKey, format: 'jwk' })
  const pemOrSecret = issuer.secret ?? (keyObject.export({ type: 'spki', format: 'pem' }) as string)
  const wrongAudience = await issuer.sign({ sub: 'user-0' }, { audience: 'https://other.test' })
  const expired = await issuer.sign({ sub: 'user-0' }, { expiresIn: -60 })
  return {
    alg,
    issuer,
    tokens,
    tampered: tamper(tokens[0]!),
    wrongAudience,
    expired,
    keyObject,
    pemOrSecret,
    jwk,
  }
}

/** Sign `count` distinct tokens, `SIGN_CONCURRENCY` at a time. */
export async function signMany(
  issuer: TestIssuer,
  count: number,
  options: { kid?: string; header?: (index: number) => Record<string, unknown> } = {},
): Promise<string[]> {
  const tokens = new Array<string>(count)
  let next = 0
  const worker = async () => {
    while (next < count) {
      const index = next++
      tokens[index] = await issuer.sign(
        { sub: `user-${index}`, scope: 'read:orders write:orders' },
        {
          expiresIn: LIFETIME,
          ...(options.kid === undefined ? {} : { kid: options.kid }),
          ...(options.header === undefined ? {} : { header: options.header(index) }),
        },
      )
    }
  }
  await Promise.all(Array.from({ length: Math.min(SIGN_CONCURRENCY, count) }, worker))
  return tokens
}

/**
 * The token with one signature character changed. A middle character is changed (the last
 * one may only carry padding bits) to another that surely differs.
 */
export function tamper(token: string): string {
  const start = token.lastIndexOf('.') + 1
  const at = start + Math.floor((token.length - start) / 2)
  const replacement = token[at] === 'A' ? 'B' : 'A'
  return token.slice(0, at) + replacement + token.slice(at + 1)
}
