/**
 * RFC 9449 §8 server nonces. A nonce is `window || HMAC(secret, window)`: the time window it was
 * issued in (five minutes long) and a tag only holders of the secret can make. It is accepted in
 * its own window and the next, so it rotates without a store: every instance configured with the
 * same `secret` issues and accepts the same nonces. With `nonce: true` the secret is random, so
 * nonces are this process's own.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/** How long one nonce is issued for; it is accepted for up to twice this. */
export const NONCE_WINDOW_MS = 5 * 60 * 1000

/** Issues and checks the nonces of one verifier. */
export interface NonceSource {
  /** The nonce to hand out now (`DPoP-Nonce`). */
  current(): string
  /** Whether `nonce` is one this source issued in the current or the previous window. */
  accepts(nonce: unknown): boolean
}

/** A nonce source keyed by `secret` (random when undefined). */
export function createNonceSource(
  secret: Uint8Array | undefined,
  now: () => number = Date.now,
): NonceSource {
  const key = secret ?? randomBytes(32)
  const make = (window: number): Buffer => {
    const counter = Buffer.alloc(8)
    counter.writeBigUInt64BE(BigInt(window))
    const tag = createHmac('sha256', key).update(counter).digest().subarray(0, 16)
    return Buffer.concat([counter, tag])
  }
  let cachedWindow = -1
  let cachedNonce = ''
  return {
    current() {
      const window = Math.floor(now() / NONCE_WINDOW_MS)
      if (window !== cachedWindow) {
        cachedWindow = window
        cachedNonce = make(window).toString('base64url')
      }
      return cachedNonce
    },
    accepts(nonce) {
      if (typeof nonce !== 'string' || nonce.length !== 32 || !/^[\w-]+$/.test(nonce)) return false
      const bytes = Buffer.from(nonce, 'base64url')
      if (bytes.length !== 24) return false
      const window = Number(bytes.readBigUInt64BE(0))
      const current = Math.floor(now() / NONCE_WINDOW_MS)
      if (window !== current && window !== current - 1) return false
      return timingSafeEqual(bytes, make(window))
    },
  }
}
