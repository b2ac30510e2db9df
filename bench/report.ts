/**
 * The markdown report: the run's header (command, machine, date, load), issue 5's targets, then
 * one table per scenario with medians and ratios, what could not be measured, and how it was
 * measured. The same text is printed and written to bench/results/latest.md.
 */
import type { DenylistSection } from './denylist-loader.js'
import type { HttpResult } from './http.js'
import type { JwksResult, JwksScenario } from './jwks.js'
import type { MachineInfo } from './machine.js'
import type { MicroResult, MicroRow } from './micro.js'
import type { BenchSettings } from './settings.js'
import type { TargetCheck } from './targets.js'

/** Everything one run produced. */
export interface BenchRun {
  command: string
  machine: MachineInfo
  /** 1-minute load average when the run started and when it ended. */
  loadAverage: { start: number; end: number }
  durationSec: number
  settings: BenchSettings
  micro?: MicroResult
  http?: HttpResult
  jwks?: JwksResult
  denylist?: DenylistSection
  /** Redis denylist at 1,000,000 jti (issue 11): cold start, heap per jti, isRevoked. */
  denylistScale?: DenylistSection
  /** The verified-token cache's memory: its markdown and numbers. */
  memory?: { markdown: string; results: Record<string, number> }
  targets: TargetCheck[]
}

/** Render the whole report. */
export function renderReport(run: BenchRun): string {
  return [
    header(run),
    targets(run.targets),
    run.micro ? micro(run.micro, run.settings) : '',
    run.http ? http(run.http) : '',
    run.jwks ? jwks(run.jwks, run.settings) : '',
    run.denylist ? denylist(run.denylist) : '',
    run.denylistScale ? denylistScale(run.denylistScale) : '',
    run.memory ? run.memory.markdown : '',
    notMeasured(run),
    method(run.settings),
  ]
    .filter(Boolean)
    .join('\n\n')
    .concat('\n')
}

function header(run: BenchRun): string {
  const { machine } = run
  const busy = Math.max(run.loadAverage.start, run.loadAverage.end) > machine.cores / 2
  const lines = [
    `# jwt-gate benchmark${run.settings.quick ? ' (quick mode: smoke numbers, not for publishing)' : ''}`,
    '',
    `- Command: \`${run.command}\``,
    `- Date: ${machine.date} (took ${formatDuration(run.durationSec)})`,
    `- Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}`,
    `- Node ${machine.node}; jwt-gate ${machine.commit}`,
    `- Load average (1 min): ${run.loadAverage.start.toFixed(2)} at start, ${run.loadAverage.end.toFixed(2)} at end`,
    `- Compared: ${Object.entries(machine.versions)
      .map(([name, version]) => `${name} ${version}`)
      .join(', ')}`,
  ]
  if (busy) {
    lines.push(
      '',
      `> **Warning:** the machine was busy (load average above ${machine.cores / 2} on ${machine.cores} cores). Ratios within a round are paired and stay meaningful, but absolute numbers are low and noisy; rerun on an idle machine before publishing.`,
    )
  }
  return lines.join('\n')
}

function targets(checks: readonly TargetCheck[]): string {
  if (checks.length === 0) return ''
  const rows = checks.map((check) => [
    check.target,
    check.measured,
    check.pass === undefined ? '–' : check.pass ? 'met' : '**missed**',
  ])
  return ['## Issue 5 targets', '', table(['target', 'this run', ''], rows, [0, 1, 2])].join('\n')
}

function micro(result: MicroResult, settings: BenchSettings): string {
  const distinct = result.distinctTokens.toLocaleString('en-US')
  const sections = [
    '## Verify: micro benchmark',
    '',
    `Verifications per second (median of ${settings.micro.rounds} interleaved rounds of ~${settings.micro.sampleMs} ms, ± half the interquartile range), µs per verification, and the median of per-round ratios to the node:crypto floor. "vs best peer": jwt-gate against the fastest peer of the same kind in the same rounds (uncached against uncached; cached against every peer).`,
  ]
  const algorithms = [...new Set(result.rows.map((row) => row.alg))]
  for (const alg of algorithms) {
    const rows = result.rows.filter((row) => row.alg === alg)
    const labels = [...new Set(rows.map((row) => row.label))]
    const cell = (label: string, corpus: 'one' | 'distinct') =>
      rows.find((row) => row.label === label && row.corpus === corpus)
    const body = labels.map((label) => {
      const one = cell(label, 'one')
      const many = cell(label, 'distinct')
      return [
        label,
        ...microCells(one),
        ...microCells(many),
        [one, many].some((row) => row?.vsBestPeer !== undefined)
          ? `${ratio(one?.vsBestPeer)} / ${ratio(many?.vsBestPeer)}`
          : '',
      ]
    })
    sections.push(
      '',
      `### ${alg}`,
      '',
      table(
        [
          'contestant',
          '1 token: ops/s',
          'µs',
          '× floor',
          `${distinct} tokens: ops/s`,
          'µs',
          '× floor',
          'vs best peer (1 / many)',
        ],
        body,
      ),
    )
  }
  return sections.join('\n')
}

function microCells(row: MicroRow | undefined): string[] {
  if (!row) return ['–', '–', '–']
  return [
    `${Math.round(row.opsPerSec).toLocaleString('en-US')}${spread(row.spread)}`,
    microseconds(row.usPerOp),
    ratio(row.vsFloor),
  ]
}

function http(result: HttpResult): string {
  const { settings } = result
  const frameworks = [...new Set(result.rows.map((row) => row.framework))]
  const body: string[][] = []
  for (const framework of frameworks) {
    const labels = [
      ...new Set(result.rows.filter((row) => row.framework === framework).map((row) => row.label)),
    ]
    for (const label of labels) {
      const find = (mode: 'fixed' | 'pool') =>
        result.rows.find(
          (row) => row.framework === framework && row.label === label && row.mode === mode,
        )
      const fixed = find('fixed')
      const pool = find('pool')
      const failures =
        (fixed?.non2xx ?? 0) + (pool?.non2xx ?? 0) + (fixed?.errors ?? 0) + (pool?.errors ?? 0)
      body.push([
        framework,
        label,
        ...httpCells(fixed),
        ...httpCells(pool),
        failures.toLocaleString('en-US'),
      ])
    }
  }
  return [
    '## HTTP: GET / with a guard',
    '',
    `2xx responses per second from autocannon (${settings.connections} connections per server, ${settings.durationSec} s per run, median of ${settings.rounds * settings.processes} paired run${settings.rounds * settings.processes === 1 ? '' : 's'}: ${settings.rounds} interleaved round${settings.rounds === 1 ? '' : 's'} in each of ${settings.processes} fresh set${settings.processes === 1 ? '' : 's'} of server processes) against servers in child processes on 127.0.0.1. ${pinningSentence(result.pinning)} Each guarded server is loaded at the same time as the bare framework (no auth, 1.00×), each by its own autocannon, so both see the same machine; "× bare" is the median of those paired ratios, and req/s are each server's share of the CPU they split. Fixed: one token on every request. Pool: ${settings.poolSize.toLocaleString('en-US')} distinct tokens spread over the connections (each cycles its ${Math.ceil(settings.poolSize / settings.connections)} through autocannon's \`requests\` array), all in use at once. RS256; guards read keys from the test issuer's JWKS unless the label says otherwise.`,
    '',
    table(
      [
        'framework',
        'server',
        'fixed: req/s',
        '× bare',
        'p99 ms',
        'pool: req/s',
        '× bare',
        'p99 ms',
        'non-2xx + errors',
      ],
      body,
      [0, 1],
    ),
  ].join('\n')
}

function pinningSentence(pinning: HttpResult['pinning']): string {
  return 'unavailable' in pinning
    ? `The processes were not pinned to CPUs (${pinning.unavailable}).`
    : `autocannon ran on CPU ${pinning.loaderCpu} and every server on CPU ${pinning.serverCpu} (\`taskset\`).`
}

function httpCells(row: HttpResult['rows'][number] | undefined): string[] {
  if (!row) return ['–', '–', '–']
  return [
    `${Math.round(row.reqPerSec).toLocaleString('en-US')}${spread(row.spread)}`,
    ratio(row.vsBare),
    row.latencyP99.toFixed(0),
  ]
}

const SCENARIO_TITLES: Record<JwksScenario, string> = {
  rotation:
    'the issuer rotates right after the JWKS was fetched; then concurrent verifications of tokens signed with the new key',
  'garbage-kids': 'concurrent verifications of tokens that each carry a different unknown `kid`',
  'rotation-after-garbage':
    'as rotation, but one garbage-`kid` token arrived just before the rotation (API.md: "no valid token is rejected merely because another fetch happened a moment ago")',
}

function jwks(result: JwksResult, settings: BenchSettings): string {
  const sections = [
    '## JWKS: rotation and garbage key ids',
    '',
    `${result.requests.toLocaleString('en-US')} verifications started at once, RS256; JWKS fetches counted by the test issuer; "pending" = not settled after ${settings.jwks.timeoutMs / 1000} s; time = until the last one settled.`,
  ]
  const scenarios = [...new Set(result.rows.map((row) => row.scenario))]
  for (const scenario of scenarios) {
    const rows = result.rows.filter((row) => row.scenario === scenario)
    sections.push(
      '',
      `### ${scenario}: ${SCENARIO_TITLES[scenario]}`,
      '',
      table(
        [
          'library',
          'driven through',
          'JWKS fetches',
          'accepted',
          'rejected',
          'pending',
          'time ms',
          'typical rejection',
        ],
        rows.map((row) => [
          row.label,
          row.via,
          String(row.fetches),
          String(row.accepted),
          String(row.rejected),
          String(row.pending),
          row.ms.toFixed(0),
          row.firstError ? `\`${row.firstError.slice(0, 70)}\`` : '',
        ]),
        [0, 1, 7],
      ),
    )
  }
  return sections.join('\n')
}

function denylist(section: DenylistSection): string {
  const body =
    section.status === 'ran' ? section.markdown.trim() : `_${section.status}: ${section.note}_`
  return ['## Redis denylist overhead', '', body].join('\n')
}

function notMeasured(run: BenchRun): string {
  const lines: string[] = []
  for (const entry of run.micro?.unavailable ?? [])
    lines.push(`- micro, ${entry.alg}: ${entry.label}: ${entry.reason}`)
  for (const entry of run.http?.unavailable ?? [])
    lines.push(`- HTTP, ${entry.framework}: ${entry.label}: ${entry.reason}`)
  if (run.http && !run.http.settings.peers)
    lines.push('- HTTP: peer guards are measured in the full run only (`npm run bench`).')
  for (const entry of run.jwks?.unavailable ?? [])
    lines.push(`- JWKS: ${entry.label}: ${entry.reason}`)
  lines.push(
    "- HTTP, Fastify: @fastify/jwt runs with the issuer's public key as PEM rather than its JWKS (that needs `get-jwks`, not installed); a static key is its fastest setup.",
  )
  return ['## Not measured, or measured differently', '', ...lines].join('\n')
}

function method(settings: BenchSettings): string {
  return [
    '## How it was measured',
    '',
    '- **Floor** (micro): split the token, base64url-decode, `crypto.verify` (HMAC + `timingSafeEqual` for HS256) on a KeyObject imported once, `JSON.parse` of header and payload. No claim checks, no key lookup. Every library does at least this.',
    "- **Same checks everywhere**: each contestant verifies the signature, one allowed algorithm, `iss`, `aud` and `exp`. jwt-gate reads keys from the issuer's JWKS (fetched once, during warm-up); jose uses a pre-imported key, fast-jwt a PEM string, jsonwebtoken a PEM string. Before measuring, each must accept a valid token and reject an altered signature, another audience and an expired token (the floor: the altered signature only), or it is left out.",
    '- **Async APIs are awaited** one call at a time (jwt-gate `verify`, jose `jwtVerify`), as a request handler would; synchronous APIs (fast-jwt, jsonwebtoken, the floor) are called directly. The loops are identical otherwise.',
    `- **Warm-up and interleaving**: every contestant is warmed up (~${settings.micro.warmupMs} ms, and caching contestants see the whole corpus once so they are measured in steady state); then ${settings.micro.rounds} rounds in which every contestant of the group runs once, the starting contestant rotating each round; a young-generation GC runs before each sample. Reported: medians; ratios are medians of per-round ratios.`,
    "- **Caches** are the same size for everyone: jwt-gate's default 10,000 tokens, fast-jwt `cache: 10000`.",
    `- **HTTP**: autocannon runs in the parent process, each server in its own child process (Node, \`NODE_ENV=production\`); on Linux with \`taskset\`, autocannon is pinned to one CPU and every server to another. A framework's servers start together; each guarded server is then loaded *together with* the bare one (two autocannon instances, one per server) in ${settings.http.rounds} interleaved round(s), so the two share one CPU under the same host conditions and their ratio does not move with the machine's other tenants (measured one after the other on this shared 2-core machine, the same ratio moved by 10-25% between runs). All of that is repeated with ${settings.http.processes} fresh set(s) of server processes: the same server code in two processes was seen to differ by more than a guard costs (JIT decisions, memory layout, how two processes share a CPU's caches). Before that, each server is warmed up for ${settings.http.warmupSec} s with the token pool (so caches are warm and pool runs measure the steady state)${settings.http.warmupMaxSec > 0 ? ` and then with 0.25 s slices until two in a row agree within 10% (at most ${settings.http.warmupMaxSec} s more)` : ''}. Each server must answer 200 to a valid token and 401 to none and to an altered one before it is measured.`,
    "- **JWKS scenarios**: a fresh issuer per scenario; every library fetches its JWKS first, then the key changes once, then each library gets its burst in turn and the issuer's request counter is read before and after.",
    '- Ratios are comparable across machines; absolute ops/s and req/s are not. HTTP req/s are per server while two servers share one CPU: about half of what one server alone would do.',
  ].join('\n')
}

/**
 * A GitHub-flavoured markdown table. Numbers align right: columns listed in `left` (by index;
 * the first by default) align left.
 */
export function table(
  head: readonly string[],
  rows: readonly (readonly string[])[],
  left: readonly number[] = [0],
): string {
  const escape = (cell: string) => cell.replace(/\|/g, '\\|')
  return [
    `| ${head.map(escape).join(' | ')} |`,
    `| ${head.map((_, index) => (left.includes(index) ? '---' : '---:')).join(' | ')} |`,
    ...rows.map((row) => `| ${row.map(escape).join(' | ')} |`),
  ].join('\n')
}

function ratio(value: number | undefined): string {
  return value !== undefined && Number.isFinite(value) ? `${value.toFixed(2)}×` : '–'
}

/** ` ±4.2%`, or nothing when there is no spread to report (a single round). */
function spread(value: number): string {
  return Number.isFinite(value) ? ` ±${(value * 100).toFixed(value < 0.1 ? 1 : 0)}%` : ''
}

function microseconds(value: number): string {
  if (!Number.isFinite(value)) return '–'
  return value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : value.toFixed(0)
}

function formatDuration(seconds: number): string {
  return seconds < 120 ? `${seconds.toFixed(0)} s` : `${(seconds / 60).toFixed(1)} min`
}

function denylistScale(section: DenylistSection): string {
  if (section.status === 'ran') return section.markdown
  return ['## Redis denylist at scale', '', `_${section.status}: ${section.note}_`, ''].join('\n')
}
