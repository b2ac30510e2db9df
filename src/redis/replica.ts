/**
 * The in-process replica of the denylist: what `isRevoked` reads on every request, so it holds
 * nothing but plain `Map`s (and a bitset in front of one of them). Merges are monotone (a later `exp` or `before` wins), so an
 * entry seen twice (from a full load and from the log) is harmless, and loads never need to be
 * atomic with the log.
 *
 * Most tokens are not revoked, so the common answer must be the cheapest: a small bitset of
 * fingerprints of the revoked `jti`s (a Bloom filter, two bits per entry, 16 bits of room per
 * entry) says "certainly not revoked" for all but about 1 % of them without touching the Map,
 * whose lookups miss the CPU caches once it holds thousands of entries.
 *
 * Memory stays bounded by live revocations: entries are filed in 10-second expiry buckets and a
 * sweep drops each bucket once it has passed, touching only what expired (the filter is then
 * rebuilt, sized to what is left).
 */
import type { JwtPayload } from '../types.js'
import { MAX_ID_LENGTH } from './options.js'

/** Width of an expiry bucket, in seconds: entries outlive their end by at most this. */
const BUCKET_SECONDS = 10
/** Largest time accepted, in seconds since the epoch (year 5138): anything beyond is junk. */
const MAX_TIME = 1e11

/** Bits of filter per revoked token (about 1.4 % false positives with two bits each). */
const FILTER_BITS_PER_ENTRY = 16
const MIN_FILTER_BITS = 1 << 11

/**
 * A 32-bit fingerprint of a `jti`: its length and its last 12 characters (UUIDs, ULIDs and
 * counters all vary there). Only a pre-check: a collision just falls through to the Map.
 */
function fingerprint(id: string): number {
  let hash = Math.imul(id.length, 0x9e3779b1)
  for (let i = Math.max(0, id.length - 12); i < id.length; i++) {
    hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193)
  }
  return hash ^ (hash >>> 15)
}

/** A second, independent bit position from the same fingerprint. */
function second(hash: number): number {
  return Math.imul(hash, 0x85ebca6b) ^ (hash >>> 13)
}

/** The local denylist. Times are seconds since the epoch. */
export interface Replica {
  /** Add a token revocation kept until `exp + clockTolerance`. False if the input is malformed. */
  addToken(jti: unknown, exp: unknown, now: number): boolean
  /** Add a subject revocation kept until `until + clockTolerance`. False if malformed. */
  addSubject(sub: unknown, before: unknown, until: unknown, now: number): boolean
  /** Whether the token (by `jti`) or its subject (by `sub` and `iat`) is revoked. */
  isRevoked(payload: Readonly<JwtPayload>): boolean
  /** Drop entries whose time has passed. */
  sweep(now: number): void
  readonly tokens: number
  readonly subjects: number
  /** Grows whenever a revocation is added or tightened (see `Denylist.generation`). */
  readonly generation: number
  clear(): void
}

/** An empty replica; `clockTolerance` (seconds) is how long entries outlive their end. */
export function createReplica(clockTolerance: number): Replica {
  /** jti → exp */
  const tokens = new Map<string, number>()
  /** sub → before */
  const subjectBefore = new Map<string, number>()
  /** sub → until */
  const subjectUntil = new Map<string, number>()
  /** bucket → ids whose entry ends in it (an id may be filed twice after a later merge) */
  const tokenBuckets = new Map<number, string[]>()
  const subjectBuckets = new Map<number, string[]>()
  /** Bloom filter over the revoked jtis; `mask` + 1 bits. */
  let generation = 0
  let filter = new Int32Array(MIN_FILTER_BITS >>> 5)
  let mask = MIN_FILTER_BITS - 1

  function mark(jti: string): void {
    const hash = fingerprint(jti)
    const a = hash & mask
    const b = second(hash) & mask
    filter[a >>> 5]! |= 1 << (a & 31)
    filter[b >>> 5]! |= 1 << (b & 31)
  }

  function mightHold(jti: string): boolean {
    const hash = fingerprint(jti)
    const a = hash & mask
    const b = second(hash) & mask
    return (filter[a >>> 5]! & (1 << (a & 31))) !== 0 && (filter[b >>> 5]! & (1 << (b & 31))) !== 0
  }

  /** Size the filter for `tokens.size` and refill it. */
  function rebuild(): void {
    let bits = MIN_FILTER_BITS
    while (bits < tokens.size * FILTER_BITS_PER_ENTRY) bits *= 2
    filter = new Int32Array(bits >>> 5)
    mask = bits - 1
    for (const jti of tokens.keys()) mark(jti)
  }

  function file(buckets: Map<number, string[]>, id: string, end: number): void {
    const bucket = Math.floor((end + clockTolerance) / BUCKET_SECONDS)
    const list = buckets.get(bucket)
    if (list) list.push(id)
    else buckets.set(bucket, [id])
  }

  function drain(buckets: Map<number, string[]>, ends: Map<string, number>, now: number) {
    for (const [bucket, ids] of buckets) {
      if ((bucket + 1) * BUCKET_SECONDS > now) continue
      buckets.delete(bucket)
      for (const id of ids) {
        const end = ends.get(id)
        // Still live: a later merge moved the entry to a later bucket.
        if (end !== undefined && end + clockTolerance < now) {
          ends.delete(id)
          if (ends === subjectUntil) subjectBefore.delete(id)
        }
      }
    }
  }

  return {
    addToken(jti, exp, now) {
      if (!isId(jti) || !isTime(exp)) return false
      if (exp + clockTolerance < now) return true // already over: nothing to remember
      const known = tokens.get(jti)
      if (known === undefined || exp > known) {
        tokens.set(jti, exp)
        file(tokenBuckets, jti, exp)
        generation++
      }
      if (known === undefined) {
        if (tokens.size * FILTER_BITS_PER_ENTRY > mask + 1) rebuild()
        else mark(jti)
      }
      return true
    },

    addSubject(sub, before, until, now) {
      if (!isId(sub) || !isTime(before) || !isTime(until)) return false
      if (until + clockTolerance < now) return true
      const knownBefore = subjectBefore.get(sub)
      if (knownBefore === undefined || before > knownBefore) {
        subjectBefore.set(sub, before)
        generation++
      }
      const knownUntil = subjectUntil.get(sub)
      if (knownUntil === undefined || until > knownUntil) {
        subjectUntil.set(sub, until)
        file(subjectBuckets, sub, until)
      }
      return true
    },

    isRevoked(payload) {
      // Nothing revoked (the usual case): the payload is not even read.
      if (tokens.size !== 0) {
        const jti = payload.jti
        if (typeof jti === 'string' && mightHold(jti) && tokens.has(jti)) return true
      }
      if (subjectBefore.size === 0) return false
      const sub = payload.sub
      if (typeof sub !== 'string') return false
      const before = subjectBefore.get(sub)
      if (before === undefined) return false
      const iat = payload.iat
      // Whole seconds, and a token without a usable iat cannot prove it came later.
      return typeof iat !== 'number' || !(Math.floor(iat) > before)
    },

    sweep(now) {
      const before = tokens.size
      drain(tokenBuckets, tokens, now)
      drain(subjectBuckets, subjectUntil, now)
      if (tokens.size !== before) rebuild()
    },

    get generation() {
      return generation
    },
    get tokens() {
      return tokens.size
    },
    get subjects() {
      return subjectBefore.size
    },

    clear() {
      tokens.clear()
      rebuild()
      subjectBefore.clear()
      subjectUntil.clear()
      tokenBuckets.clear()
      subjectBuckets.clear()
    },
  }
}

function isId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_TIME
}
