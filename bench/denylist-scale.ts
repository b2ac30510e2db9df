/**
 * Redis denylist at scale (issue 11, "Scale"): a replica loading 1,000,000 active revoked jti
 * plus 100,000 subject cut-offs (`--quick`: 100,000 + 10,000). Rows: cold start to `ready()`,
 * heap bytes per revoked jti, ns per `isRevoked` (hits and misses). Targets: ≤ 2 s, ≤ 120 B,
 * ≤ 100 ns. The load is measured in a fresh child process (`--expose-gc`) so nothing else in
 * the heap skews the per-entry figure.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { redisDenylist } from 'jwt-gate/redis'
// The one internal import of the bench: bulk-loading a million revocations straight into Redis
// (instead of a million revoke() calls) needs the denylist's key layout, which is not public.
import { denylistKeys } from '../src/redis/keys.js'

const PREFIX = 'scale:'
const BATCH = 10_000

/** Figures of one scale run. */
export interface ScaleResults {
  jti: number
  subjects: number
  coldStartMs: number
  heapBytesPerJti: number
  isRevokedHitNs: number
  isRevokedMissNs: number
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/** Fill Redis with the denylist's own layout (sorted sets + counter), pipelined. */
async function load(client: Redis, jti: number, subjects: number): Promise<void> {
  const keys = denylistKeys(PREFIX)
  const exp = Math.floor(Date.now() / 1000) + 86_400
  for (let start = 0; start < jti; start += BATCH) {
    const args: (string | number)[] = []
    for (let i = start; i < Math.min(jti, start + BATCH); i++) args.push(exp, `jti-${i}`)
    await client.zadd(keys.tokens, ...args)
  }
  const before = Math.floor(Date.now() / 1000)
  for (let start = 0; start < subjects; start += BATCH) {
    const cut: (string | number)[] = []
    const until: (string | number)[] = []
    for (let i = start; i < Math.min(subjects, start + BATCH); i++) {
      cut.push(before, `sub-${i}`)
      until.push(exp, `sub-${i}`)
    }
    await client.zadd(keys.subjects, ...cut)
    await client.zadd(keys.subjectExpiry, ...until)
  }
}

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc
  if (!collect) throw new Error('run the child with --expose-gc')
  collect()
  collect()
}

/** The child: cold start, heap, isRevoked loop; prints one JSON line. */
async function child(port: number, jti: number): Promise<void> {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: false })
  await client.ping()
  gc()
  const heapBefore = process.memoryUsage().heapUsed
  const started = process.hrtime.bigint()
  const denylist = redisDenylist({ client, prefix: PREFIX })
  await denylist.ready()
  const coldStartMs = Number(process.hrtime.bigint() - started) / 1e6
  gc()
  const heapBytes = process.memoryUsage().heapUsed - heapBefore
  const iat = Math.floor(Date.now() / 1000) + 10 // after the subject cut-offs
  const hits = Array.from({ length: 1024 }, (_, i) => ({
    jti: `jti-${(i * 977) % jti}`,
    sub: 'nobody',
    iat,
  }))
  const misses = hits.map((payload, i) => ({ ...payload, jti: `miss-${i}` }))
  const time = (payloads: typeof hits): number => {
    const rounds = 2_000_000
    let revoked = 0
    for (let i = 0; i < 200_000; i++)
      if (denylist.isRevoked(payloads[i & 1023]!) === true) revoked++
    const begin = process.hrtime.bigint()
    for (let i = 0; i < rounds; i++) if (denylist.isRevoked(payloads[i & 1023]!) === true) revoked++
    const ns = Number(process.hrtime.bigint() - begin) / rounds
    if (revoked < 0) console.error(revoked)
    return ns
  }
  const isRevokedHitNs = time(hits)
  const isRevokedMissNs = time(misses)
  if (denylist.isRevoked(hits[0]!) !== true) throw new Error('a loaded jti is not revoked')
  if (denylist.isRevoked(misses[0]!) !== false) throw new Error('an unknown jti is revoked')
  process.stdout.write(
    JSON.stringify({ coldStartMs, heapBytes, isRevokedHitNs, isRevokedMissNs }) + '\n',
  )
  await denylist.close?.()
  client.disconnect()
}

/** Run the scale section: start redis-server, load it, measure in a fresh child. */
export async function runDenylistScaleBench(options: {
  quick: boolean
}): Promise<{ markdown: string; results: Record<string, number> }> {
  const jti = options.quick ? 100_000 : 1_000_000
  const subjects = options.quick ? 10_000 : 100_000
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'jwt-gate-scale-'))
  const server = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
    ],
    { stdio: 'ignore' },
  )
  try {
    const client = new Redis({ port, host: '127.0.0.1', retryStrategy: () => 50 })
    // redis-server may still be starting: refused connects are retried below, not reported.
    client.on('error', () => {})
    for (let i = 0; i < 100; i++) {
      try {
        await client.ping()
        break
      } catch {
        await sleep(50)
      }
    }
    const loadStart = Date.now()
    await load(client, jti, subjects)
    const loadMs = Date.now() - loadStart
    client.disconnect()
    const run = spawnSync(
      process.execPath,
      [
        '--expose-gc',
        '--import',
        'tsx',
        fileURLToPath(import.meta.url),
        'child',
        String(port),
        String(jti),
      ],
      { encoding: 'utf8', maxBuffer: 1 << 20 },
    )
    if (run.status !== 0) throw new Error(`scale child failed: ${run.stderr}`)
    const line = run.stdout.trim().split('\n').pop() ?? '{}'
    const measured = JSON.parse(line) as {
      coldStartMs: number
      heapBytes: number
      isRevokedHitNs: number
      isRevokedMissNs: number
    }
    // Per-jti heap counts the subject entries' share too (charged to the jti: the worst case).
    const results: ScaleResults = {
      jti,
      subjects,
      coldStartMs: measured.coldStartMs,
      heapBytesPerJti: measured.heapBytes / jti,
      isRevokedHitNs: measured.isRevokedHitNs,
      isRevokedMissNs: measured.isRevokedMissNs,
    }
    // Quick mode holds a tenth of the entries: cold start scales linearly to the full size.
    const coldFull = options.quick ? results.coldStartMs * 10 : results.coldStartMs
    const mark = (ok: boolean): string => (ok ? 'met' : '**missed**')
    const markdown = [
      `### Redis denylist at scale (${jti.toLocaleString('en')} jti + ${subjects.toLocaleString('en')} subjects${options.quick ? ', quick: cold start ×10 for the full size' : ''})`,
      '',
      `Bulk load into Redis: ${loadMs} ms (pipelined ZADD, not a target).`,
      '',
      '| Measure | Value | Target | |',
      '|---|---|---|---|',
      `| Cold start to ready (at 1,000,000 jti) | ${coldFull.toFixed(0)} ms | ≤ 2000 ms | ${mark(coldFull <= 2000)} |`,
      `| Heap per revoked jti | ${results.heapBytesPerJti.toFixed(0)} B | ≤ 120 B | ${mark(results.heapBytesPerJti <= 120)} |`,
      `| isRevoked, hit | ${results.isRevokedHitNs.toFixed(1)} ns | ≤ 100 ns | ${mark(results.isRevokedHitNs <= 100)} |`,
      `| isRevoked, miss | ${results.isRevokedMissNs.toFixed(1)} ns | ≤ 100 ns | ${mark(results.isRevokedMissNs <= 100)} |`,
      '',
    ].join('\n')
    return { markdown, results: { ...results, coldStartFullMs: coldFull, loadMs } }
  } finally {
    server.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The name `bench/denylist-loader.ts` loads. */
export const runDenylistBench = runDenylistScaleBench

if (process.argv[2] === 'child') {
  await child(Number(process.argv[3]), Number(process.argv[4]))
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { markdown } = await runDenylistScaleBench({ quick: process.argv.includes('--quick') })
  process.stdout.write(markdown)
}
