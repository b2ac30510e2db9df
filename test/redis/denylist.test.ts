/**
 * `jwt-gate/redis` against a real redis-server, with each client major (and the other protocol
 * of those that speak both), and across them: revocations through
 * real HTTP (an Express API whose verifier uses the denylist), shared between two APIs with
 * separate connections, loaded by a process that starts later, and bounded in Redis by expiry.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { redisDenylist, type RedisDenylist } from '../../src/redis/index.js'
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js'
import { bearer, send } from '../helpers/http.js'
import { redisSuite, startRedisServer, type RedisServer } from '../helpers/redis-server.js'
import {
  AUDIENCE,
  CLIENTS,
  OTHER_PROTOCOL_CLIENTS,
  captureEvents,
  suiteCleanup,
  eventually,
  startApi,
  type TestApi,
  type TestClient,
} from './harness.js'

const nowSeconds = () => Math.floor(Date.now() / 1000)
let prefixes = 0
const freshPrefix = () => `test-${process.pid}-${++prefixes}:`

// Tests share one server and use their own prefixes, so they run side by side: a few at a
// time, since each client kind brings several connections and APIs, and the 1 s propagation
// bounds below must hold on a loaded machine.
describe('redisDenylist', { ...redisSuite(), concurrency: 3 }, () => {
  let server: RedisServer
  let issuer: TestIssuer
  const cleanup = suiteCleanup()

  before(async () => {
    server = await startRedisServer()
    cleanup.push(() => server.close())
    issuer = await createTestIssuer({ alg: 'ES256', audience: AUDIENCE })
    cleanup.push(() => issuer.close())
  })

  /** A connected client and a ready denylist on it, closed after the suite. */
  async function denylistOn(
    factory: (typeof CLIENTS)[number],
    prefix: string,
    options: { maxStaleness?: string } = {},
  ): Promise<{ denylist: RedisDenylist; client: TestClient }> {
    const client = await factory.connect(server.port)
    const denylist = redisDenylist({ client: client.client, prefix, ...options })
    cleanup.push(
      () => denylist.close(),
      () => client.close(),
    )
    await denylist.ready()
    return { denylist, client }
  }

  /** Two API instances, each with its own denylist on `factory`, sharing one fresh prefix. */
  async function twoApis(factory: (typeof CLIENTS)[number]): Promise<[TestApi, TestApi]> {
    const prefix = freshPrefix()
    const apis: TestApi[] = []
    for (let i = 0; i < 2; i++) {
      const { denylist } = await denylistOn(factory, prefix)
      const api = await startApi(denylist, issuer)
      cleanup.push(() => api.close())
      apis.push(api)
    }
    return [apis[0]!, apis[1]!]
  }

  for (const factory of [...CLIENTS, ...OTHER_PROTOCOL_CLIENTS]) {
    describe(factory.name, () => {
      test('logout revokes the token here at once and in a second API within 1 s', async () => {
        const [apiA, apiB] = await twoApis(factory)

        const token = await issuer.sign({ sub: 'alice' })
        const sibling = await issuer.sign({ sub: 'alice' })
        for (const api of [apiA, apiB]) {
          assert.equal((await send(`${api.url}/me`, { headers: bearer(token) })).status, 200)
        }
        // Both verifiers now hold the token in their verified-token cache.
        const logout = await send(`${apiA.url}/logout`, { method: 'POST', headers: bearer(token) })
        assert.equal(logout.status, 204)
        const revokedAt = performance.now()

        const handledBefore = apiA.handled
        const refused = await send(`${apiA.url}/me`, { headers: bearer(token) })
        assert.equal(refused.status, 401)
        assert.deepEqual(refused.json(), { error: 'invalid_token', reason: 'revoked' })
        assert.equal(
          refused.headers['www-authenticate'],
          `Bearer realm="${AUDIENCE}", error="invalid_token", error_description="The token has been revoked."`,
        )
        assert.equal(apiA.handled, handledBefore, 'the handler never ran')

        await eventually(
          async () => (await send(`${apiB.url}/me`, { headers: bearer(token) })).status === 401,
          'the second API to refuse the token',
          1000,
          2,
        )
        assert.ok(performance.now() - revokedAt < 1000)
        // Only that token: another token of the same subject still works in both.
        for (const api of [apiA, apiB]) {
          assert.equal((await send(`${api.url}/me`, { headers: bearer(sibling) })).status, 200)
        }
      })

      test('logout-everywhere revokes every earlier token of the subject, and only those', async () => {
        const [apiA, apiB] = await twoApis(factory)

        const current = await issuer.sign({ sub: 'bob' })
        const older = await issuer.sign({ sub: 'bob' }, { issuedAt: '-1h' })
        const withoutIat = await issuer.sign({ sub: 'bob', iat: undefined })
        const otherUser = await issuer.sign({ sub: 'carol' }, { issuedAt: '-1h' })
        const later = await issuer.sign({ sub: 'bob' }, { issuedAt: '2s' })
        const out = await send(`${apiA.url}/logout-everywhere`, {
          method: 'POST',
          headers: bearer(current),
        })
        assert.equal(out.status, 204)

        const statuses = async (url: string) =>
          Promise.all(
            [current, older, withoutIat, otherUser, later].map(
              async (token) => (await send(`${url}/me`, { headers: bearer(token) })).status,
            ),
          )
        assert.deepEqual(await statuses(apiA.url), [401, 401, 401, 200, 200])
        await eventually(
          async () => (await statuses(apiB.url)).join() === '401,401,401,200,200',
          'the second API to refuse bob',
          1000,
          2,
        )
      })

      test('before is whole seconds and inclusive: iat = before refused, before + 1 passes', async () => {
        const { denylist } = await denylistOn(factory, freshPrefix())
        const before = nowSeconds() - 100
        await denylist.revokeSubject('dave', { before: new Date(before * 1000 + 999) })
        assert.equal(denylist.isRevoked({ sub: 'dave', iat: before }), true)
        assert.equal(denylist.isRevoked({ sub: 'dave', iat: before + 0.5 }), true)
        assert.equal(denylist.isRevoked({ sub: 'dave', iat: before + 1 }), false)
        assert.equal(denylist.isRevoked({ sub: 'dave' }), true, 'no iat counts as revoked')
        assert.equal(denylist.isRevoked({ sub: 'erin', iat: before - 1 }), false)
        // A later revocation of the same subject moves the line forward, an earlier one does not.
        await denylist.revokeSubject('dave', { before: before + 10 })
        await denylist.revokeSubject('dave', { before: before - 50 })
        assert.equal(denylist.isRevoked({ sub: 'dave', iat: before + 10 }), true)
        assert.equal(denylist.isRevoked({ sub: 'dave', iat: before + 11 }), false)
      })

      test('a process started later loads every live revocation before it is ready', async () => {
        const prefix = freshPrefix()
        const { denylist: writer } = await denylistOn(factory, prefix)
        const exp = nowSeconds() + 300
        for (let i = 0; i < 25; i++) await writer.revoke({ jti: `jti-${i}`, exp })
        await writer.revokeSubject('frank', { before: nowSeconds() - 5 })
        const events = captureEvents()
        const late = await denylistOn(factory, prefix)
        events.stop()
        assert.deepEqual(late.denylist.status().tokens, 25)
        assert.equal(late.denylist.isRevoked({ jti: 'jti-24' }), true)
        assert.equal(late.denylist.isRevoked({ jti: 'jti-25' }), false)
        assert.equal(late.denylist.isRevoked({ sub: 'frank', iat: nowSeconds() - 10 }), true)
        // Tests run side by side and publish on the same channel: look for this load's event.
        assert.ok(
          events.events.some((e) => e.type === 'synced' && e.full && e.entries === 26),
          JSON.stringify(events.events),
        )
      })
    })
  }

  test('a revocation written through any client kind is seen through every other kind', async () => {
    const prefix = freshPrefix()
    const kinds = [...CLIENTS, ...OTHER_PROTOCOL_CLIENTS]
    const instances = await Promise.all(
      kinds.map(async (factory) => ({
        name: factory.name,
        ...(await denylistOn(factory, prefix, { maxStaleness: '1s' })),
      })),
    )
    const exp = nowSeconds() + 300
    for (const writer of instances) {
      await writer.denylist.revoke({ jti: `by ${writer.name}`, exp })
      await writer.denylist.revokeSubject(`sub by ${writer.name}`, { before: nowSeconds() - 1 })
    }
    for (const reader of instances) {
      await eventually(
        () =>
          instances.every(
            (writer) =>
              reader.denylist.isRevoked({ jti: `by ${writer.name}` }) === true &&
              reader.denylist.isRevoked({ sub: `sub by ${writer.name}`, iat: nowSeconds() - 2 }) ===
                true,
          ),
        `${reader.name} to see every other kind's revocations`,
        1000,
        2,
      )
      assert.equal(reader.denylist.isRevoked({ jti: 'never revoked' }), false, reader.name)
      assert.equal(reader.denylist.status().fresh, true, reader.name)
      assert.equal(reader.denylist.status().tokens, instances.length, reader.name)
    }
  })

  test('the first requests wait for the first load instead of being refused', async () => {
    for (const factory of CLIENTS) {
      const prefix = freshPrefix()
      const { denylist: writer } = await denylistOn(factory, prefix)
      await writer.revoke({ jti: 'known', exp: nowSeconds() + 300 })
      const client = await factory.connect(server.port)
      cleanup.push(() => client.close())
      const denylist = redisDenylist({ client: client.client, prefix })
      cleanup.push(() => denylist.close())
      // Asked before anything was loaded (no I/O has happened yet): a promise, not a throw.
      const early = denylist.isRevoked({ jti: 'known' })
      const earlyOther = denylist.isRevoked({ jti: 'other' })
      assert.ok(early instanceof Promise, factory.name)
      assert.equal(await early, true, factory.name)
      assert.equal(await earlyOther, false, factory.name)
      assert.equal(denylist.isRevoked({ jti: 'known' }), true, 'synchronous once loaded')
    }
    // Through HTTP: an API started with the denylist answers its very first request.
    const client = await CLIENTS[0]!.connect(server.port)
    cleanup.push(() => client.close())
    const denylist = redisDenylist({ client: client.client, prefix: freshPrefix() })
    cleanup.push(() => denylist.close())
    const api = await startApi(denylist, issuer)
    cleanup.push(() => api.close())
    const token = await issuer.sign({ sub: 'first' })
    assert.equal((await send(`${api.url}/me`, { headers: bearer(token) })).status, 200)
  })

  test('before the first load, with Redis unreachable: the wait ends in 503 within maxStaleness', async () => {
    const client = await CLIENTS[0]!.connect(1, { wait: false, listenForErrors: true })
    cleanup.push(() => client.close())
    const denylist = redisDenylist({ client: client.client, maxStaleness: '300ms' })
    cleanup.push(() => denylist.close())
    const api = await startApi(denylist, issuer)
    cleanup.push(() => api.close())
    const token = await issuer.sign({ sub: 'nobody' })
    const response = await send(`${api.url}/me`, { headers: bearer(token) })
    assert.equal(response.status, 503)
    assert.equal(response.headers['retry-after'], '1')
    // Past maxStaleness, nothing waits any more: the answer is immediate.
    assert.throws(() => denylist.isRevoked({ jti: 'x' }), /staler than 300 ms/)
  })

  test('storage is bounded: key TTLs follow the latest exp, expired entries are pruned', async () => {
    const [factory] = CLIENTS
    const prefix = freshPrefix()
    const client = await factory!.connect(server.port)
    cleanup.push(() => client.close())
    const denylist = redisDenylist({ client: client.client, prefix, clockTolerance: 0 })
    cleanup.push(() => denylist.close())
    await denylist.ready()
    const keys = {
      tokens: `${prefix}{denylist}:tokens`,
      log: `${prefix}{denylist}:log`,
      subjects: `${prefix}{denylist}:subjects`,
      expiry: `${prefix}{denylist}:subject-expiry`,
    }
    const now = nowSeconds()
    await denylist.revoke({ jti: 'short', exp: now + 1 })
    await denylist.revoke({ jti: 'long', exp: now + 3600 })
    const ttl = Number(await client.command(['TTL', keys.tokens]))
    assert.ok(ttl > 3590 && ttl <= 3600, `tokens TTL ${ttl}`)
    const logTtl = Number(await client.command(['PTTL', keys.log]))
    assert.ok(logTtl > 590_000 && logTtl <= 600_000, `log TTL ${logTtl}`)

    // An expired token is not written at all.
    await denylist.revoke({ jti: 'gone', exp: now - 10 })
    assert.equal(await client.command(['ZSCORE', keys.tokens, 'gone']), null)

    await sleep(2100)
    await denylist.revoke({ jti: 'next', exp: now + 60 })
    assert.deepEqual(await client.command(['ZRANGE', keys.tokens, '0', '-1']), ['next', 'long'])

    await denylist.revokeSubject('gina', { before: now - 86_400 + 1 })
    await sleep(2100)
    await denylist.revokeSubject('hank')
    assert.deepEqual(await client.command(['ZRANGE', keys.subjects, '0', '-1']), ['hank'])
    assert.deepEqual(await client.command(['ZRANGE', keys.expiry, '0', '-1']), ['hank'])
    const subjectTtl = Number(await client.command(['TTL', keys.subjects]))
    assert.ok(subjectTtl > 86_390 && subjectTtl <= 86_400, `subjects TTL ${subjectTtl}`)
  })

  test('mistakes are TypeErrors, before any Redis traffic', async () => {
    const client = await CLIENTS[0]!.connect(server.port)
    cleanup.push(() => client.close())
    const bad: [Record<string, unknown>, RegExp][] = [
      [{}, /client/],
      [{ client: {} }, /ioredis .* node-redis/],
      [{ client: client.client, maxStaleness: 'soon' }, /maxStaleness/],
      [{ client: client.client, maxStaleness: '10ms' }, /at least 100 ms/],
      [{ client: client.client, failOpen: 'yes' }, /failOpen/],
      [{ client: client.client, prefix: 1 }, /prefix/],
      [{ client: client.client, maxStalenes: '5s' }, /unknown option "maxStalenes"/],
    ]
    for (const [options, message] of bad) {
      assert.throws(() => redisDenylist(options as never), { name: 'TypeError', message })
    }
    const denylist = redisDenylist({ client: client.client, prefix: freshPrefix() })
    cleanup.push(() => denylist.close())
    await assert.rejects(denylist.revoke({ exp: nowSeconds() + 60 } as never), TypeError)
    await assert.rejects(denylist.revoke({ jti: 'x' } as never), TypeError)
    await assert.rejects(denylist.revoke({ jti: '', exp: 1 }), TypeError)
    await assert.rejects(denylist.revokeSubject(''), TypeError)
    await assert.rejects(denylist.revokeSubject('x', { before: Date.now() }), /milliseconds/)
    await assert.rejects(denylist.revokeSubject('x', { before: new Date(Number.NaN) }), TypeError)
  })

  test('close(): isRevoked throws, ready() rejects if never loaded, the client stays open', async () => {
    const client = await CLIENTS[1]!.connect(server.port)
    cleanup.push(() => client.close())
    const loaded = redisDenylist({ client: client.client, prefix: freshPrefix() })
    await loaded.ready()
    assert.equal(loaded.isRevoked({ jti: 'x' }), false)
    await loaded.close()
    await loaded.close() // idempotent
    assert.throws(() => loaded.isRevoked({ jti: 'x' }), /closed/)
    assert.equal(loaded.status().fresh, false)
    await assert.rejects(loaded.revoke({ jti: 'x', exp: nowSeconds() + 60 }), /closed/)
    assert.equal(await client.command(['PING']), 'PONG')

    const early = redisDenylist({ client: client.client, prefix: freshPrefix() })
    await early.close()
    await assert.rejects(early.ready(), /closed before its first load/)
  })

  test('nothing the denylist starts keeps a process alive once the client quits', async () => {
    // A child process: ready denylist, one revocation, the user's client quit, no close().
    // Plain Node on the built package (no tsx), so it starts fast.
    const script = `
      import { Redis } from 'ioredis'
      import { Redis as Redis6 } from 'ioredis6'
      import { createClient } from 'redis'
      import { createClient as createClient6 } from 'redis6'
      import { redisDenylist } from 'jwt-gate/redis'
      const io = new Redis(${server.port}, '127.0.0.1')
      const io6 = new Redis6(${server.port}, '127.0.0.1')
      const nr = createClient({ socket: { port: ${server.port}, host: '127.0.0.1' } })
      const nr6 = createClient6({ socket: { port: ${server.port}, host: '127.0.0.1' } })
      await nr.connect()
      await nr6.connect()
      for (const client of [io, io6, nr, nr6]) {
        const denylist = redisDenylist({ client, prefix: 'exit-test:' })
        await denylist.ready()
        await denylist.revoke({ jti: 'x', exp: Math.floor(Date.now() / 1000) + 60 })
      }
      await io.quit()
      await io6.quit()
      await nr.quit()
      await nr6.quit()
      console.log('quit')
    `
    const root = new URL('../..', import.meta.url).pathname
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const code = await Promise.race([
      new Promise((resolve) => child.once('exit', resolve)),
      // Generous: the child compiles TypeScript on start, on a machine that may be busy.
      sleep(30_000, 'still running', { ref: false }),
    ])
    if (code === 'still running') child.kill('SIGKILL')
    assert.equal(code, 0, output)
    assert.match(output, /quit/)
  })
})
