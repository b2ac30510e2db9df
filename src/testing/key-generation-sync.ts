/**
 * Synchronous key generation for jwt-gate's own tests and scripts (set-up that cannot await),
 * with the same DER round trip as key-generation.ts. Kept out of the `jwt-gate/testing` entry,
 * which never uses it: its `generateKeyPairSync` import would ship unused.
 */
import { generateKeyPairSync } from 'node:crypto'
import { ENCODINGS, imported, type GeneratedKeyPair, type KeyPairSpec } from './key-generation.js'

/** Generate a key pair synchronously (for test set-up that cannot await). */
export function generateKeyPairSafelySync(spec: KeyPairSpec): GeneratedKeyPair {
  const { type, ...parameters } = spec
  const { publicKey, privateKey } = (generateKeyPairSync as unknown as GenerateSync)(type, {
    ...parameters,
    ...ENCODINGS,
  })
  return imported(publicKey, privateKey)
}

type GenerateSync = (type: string, options: object) => { publicKey: Buffer; privateKey: Buffer }
