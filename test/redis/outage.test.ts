/**
 * Redis going away, for real: the server is SIGKILLed and restarted mid-run (its append-only
 * file keeps the data), or is not there at all when the API starts. Every client library, and
 * clients without an 'error' listener of their own: nothing may crash, requests pass while the
 * replica is known fresh, fail closed with 503 once it is staler than `maxStaleness` (or pass
 * with `failOpen`), and everything recovers by itself, including the revocations made while a
 * process was cut off.
 */
import assert from 'node:assert/strict'
import { before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type { DenylistEvent } from '../../src/redis/events.js'
import { redisDenylist, type RedisDenylist } from '../../src/redis/index.js'
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js'
import { bearer, send } from '../helpers/http.js'
import { freePort, redisSuite, startRedisServer } from '../helpers/redis-server.js'
import {
  AUDIENCE,
  CLIENTS,
  captureEvents,
  suiteCleanup,
  eventually,
  startApi,
  type TestApi,
  type TestClient,
} from './harness.js'

const MAX_STALENESS_MS = 1000

describe('redisDenylist when Redis fails', redisSuite(), () => {
  let issuer: TestIssuer
  const cleanup = suiteCleanup()

  before(async () => {
    issuer = await createTestIssuer({ alg: 'ES256', audience: AUDIENCE })
    cleanup.push(() => issuer.close())
  })

  interface Instance {
    name: string
    client: TestClient
    denylist: RedisDenylist
    api: TestApi
  }

  /** One API per client library, each with its own connection and no 'error' listener. */
  async function instances(
    port: number,
    options: { wait?: boolean; retryMs?: number; failOpen?: boolean } = {},
  ): Promise<Instance[]> {
    return Promise.all(
      CLIENTS.map(async (factory) => {
        const client = await factory.connect(port, { listenForErrors: false, ...options })
        const denylist = redisDenylist({
          client: client.client,
          maxStaleness: MAX_STALENESS_MS / 1000,
          failOpen: options.failOpen ?? false,
        })
        const api = await startApi(denylist, issuer)
        cleanup.push(
          () => api.close(),
          () => denylist.close(),
          () => client.close(),
        )
        return { name: factory.name, client, denylist, api }
      }),
    )
  }

  const status = async (instance: Instance, token: string) =>
    (await send(`${instance.api.url}/me`, { headers: bearer(token) })).status

  /** The statuses every instance answers for `tokens`, as 'name: s s s' lines. */
  async function table(all: Instance[], tokens: string[]): Promise<string[]> {
    return Promise.all(
      all.map(
        async (i) => `${i.name}: ${(await Promise.all(tokens.map((t) => status(i, t)))).join(' ')}`,
      ),
    )
  }
  const expect = (all: Instance[], statuses: string) => all.map((i) => `${i.name}: ${statuses}`)

  test('killed mid-run: fresh → 503 after maxStaleness → restarted → caught up, nothing lost', async () => {
    const server = await startRedisServer()
    cleanup.push(() => server.close())
    const all = await instances(server.port)
    // Another process, in effect: its own client and denylist.
    const writerClient = await CLIENTS[0]!.connect(server.port)
    const writer = redisDenylist({ client: writerClient.client })
    cleanup.push(
      () => writer.close(),
      () => writerClient.close(),
    )
    await Promise.all([writer, ...all.map((i) => i.denylist)].map((d) => d.ready()))

    const good = await issuer.sign({ sub: 'good' })
    const early = await issuer.sign({ sub: 'early' })
    const late = await issuer.sign({ sub: 'late' })
    await writer.revoke(payloadOf(early))
    await eventually(
      async () => (await table(all, [good, early])).join() === expect(all, '200 401').join(),
      'every API to refuse the early token',
    )

    const events = captureEvents()
    await server.kill()
    const killedAt = performance.now()
    // When each replica last proved its position: it may serve answers until maxStaleness after
    // that, and no longer. (Measured from the proof, not from the kill: on a loaded machine the
    // last proof can be well before the kill.)
    const provenAt = all.map((i) => killedAt - i.denylist.status().stalenessMs)
    // Right after the kill each answer is the replica's (200 good / 401 early) or, once it is
    // stale, 503: never a silent pass of the revoked token.
    for (const row of await table(all, [good, early])) {
      assert.match(row, /: (200|503) (401|503)$/, row)
    }

    await eventually(
      async () => (await table(all, [good])).join() === expect(all, '503').join(),
      'every API to fail closed',
      MAX_STALENESS_MS + 1500,
    )
    const closedAt = performance.now()
    // Not before the bound: the last replica to go stale had maxStaleness from its last proof.
    const lastStaleAt = Math.max(...provenAt) + MAX_STALENESS_MS
    assert.ok(closedAt >= lastStaleAt - 50, `503 for all ${lastStaleAt - closedAt} ms early`)
    for (const instance of all) {
      const refused = await send(`${instance.api.url}/me`, { headers: bearer(good) })
      assert.equal(refused.status, 503)
      assert.equal(refused.headers['retry-after'], '1')
      assert.deepEqual(refused.json(), {
        error: 'temporarily_unavailable',
        reason: 'denylist_unavailable',
      })
      assert.match(String(refused.headers['www-authenticate']), /error="temporarily_unavailable"/)
      await assert.rejects(instance.api.verifier.verify(good), (error: Error) => {
        assert.doesNotMatch(error.message, /redis|stale|\d{4,5}|ECONNREFUSED/i)
        return true
      })
    }

    await server.restart()
    const restartedAt = performance.now()
    // Queued by the writer's client until it reconnects; the APIs reconnect on their own.
    await writer.revoke(payloadOf(late))

    const recovery = await eventually(
      async () =>
        (await table(all, [good, early, late])).join() === expect(all, '200 401 401').join(),
      'every API to recover with both revocations',
      5000,
    )
    events.stop()
    assert.ok(
      performance.now() - restartedAt < 4000,
      `recovered ${recovery} ms after the revocation`,
    )

    const types = new Set(events.events.map((e) => e.type))
    for (const type of ['sync-error', 'stale', 'fresh', 'synced'])
      assert.ok(types.has(type as never), type)
    assert.ok(
      events.events.some((e) => e.type === 'stale' && e.failOpen === false),
      'stale events say the policy',
    )
    // The log survived the restart, so each replica resumed from it rather than reloading.
    const resumes = events.events.filter((e) => e.type === 'synced' && !e.full)
    assert.ok(resumes.length >= all.length, JSON.stringify(resumes))
  })

  test('unreachable at start: 503 until Redis comes up, then ready with no restart', async () => {
    const port = await freePort()
    const all = await instances(port, { wait: false })
    const token = await issuer.sign({ sub: 'u' })
    await sleep(300)
    assert.deepEqual(await table(all, [token]), expect(all, '503'))
    for (const instance of all) assert.equal(instance.denylist.status().fresh, false)
    let ready = 0
    for (const instance of all) void instance.denylist.ready().then(() => ready++)
    assert.equal(ready, 0)

    const server = await startRedisServer({ port })
    cleanup.push(() => server.close())
    await eventually(() => ready === all.length, 'every denylist to be ready', 5000)
    assert.deepEqual(await table(all, [token]), expect(all, '200'))
  })

  test('failOpen: a stale replica lets unknown tokens through, still refuses known ones, and warns', async () => {
    const server = await startRedisServer()
    cleanup.push(() => server.close())
    const all = await instances(server.port, { failOpen: true })
    await Promise.all(all.map((i) => i.denylist.ready()))
    const good = await issuer.sign({ sub: 'good' })
    const revoked = await issuer.sign({ sub: 'revoked' })
    await all[0]!.denylist.revoke(payloadOf(revoked))
    await eventually(
      async () => (await table(all, [good, revoked])).join() === expect(all, '200 401').join(),
      'every API to refuse the revoked token',
    )

    const events = captureEvents()
    await server.kill()
    await eventually(
      () => all.every((i) => !i.denylist.status().fresh),
      'every replica to go stale',
      MAX_STALENESS_MS + 1500,
    )
    assert.deepEqual(await table(all, [good, revoked]), expect(all, '200 401'))
    events.stop()
    const stale = events.events.filter((e) => e.type === 'stale')
    assert.ok(stale.length >= all.length && stale.every((e) => e.failOpen))
    const warnings = events.events.filter(
      (e): e is Extract<DenylistEvent, { type: 'warning' }> =>
        e.type === 'warning' && /failOpen lets tokens through/.test(e.message),
    )
    assert.ok(warnings.length >= all.length, JSON.stringify(warnings))
  })
})

/** The payload of a token signed by the test issuer (no verification needed here). */
function payloadOf(token: string): { jti: string; exp: number } {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as never
}
