/**
 * Memory section: what the verified-token cache costs per entry, and proof that the heap stays
 * bounded by the cache size however many distinct tokens go through (issue 5). Measured in a
 * child process with `--expose-gc`, so the other sections' garbage does not blur it.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** What the probe reports. */
interface Probe {
  cacheSize: number
  total: number
  tokenLength: number
  baselineBytes: number
  fullBytes: number
  afterBytes: number
  peakBytes: number
  bytesPerEntry: number
}

const MiB = 1024 * 1024

/** Run the probe: 10,000-entry cache; 1,000,000 distinct tokens (100,000 in quick mode). */
export async function runMemoryBench(options: {
  quick: boolean
}): Promise<{ markdown: string; results: Record<string, number> }> {
  const total = options.quick ? 100_000 : 1_000_000
  const probe = new URL('./memory-probe.ts', import.meta.url).pathname
  const { stdout } = await run(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', probe, '10000', String(total)],
    { maxBuffer: 1024 * 1024, timeout: 10 * 60_000 },
  )
  const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as Probe
  const growth = result.afterBytes - result.fullBytes
  const markdown = [
    '## Memory: the verified-token cache',
    '',
    `HS256 tokens of ${result.tokenLength} characters, cache of ${result.cacheSize.toLocaleString('en-US')} entries (the default), heap measured after a full GC in a child process.`,
    '',
    '| measure | value |',
    '| --- | ---: |',
    `| bytes per cached token (heap growth while filling the cache ÷ entries) | ${Math.round(result.bytesPerEntry).toLocaleString('en-US')} B |`,
    `| heap with the cache full | ${(result.fullBytes / MiB).toFixed(1)} MiB |`,
    `| heap after ${result.total.toLocaleString('en-US')} more distinct tokens | ${(result.afterBytes / MiB).toFixed(1)} MiB (${growth >= 0 ? '+' : ''}${(growth / MiB).toFixed(2)} MiB) |`,
    `| highest heap sampled during them | ${(result.peakBytes / MiB).toFixed(1)} MiB |`,
    '',
    'An entry holds the SHA-256 key (32 characters), the frozen payload and header objects and the validity window; no token string is kept.',
    '',
  ].join('\n')
  return {
    markdown,
    results: {
      bytesPerEntry: result.bytesPerEntry,
      heapGrowthAfterDistinctTokens: growth,
      distinctTokens: result.total,
    },
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { markdown } = await runMemoryBench({ quick: process.argv.includes('--quick') })
  process.stdout.write(markdown)
}
