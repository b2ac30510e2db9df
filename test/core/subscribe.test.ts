/**
 * `subscribe(name, listener)`: jwt-gate's channels with typed events, and a way to stop.
 */
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { createVerifier, subscribe, type AuthErrorReason } from '../../src/index.js'

const verifier = createVerifier({
  issuer: 'https://id.example.com/',
  audience: 'https://api.example.com',
  secret: 'subscribe-test-secret-'.repeat(3),
})
after(() => verifier.close())

test('the listener gets the typed event; the returned function unsubscribes', async () => {
  const reasons: AuthErrorReason[] = []
  // `event.reason` type-checks without a cast: the point of the helper.
  const stop = subscribe('rejected', (event) => reasons.push(event.reason))
  await assert.rejects(verifier.verifyRequest({ headers: {} }))
  await assert.rejects(verifier.verify('not.a.token'))
  stop()
  await assert.rejects(verifier.verifyRequest({ headers: {} }))
  assert.deepEqual(reasons, ['no_token', 'malformed'])
})

test('an unknown channel name is a TypeError naming the known ones', () => {
  assert.throws(
    () => subscribe('rejection' as 'rejected', () => {}),
    /unknown channel "rejection"; one of verified, rejected, jwks, denylist/,
  )
})
