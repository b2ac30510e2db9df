/**
 * HTTP benchmark: requests per second of `GET /` on 127.0.0.1, autocannon in this process and
 * each server in its own child process, for the bare framework (the ceiling, 1.00x), jwt-gate's
 * adapter and each peer guard. Two token modes: one fixed token, and a pool of distinct tokens
 * spread over the connections, each cycling its share through autocannon's `requests` array.
 *
 * Every guarded server is measured *at the same time as* the bare server of its framework, each
 * with its own autocannon and connections, both pinned to one CPU and autocannon to the other
 * (see cpu-pinning.ts): the ratio of the two counts is how much of the bare server's throughput
 * the guard leaves, measured under the very same host conditions. Measured one after the other,
 * the same ratio moved by 10-25% between runs on a shared 2-core machine.
 */
import autocannon from 'autocannon'
import { startServer, type ServerChild } from './child.js'
import { planCpus, type CpuPlan } from './cpu-pinning.js'
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
  /** Where the load generator and the servers ran, or why nothing was pinned. */
  pinning: { loaderCpu: number; serverCpu: number } | { unavailable: string }
}

interface Measurement {
  reqPerSec: number
  p50: number
  p99: number
  non2xx: number
  errors: number
}

/**
 * Run every framework's servers with tokens from `fixture` (an RS256 issuer); with `profileDir`,
 * every server runs under `node --cpu-prof` and leaves its profile there.
 */
export async function runHttp(
  fixture: Fixture,
  settings: HttpSettings,
  log: (line: string) => void,
  profileDir?: string,
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

  const plan = planCpus()
  const cpus = 'unavailable' in plan ? undefined : plan
  const pinning: HttpResult['pinning'] =
    'unavailable' in plan ? plan : { loaderCpu: plan.loaderCpu, serverCpu: plan.serverCpu }
  log(
    'unavailable' in pinning
      ? `http: not pinned (${pinning.unavailable})`
      : `http: autocannon on CPU ${pinning.loaderCpu}, servers on CPU ${pinning.serverCpu}`,
  )
  cpus?.pin(process.pid, cpus.loaderCpu)
  try {
    const rows: HttpRow[] = []
    const unavailable: HttpResult['unavailable'] = []
    for (const framework of Object.keys(SERVER_VARIANTS) as Framework[]) {
      const started = Date.now()
      rows.push(
        ...(await runFramework(
          framework,
          config,
          fixed,
          pool,
          settings,
          unavailable,
          cpus,
          profileDir,
        )),
      )
      log(`http ${framework}: ${((Date.now() - started) / 1000).toFixed(1)} s`)
    }
    return {
      rows,
      unavailable,
      settings,
      pinning,
    }
  } finally {
    // The micro benchmarks share this process: give it its CPUs back.
    cpus?.release()
  }
}

/** A guarded variant in one token mode: what is loaded together with the bare server. */
interface Pair {
  variant: HttpVariant
  mode: TokenMode
}

/** One paired run: the guarded server's and the bare server's measurement. */
interface PairedRun {
  own: Measurement
  bare: Measurement
}

const MODES = ['fixed', 'pool'] as const

/**
 * Measure one framework with `settings.processes` fresh sets of server processes in turn, each
 * warmed up and measured for `settings.rounds` rounds. The same server code measured in two
 * processes can differ by more than the guard costs (JIT decisions, memory layout, how two
 * processes share a CPU's caches), so one set of processes is not enough.
 */
async function runFramework(
  framework: Framework,
  config: ServerConfig,
  fixed: string,
  pool: readonly string[],
  settings: HttpSettings,
  unavailable: HttpResult['unavailable'],
  cpus: CpuPlan | undefined,
  profileDir: string | undefined,
): Promise<HttpRow[]> {
  const measured = new Map<string, PairedRun[]>()
  const measuredVariants = new Set<HttpVariant>()
  for (let generation = 0; generation < settings.processes; generation++) {
    // A framework's servers start together (start-up is not measured) and wait, idle, for
    // their turn: at most two servers are ever under load, a guarded one and the bare one.
    const running = new Map<HttpVariant, ServerChild>()
    try {
      await Promise.all(
        HTTP_VARIANTS.filter(
          (variant) =>
            variant.framework === framework && (settings.peers || variant.kind !== 'peer'),
        ).map(async (variant) => {
          try {
            const child = await startWithRetry(framework, variant.id, config, profileDir)
            running.set(variant, child)
            cpus?.pin(child.pid, cpus.serverCpu)
            await probe(variant, child, fixed)
          } catch (error) {
            await running.get(variant)?.stop()
            running.delete(variant)
            const reason = error instanceof Error ? error.message : String(error)
            if (!unavailable.some((entry) => entry.label === variant.label)) {
              unavailable.push({ framework, label: variant.label, reason })
            }
          }
        }),
      )
      const variants = HTTP_VARIANTS.filter((variant) => running.has(variant))
      const bare = variants.find((variant) => variant.kind === 'bare')
      if (!bare) continue
      for (const variant of variants) measuredVariants.add(variant)
      await measureProcesses(bare, variants, running, fixed, pool, settings, measured)
    } finally {
      await Promise.all([...running.values()].map((child) => child.stop()))
    }
  }
  return HTTP_VARIANTS.filter((variant) => measuredVariants.has(variant)).flatMap((variant) =>
    MODES.map((mode) => {
      if (variant.kind === 'bare') {
        // The ceiling's own row: every measurement it made beside a guarded server.
        const runs = [...measured]
          .filter(([key]) => key.endsWith(`/${mode}`))
          .flatMap(([, entries]) => entries.map((entry) => entry.bare))
        return row(variant, mode, runs, 1)
      }
      const entries = measured.get(pairKey({ variant, mode })) ?? []
      const own = entries.map((entry) => entry.own)
      const ratio = pairedRatio(
        own.map((run) => run.reqPerSec),
        entries.map((entry) => entry.bare.reqPerSec),
      )
      return row(variant, mode, own, ratio)
    }),
  )
}

function pairKey(pair: Pair): string {
  return `${pair.variant.id}/${pair.mode}`
}

/**
 * Warm one set of a framework's servers up, then run its interleaved rounds: in each, every
 * guarded variant in each token mode is loaded together with the bare server in the same mode.
 * Adds each paired run to `measured`.
 */
async function measureProcesses(
  bare: HttpVariant,
  variants: readonly HttpVariant[],
  running: ReadonlyMap<HttpVariant, ServerChild>,
  fixed: string,
  pool: readonly string[],
  settings: HttpSettings,
  measured: Map<string, PairedRun[]>,
): Promise<void> {
  const { connections, durationSec } = settings
  for (const variant of variants) await warmUp(running.get(variant)!, fixed, pool, settings)
  const pairs: Pair[] = variants
    .filter((variant) => variant !== bare)
    .flatMap((variant) => MODES.map((mode) => ({ variant, mode })))
  await runRounds(pairs, settings.rounds, async (pair) => {
    const run = (child: ServerChild) =>
      load(child, pair.mode, fixed, pool, connections, durationSec)
    const [own, ceiling] = await Promise.all([
      run(running.get(pair.variant)!),
      run(running.get(bare)!),
    ])
    const key = pairKey(pair)
    measured.set(key, [...(measured.get(key) ?? []), { own, bare: ceiling }])
    return own.reqPerSec
  })
}

/** One report row out of a variant's measurements. */
function row(
  variant: HttpVariant,
  mode: TokenMode,
  runs: readonly Measurement[],
  vsBare: number,
): HttpRow {
  const samples = runs.map((run) => run.reqPerSec)
  return {
    ...variant,
    mode,
    samples,
    reqPerSec: median(samples),
    spread: relativeSpread(samples),
    vsBare,
    latencyP50: median(runs.map((run) => run.p50)),
    latencyP99: median(runs.map((run) => run.p99)),
    non2xx: runs.reduce((sum, run) => sum + run.non2xx, 0),
    errors: runs.reduce((sum, run) => sum + run.errors, 0),
  }
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
  profileDir: string | undefined,
): Promise<ServerChild> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startServer(framework, variant, config, profileDir)
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
