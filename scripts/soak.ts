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
 * What runs where. This process: the API (Express 5 + jwt-gate from the built package, exactly as
 * a user imports it), a JWKS server on loopback, a redis-server child (append-only file fsynced
 * on every write, so a crash loses no revocation) and the orchestration. `--loaders` child
 * processes: each mints its share of tokens with node:crypto and sends them over keep-alive
 * node:http connections, checking every answer against what that token deserves.
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
import { constants, createPrivateKey, sign as cryptoSign, type KeyObject } from 'node:crypto'
import { subscribe } from 'node:diagnostics_channel'
import { Agent, createServer, request as httpRequest, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import { availableParallelism, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Response } from 'express'
import { generateKeyPairSafelySync } from '../src/testing/key-generation-sync.js'

// ---------------------------------------------------------------------------------------------
// Shared between the two roles.

type Alg = 'EdDSA' | 'ES256' | 'RS256'
type TokenClass =
  | 'valid'
  | 'reused'
  | 'revoked-jti'
  | 'revoked-mid-run'
  | 'revoked-subject'
  | 'expired'
  | 'forged'
  | 'tampered'

/** Classes whose tokens reach the denylist (and so may see 503 while Redis is out). */
const REACHES_DENYLIST = new Set<TokenClass>([
  'valid',
  'reused',
  'revoked-jti',
  'revoked-mid-run',
  'revoked-subject',
])

interface SigningKey {
  kid: string
  pem: string
}

interface LoaderConfig {
  id: number
  url: string
  issuer: string
  audience: string
  alg: Alg
  key: SigningKey
  attackerPem: string
  revokedJtis: string[]
  revokedSubject: string
  subjectRevokedBefore: number
  rate: number
  concurrency: number
  reuse: number
}

interface LoaderStats {
  sent: number
  behind: number
  networkErrors: number
  /** class → status → count */
  answers: Record<string, Record<string, number>>
  wrong: number
  wrongSamples: string[]
  /** [epoch ms, class] of every 5xx answer. */
  fiveXX: Array<[number, TokenClass]>
  /** Answers per whole second since the run started. */
  perSecond: number[]
  /** Latency histogram: bucket i counts answers in [2^i, 2^(i+1)) ms (bucket 0: < 2 ms). */
  latency: number[]
}

type ToLoader =
  | { type: 'config'; config: LoaderConfig }
  | { type: 'warmup'; tokens: number }
  | { type: 'run'; startAt: number; durationMs: number }
  | { type: 'rotate'; key: SigningKey }
  | { type: 'revoked'; jtis: string[]; usableAt: number }

type FromLoader =
  { type: 'ready' } | { type: 'warmed'; stats: LoaderStats } | { type: 'done'; stats: LoaderStats }

const ISSUER = 'https://id.soak.example/'
const AUDIENCE = 'https://api.soak.example'

const b64url = (value: string | Buffer) => Buffer.from(value).toString('base64url')

function signInput(alg: Alg, input: string, key: KeyObject): string {
  const data = Buffer.from(input)
  const signature =
    alg === 'EdDSA'
      ? cryptoSign(null, data, key)
      : alg === 'ES256'
        ? cryptoSign('sha256', data, { key, dsaEncoding: 'ieee-p1363' })
        : cryptoSign('sha256', data, { key, padding: constants.RSA_PKCS1_PADDING })
  return signature.toString('base64url')
}

const role = process.argv.includes('--loader') ? 'loader' : 'main'
if (role === 'loader') runLoader()
else await runMain()

// ---------------------------------------------------------------------------------------------
// Load generator (child process).

function runLoader(): void {
  let config: LoaderConfig
  let key: KeyObject
  let kid: string
  let header: string
  let attacker: KeyObject
  let agent: Agent
  let stats = emptyStats()
  let seq = 0
  let inFlight = 0
  let runStart = 0
  const midRun: Array<{ jti: string; usableAt: number }> = []
  const recent: Array<{ token: string; sub: string; jti: string }> = []

  const send = (message: FromLoader) => process.send!(message)

  function emptyStats(): LoaderStats {
    return {
      sent: 0,
      behind: 0,
      networkErrors: 0,
      answers: {},
      wrong: 0,
      wrongSamples: [],
      fiveXX: [],
      perSecond: [],
      latency: [],
    }
  }

  function setKey(signing: SigningKey) {
    key = createPrivateKey(signing.pem)
    kid = signing.kid
    header = b64url(JSON.stringify({ alg: config.alg, kid, typ: 'JWT' }))
  }

  interface Minted {
    cls: TokenClass
    token: string
    status: number
    reason?: string
    sub?: string
    jti?: string
  }

  function mint(cls: TokenClass): Minted {
    const now = Math.floor(Date.now() / 1000)
    const n = seq++
    let sub = `user-${n % 5000}`
    let jti = `${config.id}.${n}`
    let iat = now
    let exp = now + 3600
    if (cls === 'revoked-jti') jti = config.revokedJtis[n % config.revokedJtis.length]!
    if (cls === 'revoked-mid-run') jti = midRun[n % midRun.length]!.jti
    if (cls === 'revoked-subject') {
      sub = config.revokedSubject
      iat = config.subjectRevokedBefore - 30
    }
    if (cls === 'expired') {
      iat = now - 7200
      exp = now - 3600
    }
    // `n` keeps every token distinct, even two with the same jti minted in the same second.
    const payload = b64url(
      JSON.stringify({ iss: config.issuer, aud: config.audience, sub, jti, iat, exp, n }),
    )
    const input = `${header}.${payload}`
    let token = `${input}.${signInput(config.alg, input, cls === 'forged' ? attacker : key)}`
    if (cls === 'tampered') {
      const other = b64url(
        JSON.stringify({ iss: config.issuer, aud: config.audience, sub: 'admin', jti, iat, exp }),
      )
      token = `${header}.${other}.${token.split('.')[2]}`
    }
    switch (cls) {
      case 'valid':
        recent[n % 1000] = { token, sub, jti }
        return { cls, token, status: 200, sub, jti }
      case 'expired':
        return { cls, token, status: 401, reason: 'expired' }
      case 'forged':
      case 'tampered':
        return { cls, token, status: 401, reason: 'bad_signature' }
      default:
        return { cls, token, status: 401, reason: 'revoked' }
    }
  }

  function pick(): Minted {
    const roll = Math.random()
    if (roll < config.reuse && recent.length > 0) {
      const again = recent[Math.floor(Math.random() * recent.length)]
      if (again) return { cls: 'reused', status: 200, ...again }
    }
    const r = Math.random() * 100
    const usableMidRun = midRun.length > 0 && midRun[midRun.length - 1]!.usableAt <= Date.now()
    if (r < 84) return mint('valid')
    if (r < 88) return mint('revoked-jti')
    if (r < 90) return usableMidRun ? mint('revoked-mid-run') : mint('revoked-jti')
    if (r < 93) return mint('revoked-subject')
    if (r < 95) return mint('expired')
    if (r < 98) return mint('forged')
    return mint('tampered')
  }

  function record(minted: Minted, status: number, body: string, startedAt: number) {
    const now = Date.now()
    const byClass = (stats.answers[minted.cls] ??= {})
    byClass[status] = (byClass[status] ?? 0) + 1
    if (runStart > 0) {
      const second = Math.floor((now - runStart) / 1000)
      stats.perSecond[second] = (stats.perSecond[second] ?? 0) + 1
    }
    const ms = now - startedAt
    const bucket = ms < 2 ? 0 : Math.min(15, Math.floor(Math.log2(ms)))
    stats.latency[bucket] = (stats.latency[bucket] ?? 0) + 1
    if (status >= 500) {
      stats.fiveXX.push([now, minted.cls])
      return
    }
    let parsed: { sub?: string; jti?: string; reason?: string } = {}
    try {
      parsed = JSON.parse(body) as typeof parsed
    } catch {
      // judged below: a body that is not our JSON is wrong for every expected answer
    }
    const right =
      status === minted.status &&
      (status === 200
        ? parsed.sub === minted.sub && parsed.jti === minted.jti
        : parsed.reason === minted.reason)
    if (!right) {
      stats.wrong++
      if (stats.wrongSamples.length < 20) {
        stats.wrongSamples.push(
          `${minted.cls}: expected ${minted.status} ${minted.reason ?? minted.sub}, got ${status} ${body.slice(0, 120)}`,
        )
      }
    }
  }

  function fire(minted: Minted, onDone: () => void) {
    inFlight++
    stats.sent++
    const startedAt = Date.now()
    const req = httpRequest(
      `${config.url}/me`,
      { agent, headers: { authorization: `Bearer ${minted.token}` } },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (body += chunk))
        res.on('end', () => {
          inFlight--
          record(minted, res.statusCode ?? 0, body, startedAt)
          onDone()
        })
      },
    )
    req.on('error', (error) => {
      inFlight--
      stats.networkErrors++
      if (stats.wrongSamples.length < 20) stats.wrongSamples.push(`network: ${error.message}`)
      onDone()
    })
    req.end()
  }

  function warmup(tokens: number) {
    let started = 0
    let done = 0
    const next = () => {
      while (started < tokens && inFlight < config.concurrency) {
        started++
        fire(mint('valid'), () => {
          if (++done === tokens) {
            send({ type: 'warmed', stats })
            stats = emptyStats()
          } else next()
        })
      }
    }
    next()
  }

  function run(startAt: number, durationMs: number) {
    const perMs = config.rate / 1000
    let started = 0
    const tick = () => {
      const now = Date.now()
      if (now < startAt) return void setTimeout(tick, startAt - now)
      runStart ||= startAt
      const elapsed = now - startAt
      if (elapsed >= durationMs) return finish()
      const due = Math.floor(elapsed * perMs)
      while (started < due && inFlight < config.concurrency) {
        started++
        fire(pick(), () => {})
      }
      // The server (or this loader) cannot keep up: drop the backlog rather than burst later.
      if (due - started > config.concurrency) {
        stats.behind += due - started
        started = due
      }
      setImmediate(tick)
    }
    const finish = () => {
      const wait = () => (inFlight > 0 ? void setTimeout(wait, 10) : send({ type: 'done', stats }))
      wait()
    }
    tick()
  }

  process.on('message', (message: ToLoader) => {
    switch (message.type) {
      case 'config':
        config = message.config
        attacker = createPrivateKey(config.attackerPem)
        setKey(config.key)
        agent = new Agent({ keepAlive: true, maxSockets: config.concurrency })
        send({ type: 'ready' })
        break
      case 'warmup':
        warmup(message.tokens)
        break
      case 'run':
        run(message.startAt, message.durationMs)
        break
      case 'rotate':
        setKey(message.key)
        recent.length = 0 // reused tokens then carry the new kid too
        break
      case 'revoked':
        for (const jti of message.jtis) midRun.push({ jti, usableAt: message.usableAt })
        break
    }
  })
}

// ---------------------------------------------------------------------------------------------
// The API, the key server, Redis, the orchestration and the report.

async function runMain(): Promise<void> {
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
    return
  }
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

  // Imported here so a loader process never loads Express, ioredis or the package.
  const [{ default: express }, { Redis }, gate, { requireJwt }, { redisDenylist }, redisHelper] =
    await Promise.all([
      import('express'),
      import('ioredis'),
      import('jwt-gate'),
      import('jwt-gate/express'),
      import('jwt-gate/redis'),
      import('../test/helpers/redis-server.js'),
    ])
  setFlagsFromString('--expose_gc')
  const gc = runInNewContext('gc') as () => void

  const t0 = { at: 0 }
  const since = (at = Date.now()) => (t0.at === 0 ? 0 : (at - t0.at) / 1000)
  const timeline: Array<[number, string]> = []
  const note = (text: string) => timeline.push([since(), text])

  // Keys: what the identity provider signs with, and a stranger's key.
  const keyOf = (kid: string) => {
    // Not generateKeyPairSync + export: that can deadlock Node 20 (src/testing/key-generation-sync.ts).
    const pair = generateKeyPairSafelySync(
      alg === 'EdDSA'
        ? { type: 'ed25519' }
        : alg === 'ES256'
          ? { type: 'ec', namedCurve: 'P-256' }
          : { type: 'rsa', modulusLength: 2048 },
    )
    const jwk = { ...pair.publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' }
    const pem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
    return { jwk, signing: { kid, pem } }
  }
  const first = keyOf('key-1')
  const second = keyOf('key-2')
  const attacker = keyOf('key-1')
  const published: object[] = [first.jwk]

  // The identity provider's JWKS endpoint.
  let jwksRequests = 0
  const jwksServer: Server = createServer((_req, res) => {
    jwksRequests++
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ keys: published }))
  })
  const jwksUrl = await listenOn(jwksServer)

  // Redis, the denylist, the API.
  const redis = await redisHelper.startRedisServer()
  const client = new Redis(redis.port, '127.0.0.1', {
    retryStrategy: () => 100,
    maxRetriesPerRequest: 1,
  })
  client.on('error', () => {})
  const denylist = redisDenylist({ client, maxStaleness: values['max-staleness'] })
  await denylist.ready()

  let freshAgainAt = 0
  let killedAt = 0
  subscribe(gate.CHANNELS.denylist, (message) => {
    const event = message as { type: string; full?: boolean }
    if (event.type === 'revoked') return
    if (event.type === 'fresh' && killedAt > 0 && freshAgainAt === 0) freshAgainAt = Date.now()
    if (t0.at > 0)
      note(`denylist ${event.type}${event.full === undefined ? '' : ` (full: ${event.full})`}`)
  })
  subscribe(gate.CHANNELS.jwks, (message) => {
    const event = message as { type: string; trigger?: string; keys?: number }
    if (t0.at > 0 && event.type !== 'cooldown') {
      note(`jwks ${event.type}${event.trigger ? ` (${event.trigger}, ${event.keys} keys)` : ''}`)
    }
  })

  const guard = requireJwt({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUri: `${jwksUrl}/jwks`,
    algorithms: [alg],
    denylist,
  })
  const app = express()
  app.disable('x-powered-by')
  app.set('etag', false)
  app.get('/me', guard, (req, res) => {
    res.json({ sub: req.auth?.payload.sub, jti: req.auth?.payload.jti })
  })
  app.use((error: unknown, _req: unknown, res: Response, next: (error: unknown) => void) => {
    if (!gate.isAuthError(error)) return next(error)
    res.status(error.status).set(error.headers).json({ reason: error.reason })
  })
  const apiServer = createServer(app)
  apiServer.keepAliveTimeout = 60_000
  const apiUrl = await listenOn(apiServer)

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
  const children = Array.from({ length: loaders }, () =>
    fork(fileURLToPath(import.meta.url), ['--loader'], {
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
        url: apiUrl,
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
      `Redis denylist (maxStaleness ${values['max-staleness']})`,
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
      published.push(second.jwk)
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
  await guard.verifier.close()

  // The report.
  const stats = results.map((result) => result.stats)
  const sum = (pick: (s: LoaderStats) => number) => stats.reduce((total, s) => total + pick(s), 0)
  const answered = stats.flatMap((s) => Object.values(s.answers).flatMap((c) => Object.values(c)))
  const served = answered.reduce((a, b) => a + b, 0)
  const windowStart = killedAt
  const windowEnd = (freshAgainAt || endedAt) + 1000
  const fiveXX = stats.flatMap((s) => s.fiveXX)
  const inside = fiveXX.filter(
    ([time, cls]) => time >= windowStart && time <= windowEnd && REACHES_DENYLIST.has(cls),
  )
  const outside = fiveXX.length - inside.length
  const wrong = sum((s) => s.wrong)
  const networkErrors = sum((s) => s.networkErrors)
  const heapGrowth = heapAfter - heapBefore
  const perSecond: number[] = []
  for (const s of stats)
    s.perSecond.forEach((n, i) => (perSecond[i] = (perSecond[i] ?? 0) + (n ?? 0)))
  const latency: number[] = []
  for (const s of stats) s.latency.forEach((n, i) => (latency[i] = (latency[i] ?? 0) + (n ?? 0)))

  console.log('\ntimeline (seconds since the run started):')
  for (const [time, text] of timeline.sort((a, b) => a[0] - b[0])) {
    console.log(`  +${time.toFixed(2).padStart(6)}  ${text}`)
  }
  console.log(`  +${since(endedAt).toFixed(2).padStart(6)}  run ended`)
  console.log(
    `\nrequests served: ${served.toLocaleString('en')} in ${seconds} s ` +
      `(${Math.round(served / seconds).toLocaleString('en')}/s; target ${rate.toLocaleString('en')}/s` +
      `${sum((s) => s.behind) > 0 ? `, ${sum((s) => s.behind).toLocaleString('en')} not sent: the server or the loaders could not keep up` : ''})`,
  )
  console.log(`  answers per second: ${perSecond.map((n) => n ?? 0).join(' ')}`)
  const classes = [...new Set(stats.flatMap((s) => Object.keys(s.answers)))].sort()
  for (const cls of classes) {
    const counts: Record<string, number> = {}
    for (const s of stats) {
      for (const [status, n] of Object.entries(s.answers[cls] ?? {})) {
        counts[status] = (counts[status] ?? 0) + n
      }
    }
    const text = Object.entries(counts).map(([status, n]) => `${status}×${n.toLocaleString('en')}`)
    console.log(`  ${cls.padEnd(16)} ${text.join('  ')}`)
  }
  console.log(`  latency (ms): ${latency.map((n, i) => `<${2 ** (i + 1)}:${n ?? 0}`).join(' ')}`)
  console.log(`JWKS fetches: ${jwksRequests}; revocations during the run: ${midRunRevocations}`)
  console.log(`wrong answers: ${wrong}${wrong > 0 ? ' ← FAIL' : ''}`)
  for (const sample of stats.flatMap((s) => s.wrongSamples).slice(0, 20)) console.log(`  ${sample}`)
  console.log(
    `5xx: ${inside.length.toLocaleString('en')} inside the outage window ` +
      `[+${since(windowStart).toFixed(2)} s, +${since(windowEnd).toFixed(2)} s], ` +
      `${outside} outside it${outside > 0 ? ' ← FAIL' : ''}`,
  )
  console.log(`network errors: ${networkErrors}${networkErrors > 0 ? ' ← FAIL' : ''}`)
  const heapOk = heapGrowth <= heapSlackMb * 1024 * 1024
  console.log(
    `heap (API process, after a full GC): at rest ${mb(heapAtRest)}, before the run ${mb(heapBefore)} ` +
      `(token cache full: 10,000 entries), after ${mb(heapAfter)} ` +
      `(${heapGrowth >= 0 ? '+' : ''}${mb(heapGrowth)}; allowed ${heapSlackMb} MB)${heapOk ? '' : ' ← FAIL'}`,
  )
  const pass = wrong === 0 && outside === 0 && networkErrors === 0 && heapOk && warmWrong === 0
  console.log(`verdict: ${pass ? 'PASS' : 'FAIL'}`)

  await denylist.close()
  client.disconnect()
  await new Promise((resolve) => apiServer.close(resolve))
  apiServer.closeAllConnections()
  jwksServer.close()
  jwksServer.closeAllConnections()
  await redis.close()
  process.exitCode = pass ? 0 : 1
}

function listenOn(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
    })
  })
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`
}
