/**
 * A soak load generator (a child process of scripts/soak.ts, which forks one per `--loaders`):
 * sends its share of the token mix over keep-alive node:http connections at the asked rate and
 * checks every answer against what that token deserves. It never loads Express, Redis or the
 * package.
 */
import { Agent, request as httpRequest } from 'node:http'
import { emptyStats, type FromLoader, type LoaderConfig, type ToLoader } from './protocol.js'
import { TokenMix, type Minted } from './token-mix.js'

let config: LoaderConfig
let mix: TokenMix
let agent: Agent
let stats = emptyStats()
let inFlight = 0
let runStart = 0

const send = (message: FromLoader) => process.send!(message)

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
      fire(mix.mint('valid'), () => {
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
      fire(mix.pick(), () => {})
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
      mix = new TokenMix(config)
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
      mix.rotate(message.key)
      break
    case 'revoked':
      mix.revoked(message.jtis, message.usableAt)
      break
  }
})
