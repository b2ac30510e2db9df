/**
 * Separate OS processes sharing one denylist through one redis-server, one process per client
 * library: a logout in one process must be refused by the others within 1 s (measured from
 * the moment the logout response arrived until the other process answers 401), and so must a
 * logout-everywhere.
 */
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { after, before, describe, test } from 'node:test'
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js'
import { bearer, send } from '../helpers/http.js'
import { redisSuite, startRedisServer, type RedisServer } from '../helpers/redis-server.js'
import { AUDIENCE, CLIENTS, eventually } from './harness.js'

/** The propagation bound the API contract promises. */
const BOUND_MS = 1000
const ROUNDS = 6

interface Worker {
  name: string
  url: string
  child: ChildProcess
}

describe('redisDenylist across processes', redisSuite(), () => {
  let server: RedisServer
  let issuer: TestIssuer
  let workers: Worker[] = []

  before(async () => {
    server = await startRedisServer()
    issuer = await createTestIssuer({ alg: 'ES256', audience: AUDIENCE })
    const root = new URL('../..', import.meta.url).pathname
    workers = await Promise.all(
      CLIENTS.map(
        (factory) =>
          new Promise<Worker>((resolve, reject) => {
            const child = spawn(process.execPath, ['--import', 'tsx', 'test/redis/worker.ts'], {
              cwd: root,
              stdio: ['ignore', 'pipe', 'inherit'],
              env: {
                ...process.env,
                REDIS_PORT: String(server.port),
                ISSUER_URL: issuer.url,
                JWKS_URI: issuer.jwksUri,
                CLIENT: factory.name,
                PREFIX: 'processes:',
              },
            })
            child.once('exit', (code) =>
              reject(new Error(`${factory.name} worker exited: ${code}`)),
            )
            createInterface({ input: child.stdout }).once('line', (line) => {
              const { url } = JSON.parse(line) as { url: string }
              resolve({ name: factory.name, url, child })
            })
          }),
      ),
    )
  })

  after(async () => {
    await Promise.all(
      workers.map(
        ({ child }) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve()
            const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
            child.removeAllListeners('exit')
            child.once('exit', () => {
              clearTimeout(timer)
              resolve()
            })
            child.kill('SIGTERM')
          }),
      ),
    )
    await issuer?.close()
    await server?.close()
  })

  const status = async (worker: Worker, token: string) =>
    (await send(`${worker.url}/me`, { headers: bearer(token) })).status

  /** Revoke through `from`, then poll every other worker until it refuses; ms per worker. */
  async function propagation(
    from: Worker,
    path: '/logout' | '/logout-everywhere',
    token: string,
  ): Promise<number[]> {
    for (const worker of workers) assert.equal(await status(worker, token), 200, worker.name)
    const response = await send(`${from.url}${path}`, { method: 'POST', headers: bearer(token) })
    assert.equal(response.status, 204)
    const others = workers.filter((worker) => worker !== from)
    return Promise.all(
      others.map((worker) =>
        eventually(
          async () => (await status(worker, token)) === 401,
          `${worker.name} to refuse the token revoked by ${from.name}`,
          BOUND_MS * 3,
          0,
        ),
      ),
    )
  }

  test(`a logout in one process is refused by the others within ${BOUND_MS} ms`, async (t) => {
    const samples: number[] = []
    for (let round = 0; round < ROUNDS; round++) {
      const from = workers[round % workers.length]!
      const token = await issuer.sign({ sub: `user-${round}` })
      samples.push(...(await propagation(from, '/logout', token)))
      // The revoked token only: a sibling token of the same user is still fine everywhere.
      const sibling = await issuer.sign({ sub: `user-${round}` })
      for (const worker of workers) assert.equal(await status(worker, sibling), 200)
    }
    samples.sort((a, b) => a - b)
    const median = samples[Math.floor(samples.length / 2)]!
    const max = samples[samples.length - 1]!
    t.diagnostic(
      `propagation over ${samples.length} samples: median ${median.toFixed(1)} ms, max ${max.toFixed(1)} ms`,
    )
    assert.ok(max < BOUND_MS, `slowest propagation ${max} ms`)
  })

  test(`a logout-everywhere in one process is refused by the others within ${BOUND_MS} ms`, async (t) => {
    const samples: number[] = []
    for (const from of workers) {
      const token = await issuer.sign({ sub: `everywhere-${from.name}` })
      const older = await issuer.sign({ sub: `everywhere-${from.name}` }, { issuedAt: '-1m' })
      samples.push(...(await propagation(from, '/logout-everywhere', token)))
      for (const worker of workers) assert.equal(await status(worker, older), 401)
    }
    const max = Math.max(...samples)
    t.diagnostic(`slowest subject propagation ${max.toFixed(1)} ms`)
    assert.ok(max < BOUND_MS, `slowest propagation ${max} ms`)
  })
})
