/**
 * The key layout. Every key shares one hash tag, so the Lua scripts that touch several keys
 * work on a Redis Cluster (one slot, one node) exactly as on a single server.
 *
 *   <base>tokens          sorted set: jti → exp (seconds)
 *   <base>subjects        sorted set: sub → before (seconds; tokens with iat ≤ before are refused)
 *   <base>subject-expiry  sorted set: sub → until (seconds; when the subject entry is dropped)
 *   <base>log             stream of changes: n kind=jti id exp | n kind=sub id before until
 *   <base>seq             counter: the `n` of the latest change (gaps in `n` reveal lost entries)
 *
 * `<base>` is the prefix itself when it already holds a hash tag, else `<prefix>{denylist}:`.
 */

/** The Redis keys of one denylist. */
export interface DenylistKeys {
  tokens: string
  subjects: string
  subjectExpiry: string
  log: string
  seq: string
}

/** Keys under `prefix`, all in the same Redis Cluster slot. */
export function denylistKeys(prefix: string): DenylistKeys {
  const base = hasHashTag(prefix) ? prefix : `${prefix}{denylist}:`
  return {
    tokens: `${base}tokens`,
    subjects: `${base}subjects`,
    subjectExpiry: `${base}subject-expiry`,
    log: `${base}log`,
    seq: `${base}seq`,
  }
}

/** Redis Cluster's rule: the first `{`, then a non-empty run up to the next `}`. */
function hasHashTag(prefix: string): boolean {
  const open = prefix.indexOf('{')
  if (open < 0) return false
  const close = prefix.indexOf('}', open + 1)
  return close > open + 1
}
