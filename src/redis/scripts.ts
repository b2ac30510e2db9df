/**
 * Lua scripts, so each step is atomic and routed to the one slot all keys share.
 *
 * Writes: the snapshot (a sorted set), the change counter and the change log (a stream) never
 * disagree, whichever client or process wrote them. Each write also prunes what has expired
 * and keeps the keys' own TTLs at the latest entry, so storage stays bounded by live
 * revocations even if nobody writes again. Every log entry carries `n`, the counter's value:
 * a reader that sees `n` skip knows entries were lost (trimmed, expired, deleted) and reloads.
 *
 * Reads: where the log stands (counter, last entry or the entries after a given one, and the
 * server's clock) taken atomically, for a full load and for the heartbeat that proves the
 * replica current.
 *
 * Clocks: entry times are the callers' (they come from tokens); the log's trim point uses the
 * Redis server's TIME, the same clock as stream IDs. Needs Redis 6.2+ (ZADD GT, XADD MINID).
 */
import { createHash } from 'node:crypto'
import type { SendCommand } from './client.js'
import type { DenylistKeys } from './keys.js'

// Shared prologue: the server clock in seconds and milliseconds, and a TTL that only grows.
const PROLOGUE = `
local t = redis.call('TIME')
local now = tonumber(t[1])
local nowMs = now * 1000 + math.floor(tonumber(t[2]) / 1000)
local function num(x) return string.format('%.0f', x) end
local function keepUntil(key, at)
  local ttl = redis.call('TTL', key)
  if ttl < 0 or ttl < at - now then redis.call('EXPIREAT', key, num(at)) end
end
local function append(seq, log, retentionMs, ...)
  local n = redis.call('INCR', seq)
  local id = redis.call('XADD', log, 'MINID', '~', num(nowMs - retentionMs), '*', 'n', n, ...)
  redis.call('PEXPIRE', log, retentionMs)
  return id
end
`

/** KEYS: tokens, seq, log. ARGV: jti, exp, clockTolerance (s), logRetention (ms). */
const REVOKE_TOKEN = `${PROLOGUE}
local tolerance = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], 'GT', ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. num(now - tolerance))
keepUntil(KEYS[1], tonumber(ARGV[2]) + tolerance)
return append(KEYS[2], KEYS[3], tonumber(ARGV[4]), 'kind', 'jti', 'id', ARGV[1], 'exp', ARGV[2])
`

/**
 * KEYS: subjects, subject-expiry, seq, log. ARGV: sub, before, until, clockTolerance (s),
 * logRetention (ms). A later `before` (and `until`) wins over an earlier one.
 */
const REVOKE_SUBJECT = `${PROLOGUE}
local tolerance = tonumber(ARGV[4])
redis.call('ZADD', KEYS[1], 'GT', ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[2], 'GT', ARGV[3], ARGV[1])
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. num(now - tolerance), 'LIMIT', 0, 500)
if #gone > 0 then
  redis.call('ZREM', KEYS[1], unpack(gone))
  redis.call('ZREM', KEYS[2], unpack(gone))
end
local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
if score then
  keepUntil(KEYS[1], tonumber(score) + tolerance)
  keepUntil(KEYS[2], tonumber(score) + tolerance)
end
return append(KEYS[3], KEYS[4], tonumber(ARGV[5]), 'kind', 'sub', 'id', ARGV[1],
  'before', ARGV[2], 'until', ARGV[3])
`

/** KEYS: seq, log. Returns [counter or nil, [last entry] or [], server seconds, microseconds]. */
const POSITION = `
local t = redis.call('TIME')
return { redis.call('GET', KEYS[1]), redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1), t[1], t[2] }
`

/**
 * KEYS: seq, log. ARGV: last ID seen, page size. Returns [counter or nil, entries after that ID
 * (at most a page), server seconds, microseconds]: the heartbeat's proof of position.
 */
const AFTER = `
local t = redis.call('TIME')
return { redis.call('GET', KEYS[1]), redis.call('XRANGE', KEYS[2], '(' .. ARGV[1], '+', 'COUNT', ARGV[2]), t[1], t[2] }
`

/** A script with its SHA-1, for EVALSHA. */
interface Script {
  source: string
  sha: string
}

const script = (source: string): Script => ({
  source,
  sha: createHash('sha1').update(source).digest('hex'),
})

const SCRIPTS = {
  revokeToken: script(REVOKE_TOKEN),
  revokeSubject: script(REVOKE_SUBJECT),
  position: script(POSITION),
  after: script(AFTER),
}

/** One script invocation: which script, its keys (the first routes it) and its arguments. */
export interface ScriptCall {
  script: Script
  keys: string[]
  args: string[]
}

/**
 * Run a script by its SHA-1 (a few bytes on the wire instead of the whole source), loading it
 * with EVAL the first time a server answers NOSCRIPT (after a restart, or on a new node).
 */
export async function runScript(send: SendCommand, call: ScriptCall): Promise<unknown> {
  const {
    script: { sha, source },
    keys,
    args,
  } = call
  const tail = [String(keys.length), ...keys, ...args]
  try {
    return await send(keys[0]!, ['EVALSHA', sha, ...tail])
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error
    return send(keys[0]!, ['EVAL', source, ...tail])
  }
}

/** Revoke one token. */
export function revokeTokenCall(
  keys: DenylistKeys,
  jti: string,
  exp: number,
  clockTolerance: number,
  logRetentionMs: number,
): ScriptCall {
  return {
    script: SCRIPTS.revokeToken,
    keys: [keys.tokens, keys.seq, keys.log],
    args: [jti, String(exp), String(clockTolerance), String(logRetentionMs)],
  }
}

/** Revoke a subject's tokens issued up to `before`. */
export function revokeSubjectCall(
  keys: DenylistKeys,
  sub: string,
  before: number,
  until: number,
  clockTolerance: number,
  logRetentionMs: number,
): ScriptCall {
  return {
    script: SCRIPTS.revokeSubject,
    keys: [keys.subjects, keys.subjectExpiry, keys.seq, keys.log],
    args: [sub, String(before), String(until), String(clockTolerance), String(logRetentionMs)],
  }
}

/** Where the log stands: the counter and the last entry. */
export function positionCall(keys: DenylistKeys): ScriptCall {
  return { script: SCRIPTS.position, keys: [keys.seq, keys.log], args: [] }
}

/** The counter and up to `count` entries after `lastId`. */
export function afterCall(keys: DenylistKeys, lastId: string, count: number): ScriptCall {
  return { script: SCRIPTS.after, keys: [keys.seq, keys.log], args: [lastId, String(count)] }
}
