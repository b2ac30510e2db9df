/**
 * What the README chart shows, taken from one run: uncached verification against the floor,
 * cache hits against the floor, and HTTP throughput against the bare framework. Bars are ratios,
 * so the chart reads the same on any machine even though raw ops/s do not.
 */
import type { ChartGroup, ChartPanel } from './chart.js'
import type { HttpResult } from './http.js'
import type { MicroResult } from './micro.js'

const FLOOR_TARGET: Record<string, number> = { HS256: 0.75, RS256: 0.9, ES256: 0.9, EdDSA: 0.9 }
const HTTP_TARGET = { fixed: 0.9, pool: 0.8 }

/** The chart's panels for whatever parts of the suite ran. */
export function chartPanels(
  micro: MicroResult | undefined,
  http: HttpResult | undefined,
): ChartPanel[] {
  const panels: ChartPanel[] = []
  if (micro) {
    const distinct = micro.distinctTokens.toLocaleString('en-US')
    panels.push({
      title: `Verify, no cache, ${distinct} distinct tokens: × node:crypto floor`,
      unit: '×',
      reference: { value: 1, label: 'floor' },
      groups: microGroups(micro, (row) => !row.cache && row.kind !== 'floor', true),
    })
    panels.push({
      title: 'Verify, cache hit (one token repeated): × node:crypto floor',
      unit: '×',
      reference: { value: 1, label: 'floor' },
      groups: microGroups(micro, (row) => row.cache, false, 'one'),
    })
  }
  if (http) {
    const groups: ChartGroup[] = []
    for (const framework of ['express', 'koa', 'fastify'] as const) {
      for (const mode of ['fixed', 'pool'] as const) {
        const rows = http.rows.filter(
          (row) => row.framework === framework && row.mode === mode && row.kind !== 'bare',
        )
        if (rows.length === 0) continue
        groups.push({
          title: `${framework.charAt(0).toUpperCase()}${framework.slice(1)}, ${mode === 'fixed' ? 'fixed token' : `pool of ${http.settings.poolSize} tokens`}`,
          target: HTTP_TARGET[mode],
          bars: rows.map((row) => ({
            label: row.label,
            value: row.vsBare,
            highlight: row.kind === 'jwt-gate',
          })),
        })
      }
    }
    panels.push({
      title: `HTTP GET, ${http.settings.connections} connections: × bare framework`,
      unit: '×',
      reference: { value: 1, label: 'bare' },
      groups,
    })
  }
  return panels
}

function microGroups(
  micro: MicroResult,
  include: (row: MicroResult['rows'][number]) => boolean,
  withTargets: boolean,
  corpus: 'one' | 'distinct' = 'distinct',
): ChartGroup[] {
  const algorithms = [...new Set(micro.rows.map((row) => row.alg))]
  return algorithms.map((alg) => ({
    title: alg,
    ...(withTargets ? { target: FLOOR_TARGET[alg] } : {}),
    bars: micro.rows
      .filter((row) => row.alg === alg && row.corpus === corpus && include(row))
      .map((row) => ({ label: row.label, value: row.vsFloor, highlight: row.kind === 'jwt-gate' })),
  }))
}
