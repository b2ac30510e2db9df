/**
 * (2) The signature check, and nothing else: one synchronous node:crypto call per key.
 *
 * Why not jose at run time: jose 6 verifies through WebCrypto (`crypto.subtle`), an asynchronous
 * thread-pool round trip per call whatever the algorithm, while node:crypto's one-shot `verify`
 * on a pre-imported `KeyObject` costs only the arithmetic (the benchmark's micro section
 * measures both against the raw node:crypto floor). The key-type checks jose applies (RSA ≥ 2048 bits, the curve named by the
 * algorithm, no HMAC on an asymmetric key) happen once, when a key is imported (see
 * jwk-set.ts); `test/jws/differential.test.ts` proves this module and jose agree on every
 * accept and reject.
 */
import { constants, createHmac, timingSafeEqual, verify, type KeyObject } from 'node:crypto'
import type { AlgorithmSpec } from './algorithms.js'

/**
 * A key prepared for one algorithm: node:crypto's options object is built once at import,
 * not per request.
 */
export interface PreparedKey {
  readonly key: KeyObject
  /** What `crypto.verify` takes as its key argument for this algorithm. */
  readonly verifyInput:
    | KeyObject
    | { key: KeyObject; padding: number; saltLength: number }
    | { key: KeyObject; dsaEncoding: 'ieee-p1363' }
}

/** Build the `crypto.verify` key argument for `alg` once. */
export function prepareKey(alg: AlgorithmSpec, key: KeyObject): PreparedKey {
  switch (alg.scheme) {
    case 'rsa-pss':
      return {
        key,
        verifyInput: {
          key,
          padding: constants.RSA_PKCS1_PSS_PADDING,
          // RFC 7518 §3.5: the salt is as long as the digest.
          saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
        },
      }
    case 'ecdsa':
      // JWS carries ECDSA signatures as raw r || s (IEEE P1363), not DER.
      return { key, verifyInput: { key, dsaEncoding: 'ieee-p1363' } }
    default:
      return { key, verifyInput: key }
  }
}

/**
 * Whether `signature` is `alg`'s signature of `signingInput` (the ASCII `header.payload`
 * segment) under `prepared`. Never throws for a bad signature; returns false.
 */
export function verifySignature(
  alg: AlgorithmSpec,
  prepared: PreparedKey,
  signingInput: string,
  signature: Buffer,
): boolean {
  if (alg.signatureLength !== undefined && signature.length !== alg.signatureLength) return false
  if (alg.scheme === 'hmac') {
    const expected = createHmac(alg.hash!, prepared.key).update(signingInput, 'latin1').digest()
    return timingSafeEqual(expected, signature)
  }
  try {
    return verify(alg.hash, signingBytes(signingInput), prepared.verifyInput, signature)
  } catch {
    // OpenSSL rejects some malformed signatures (wrong length for the modulus) by throwing.
    return false
  }
}

/**
 * One buffer, reused, for the bytes of the signing input: `verify` is synchronous, so no two
 * calls ever need it at once, and writing into it costs a third of allocating a new Buffer per
 * token. It holds `header.payload` of the last token, never a signature.
 */
let scratch = Buffer.allocUnsafeSlow(8192)

/** `signingInput` (ASCII, checked by the decoder) as bytes, in the shared buffer. */
function signingBytes(signingInput: string): Buffer {
  if (signingInput.length > scratch.length) scratch = Buffer.allocUnsafeSlow(signingInput.length)
  const written = scratch.write(signingInput, 0, 'latin1')
  return scratch.subarray(0, written)
}
