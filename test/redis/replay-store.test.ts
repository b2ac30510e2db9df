/**
 * `redisReplayStore` against a real redis-server, with each client library: a DPoP proof used
 * against one verifier is refused by another that shares the Redis (separate connections, as two
 * instances of an API would have), the key expires with the proof window, and Redis down → 503.
 */
import assert from 'node:assert/strict'
import type { KeyObject } from 'node:crypto'
import { before, describe, test } from 'node:test'
import { createVerifier, type AuthError, type RequestLike } from '../../src/index.js'
import { redisReplayStore } from '../../src/redis/index.js'
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js'
import { generateKeyPairSafely } from '../../src/testing/key-generation.js'
import { redisSuite, startRedisServer } from '../helpers/redis-server.js'
import { AUDIENCE, CLIENTS, suiteCleanup } from './harness.js'

const origin = 'https://api.example.com'

describe('redisReplayStore', redisSuite(), () => {
  let issuer: TestIssuer
  let clientKey: KeyObject
  const cleanup = suiteCleanup()

  before(async () => {
    issuer = await createTestIssuer({ alg: 'ES256', audience: AUDIENCE })
    cleanup.push(() => issuer.close())
    clientKey = (await generateKeyPairSafely({ type: 'ec', namedCurve: 'P-256' })).privateKey
  })

  const request = async (token: string, proof?: string): Promise<RequestLike> => ({
    method: 'GET',
    url: '/orders',
    headers: {
      authorization: `DPoP ${token}`,
      dpop:
        proof ??
        (await issuer.dpopProof({ key: clientKey, method: 'GET', url: `${origin}/orders`, token })),
    },
  })

  for (const library of CLIENTS) {
    test(`${library.name}: a proof replayed against a second instance is refused; Redis down → 503`, async () => {
      const server = await startRedisServer()
      cleanup.push(() => server.close())
      const [first, second] = await Promise.all([
        library.connect(server.port),
        library.connect(server.port),
      ])
      cleanup.push(
        () => first.close(),
        () => second.close(),
      )
      const instance = (client: unknown) => {
        const verifier = createVerifier({
          issuer: issuer.url,
          audience: AUDIENCE,
          jwksUri: issuer.jwksUri,
          denylistTimeout: '300ms',
          dpop: { origin, replay: redisReplayStore({ client, prefix: 'replay-test:' }) },
        })
        cleanup.push(() => verifier.close())
        return verifier
      }
      const [a, b] = [instance(first.client), instance(second.client)]
      const token = await issuer.sign({ sub: 'alice' }, { dpopKey: clientKey })
      const proof = await issuer.dpopProof({
        key: clientKey,
        method: 'GET',
        url: `${origin}/orders`,
        token,
      })
      assert.equal((await a.verifyRequest(await request(token, proof))).payload.sub, 'alice')
      await assert.rejects(b.verifyRequest(await request(token, proof)), (error: AuthError) => {
        assert.equal(error.status, 401)
        assert.equal(error.reason, 'dpop_replayed')
        return true
      })
      // A fresh proof passes on the second instance: only the used jti is remembered.
      await b.verifyRequest(await request(token))

      // One key per proof, expiring with the proof window (2 × 60 s).
      const keys = (await first.command(['KEYS', 'replay-test:dpop:*'])) as string[]
      assert.equal(keys.length, 2)
      const ttl = Number(await first.command(['PTTL', String(keys[0])]))
      assert.ok(ttl > 0 && ttl <= 120_000, `PTTL ${ttl}`)

      await server.kill()
      await assert.rejects(a.verifyRequest(await request(token)), (error: AuthError) => {
        assert.equal(error.status, 503)
        assert.equal(error.reason, 'dpop_replay_unavailable')
        assert.match(error.headers['Retry-After']!, /^\d+$/)
        return true
      })
    })
  }

  test('anything but an ioredis or node-redis client is a TypeError', () => {
    assert.throws(() => redisReplayStore({ client: {} }), /ioredis .* or node-redis/)
  })
})
