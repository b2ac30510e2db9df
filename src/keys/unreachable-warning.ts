/**
 * (2) The first JWKS or discovery failure of the process, reported once as a process warning
 * (code `JWT_GATE_KEYS_UNREACHABLE`): a misconfigured key URL shows up in the logs at start-up
 * rather than as the first request's 503. Later failures go to the `jwt-gate:jwks` channel only.
 */

/** The warning's `code`, for `process.on('warning')` filters. */
export const KEYS_UNREACHABLE_WARNING = 'JWT_GATE_KEYS_UNREACHABLE'

// A global flag rather than a module variable: the ESM and CommonJS builds of jwt-gate may both
// be loaded in one process, and the warning is per process.
const warned = Symbol.for('jwt-gate.keysUnreachableWarned')

/** Emit the process warning for this failure, unless one was already emitted. */
export function warnKeysUnreachableOnce(what: string, error: unknown): void {
  const flags = globalThis as { [warned]?: boolean }
  if (flags[warned] === true) return
  flags[warned] = true
  const why = error instanceof Error ? error.message : String(error)
  process.emitWarning(
    `jwt-gate could not fetch ${what}: ${why}. Requests that need these keys fail with 503 ` +
      'until it answers. Reported once per process; see the jwt-gate:jwks channel for more.',
    { type: 'JwtGateWarning', code: KEYS_UNREACHABLE_WARNING },
  )
}
