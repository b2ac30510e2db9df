/**
 * Issue 5's targets, checked against one run's medians. Each check names the row it read, so a
 * miss points straight at the table line to look at.
 */
import type { HttpResult } from './http.js'
import type { JwksResult } from './jwks.js'
import type { MicroResult, MicroRow } from './micro.js'

/** One target and how this run did. `pass` is undefined when the run did not measure it. */
export interface TargetCheck {
  target: string
  measured: string
  pass: boolean | undefined
}

const FLOOR_TARGET: Record<string, number> = { HS256: 0.75, RS256: 0.9, ES256: 0.9, EdDSA: 0.9 }
const CACHE_HIT_MAX_US = 2
const CACHE_VS_FLOOR_RS256 = 10
const HTTP_TARGET = { fixed: 0.9, pool: 0.8 }
const GARBAGE_MAX_MS = 100

/** Every target the run has data for. */
export function checkTargets(
  micro: MicroResult | undefined,
  http: HttpResult | undefined,
  jwks: JwksResult | undefined,
): TargetCheck[] {
  return [...microTargets(micro), ...httpTargets(http), ...jwksTargets(jwks)]
}

function microTargets(micro: MicroResult | undefined): TargetCheck[] {
  if (!micro) return []
  const checks: TargetCheck[] = []
  const find = (alg: string, corpus: string, id: string) =>
    micro.rows.find((row) => row.alg === alg && row.corpus === corpus && row.id === id)
  const distinct = `${micro.distinctTokens.toLocaleString('en-US')} distinct tokens`

  for (const alg of Object.keys(FLOOR_TARGET)) {
    const row = find(alg, 'distinct', 'jwt-gate')
    if (!row) continue
    const want = FLOOR_TARGET[alg]!
    checks.push({
      target: `${alg} uncached verify (${distinct}) ≥ ${want.toFixed(2)}× floor`,
      measured: `${ratio(row.vsFloor)} floor`,
      pass: row.vsFloor >= want,
    })
    if (row.vsBestPeer !== undefined) {
      checks.push({
        target: `${alg} uncached verify (${distinct}) ≥ best peer`,
        measured: `${ratio(row.vsBestPeer)} ${row.bestPeer ?? 'best peer'}`,
        pass: row.vsBestPeer >= 1,
      })
    }
  }

  const hits = micro.rows.filter((row) => row.id === 'jwt-gate+cache+denylist')
  const worst = hits.reduce<MicroRow | undefined>(
    (slowest, row) => (!slowest || row.usPerOp > slowest.usPerOp ? row : slowest),
    undefined,
  )
  if (worst) {
    checks.push({
      target: `cache hit ≤ ${CACHE_HIT_MAX_US} µs with the denylist consulted (slowest algorithm and corpus)`,
      measured: `${worst.usPerOp.toFixed(2)} µs (${worst.alg}, ${worst.corpus === 'one' ? 'one token' : distinct})`,
      pass: worst.usPerOp <= CACHE_HIT_MAX_US,
    })
  }
  const rsHit = find('RS256', 'one', 'jwt-gate+cache+denylist')
  if (rsHit) {
    checks.push({
      target: `RS256 cache hit ≥ ${CACHE_VS_FLOOR_RS256}× floor (denylist consulted)`,
      measured: `${ratio(rsHit.vsFloor)} floor`,
      pass: rsHit.vsFloor >= CACHE_VS_FLOOR_RS256,
    })
  }
  return checks
}

function httpTargets(http: HttpResult | undefined): TargetCheck[] {
  if (!http) return []
  const checks: TargetCheck[] = []
  for (const row of http.rows.filter((entry) => entry.kind === 'jwt-gate')) {
    const want = HTTP_TARGET[row.mode]
    const tokens = row.mode === 'fixed' ? 'fixed token' : `pool of ${http.settings.poolSize}`
    checks.push({
      target: `${capitalise(row.framework)} with jwt-gate, ${tokens} ≥ ${want.toFixed(2)}× bare`,
      measured: `${ratio(row.vsBare)} bare`,
      pass: row.vsBare >= want,
    })
  }
  return checks
}

function jwksTargets(jwks: JwksResult | undefined): TargetCheck[] {
  if (!jwks) return []
  const gate = (scenario: string) =>
    jwks.rows.find((row) => row.scenario === scenario && row.kind === 'jwt-gate')
  const checks: TargetCheck[] = []
  const rotation = gate('rotation')
  if (rotation) {
    checks.push({
      target: `rotation: 1 JWKS fetch and ${rotation.requests}/${rotation.requests} accepted`,
      measured: `${rotation.fetches} fetch(es), ${rotation.accepted}/${rotation.requests} accepted`,
      pass: rotation.fetches === 1 && rotation.accepted === rotation.requests,
    })
  }
  const garbage = gate('garbage-kids')
  if (garbage) {
    checks.push({
      target: `garbage kids: ≤ 1 fetch, all ${garbage.requests} rejected within ${GARBAGE_MAX_MS} ms`,
      measured: `${garbage.fetches} fetch(es), ${garbage.rejected} rejected in ${garbage.ms.toFixed(0)} ms`,
      pass:
        garbage.fetches <= 1 &&
        garbage.rejected === garbage.requests &&
        garbage.ms <= GARBAGE_MAX_MS,
    })
  }
  const after = gate('rotation-after-garbage')
  if (after) {
    checks.push({
      target: `(API.md) new key right after a garbage-kid refetch: ${after.requests}/${after.requests} accepted`,
      measured: `${after.fetches} fetch(es), ${after.accepted}/${after.requests} accepted`,
      pass: after.accepted === after.requests,
    })
  }
  return checks
}

function ratio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}×` : 'n/a'
}

function capitalise(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1)
}
