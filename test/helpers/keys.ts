/**
 * Key pairs for tests that need to sign by hand (hostile tokens) or hold a local JWKS.
 */
import type { KeyObject } from 'node:crypto'
import type { JsonWebKey } from '../../src/index.js'
import { generateKeyPairSafelySync } from '../../src/testing/key-generation-sync.js'

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
  // Never generateKeyPairSync + export directly: that can deadlock Node 20 (key-generation.ts).
  const { privateKey, publicKey } = generateKeyPairSafelySync(
    type === 'rsa'
      ? { type, modulusLength }
      : type === 'ec'
        ? { type, namedCurve: 'P-256' }
        : { type },
  )
  const jwk = { ...(publicKey.export({ format: 'jwk' }) as JsonWebKey), kid }
  if (alg) jwk.alg = alg
  return { privateKey, publicKey, jwk }
}
