/**
 * The one token-signing helper of tests, bench and soak: hand-made tokens with any header, any
 * payload (a JSON value, or exact text or bytes), any signature, signed with node:crypto.
 * Tokens as a real issuer makes them come from `createTestIssuer` (jwt-gate/testing, jose).
 */
import { constants, createHmac, sign as cryptoSign, type KeyObject } from 'node:crypto'

/** base64url of a string, bytes or a JSON value. */
export function b64url(value: unknown): string {
  if (Buffer.isBuffer(value)) return value.toString('base64url')
  if (typeof value === 'string') return Buffer.from(value, 'utf8').toString('base64url')
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url')
}

/** `header.payload.` with the given signature segment (empty by default). */
export function assemble(header: unknown, payload: unknown, signature = ''): string {
  return `${b64url(header)}.${b64url(payload)}.${signature}`
}

/**
 * HMAC-sign arbitrary header and payload with `secret` (any bytes, even a PEM public key). A
 * string or Buffer header or payload is taken as the exact JSON text or bytes.
 */
export function hmacToken(
  header: unknown,
  payload: unknown,
  secret: string | Buffer,
  hash = 'sha256',
): string {
  const input = `${b64url(header)}.${b64url(payload)}`
  return `${input}.${createHmac(hash, secret).update(input).digest('base64url')}`
}

/** Sign arbitrary header and payload with an asymmetric private key (RS256/ES256/EdDSA). */
export function asymmetricToken(
  header: Record<string, unknown>,
  payload: unknown,
  privateKey: KeyObject,
): string {
  const input = `${b64url(header)}.${b64url(payload)}`
  return `${input}.${asymmetricSignature(String(header.alg), input, privateKey)}`
}

/** The base64url signature of `input` under `alg` (RS*, PS*, ES*, EdDSA/Ed25519). */
export function asymmetricSignature(alg: string, input: string, privateKey: KeyObject): string {
  const hash = alg.startsWith('Ed') ? null : `sha${alg.slice(2)}`
  const key = alg.startsWith('ES')
    ? { key: privateKey, dsaEncoding: 'ieee-p1363' as const }
    : alg.startsWith('PS')
      ? {
          key: privateKey,
          padding: constants.RSA_PKCS1_PSS_PADDING,
          saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
        }
      : privateKey
  return cryptoSign(hash, Buffer.from(input), key).toString('base64url')
}

/** Whole seconds now. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000)
