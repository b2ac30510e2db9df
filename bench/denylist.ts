/**
 * Redis denylist benchmark: what consulting `jwt-gate/redis` costs per request, and what its
 * replica costs in memory.
 *
 *   - Verification on the cache-hit path (the verified-token cache is on by default) with no
 *     denylist and with `redisDenylist` (a replica holding 10,000 live revocations, none of
 *     them a benchmark token's). These two run alone in a child process, so the verifier's
 *     denylist call site sees one denylist, as in an application.
 *   - The same with a naive denylist that sends one Redis EXISTS per request to the same Redis,
 *     one request at a time and 64 in flight, against `redisDenylist` in the same rounds.
 *   - Heap retained by a replica of 100,000 live token revocations after a full load from
 *     Redis (in a fresh child process, full collections around it), and the load's duration.
 *   - Propagation: from calling `revoke()` in one instance to `isRevoked` answering true in
 *     another.
 *
 * Interleaved rounds with the starting contestant rotating; each value is the median over the
 * rounds, each ratio the median of per-round ratios. Every sample yields to the event loop
 * between batches, as a server does between requests (a cache hit resolves synchronously and
 * would otherwise starve the replica's own I/O).
 *
 * Imports jwt-gate through its public specifiers (the built dist/; run `npx tsup` first). Uses
 * REDIS_URL if set, else starts a redis-server of its own on a free loopback port.
 *
 * Alone: `node --import tsx bench/denylist.ts [--quick]`.
 */
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { Redis } from 'ioredis'
import { createVerifier, type Denylist, type JwtPayload, type Verifier } from 'jwt-gate'
import { redisDenylist, type RedisDenylist } from 'jwt-gate/redis'
import { createTestIssuer } from 'jwt-gate/testing'
import { redisServerMissing, startRedisServer } from '../test/helpers/redis-server.js'

setFlagsFromString('--expose_gc')
const gc = runInNewContext('gc') as (options?: { type: 'minor' }) => void

const AUDIENCE = 'https://api.example.com'
/** The bound the denylist is held to on the cache-hit path. */
const TARGET_RATIO = 1.05
/** Set in the environment of this file's child processes: what to measure, as JSON. */
const CHILD = 'JWT_GATE_DENYLIST_BENCH_CHILD'

interface Settings {
  /** Interleaved rounds of the CPU-bound pair (no denylist, jwt-gate/redis). */
  pairRounds: number
  /** Interleaved rounds of the naive denylists with jwt-gate/redis. */
  naiveRounds: number
  /** Measuring time of the pair in one round: short, so both see the same machine load. */
  pairSampleMs: number
  /** Measuring time of a naive contestant in one round. */
  sampleMs: number
  warmupMs: number
  /** Distinct tokens cycled through (all cached). */
  tokens: number
  /** Live revocations in the measured replica. */
  liveRevocations: number
  /** Revocations in the memory measurement. */
  memoryRevocations: number
  propagationSamples: number
}

const SETTINGS: Record<'quick' | 'full', Settings> = {
  quick: {
    pairRounds: 12,
    pairSampleMs: 50,
    naiveRounds: 2,
    sampleMs: 120,
    warmupMs: 200,
    tokens: 1_000,
    liveRevocations: 2_000,
    // Filling Redis is the slow part (about 10,000 revocations a second): scaled to 100,000.
    memoryRevocations: 5_000,
    propagationSamples: 5,
  },
  full: {
    pairRounds: 120,
    pairSampleMs: 100,
    naiveRounds: 9,
    sampleMs: 300,
    warmupMs: 1_000,
    tokens: 1_000,
    liveRevocations: 10_000,
    memoryRevocations: 100_000,
    propagationSamples: 50,
  },
}

type ChildTask =
  | {
      kind: 'cost'
      /** The replica, or a denylist that answers `false` at once (the hook's own cost). */
      denylist: 'redis' | 'trivial'
      redisUrl: string
      prefix: string
      settings: Settings
    }
  | { kind: 'memory'; redisUrl: string; prefix: string }

/** Microseconds per verification, per round: elapsed, and CPU time of this process. */
interface Samples {
  wall: number[]
  cpu: number[]
}

interface CostResult {
  none: Samples
  /** With the denylist of the task. */
  other: Samples
  /** ns per `isRevoked` call on the replica alone. */
  isRevokedNs: number
}

interface MemoryResult {
  bytes: number
  entries: number
  loadMs: number
}

/** Run the whole denylist benchmark. Leaves nothing running. */
export async function runDenylistBench(options: {
  quick: boolean
}): Promise<{ markdown: string; results: Record<string, number> }> {
  const settings = SETTINGS[options.quick ? 'quick' : 'full']
  let redisUrl = process.env.REDIS_URL
  let stopServer = async () => {}
  if (!redisUrl) {
    const missing = redisServerMissing()
    if (missing) {
      return {
        markdown: `_Not measured: ${missing}. Set REDIS_URL to use a running Redis._`,
        results: {},
      }
    }
    // No append-only file: fsync on every write would measure the disk, not the denylist.
    const server = await startRedisServer({ args: ['--appendonly', 'no'] })
    redisUrl = server.url
    stopServer = () => server.close()
  }

  const prefix = `bench-${process.pid}-${Date.now()}:`
  const clients: Redis[] = []
  const denylists: RedisDenylist[] = []
  const open = async (suffix: string) => {
    const client = new Redis(redisUrl, { disconnectTimeout: 100 })
    client.on('error', () => {})
    clients.push(client)
    const denylist = redisDenylist({ client, prefix: prefix + suffix })
    denylists.push(denylist)
    await denylist.ready()
    return { client, denylist }
  }
  try {
    const live = await open('live:')
    await fill(live.denylist, settings.liveRevocations)
    const task = { kind: 'cost', redisUrl, prefix: `${prefix}live:`, settings } as const
    const cost = await inChild<CostResult>({ ...task, denylist: 'redis' })
    const floor = await inChild<CostResult>({ ...task, denylist: 'trivial' })
    const naive = await naiveCost(live.denylist, live.client, prefix, settings)

    const memoryWriter = await open('memory:')
    await fill(memoryWriter.denylist, settings.memoryRevocations)
    await memoryWriter.denylist.close()
    const memory = await inChild<MemoryResult>({ kind: 'memory', redisUrl, prefix })

    const writer = await open('propagation:')
    const reader = await open('propagation:')
    const propagation: number[] = []
    for (let i = 0; i < settings.propagationSamples; i++) {
      const jti = randomUUID()
      const started = performance.now()
      await writer.denylist.revoke({ jti, exp: Math.floor(Date.now() / 1000) + 600 })
      while (!reader.denylist.isRevoked({ jti })) await new Promise(setImmediate)
      propagation.push(performance.now() - started)
    }

    // The pair is CPU-bound: compare CPU time, which other processes on the machine barely
    // disturb. The naive denylist waits on the network: compare elapsed time (latency).
    const redisVsNone = pairedRatio(cost.other.cpu, cost.none.cpu)
    const redisVsNoneWall = pairedRatio(cost.other.wall, cost.none.wall)
    const trivialVsNone = pairedRatio(floor.other.cpu, floor.none.cpu)
    const naiveVsRedis = pairedRatio(naive.naive.wall, naive.redis.wall)
    const naive64VsRedis = pairedRatio(naive.naive64.wall, naive.redis.wall)
    const results: Record<string, number> = {
      noDenylistCpuUsPerOp: median(cost.none.cpu),
      redisDenylistCpuUsPerOp: median(cost.other.cpu),
      noDenylistUsPerOp: median(cost.none.wall),
      redisDenylistUsPerOp: median(cost.other.wall),
      redisVsNone,
      redisVsNoneWall,
      trivialVsNone,
      isRevokedNs: cost.isRevokedNs,
      naiveUsPerOp: median(naive.naive.wall),
      naive64UsPerOp: median(naive.naive64.wall),
      naiveCpuUsPerOp: median(naive.naive.cpu),
      naive64CpuUsPerOp: median(naive.naive64.cpu),
      naiveVsRedis,
      naive64VsRedis,
      replicaBytesPer100k: (memory.bytes / memory.entries) * 100_000,
      replicaBytesPerEntry: memory.bytes / memory.entries,
      fullLoadMsPer100k: (memory.loadMs / memory.entries) * 100_000,
      propagationMsMedian: median(propagation),
      propagationMsMax: Math.max(...propagation),
    }
    const cell = (values: number[]) =>
      `${fmt(median(values), 2)} ±${fmt(spread(values) * 100, 0)} %`
    const row = (label: string, samples: Samples, versus: string) =>
      `| ${label} | ${cell(samples.wall)} | ${cell(samples.cpu)} | ${versus} |`
    const live10k = settings.liveRevocations.toLocaleString('en')
    const markdown = [
      `Verification on the cache-hit path: ${settings.tokens.toLocaleString('en')} distinct cached ` +
        'ES256 tokens; medians over interleaved rounds ' +
        `(first two rows: ${settings.pairRounds} rounds of ${settings.pairSampleMs} ms each, in a ` +
        `process of their own; naive rows: ${settings.naiveRounds} rounds of ${settings.sampleMs} ms, ` +
        'against jwt-gate/redis in the same rounds). Ratios are medians of per-round ratios: of ' +
        'CPU time for jwt-gate/redis against none (both CPU-bound), of elapsed time for the naive ' +
        'rows against jwt-gate/redis (they wait on the network).',
      '',
      '| denylist | µs / verification, elapsed | µs / verification, CPU | ratio |',
      '|---|---:|---:|---:|',
      row('none', cost.none, ''),
      row(
        `jwt-gate/redis (replica of ${live10k} revocations)`,
        cost.other,
        `${fmt(redisVsNone, 3)}× none (CPU)`,
      ),
      row(
        '_for scale: a denylist answering `false` at once_',
        floor.other,
        `${fmt(trivialVsNone, 3)}× none (CPU, own rounds)`,
      ),
      row(
        'naive EXISTS per request, 1 in flight',
        naive.naive,
        `${fmt(naiveVsRedis, 1)}× jwt-gate/redis`,
      ),
      row(
        'naive EXISTS per request, 64 in flight',
        naive.naive64,
        `${fmt(naive64VsRedis, 1)}× jwt-gate/redis`,
      ),
      '',
      `- **jwt-gate/redis vs no denylist: ${fmt(redisVsNone, 3)}× in CPU time** ` +
        `(target ≤ ${TARGET_RATIO}×: ${redisVsNone <= TARGET_RATIO ? 'met' : '**missed**'}; ` +
        `${fmt(redisVsNoneWall, 3)}× in elapsed time). One \`isRevoked\` call on its own: ` +
        `${fmt(cost.isRevokedNs, 0)} ns; calling any denylist at all costs the verifier ` +
        `${fmt((trivialVsNone - 1) * 100, 1)} %.`,
      `- The naive denylist is ${fmt(naiveVsRedis, 1)}× slower than jwt-gate/redis one request ` +
        `at a time and ${fmt(naive64VsRedis, 1)}× slower with 64 in flight, and sends every ` +
        'request to Redis.',
      `- Replica memory: **${fmt(results.replicaBytesPer100k! / 2 ** 20, 1)} MiB per 100,000 live ` +
        `revocations** (${fmt(results.replicaBytesPerEntry!, 0)} bytes each with UUID \`jti\`s; heap ` +
        `retained after a full load of ${memory.entries.toLocaleString('en')}` +
        `${memory.entries === 100_000 ? '' : ', scaled to 100,000'}, which took ` +
        `${fmt(memory.loadMs, 0)} ms).`,
      `- Propagation from calling \`revoke()\` in one instance to \`isRevoked\` answering true in ` +
        `another: median ${fmt(median(propagation), 2)} ms, max ${fmt(Math.max(...propagation), 2)} ms ` +
        `over ${settings.propagationSamples} revocations (bound: 1,000 ms).`,
      '',
    ].join('\n')
    return { markdown, results }
  } finally {
    for (const denylist of denylists) await denylist.close()
    for (const client of clients) client.disconnect()
    await stopServer()
  }
}

/** Run `task` in a child process running this file; resolves to what it prints. */
async function inChild<T>(task: ChildTask): Promise<T> {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
    env: { ...process.env, [CHILD]: JSON.stringify(task) },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const code = await new Promise((resolve) => child.once('exit', resolve))
  if (code !== 0) throw new Error(`the ${task.kind} measurement exited with ${String(code)}`)
  return JSON.parse(output) as T
}

/** A verifier with the test issuer's keys (no JWKS fetch), and tokens to cycle through. */
async function verifierKit(count: number) {
  const issuer = await createTestIssuer({ alg: 'ES256', audience: AUDIENCE })
  const tokens = await Promise.all(
    Array.from({ length: count }, (_, i) => issuer.sign({ sub: `user-${i}` }, { expiresIn: '1h' })),
  )
  const make = (denylist?: Denylist) =>
    createVerifier({
      issuer: issuer.url,
      audience: AUDIENCE,
      keys: issuer.jwks(),
      ...(denylist ? { denylist } : {}),
    })
  return { issuer, tokens, make }
}

/** Child: no denylist vs one other, alone in this process (one denylist at the call site). */
async function measureCost(task: Extract<ChildTask, { kind: 'cost' }>): Promise<CostResult> {
  const { settings } = task
  const client = new Redis(task.redisUrl)
  const replica = redisDenylist({ client, prefix: task.prefix })
  await replica.ready()
  const denylist: Denylist = task.denylist === 'redis' ? replica : { isRevoked: () => false }
  const { issuer, tokens, make } = await verifierKit(settings.tokens)
  const verifiers = { none: make(), other: make(denylist) }
  const samples = await rounds(
    verifiers,
    tokens,
    settings.pairRounds,
    settings.pairSampleMs,
    settings,
  )
  const isRevokedNs = lookupCost(replica, tokens, 500)
  await Promise.all(Object.values(verifiers).map((v) => v.close()))
  await replica.close()
  client.disconnect()
  await issuer.close()
  return { none: samples.none, other: samples.other, isRevokedNs }
}

/** Parent: the naive denylist, with jwt-gate/redis in the same rounds. */
async function naiveCost(
  denylist: RedisDenylist,
  client: Redis,
  prefix: string,
  settings: Settings,
): Promise<Record<'redis' | 'naive' | 'naive64', Samples>> {
  const naive: Denylist = {
    // What teams write by hand: one round trip per request.
    isRevoked: async (payload) => (await client.exists(`${prefix}naive:${payload.jti}`)) === 1,
  }
  const { issuer, tokens, make } = await verifierKit(settings.tokens)
  const verifiers = { redis: make(denylist), naive: make(naive), naive64: make(naive) }
  const samples = await rounds(
    verifiers,
    tokens,
    settings.naiveRounds,
    settings.sampleMs,
    settings,
    {
      naive64: 64,
    },
  )
  await Promise.all(Object.values(verifiers).map((v) => v.close()))
  await issuer.close()
  return samples
}

/** Warm up, then `count` interleaved rounds; µs per verification per round, by name. */
async function rounds<K extends string>(
  verifiers: Record<K, Verifier>,
  tokens: string[],
  count: number,
  sampleMs: number,
  settings: Settings,
  concurrency: Partial<Record<K, number>> = {},
): Promise<Record<K, Samples>> {
  const names = Object.keys(verifiers) as K[]
  for (const name of names) {
    for (const token of tokens) await verifiers[name].verify(token) // fill the token cache
    await measure(verifiers[name], tokens, settings.warmupMs, concurrency[name] ?? 1)
  }
  const empty = (): Samples => ({ wall: [], cpu: [] })
  const samples = Object.fromEntries(names.map((name) => [name, empty()])) as Record<K, Samples>
  for (let round = 0; round < count; round++) {
    const shift = round % names.length
    for (const name of [...names.slice(shift), ...names.slice(0, shift)]) {
      gc({ type: 'minor' })
      const { wall, cpu } = await measure(verifiers[name], tokens, sampleMs, concurrency[name] ?? 1)
      samples[name].wall.push(wall)
      samples[name].cpu.push(cpu)
    }
  }
  return samples
}

/** Microseconds per verification over `ms` of cycling through `tokens`: elapsed and CPU. */
async function measure(
  verifier: Verifier,
  tokens: string[],
  ms: number,
  concurrency: number,
): Promise<{ wall: number; cpu: number }> {
  let next = 0
  let ops = 0
  const started = performance.now()
  const cpuStarted = process.cpuUsage()
  const deadline = started + ms
  const lane = async () => {
    while (performance.now() < deadline) {
      for (let i = 0; i < 64; i++) {
        await verifier.verify(tokens[next++ % tokens.length]!)
        ops++
      }
      // Let the event loop turn, as it does between real requests.
      await new Promise(setImmediate)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, lane))
  const cpu = process.cpuUsage(cpuStarted)
  return {
    wall: ((performance.now() - started) * 1000) / ops,
    cpu: (cpu.user + cpu.system) / ops,
  }
}

/** Nanoseconds per `isRevoked` call on the replica alone, over the tokens' payloads. */
function lookupCost(denylist: RedisDenylist, tokens: string[], ms: number): number {
  const payloads = tokens.map(
    (token) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as JwtPayload,
  )
  let revoked = 0
  let calls = 0
  const started = performance.now()
  while (performance.now() - started < ms) {
    for (let i = 0; i < 100; i++) {
      for (const payload of payloads) if (denylist.isRevoked(payload)) revoked++
    }
    calls += payloads.length * 100
  }
  if (revoked !== 0) throw new Error('a benchmark token was found revoked')
  return ((performance.now() - started) * 1e6) / calls
}

/** Revoke `count` random tokens through the public API, 500 at a time. */
async function fill(denylist: RedisDenylist, count: number): Promise<void> {
  const exp = Math.floor(Date.now() / 1000) + 3600
  for (let done = 0; done < count; done += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, count - done) }, () =>
        denylist.revoke({ jti: randomUUID(), exp }),
      ),
    )
  }
}

/**
 * Child: heap with an empty replica, then with the full one, then with one more empty one
 * (what an instance costs without a replica: connection, closures, timers), after full
 * collections each time.
 */
async function measureMemory(task: Extract<ChildTask, { kind: 'memory' }>): Promise<MemoryResult> {
  const client = new Redis(task.redisUrl)
  const settle = async () => {
    await new Promise((resolve) => setTimeout(resolve, 50))
    // Full, memory-reducing collections (a plain `type: 'major'` one leaves garbage behind).
    gc()
    gc()
    return process.memoryUsage().heapUsed
  }
  const open = async (suffix: string) => {
    const denylist = redisDenylist({ client, prefix: task.prefix + suffix })
    await denylist.ready()
    return denylist
  }
  const empty = await open('memory-empty:')
  const base = await settle()
  const started = performance.now()
  const loaded = await open('memory:')
  const loadMs = performance.now() - started
  const withReplica = await settle()
  const second = await open('memory-empty-2:')
  const instance = (await settle()) - withReplica
  const entries = loaded.status().tokens
  for (const denylist of [empty, loaded, second]) await denylist.close()
  client.disconnect()
  return { bytes: withReplica - base - instance, entries, loadMs }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = (sorted.length - 1) / 2
  return (sorted[Math.floor(middle)]! + sorted[Math.ceil(middle)]!) / 2
}

/** Median of per-round ratios `a[i] / b[i]`. */
function pairedRatio(a: readonly number[], b: readonly number[]): number {
  return median(a.map((value, round) => value / b[round]!))
}

/** Half the interquartile range relative to the median. */
function spread(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.round((sorted.length - 1) * q)]!
  return (at(0.75) - at(0.25)) / 2 / median(values)
}

function fmt(value: number, digits: number): string {
  return value.toLocaleString('en', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  })
}

const childTask = process.env[CHILD]
if (childTask) {
  const task = JSON.parse(childTask) as ChildTask
  const result = task.kind === 'cost' ? await measureCost(task) : await measureMemory(task)
  process.stdout.write(JSON.stringify(result))
} else if (import.meta.url === `file://${process.argv[1]}`) {
  const { markdown, results } = await runDenylistBench({ quick: process.argv.includes('--quick') })
  process.stdout.write(`${markdown}\n${JSON.stringify(results, null, 2)}\n`)
}
