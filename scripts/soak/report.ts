/**
 * The soak's report: the timeline, what was served, wrong answers, 5xx inside and outside the
 * documented outage window, network errors and heap growth, and the verdict.
 */
import { REACHES_DENYLIST, type LoaderStats } from './protocol.js'

/** What the orchestrator measured, besides the loaders' stats. */
export interface SoakRun {
  seconds: number
  rate: number
  stats: LoaderStats[]
  /** [seconds since the run started, event] */
  timeline: Array<[number, string]>
  /** Seconds since the run started, for an epoch-ms time. */
  since: (at: number) => number
  endedAt: number
  /** The outage window: from the Redis kill to 1 s after the replica is fresh again. */
  windowStart: number
  windowEnd: number
  jwksRequests: number
  midRunRevocations: number
  warmWrong: number
  heap: { atRest: number; before: number; after: number; slackMb: number }
}

/** Print the report; true when the run passed. */
export function report(run: SoakRun): boolean {
  const { stats, seconds, rate, since } = run
  const sum = (pick: (s: LoaderStats) => number) => stats.reduce((total, s) => total + pick(s), 0)
  const answered = stats.flatMap((s) => Object.values(s.answers).flatMap((c) => Object.values(c)))
  const served = answered.reduce((a, b) => a + b, 0)
  const fiveXX = stats.flatMap((s) => s.fiveXX)
  const inside = fiveXX.filter(
    ([time, cls]) => time >= run.windowStart && time <= run.windowEnd && REACHES_DENYLIST.has(cls),
  )
  const outside = fiveXX.length - inside.length
  const wrong = sum((s) => s.wrong)
  const networkErrors = sum((s) => s.networkErrors)
  const heapGrowth = run.heap.after - run.heap.before
  const perSecond: number[] = []
  for (const s of stats)
    s.perSecond.forEach((n, i) => (perSecond[i] = (perSecond[i] ?? 0) + (n ?? 0)))
  const latency: number[] = []
  for (const s of stats) s.latency.forEach((n, i) => (latency[i] = (latency[i] ?? 0) + (n ?? 0)))

  console.log('\ntimeline (seconds since the run started):')
  for (const [time, text] of run.timeline.sort((a, b) => a[0] - b[0])) {
    console.log(`  +${time.toFixed(2).padStart(6)}  ${text}`)
  }
  console.log(`  +${since(run.endedAt).toFixed(2).padStart(6)}  run ended`)
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
  console.log(
    `JWKS fetches: ${run.jwksRequests}; revocations during the run: ${run.midRunRevocations}`,
  )
  console.log(`wrong answers: ${wrong}${wrong > 0 ? ' ← FAIL' : ''}`)
  for (const sample of stats.flatMap((s) => s.wrongSamples).slice(0, 20)) console.log(`  ${sample}`)
  console.log(
    `5xx: ${inside.length.toLocaleString('en')} inside the outage window ` +
      `[+${since(run.windowStart).toFixed(2)} s, +${since(run.windowEnd).toFixed(2)} s], ` +
      `${outside} outside it${outside > 0 ? ' ← FAIL' : ''}`,
  )
  console.log(`network errors: ${networkErrors}${networkErrors > 0 ? ' ← FAIL' : ''}`)
  const heapOk = heapGrowth <= run.heap.slackMb * 1024 * 1024
  console.log(
    `heap (API process, after a full GC): at rest ${mb(run.heap.atRest)}, before the run ${mb(run.heap.before)} ` +
      `(token cache full: 10,000 entries), after ${mb(run.heap.after)} ` +
      `(${heapGrowth >= 0 ? '+' : ''}${mb(heapGrowth)}; allowed ${run.heap.slackMb} MB)${heapOk ? '' : ' ← FAIL'}`,
  )
  const pass = wrong === 0 && outside === 0 && networkErrors === 0 && heapOk && run.warmWrong === 0
  console.log(`verdict: ${pass ? 'PASS' : 'FAIL'}`)
  return pass
}

/** Bytes as megabytes with one decimal. */
export function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`
}
