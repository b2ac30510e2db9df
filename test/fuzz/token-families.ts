/**
 * What the property suites start from: the trusted keys and the attacker's look-alikes (same
 * kid), valid claims, and one valid base token per algorithm family.
 */
import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto'
import type { JsonWebKey } from '../../src/index.js'
import { keyPair, type TestKeyPair } from '../helpers/keys.js'
import { asymmetricToken, hmacToken } from '../helpers/tokens.js'

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

/** The public key of `jwk` (for tests that need the PEM). */
export const publicKeyOf = (jwk: JsonWebKey): KeyObject =>
  createPublicKey({ key: jwk as never, format: 'jwk' })
