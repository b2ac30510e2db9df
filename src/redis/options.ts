/**
 * `redisDenylist` options, checked once: a mistake is a `TypeError` naming the option, and
 * durations become milliseconds or seconds here so the rest never parses anything.
 */
import { toMilliseconds, toSeconds } from '../options/duration.js'
import { denylistKeys, type DenylistKeys } from './keys.js'
import type { RedisDenylistOptions } from './types.js'

/** The options, validated, with defaults applied and units converted. */
export interface DenylistConfig {
  keys: DenylistKeys
  prefix: string
  maxStalenessMs: number
  failOpen: boolean
  /** Seconds a subject revocation is kept after its `before`. */
  maxTokenLifetime: number
  /** Seconds a revocation is kept after its end. */
  clockTolerance: number
  logRetentionMs: number
  commandTimeoutMs: number
  /** How long one blocking read of the log waits for news; well inside `maxStaleness`. */
  blockMs: number
}

/** Longest `jti` or `sub` stored; longer ones (from Redis or callers) are refused. */
export const MAX_ID_LENGTH = 1024

const KNOWN = new Set([
  'client',
  'prefix',
  'maxStaleness',
  'failOpen',
  'maxTokenLifetime',
  'clockTolerance',
  'logRetention',
  'commandTimeout',
])

/** Validate `options` and apply defaults. Throws `TypeError` on any mistake. */
export function normalizeDenylistOptions(options: RedisDenylistOptions): DenylistConfig {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('redisDenylist needs an options object with a `client`')
  }
  for (const name of Object.keys(options)) {
    if (!KNOWN.has(name)) throw new TypeError(`redisDenylist: unknown option "${name}"`)
  }
  const prefix = options.prefix ?? 'jwt-gate:'
  if (typeof prefix !== 'string') throw new TypeError('redisDenylist: prefix must be a string')
  const maxStalenessMs = toMilliseconds(options.maxStaleness ?? '5s', 'redisDenylist: maxStaleness')
  if (maxStalenessMs < 100) {
    throw new TypeError('redisDenylist: maxStaleness must be at least 100 ms')
  }
  const failOpen = options.failOpen ?? false
  if (typeof failOpen !== 'boolean') {
    throw new TypeError('redisDenylist: failOpen must be a boolean')
  }
  const logRetentionMs = toMilliseconds(
    options.logRetention ?? '10m',
    'redisDenylist: logRetention',
  )
  const commandTimeoutMs = toMilliseconds(
    options.commandTimeout ?? '5s',
    'redisDenylist: commandTimeout',
  )
  if (logRetentionMs < 1000) throw new TypeError('redisDenylist: logRetention must be at least 1s')
  if (commandTimeoutMs < 1) throw new TypeError('redisDenylist: commandTimeout must be positive')
  return {
    keys: denylistKeys(prefix),
    prefix,
    maxStalenessMs,
    failOpen,
    maxTokenLifetime: Math.ceil(
      toSeconds(options.maxTokenLifetime ?? '24h', 'redisDenylist: maxTokenLifetime'),
    ),
    clockTolerance: Math.ceil(
      toSeconds(options.clockTolerance ?? '60s', 'redisDenylist: clockTolerance'),
    ),
    logRetentionMs,
    commandTimeoutMs,
    // A quarter of the bound (at most 1 s): an idle replica proves itself current several times
    // before it could go stale, and a quiet Redis costs one command a second per process.
    blockMs: Math.max(20, Math.min(1000, Math.floor(maxStalenessMs / 4))),
  }
}
