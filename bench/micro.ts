/**
 * Micro benchmark: verifications per second of one token repeated and of a corpus of distinct
 * tokens, per algorithm, for the floor, jwt-gate (cache off, on, on with a denylist) and the
 * peers. All contestants of one (algorithm, corpus) group run in the same interleaved rounds,
 * so every ratio is between samples taken seconds apart.
 */
import type { Fixture, MicroAlgorithm } from './fixtures.js'
import { collectGarbage } from './gc.js'
import {
  createMicroContestants,
  type ContestantKind,
  type MicroContestant,
  type Unavailable,
} from './micro-contestants.js'
import { runRounds } from './rounds.js'
import type { MicroSettings } from './settings.js'
import { bestPerRound, median, pairedRatio, relativeSpread } from './stats.js'

/** Which tokens a group cycles through. */
export type Corpus = 'one' | 'distinct'

/** One contestant in one (algorithm, corpus) group. */
export interface MicroRow {
  alg: MicroAlgorithm
  corpus: Corpus
  id: string
  label: string
  kind: ContestantKind
  cache: boolean
  /** ops/s per round. */
  samples: number[]
  /** Median ops/s. */
  opsPerSec: number
  /** Microseconds per verification at the median. */
  usPerOp: number
  /** ± half the interquartile range, relative. */
  spread: number
  /** Median of per-round ratios to the floor. */
  vsFloor: number
  /** jwt-gate rows: median of per-round ratios to the best peer of the same cache class. */
  vsBestPeer?: number
  /** jwt-gate rows: that best peer (by median). */
  bestPeer?: string
}

/** Everything the micro benchmark measured. */
export interface MicroResult {
  rows: MicroRow[]
  unavailable: (Unavailable & { alg: MicroAlgorithm })[]
  distinctTokens: number
}

/** Run every group for every fixture. `log` gets one progress line per group. */
export async function runMicro(
  fixtures: readonly Fixture[],
  settings: MicroSettings,
  log: (line: string) => void,
): Promise<MicroResult> {
  const rows: MicroRow[] = []
  const unavailable: MicroResult['unavailable'] = []
  for (const fixture of fixtures) {
    for (const corpus of ['one', 'distinct'] as const) {
      const started = Date.now()
      const built = await createMicroContestants(fixture)
      if (corpus === 'one') {
        unavailable.push(...built.unavailable.map((entry) => ({ ...entry, alg: fixture.alg })))
      }
      const tokens = corpus === 'one' ? fixture.tokens.slice(0, 1) : fixture.tokens
      try {
        rows.push(...(await runGroup(fixture.alg, corpus, built.contestants, tokens, settings)))
      } finally {
        for (const contestant of built.contestants) await contestant.close?.()
      }
      log(`micro ${fixture.alg} ${corpus}: ${((Date.now() - started) / 1000).toFixed(1)} s`)
    }
  }
  return { rows, unavailable, distinctTokens: fixtures[0]?.tokens.length ?? 0 }
}

async function runGroup(
  alg: MicroAlgorithm,
  corpus: Corpus,
  contestants: readonly MicroContestant[],
  tokens: readonly string[],
  settings: MicroSettings,
): Promise<MicroRow[]> {
  // Each contestant walks the corpus with its own cursor, continuing where its last sample
  // stopped, so over the rounds every token is verified, not just the first few.
  const cursors = new Map<MicroContestant, number>()
  const batch = new Map<MicroContestant, number>()
  for (const contestant of contestants) {
    cursors.set(contestant, 0)
    batch.set(contestant, await warmUp(contestant, tokens, settings, cursors))
  }

  const samples = await runRounds(contestants, settings.rounds, async (contestant) => {
    const operations = batch.get(contestant)!
    collectGarbage()
    const start = cursors.get(contestant)!
    const begin = process.hrtime.bigint()
    await run(contestant, tokens, start, operations)
    const elapsed = Number(process.hrtime.bigint() - begin) / 1e9
    cursors.set(contestant, (start + operations) % tokens.length)
    return operations / elapsed
  })

  const floor = contestants.find((contestant) => contestant.kind === 'floor')
  const floorSamples = floor ? samples.get(floor)! : []
  const peers = contestants.filter((contestant) => contestant.kind === 'peer')
  return contestants.map((contestant) => {
    const own = samples.get(contestant)!
    const opsPerSec = median(own)
    const row: MicroRow = {
      alg,
      corpus,
      id: contestant.id,
      label: contestant.label,
      kind: contestant.kind,
      cache: contestant.cache,
      samples: own,
      opsPerSec,
      usPerOp: 1e6 / opsPerSec,
      spread: relativeSpread(own),
      vsFloor: pairedRatio(own, floorSamples),
    }
    if (contestant.kind === 'jwt-gate') {
      // Uncached jwt-gate is compared with uncached peers; cached jwt-gate with every peer.
      const rivals = peers.filter((peer) => contestant.cache || !peer.cache)
      if (rivals.length > 0) {
        row.vsBestPeer = pairedRatio(own, bestPerRound(rivals.map((peer) => samples.get(peer)!)))
        const best = rivals.reduce((a, b) =>
          median(samples.get(a)!) >= median(samples.get(b)!) ? a : b,
        )
        row.bestPeer = best.label
      }
    }
    return row
  })
}

/**
 * Warm a contestant up (JIT, key imports, its cache) and return the batch size that makes one
 * sample last about `sampleMs`. A caching contestant first sees every token of the corpus once,
 * so the rounds measure its steady state rather than its first misses.
 */
async function warmUp(
  contestant: MicroContestant,
  tokens: readonly string[],
  settings: MicroSettings,
  cursors: Map<MicroContestant, number>,
): Promise<number> {
  if (contestant.cache) await run(contestant, tokens, 0, tokens.length)
  const deadline = performance.now() + settings.warmupMs
  let chunk = 16
  while (performance.now() < deadline) {
    await run(contestant, tokens, cursors.get(contestant)!, chunk)
    cursors.set(contestant, (cursors.get(contestant)! + chunk) % tokens.length)
    chunk = Math.min(chunk * 2, 4096)
  }
  // Calibrate on a chunk of at least 10 ms.
  let operations = 16
  for (;;) {
    const begin = performance.now()
    await run(contestant, tokens, cursors.get(contestant)!, operations)
    const elapsed = performance.now() - begin
    cursors.set(contestant, (cursors.get(contestant)! + operations) % tokens.length)
    if (elapsed >= 10) return Math.max(1, Math.round((operations / elapsed) * settings.sampleMs))
    operations *= elapsed > 1 ? Math.ceil(12 / elapsed) : 8
  }
}

/** Verify `count` tokens starting at `start`, wrapping around the corpus. */
function run(
  contestant: MicroContestant,
  tokens: readonly string[],
  start: number,
  count: number,
): Promise<number> | number {
  return contestant.async
    ? runAsync(contestant.verify, tokens, start, count)
    : runSync(contestant.verify, tokens, start, count)
}

// The two loops are identical but for `await`, so the loop itself costs every contestant the
// same. The count of truthy results keeps the calls from being optimised away.
function runSync(
  verify: (token: string) => unknown,
  tokens: readonly string[],
  start: number,
  count: number,
): number {
  let index = start
  let verified = 0
  for (let i = 0; i < count; i++) {
    if (verify(tokens[index]!)) verified++
    if (++index === tokens.length) index = 0
  }
  return verified
}

async function runAsync(
  verify: (token: string) => unknown,
  tokens: readonly string[],
  start: number,
  count: number,
): Promise<number> {
  let index = start
  let verified = 0
  for (let i = 0; i < count; i++) {
    if (await verify(tokens[index]!)) verified++
    if (++index === tokens.length) index = 0
  }
  return verified
}
