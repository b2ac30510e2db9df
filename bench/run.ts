/**
 * `npm run bench`: jwt-gate against its peers and against the machine's floor and ceiling.
 *
 *   npm run bench                     full run (about a quarter of an hour on 2 cores); writes
 *                                     bench/results/latest.md, chart.svg and latest.json
 *   npm run bench -- --quick          about a minute; prints the tables, writes quick.json
 *   npm run bench -- --only micro,jwks   run some sections only
 *   npm run bench -- --out DIR        also write the markdown and the chart to DIR
 *   npm run bench -- --only http --profile DIR
 *                                     run every HTTP server under node --cpu-prof, profiles in DIR
 *
 * The published files (latest.md, chart.svg) are written only by a complete full run without
 * `--profile`, or wherever `--out` says, so a quick, partial or profiled run never overwrites them.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { renderChart } from './chart.js'
import { runDenylistSection, type DenylistSection } from './denylist-loader.js'
import { chartPanels } from './figures.js'
import { createFixture, MICRO_ALGORITHMS, type Fixture } from './fixtures.js'
import { runHttp, type HttpResult } from './http.js'
import { runJwks, type JwksResult } from './jwks.js'
import { machineInfo } from './machine.js'
import { runMemoryBench } from './memory.js'
import { runMicro, type MicroResult } from './micro.js'
import { renderReport, type BenchRun } from './report.js'
import { settingsFor } from './settings.js'
import { checkTargets } from './targets.js'

const SECTIONS = ['micro', 'http', 'jwks', 'denylist', 'denylist-scale', 'memory'] as const
type Section = (typeof SECTIONS)[number]

const USAGE = `Usage: npm run bench [-- [--quick] [--only ${SECTIONS.join(',')}] [--out DIR]]

  --quick      fewer and shorter rounds, 1,000-token corpus: about a minute
  --only LIST  comma-separated sections to run (default: all)
  --out DIR    write latest.md and chart.svg to DIR (default: bench/results, full runs only)
  --profile DIR
               run each HTTP server under node --cpu-prof; one subdirectory of DIR per server
               (profiling slows the servers: the ratios of such a run are not for publishing)
  -h, --help   this text
`

const RESULTS_DIR = new URL('./results/', import.meta.url).pathname

function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`)
}

function parseSections(list: string | undefined): Set<Section> {
  if (list === undefined) return new Set(SECTIONS)
  const chosen = list.split(',').map((name) => name.trim())
  const unknown = chosen.filter((name) => !(SECTIONS as readonly string[]).includes(name))
  if (unknown.length > 0) {
    const message = `unknown section(s) in --only: ${unknown.join(', ')}`
    throw Object.assign(new TypeError(message), { code: 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' })
  }
  return new Set(chosen as Section[])
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      out: { type: 'string' },
      profile: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  })
  if (values.help) {
    process.stdout.write(USAGE)
    return
  }
  const quick = values.quick
  const sections = parseSections(values.only)
  const settings = settingsFor(quick)
  const started = performance.now()
  const loadAtStart = loadavg()[0]!
  const machine = machineInfo()
  const extra = process.argv.slice(2)
  const command = `npm run bench${extra.length > 0 ? ` -- ${extra.join(' ')}` : ''}`
  log(`${quick ? 'quick' : 'full'} run: ${[...sections].join(', ')}`)

  // Issuers and token corpora; the RS256 one also serves the HTTP servers' JWKS.
  const fixtures: Fixture[] = []
  let micro: MicroResult | undefined
  let http: HttpResult | undefined
  try {
    const algorithms = sections.has('micro')
      ? MICRO_ALGORITHMS
      : sections.has('http')
        ? (['RS256'] as const)
        : []
    const count = Math.max(
      sections.has('micro') ? settings.micro.distinctTokens : 0,
      sections.has('http') ? settings.http.poolSize : 0,
    )
    for (const alg of algorithms) {
      const begin = Date.now()
      fixtures.push(await createFixture(alg, count))
      log(
        `signed ${count.toLocaleString('en-US')} ${alg} tokens: ${((Date.now() - begin) / 1000).toFixed(1)} s`,
      )
    }
    if (sections.has('micro')) micro = await runMicro(fixtures, settings.micro, log)
    if (sections.has('http')) {
      http = await runHttp(
        fixtures.find((fixture) => fixture.alg === 'RS256')!,
        settings.http,
        log,
        values.profile === undefined ? undefined : resolve(values.profile),
      )
    }
  } finally {
    for (const fixture of fixtures) await fixture.issuer.close()
  }
  const jwks: JwksResult | undefined = sections.has('jwks')
    ? await runJwks(settings.jwks, log)
    : undefined
  let denylist: DenylistSection | undefined
  if (sections.has('denylist')) {
    const begin = Date.now()
    denylist = await runDenylistSection(quick)
    log(`denylist (${denylist.status}): ${((Date.now() - begin) / 1000).toFixed(1)} s`)
  }

  let denylistScale: DenylistSection | undefined
  if (sections.has('denylist-scale')) {
    const begin = Date.now()
    denylistScale = await runDenylistSection(quick, new URL('./denylist-scale.ts', import.meta.url))
    log(`denylist-scale (${denylistScale.status}): ${((Date.now() - begin) / 1000).toFixed(1)} s`)
  }

  let memory: BenchRun['memory']
  if (sections.has('memory')) {
    const begin = Date.now()
    memory = await runMemoryBench({ quick })
    log(`memory: ${((Date.now() - begin) / 1000).toFixed(1)} s`)
  }

  const run: BenchRun = {
    command,
    machine,
    loadAverage: { start: loadAtStart, end: loadavg()[0]! },
    durationSec: (performance.now() - started) / 1000,
    settings,
    ...(micro ? { micro } : {}),
    ...(http ? { http } : {}),
    ...(jwks ? { jwks } : {}),
    ...(denylist ? { denylist } : {}),
    ...(denylistScale ? { denylistScale } : {}),
    ...(memory ? { memory } : {}),
    targets: checkTargets(micro, http, jwks),
  }
  const markdown = renderReport(run)
  process.stdout.write(markdown)

  mkdirSync(RESULTS_DIR, { recursive: true })
  const json = join(RESULTS_DIR, quick ? 'quick.json' : 'latest.json')
  writeFileSync(json, `${JSON.stringify(run, null, 2)}\n`)
  log(`wrote ${json}`)
  const complete = sections.size === SECTIONS.length
  const outDir =
    values.out !== undefined
      ? resolve(values.out)
      : !quick && complete && values.profile === undefined
        ? RESULTS_DIR
        : undefined
  if (outDir) {
    mkdirSync(outDir, { recursive: true })
    const subtitle = `${machine.cpu}, ${machine.cores} cores · Node ${machine.node} · ${machine.date.slice(0, 10)} · ${command}`
    writeFileSync(join(outDir, 'latest.md'), markdown)
    writeFileSync(
      join(outDir, 'chart.svg'),
      renderChart(
        'jwt-gate: share of the machine left to your API',
        subtitle,
        chartPanels(micro, http),
      ),
    )
    log(`wrote ${join(outDir, 'latest.md')} and chart.svg`)
  }
}

try {
  await main()
  // Peers may leave timers or sockets behind (jwks-rsa's rate limiter): end when done.
  process.exit(0)
} catch (error) {
  // A command-line mistake gets its message and the usage; anything else its stack.
  const isUsage = (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error)
  process.stderr.write(isUsage ? `${(error as Error).message}\n\n${USAGE}` : `${detail}\n`)
  process.exit(isUsage ? 2 : 1)
}
