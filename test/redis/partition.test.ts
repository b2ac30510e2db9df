/**
 * One process cut off from a Redis that stays up (a TCP proxy sits between them), while another
 * process keeps revoking. On reconnection the cut-off replica must apply what it missed: from
 * the log when its last entry is still there (incremental), by a full reload when the log has
 * expired meanwhile. A half-open path (packets silently dropped, no error ever raised) must be
 * noticed by the read timeout and recovered from.
 */
import assert from 'node:assert/strict'
import { before, describe, test } from 'node:test'
import type { DenylistEvent } from '../../src/redis/events.js'
import { redisDenylist, type RedisDenylist } from '../../src/redis/index.js'
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js'
import { bearer, send } from '../helpers/http.js'
import { redisSuite, startRedisServer, type RedisServer } from '../helpers/redis-server.js'
import {
  AUDIENCE,
  CLIENTS,
  captureEvents,
  suiteCleanup,
  eventually,
  startApi,
  type TestApi,
} from './harness.js'
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js'

const MAX_STALENESS_MS = 1000

describe('redisDenylist across a network partition', redisSuite(), () => {
  let server: RedisServer
  let issuer: TestIssuer
  const cleanup = suiteCleanup()
  let prefixes = 0

  before(async () => {
    server = await startRedisServer()
    cleanup.push(() => server.close())
    issuer = await createTestIssuer({ alg: 'ES256', audience: AUDIENCE })
    cleanup.push(() => issuer.close())
  })

  interface Setup {
    proxy: TcpProxy
    /** One API per client library, all behind the proxy. */
    apis: { name: string; api: TestApi; denylist: RedisDenylist }[]
    /** A denylist on a direct connection: "another process". */
    writer: RedisDenylist
    prefix: string
  }

  async function setup(options: { commandTimeout?: string } = {}): Promise<Setup> {
    const prefix = `partition-${++prefixes}:`
    const proxy = await startTcpProxy(server.port)
    cleanup.push(() => proxy.close())
    const apis = await Promise.all(
      CLIENTS.map(async (factory) => {
        const client = await factory.connect(proxy.port)
        const denylist = redisDenylist({
          client: client.client,
          prefix,
          maxStaleness: MAX_STALENESS_MS / 1000,
          ...(options.commandTimeout ? { commandTimeout: options.commandTimeout } : {}),
        })
        const api = await startApi(denylist, issuer)
        cleanup.push(
          () => api.close(),
          () => denylist.close(),
          () => client.close(),
        )
        return { name: factory.name, api, denylist }
      }),
    )
    const writerClient = await CLIENTS[0]!.connect(server.port)
    const writer = redisDenylist({ client: writerClient.client, prefix })
    cleanup.push(
      () => writer.close(),
      () => writerClient.close(),
    )
    await Promise.all([writer, ...apis.map((a) => a.denylist)].map((d) => d.ready()))
    return { proxy, apis, writer, prefix }
  }

  const statuses = async ({ apis }: Setup, tokens: string[]) =>
    (
      await Promise.all(
        apis.map(async ({ api }) =>
          Promise.all(
            tokens.map(async (t) => (await send(`${api.url}/me`, { headers: bearer(t) })).status),
          ),
        ),
      )
    )
      .map((row) => row.join(' '))
      .join(', ')
  const everywhere = ({ apis }: Setup, row: string) => apis.map(() => row).join(', ')

  const syncs = (events: DenylistEvent[]) =>
    events.filter((e): e is Extract<DenylistEvent, { type: 'synced' }> => e.type === 'synced')

  test('revoked while cut off: fail closed, then applied from the log on reconnection', async () => {
    const s = await setup()
    const good = await issuer.sign({ sub: 'good' })
    const missed = await issuer.sign({ sub: 'missed' })
    assert.equal(await statuses(s, [good, missed]), everywhere(s, '200 200'))

    const events = captureEvents()
    s.proxy.cut()
    await s.writer.revoke(payloadOf(missed))
    assert.equal(s.writer.isRevoked(payloadOf(missed)), true)
    // The cut-off replicas cannot know; once their bound passes they refuse everything.
    await eventually(
      async () => (await statuses(s, [good, missed])) === everywhere(s, '503 503'),
      'the cut-off APIs to fail closed',
      MAX_STALENESS_MS + 1500,
    )
    s.proxy.heal()
    await eventually(
      async () => (await statuses(s, [good, missed])) === everywhere(s, '200 401'),
      'the missed revocation to be applied',
      5000,
    )
    await eventually(
      () => syncs(events.events).length >= s.apis.length,
      'every replica behind the proxy to resync',
    )
    events.stop()
    const resumed = syncs(events.events)
    assert.ok(
      resumed.every((e) => !e.full),
      'each replica resumed from the log instead of reloading',
    )
  })

  test('entries trimmed from the log while cut off: a full reload brings the replica back', async () => {
    const s = await setup()
    const good = await issuer.sign({ sub: 'good' })
    const trimmed = await issuer.sign({ sub: 'trimmed' })
    const kept = await issuer.sign({ sub: 'kept' })
    const events = captureEvents()
    s.proxy.cut()
    await s.writer.revoke(payloadOf(trimmed))
    await s.writer.revoke(payloadOf(kept))
    // What `logRetention` does to a process away for too long: the entries it has not read
    // yet are gone (only the latest one is left here).
    const probe = await CLIENTS[0]!.connect(server.port)
    cleanup.push(() => probe.close())
    const log = `${s.prefix}{denylist}:log`
    const [[lastId]] = (await probe.command(['XREVRANGE', log, '+', '-', 'COUNT', '1'])) as [
      [string],
    ]
    assert.equal(await probe.command(['XTRIM', log, 'MINID', lastId]), 1)
    s.proxy.heal()
    await eventually(
      async () => (await statuses(s, [good, trimmed, kept])) === everywhere(s, '200 401 401'),
      'both revocations to be loaded',
      5000,
    )
    await eventually(
      () => syncs(events.events).filter((e) => e.full).length >= s.apis.length,
      'every replica behind the proxy to reload in full',
    )
    events.stop()
  })

  test('a half-open path (no error, no data) is noticed by the read timeout and recovered', async () => {
    const s = await setup({ commandTimeout: '300ms' })
    const good = await issuer.sign({ sub: 'good' })
    const missed = await issuer.sign({ sub: 'missed' })
    s.proxy.blackhole()
    await s.writer.revoke(payloadOf(missed))
    await eventually(
      async () => (await statuses(s, [good])) === everywhere(s, '503'),
      'the APIs behind the dead path to fail closed',
      MAX_STALENESS_MS + 1500,
    )
    s.proxy.heal() // new connections get through; the old ones stay dead
    await eventually(
      async () => (await statuses(s, [good, missed])) === everywhere(s, '200 401'),
      'the APIs to reconnect on their own and catch up',
      5000,
    )
  })
})

function payloadOf(token: string): { jti: string; exp: number } {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as never
}
