/**
 * Key pairs for tests that need to sign by hand (hostile tokens) or hold a local JWKS.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import type { JsonWebKey } from '../../src/index.js'

/** A key pair with its public JWK. */
export interface TestKeyPair {
  privateKey: KeyObject
  publicKey: KeyObject
  jwk: JsonWebKey
}

/** Generate an RSA-2048, P-256 or Ed25519 pair; the JWK gets `kid` (and `alg` if given). */
export function keyPair(
  type: 'rsa' | 'ec' | 'ed25519',
  kid: string,
  alg?: string,
  modulusLength = 2048,
): TestKeyPair {
  const { privateKey, publicKey } =
    type === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength })
      : type === 'ec'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('ed25519')
  const jwk = { ...(publicKey.export({ format: 'jwk' }) as JsonWebKey), kid }
  if (alg) jwk.alg = alg
  return { privateKey, publicKey, jwk }
}
