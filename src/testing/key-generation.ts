/**
 * Key pairs for the test issuer (and jwt-gate's own tests and scripts), generated so that no
 * KeyObject in use shares a lock with a key-generation job.
 *
 * Why: on Node 20, a KeyObject made by `generateKeyPair(Sync)` (or WebCrypto's `generateKey`)
 * shares its mutex with the generation job. Exporting that key as a JWK holds the mutex while
 * allocating strings; if that allocation triggers a garbage collection that destroys the (by
 * then unreachable) job, the job's destructor waits for the same mutex and the process hangs
 * for good — seen in CI, with gdb: `ExportJWKRsaKey` → GC → `~KeyGenJob` → `uv_mutex_lock`.
 * Here the job hands out DER bytes instead, and the KeyObjects are imported from them: they
 * have locks of their own that no job ever touches.
 */
import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto'

/** What to generate: RSA of a modulus length, an EC curve, or Ed25519. */
export type KeyPairSpec =
  { type: 'rsa'; modulusLength: number } | { type: 'ec'; namedCurve: string } | { type: 'ed25519' }

/** A generated key pair, both halves imported from DER. */
export interface GeneratedKeyPair {
  publicKey: KeyObject
  privateKey: KeyObject
}

export const ENCODINGS = {
  publicKeyEncoding: { type: 'spki', format: 'der' },
  privateKeyEncoding: { type: 'pkcs8', format: 'der' },
} as const

/** Generate a key pair on the thread pool (no event-loop stall for RSA). */
export function generateKeyPairSafely(spec: KeyPairSpec): Promise<GeneratedKeyPair> {
  const { type, ...parameters } = spec
  return new Promise((resolve, reject) => {
    // The overloads of generateKeyPair cannot take a union of key types; the options are
    // checked by KeyPairSpec above.
    ;(generateKeyPair as unknown as GenerateWithCallback)(
      type,
      { ...parameters, ...ENCODINGS },
      (error, publicDer, privateDer) => {
        if (error) reject(error)
        else resolve(imported(publicDer, privateDer))
      },
    )
  })
}

type GenerateWithCallback = (
  type: string,
  options: object,
  callback: (error: Error | null, publicKey: Buffer, privateKey: Buffer) => void,
) => void

/** Import both halves from DER (see above for why). */
export function imported(publicDer: Buffer, privateDer: Buffer): GeneratedKeyPair {
  return {
    publicKey: createPublicKey({ key: publicDer, format: 'der', type: 'spki' }),
    privateKey: createPrivateKey({ key: privateDer, format: 'der', type: 'pkcs8' }),
  }
}
