/**
 * `npm run soak`: a bounded soak (not a unit test). Distinct tokens, minted as fast as asked
 * (default 10,000 per second), go through an Express API guarded by jwt-gate with a Redis
 * denylist, for 60 s; in the middle the identity provider rotates its signing key and Redis is
 * killed and restarted. The report says how many requests were served, how many answers were
 * wrong (must be 0), how many 5xx there were inside and outside the outage window (outside: must
 * be 0), and the server's heap before and after (must not grow beyond the caches' bounds).
 *
 *   npm run soak                         60 s at 10,000 tokens/s
 *   npm run soak -- --seconds 10         a short run (the timeline scales with it)
 *   npm run soak -- --rate 3000 --alg RS256 --loaders 2
 *
 * What runs where. This process: the orchestration (this file: options, the timeline, the
 * loaders) and the system under soak (soak/system.ts: the API — Express 5 + jwt-gate from the
 * built package, exactly as a user imports it —, a JWKS server on loopback and a redis-server
 * child). `--loaders` child processes (soak/loader.ts): each mints its share of the token mix
 * (soak/token-mix.ts) with node:crypto and sends it over keep-alive node:http connections,
 * checking every answer against what that token deserves. soak/report.ts prints the verdict.
 *
 * Tokens (the mix): valid (must be 200 with its own sub and jti), revoked by jti before the run
 * or during it (401 revoked; a revocation is used only 1 s after it was made, the documented
 * propagation bound), revoked by subject (401 revoked), expired (401 expired), signed by a
 * stranger under the real kid (401 bad_signature), valid header and signature with another
 * token's payload (401 bad_signature).
 *
 * The outage window, documented: from the moment Redis is killed until the denylist reports its
 * replica fresh again, plus 1 s. Inside it the denylist fails closed: a token that reaches the
 * denylist (valid or revoked) gets 503 `denylist_unavailable` with Retry-After once the replica
 * is staler than `--max-staleness`; expired and forged tokens are still refused with 401 before
 * the denylist is asked. A 5xx outside the window, or for a token that never reaches the
 * denylist, is a failure. The JWKS rotation has no window: not a single request may fail for it.
 */
import { fork } from 'node:child_process'
import { subscribe } from 'node:diagnostics_channel'
import { createRequire } from 'node:module'
import { availableParallelism, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { setTimeout as sleep } from 'node:timers/promises'
import { CHANNELS } from 'jwt-gate'
import { soakKey } from './soak/keys.js'
import { AUDIENCE, ISSUER, type Alg, type FromLoader, type ToLoader } from './soak/protocol.js'
import { mb, report } from './soak/report.js'
import { startSystem } from './soak/system.js'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    rate: { type: 'string', default: '10000' },
    loaders: { type: 'string', default: String(Math.max(1, availableParallelism() - 1)) },
    concurrency: { type: 'string', default: '64' },
    alg: { type: 'string', default: 'EdDSA' },
    'redis-down': { type: 'string' },
    'max-staleness': { type: 'string', default: '2s' },
    reuse: { type: 'string', default: '0' },
    warmup: { type: 'string', default: '12000' },
    'heap-slack-mb': { type: 'string', default: '16' },
    help: { type: 'boolean', short: 'h' },
  },
})
if (values.help) {
  console.log(
    'usage: npm run soak -- [--seconds 60] [--rate 10000] [--loaders N] [--concurrency 64]\n' +
      '  [--alg EdDSA|ES256|RS256] [--redis-down S] [--max-staleness 2s] [--reuse 0..1]\n' +
      '  [--warmup 12000] [--heap-slack-mb 16]',
  )
} else {
  await soak()
}

async function soak(): Promise<void> {
  const number = (name: keyof typeof values, min: number) => {
    const value = Number(values[name])
    if (!Number.isFinite(value) || value < min) {
      throw new TypeError(`--${name} must be a number ≥ ${min}: ${String(values[name])}`)
    }
    return value
  }
  const seconds = number('seconds', 5)
  const rate = number('rate', 1)
  const loaders = Math.floor(number('loaders', 1))
  const concurrency = Math.floor(number('concurrency', 1))
  const reuse = number('reuse', 0)
  const warmupTokens = Math.floor(number('warmup', 0))
  const heapSlackMb = number('heap-slack-mb', 0)
  const alg = values.alg as Alg
  if (!['EdDSA', 'ES256', 'RS256'].includes(alg))
    throw new TypeError('--alg: EdDSA, ES256 or RS256')
  const maxStaleness = values['max-staleness']
  const redisDown =
    values['redis-down'] === undefined
      ? Math.max(4, Math.round(seconds * 0.15))
      : number('redis-down', 0.5)
  const durationMs = seconds * 1000
  const rotateAtMs = Math.round(durationMs * 0.3)
  const killAtMs = Math.round(durationMs * 0.4)
  const restartAtMs = killAtMs + redisDown * 1000
  if (restartAtMs + 2000 > durationMs) {
    throw new TypeError(
      '--redis-down is too long for --seconds: Redis must be back 2 s before the end',
    )
  }

  setFlagsFromString('--expose_gc')
  const gc = runInNewContext('gc') as () => void

  const t0 = { at: 0 }
  const since = (at = Date.now()) => (t0.at === 0 ? 0 : (at - t0.at) / 1000)
  const timeline: Array<[number, string]> = []
  const note = (text: string) => timeline.push([since(), text])

  // Keys: what the identity provider signs with, and a stranger's key under the same kid.
  const first = soakKey(alg, 'key-1')
  const second = soakKey(alg, 'key-2')
  const attacker = soakKey(alg, 'key-1')

  const system = await startSystem({ alg, firstJwk: first.jwk, maxStaleness })
  const { denylist, redis } = system

  let freshAgainAt = 0
  let killedAt = 0
  subscribe(CHANNELS.denylist, (message) => {
    const event = message as { type: string; full?: boolean }
    if (event.type === 'revoked') return
    if (event.type === 'fresh' && killedAt > 0 && freshAgainAt === 0) freshAgainAt = Date.now()
    if (t0.at > 0)
      note(`denylist ${event.type}${event.full === undefined ? '' : ` (full: ${event.full})`}`)
  })
  subscribe(CHANNELS.jwks, (message) => {
    const event = message as { type: string; trigger?: string; keys?: number }
    if (t0.at > 0 && event.type !== 'cooldown') {
      note(`jwks ${event.type}${event.trigger ? ` (${event.trigger}, ${event.keys} keys)` : ''}`)
    }
  })

  // Revocations made before the run: 1,000 tokens by jti, one subject.
  const now = Math.floor(Date.now() / 1000)
  const revokedJtis = Array.from({ length: 1000 }, (_, i) => `revoked-${i}`)
  for (let i = 0; i < revokedJtis.length; i += 100) {
    await Promise.all(
      revokedJtis.slice(i, i + 100).map((jti) => denylist.revoke({ jti, exp: now + 7200 })),
    )
  }
  const subjectRevokedBefore = now
  await denylist.revokeSubject('revoked-user', { before: subjectRevokedBefore })

  // The load generators.
  const loaderFile = fileURLToPath(new URL('./soak/loader.ts', import.meta.url))
  const children = Array.from({ length: loaders }, () =>
    fork(loaderFile, [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  )
  const post = (message: ToLoader) => children.forEach((child) => child.send(message))
  const all = <T extends FromLoader['type']>(type: T) =>
    Promise.all(
      children.map(
        (child) =>
          new Promise<Extract<FromLoader, { type: T }>>((resolve, reject) => {
            const onMessage = (message: FromLoader) => {
              if (message.type !== type) return
              child.off('message', onMessage)
              resolve(message as Extract<FromLoader, { type: T }>)
            }
            child.on('message', onMessage)
            child.once('exit', (code) => reject(new Error(`a loader exited with ${code}`)))
          }),
      ),
    )
  const ready = all('ready')
  children.forEach((child, id) =>
    child.send({
      type: 'config',
      config: {
        id,
        url: system.apiUrl,
        issuer: ISSUER,
        audience: AUDIENCE,
        alg,
        key: first.signing,
        attackerPem: attacker.signing.pem,
        revokedJtis,
        revokedSubject: 'revoked-user',
        subjectRevokedBefore,
        rate: rate / loaders,
        concurrency: Math.max(1, Math.floor(concurrency / loaders)),
        reuse,
      },
    } satisfies ToLoader),
  )
  await ready

  console.log(
    `jwt-gate soak: ${seconds} s at ${rate} tokens/s (${alg}), ${loaders} loader(s), ` +
      `${concurrency} in flight; Express ${(createRequire(import.meta.url)('express/package.json') as { version: string }).version}, ` +
      `Redis denylist (maxStaleness ${maxStaleness})`,
  )
  console.log(
    `machine: ${availableParallelism()} CPUs, load average ${loadavg()
      .map((n) => n.toFixed(2))
      .join(' ')} (other work on the machine slows the API and the loaders alike)`,
  )

  // Heap at rest, then after filling the caches (the warm-up is not part of the report).
  gc()
  const heapAtRest = process.memoryUsage().heapUsed
  const warmed = all('warmed')
  post({ type: 'warmup', tokens: Math.ceil(warmupTokens / loaders) })
  const warmStats = await warmed
  const warmWrong = warmStats.reduce((sum, { stats }) => sum + stats.wrong, 0)
  gc()
  const heapBefore = process.memoryUsage().heapUsed
  console.log(
    `warm-up: ${warmupTokens} tokens, ${warmWrong} wrong; heap ${mb(heapAtRest)} → ${mb(heapBefore)} with full caches`,
  )

  // The run, with its timeline.
  const done = all('done')
  t0.at = Date.now() + 200
  post({ type: 'run', startAt: t0.at, durationMs })
  const at = (ms: number) => sleep(Math.max(0, t0.at + ms - Date.now()))
  const timers: Array<Promise<void>> = []
  timers.push(
    at(rotateAtMs).then(() => {
      system.publish(second.jwk)
      note(`JWKS rotated: key-2 published next to key-1; tokens now signed with key-2`)
      post({ type: 'rotate', key: second.signing })
    }),
    at(killAtMs).then(async () => {
      killedAt = Date.now()
      note('Redis killed (SIGKILL)')
      await redis.kill()
    }),
    at(restartAtMs).then(async () => {
      await redis.restart()
      note('Redis restarted (append-only file replayed)')
    }),
  )
  // Revocations during the run, once a second while Redis is up; used 1 s later.
  let midRunRevocations = 0
  const revoking = (async () => {
    for (let n = 0; Date.now() < t0.at + durationMs - 1500; n++) {
      await sleep(1000)
      const jtis = Array.from({ length: 20 }, (_, i) => `mid-${n}-${i}`)
      try {
        const exp = Math.floor(Date.now() / 1000) + 3600
        await Promise.all(jtis.map((jti) => denylist.revoke({ jti, exp })))
        midRunRevocations += jtis.length
        post({ type: 'revoked', jtis, usableAt: Date.now() + 1000 })
      } catch {
        // Redis is down: nothing was revoked, so nothing is handed to the loaders.
      }
    }
  })()
  const results = await done
  await Promise.all([...timers, revoking])
  const endedAt = Date.now()

  children.forEach((child) => child.kill())
  gc() // with the verifier still open: its caches are as full as before the run
  const heapAfter = process.memoryUsage().heapUsed
  await system.closeVerifier()

  const pass = report({
    seconds,
    rate,
    stats: results.map((result) => result.stats),
    timeline,
    since,
    endedAt,
    windowStart: killedAt,
    windowEnd: (freshAgainAt || endedAt) + 1000,
    jwksRequests: system.jwksRequests(),
    midRunRevocations,
    warmWrong,
    heap: { atRest: heapAtRest, before: heapBefore, after: heapAfter, slackMb: heapSlackMb },
  })

  await system.close()
  process.exitCode = pass ? 0 : 1
}
