/**
 * The floor: the least work any correct JWS verifier must do, written with node:crypto alone.
 * Split the token, base64url-decode the three segments, check the signature on a KeyObject
 * imported once, and JSON.parse the header and the payload. No claim checks, no key lookup, no
 * error objects: a library can only add to this, so its ops/s divided by the floor's says how
 * much of the machine it leaves for the application.
 */
import { createHmac, timingSafeEqual, verify, type KeyObject } from 'node:crypto'
import type { MicroAlgorithm } from './fixtures.js'

/** What the floor returns for a good token. */
export interface FloorResult {
  header: Record<string, unknown>
  payload: Record<string, unknown>
}

/** A synchronous floor verifier for `alg` on `key`; throws on a bad signature. */
export function createFloorVerifier(
  alg: MicroAlgorithm,
  key: KeyObject,
): (token: string) => FloorResult {
  const check = signatureCheck(alg, key)
  return (token) => {
    const firstDot = token.indexOf('.')
    const secondDot = token.indexOf('.', firstDot + 1)
    const signingInput = Buffer.from(token.slice(0, secondDot), 'latin1')
    const signature = Buffer.from(token.slice(secondDot + 1), 'base64url')
    if (!check(signingInput, signature)) throw new Error('bad signature')
    const header = JSON.parse(
      Buffer.from(token.slice(0, firstDot), 'base64url').toString('utf8'),
    ) as Record<string, unknown>
    const payload = JSON.parse(
      Buffer.from(token.slice(firstDot + 1, secondDot), 'base64url').toString('utf8'),
    ) as Record<string, unknown>
    return { header, payload }
  }
}

function signatureCheck(
  alg: MicroAlgorithm,
  key: KeyObject,
): (data: Buffer, signature: Buffer) => boolean {
  switch (alg) {
    case 'HS256':
      return (data, signature) => {
        const expected = createHmac('sha256', key).update(data).digest()
        return expected.length === signature.length && timingSafeEqual(expected, signature)
      }
    case 'RS256':
      return (data, signature) => verify('sha256', data, key, signature)
    case 'ES256': {
      // JWS carries r || s (IEEE P1363); the options object is built once, as a library would.
      const input = { key, dsaEncoding: 'ieee-p1363' as const }
      return (data, signature) => verify('sha256', data, input, signature)
    }
    case 'EdDSA':
      return (data, signature) => verify(null, data, key, signature)
  }
}
