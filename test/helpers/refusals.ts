/**
 * Assertions on refusals, shared by the per-stage test files: the reason and status, and that
 * neither the message nor the challenge echoes the token.
 */
import assert from 'node:assert/strict'
import type { AuthError, Verifier } from '../../src/index.js'

/** `v.verify(token)` rejects with an AuthError of `reason` and `status`, not echoing the token. */
export async function rejects(v: Verifier, token: string, reason: string, status = 401) {
  await assert.rejects(v.verify(token), (error: AuthError) => {
    assert.equal(error.name, 'AuthError')
    assert.equal(error.reason, reason, `reason: ${error.message}`)
    assert.equal(error.status, status)
    if (typeof token === 'string' && token.length > 8) {
      assert.ok(!error.message.includes(token), 'the message must not echo the token')
      assert.ok(!error.headers['WWW-Authenticate']!.includes(token))
    }
    return true
  })
}

/** `promise` rejects with `reason` (and `status`); returns the error for more checks. */
export async function refused(promise: Promise<unknown>, status: number, reason: string) {
  let caught: AuthError | undefined
  await assert.rejects(promise, (error: AuthError) => {
    assert.equal(error.status, status, `${error.reason}: ${error.message}`)
    assert.equal(error.reason, reason, error.message)
    caught = error
    return true
  })
  return caught!
}

/** The kind of FetchError behind a 503 (`too_large`, `timeout`, …). */
export const fetchKind = (error: AuthError) => (error.cause as { kind?: string } | undefined)?.kind
