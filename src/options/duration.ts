/**
 * Durations in options: a number of seconds, or a string with a unit (`'500ms'`, `'30s'`,
 * `'10m'`, `'1h'`, `'1d'`, `'1w'`; long forms such as `'5 minutes'` too). Parsed once, when a
 * verifier is created; a bad value is a `TypeError` naming the option.
 */
import type { Duration } from '../types.js'

const UNIT_SECONDS: Record<string, number> = {
  ms: 0.001,
  msec: 0.001,
  msecs: 0.001,
  millisecond: 0.001,
  milliseconds: 0.001,
  s: 1,
  sec: 1,
  secs: 1,
  second: 1,
  seconds: 1,
  m: 60,
  min: 60,
  mins: 60,
  minute: 60,
  minutes: 60,
  h: 3600,
  hr: 3600,
  hrs: 3600,
  hour: 3600,
  hours: 3600,
  d: 86_400,
  day: 86_400,
  days: 86_400,
  w: 604_800,
  week: 604_800,
  weeks: 604_800,
}

const PATTERN = /^(-)?\s*(\d+(?:\.\d+)?)\s*([a-z]+)$/i

/**
 * Seconds (possibly fractional) in `value`. Negative durations are allowed only where
 * `allowNegative` says so (the test issuer's `expiresIn`, to mint expired tokens).
 */
export function toSeconds(value: Duration, optionName: string, allowNegative = false): number {
  let seconds: number
  if (typeof value === 'number') {
    seconds = value
  } else if (typeof value === 'string') {
    const match = PATTERN.exec(value.trim())
    const unit = match?.[3] ? UNIT_SECONDS[match[3].toLowerCase()] : undefined
    if (!match || unit === undefined) {
      throw new TypeError(
        `${optionName}: '${value}' is not a duration (use seconds, or a string such as '30s', '10m', '1h')`,
      )
    }
    seconds = Number(match[2]) * unit * (match[1] ? -1 : 1)
  } else {
    throw new TypeError(`${optionName} must be a number of seconds or a string such as '10m'`)
  }
  if (!Number.isFinite(seconds) || (!allowNegative && seconds < 0)) {
    throw new TypeError(`${optionName} must be a finite, non-negative duration`)
  }
  return seconds
}

/** Milliseconds in `value` (see `toSeconds`). */
export function toMilliseconds(value: Duration, optionName: string): number {
  return Math.round(toSeconds(value, optionName) * 1000)
}
