/**
 * RFC 7638 JWK thumbprints: SHA-256 over the key's required public members, in lexicographic
 * order, with no whitespace. This is what a DPoP-bound token's `cnf.jkt` holds (RFC 9449 §6.1).
 */
import { hash } from 'node:crypto'

/** The members RFC 7638 §3.2 hashes, per key type (already in lexicographic order). */
const REQUIRED_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
  RSA: ['e', 'kty', 'n'],
}

/**
 * The base64url SHA-256 thumbprint of a public JWK, or undefined when its `kty` is not one
 * jwt-gate verifies or a required member is not a string.
 */
export function jwkThumbprint(jwk: Readonly<Record<string, unknown>>): string | undefined {
  const members = REQUIRED_MEMBERS[jwk.kty as string]
  if (members === undefined || typeof jwk.kty !== 'string') return undefined
  const parts: string[] = []
  for (const name of members) {
    const value = jwk[name]
    if (typeof value !== 'string') return undefined
    parts.push(`${JSON.stringify(name)}:${JSON.stringify(value)}`)
  }
  return hash('sha256', `{${parts.join(',')}}`, 'base64url')
}
