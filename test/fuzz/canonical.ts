/**
 * base64url spellings: the alphabet, and the non-canonical twins of a segment (different unused
 * trailing bits, same bytes). Signature malleability has its own test; the general mutation
 * property uses `isNonCanonicalTwin` to leave those tokens to it.
 */

/** The base64url alphabet, in value order. */
export const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/**
 * Whether `candidate` is `original` written with different unused trailing bits in its
 * signature segment: same signing input, same signature bytes, different string. That
 * malleability has its own test; the general mutation property leaves it to that test.
 */
export function isNonCanonicalTwin(candidate: string, original: string): boolean {
  if (candidate === original) return false
  const a = candidate.split('.')
  const b = original.split('.')
  if (a.length !== 3 || b.length !== 3) return false
  if (a[0] !== b[0] || a[1] !== b[1]) return false
  if (!/^[A-Za-z0-9_-]+$/.test(a[2]!)) return false
  if (a[2]!.length % 4 === 1) return false
  return Buffer.from(a[2]!, 'base64url').equals(Buffer.from(b[2]!, 'base64url'))
}

/** Every other spelling of a base64url segment's last character that decodes to the same bytes. */
export function nonCanonicalSpellings(segment: string): string[] {
  const unused = [0, 0, 4, 2][segment.length % 4]!
  if (unused === 0) return []
  const last = B64URL.indexOf(segment.at(-1)!)
  const spellings: string[] = []
  for (let bits = 1; bits < 1 << unused; bits++) {
    spellings.push(segment.slice(0, -1) + B64URL[(last & ~((1 << unused) - 1)) | bits])
  }
  return spellings
}
