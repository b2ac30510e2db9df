/**
 * HTTP benchmark: requests per second of `GET /` on 127.0.0.1, autocannon in this process and
 * the server in a child process, 50 connections, for the bare framework (the ceiling, 1.00x),
 * jwt-gate's adapter and each peer guard. Two token modes: one fixed token, and a pool of
 * distinct tokens spread over the connections, each cycling its share through autocannon's
 * `requests` array. A framework's servers start together and are loaded one at a time in
 * interleaved rounds, while the idle ones only wait on their sockets.
 */
import autocannon from 'autocannon'
import { startServer, type ServerChild } from './child.js'
import { AUDIENCE, tamper, type Fixture } from './fixtures.js'
import { runRounds } from './rounds.js'
import { SERVER_VARIANTS, type Framework, type ServerConfig } from './servers/protocol.js'
import type { HttpSettings } from './settings.js'
import { median, pairedRatio, relativeSpread } from './stats.js'

/** How the load is authenticated. */
export type TokenMode = 'fixed' | 'pool'

/** What kind of server a variant is. */
export type ServerKind = 'bare' | 'jwt-gate' | 'peer'

/** One server variant and how it is labelled in the report. */
export interface HttpVariant {
  framework: Framework
  id: string
  label: string
  kind: ServerKind
}

/** autocannon's sampling interval, which is also how often it checks whether to stop. */
const SAMPLE_MS = 250
/** Warm-up ends when two consecutive slices differ by less than this fraction. */
const STABLE = 0.1

/** Labels of the variants each framework server file can start. */
const LABELS: Record<string, string> = {
  bare: 'bare (no auth)',
  'jwt-gate': 'jwt-gate',
  'express-jwt': 'express-jwt + jwks-rsa',
  'express-oauth2-jwt-bearer': 'express-oauth2-jwt-bearer',
  'koa-jwt': 'koa-jwt + jwks-rsa',
  'fastify-jwt': '@fastify/jwt (PEM key)',
  'fastify-jwt-cache': '@fastify/jwt (PEM key, cache 10k)',
}

/** Every variant, framework by framework. */
export const HTTP_VARIANTS: readonly HttpVariant[] = (
  Object.keys(SERVER_VARIANTS) as Framework[]
).flatMap((framework) =>
  SERVER_VARIANTS[framework].map((id) => ({
    framework,
    id,
    label: LABELS[id] ?? id,
    kind: id === 'bare' ? 'bare' : id === 'jwt-gate' ? 'jwt-gate' : 'peer',
  })),
)

/** One variant in one token mode. */
export interface HttpRow extends HttpVariant {
  mode: TokenMode
  /** 2xx responses per second, per round. */
  samples: number[]
  reqPerSec: number
  spread: number
  /** Median of per-round ratios to the bare framework in the same mode. */
  vsBare: number
  /** Median over rounds of autocannon's p50 and p99 latency, ms. */
  latencyP50: number
  latencyP99: number
  /** Totals over the measured runs: must be 0 for a valid measurement. */
  non2xx: number
  errors: number
}

/** Everything the HTTP benchmark measured. */
export interface HttpResult {
  rows: HttpRow[]
  unavailable: { framework: Framework; label: string; reason: string }[]
  settings: HttpSettings
}

interface Measurement {
  reqPerSec: number
  p50: number
  p99: number
  non2xx: number
  errors: number
}

/** Run every framework's servers with tokens from `fixture` (an RS256 issuer). */
export async function runHttp(
  fixture: Fixture,
  settings: HttpSettings,
  log: (line: string) => void,
): Promise<HttpResult> {
  const config: ServerConfig = {
    issuer: fixture.issuer.url,
    audience: AUDIENCE,
    jwksUri: fixture.issuer.jwksUri,
    publicKeyPem: fixture.pemOrSecret,
  }
  const fixed = fixture.tokens[0]!
  const pool = fixture.tokens.slice(0, settings.poolSize)
  if (pool.length < settings.poolSize) throw new Error(`need ${settings.poolSize} pool tokens`)

  const rows: HttpRow[] = []
  const unavailable: HttpResult['unavailable'] = []
  for (const framework of Object.keys(SERVER_VARIANTS) as Framework[]) {
    const started = Date.now()
    // A framework's servers start together (start-up is not measured) and wait, idle, for
    // their turn: only one server is ever under load.
    const running = new Map<HttpVariant, ServerChild>()
    try {
      await Promise.all(
        HTTP_VARIANTS.filter((variant) => variant.framework === framework).map(async (variant) => {
          try {
            const child = await startWithRetry(framework, variant.id, config)
            running.set(variant, child)
            await probe(variant, child, fixed)
          } catch (error) {
            await running.get(variant)?.stop()
            running.delete(variant)
            const reason = error instanceof Error ? error.message : String(error)
            unavailable.push({ framework, label: variant.label, reason })
          }
        }),
      )
      const variants = HTTP_VARIANTS.filter((variant) => running.has(variant))
      rows.push(...(await runFramework(variants, running, fixed, pool, settings)))
    } finally {
      await Promise.all([...running.values()].map((child) => child.stop()))
    }
    log(`http ${framework}: ${((Date.now() - started) / 1000).toFixed(1)} s`)
  }
  return { rows, unavailable, settings }
}

/** Warm one framework's servers up, then run its interleaved rounds. */
async function runFramework(
  variants: readonly HttpVariant[],
  running: ReadonlyMap<HttpVariant, ServerChild>,
  fixed: string,
  pool: readonly string[],
  settings: HttpSettings,
): Promise<HttpRow[]> {
  const { connections, durationSec } = settings
  for (const variant of variants) await warmUp(running.get(variant)!, fixed, pool, settings)
  const items = variants.flatMap((variant) =>
    (['fixed', 'pool'] as const).map((mode) => ({ variant, mode })),
  )
  const perRound = new Map<(typeof items)[number], Measurement[]>()
  const samples = await runRounds(items, settings.rounds, async (item) => {
    const result = await load(
      running.get(item.variant)!,
      item.mode,
      fixed,
      pool,
      connections,
      durationSec,
    )
    perRound.set(item, [...(perRound.get(item) ?? []), result])
    return result.reqPerSec
  })
  return items.map((item) => {
    const own = samples.get(item)!
    const bare = items.find((other) => other.variant.kind === 'bare' && other.mode === item.mode)
    const runs = perRound.get(item) ?? []
    return {
      ...item.variant,
      mode: item.mode,
      samples: own,
      reqPerSec: median(own),
      spread: relativeSpread(own),
      vsBare: bare ? pairedRatio(own, samples.get(bare)!) : Number.NaN,
      latencyP50: median(runs.map((run) => run.p50)),
      latencyP99: median(runs.map((run) => run.p99)),
      non2xx: runs.reduce((sum, run) => sum + run.non2xx, 0),
      errors: runs.reduce((sum, run) => sum + run.errors, 0),
    }
  })
}

/**
 * Warm a fresh server up: a run with the token pool (which also fills the caches, so pool runs
 * measure the steady state), then short slices with the fixed token until two in a row agree
 * within 10%, for at most `warmupMaxSec`. A new Node process needs a second or more of load
 * before its optimised code is in place, longer on a busy machine.
 */
async function warmUp(
  child: ServerChild,
  fixed: string,
  pool: readonly string[],
  settings: HttpSettings,
): Promise<void> {
  const { connections } = settings
  await load(child, 'pool', fixed, pool, connections, settings.warmupSec)
  const deadline = Date.now() + settings.warmupMaxSec * 1000
  let previous = 0
  while (Date.now() < deadline) {
    const { reqPerSec } = await load(child, 'fixed', fixed, pool, connections, SAMPLE_MS / 1000)
    if (Math.abs(reqPerSec - previous) <= STABLE * previous) return
    previous = reqPerSec
  }
}

/**
 * Start a server, trying again twice: `dist/` may be mid-rebuild (tsup cleans it first) when a
 * child imports it, which is not the variant's fault.
 */
async function startWithRetry(
  framework: Framework,
  variant: string,
  config: ServerConfig,
): Promise<ServerChild> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startServer(framework, variant, config)
    } catch (error) {
      if (attempt === 3) throw error
      await new Promise((resolve) => setTimeout(resolve, 2000))
    }
  }
}

/**
 * A guard that lets everything through would win every benchmark: before measuring, check that
 * a valid token gets 200 and (for guarded servers) that no token and a tampered token get 401.
 */
async function probe(variant: HttpVariant, child: ServerChild, token: string): Promise<void> {
  const status = async (authorization?: string) => {
    const response = await fetch(child.url, {
      headers: authorization ? { authorization } : {},
    })
    await response.arrayBuffer()
    return response.status
  }
  const valid = await status(`Bearer ${token}`)
  if (valid !== 200) throw new Error(`a valid token got HTTP ${valid}`)
  if (variant.kind === 'bare') return
  const missing = await status()
  const tampered = await status(`Bearer ${tamper(token)}`)
  if (missing !== 401 || tampered !== 401) {
    throw new Error(`no token got HTTP ${missing}, a tampered token HTTP ${tampered} (want 401)`)
  }
}

/**
 * Spread the pool over the connections: connection k cycles tokens k, k + connections, …
 * through its own `requests` array, so every token of the pool is in use at once (one shared
 * array would send all connections through the same token in lockstep, and autocannon would
 * build every connection's copy of all of it before starting).
 */
function poolSlices(
  pool: readonly string[],
  connections: number,
): (client: autocannon.Client) => void {
  let next = 0
  return (client) => {
    const first = next++ % connections
    const requests: autocannon.RequestOptions[] = []
    for (let index = first; index < pool.length; index += connections) {
      requests.push({
        method: 'GET',
        path: '/',
        headers: { authorization: `Bearer ${pool[index]}` },
      })
    }
    client.setRequests(requests)
  }
}

/** One autocannon run; req/s counts 2xx responses only. */
async function load(
  child: ServerChild,
  mode: TokenMode,
  fixed: string,
  pool: readonly string[],
  connections: number,
  durationSec: number,
): Promise<Measurement> {
  // autocannon sets every connection up (building its requests) before it starts, and counts
  // that in its own `duration`; time the run from its `start` event instead.
  let startedAt = 0
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: child.url,
        connections,
        duration: durationSec,
        sampleInt: SAMPLE_MS,
        ...(mode === 'fixed'
          ? { headers: { authorization: `Bearer ${fixed}` } }
          : { setupClient: poolSlices(pool, connections) }),
      },
      (error, finished) => (error ? reject(error) : resolve(finished)),
    )
    instance.once('start', () => {
      startedAt = Date.now()
    })
  })
  const seconds = (result.finish.getTime() - (startedAt || result.start.getTime())) / 1000
  return {
    reqPerSec: result['2xx'] / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  }
}
