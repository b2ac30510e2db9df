/**
 * The soak's keys: what the identity provider signs with (published in its JWKS) and a
 * stranger's key under the same kid (the forged tokens).
 */
import type { KeyObject } from 'node:crypto'
import { keyPair } from '../../test/helpers/keys.js'
import type { Alg, SigningKey } from './protocol.js'

/** A key pair as the soak uses it: the published JWK, and the private half for a loader. */
export interface SoakKey {
  jwk: object
  signing: SigningKey
}

/** A fresh key for `alg` under `kid` (generated without the Node 20 export deadlock). */
export function soakKey(alg: Alg, kid: string): SoakKey {
  const type = alg === 'EdDSA' ? 'ed25519' : alg === 'ES256' ? 'ec' : 'rsa'
  const pair = keyPair(type, kid, alg)
  const privateKey: KeyObject = pair.privateKey
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
  return { jwk: { ...pair.jwk, use: 'sig' }, signing: { kid, pem } }
}
