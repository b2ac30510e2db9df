/**
 * `npm run fuzz`: the property suites of test/fuzz (the same files `npm test` runs), with many
 * more runs. Each property keeps its fixed seed unless `--seed` says otherwise, so a long run
 * is reproducible; a failure prints the seed, the path and the command that replays it.
 *
 *   npm run fuzz                            every property at 20× its `npm test` runs
 *   npm run fuzz -- --factor 100            100× (or FUZZ_FACTOR=100 npm run fuzz)
 *   npm run fuzz -- --runs 50000            exactly 50,000 runs per property (or FUZZ_RUNS)
 *   npm run fuzz -- --seed 42               another seed for every property (or FUZZ_SEED)
 *   npm run fuzz -- --only claims           only files whose name contains "claims"
 *   npm run fuzz -- --seed S --path P --only token-cache    replay one counterexample
 */
import { spawn } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: {
    runs: { type: 'string' },
    factor: { type: 'string' },
    seed: { type: 'string' },
    path: { type: 'string' },
    only: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
})

if (values.help) {
  console.log(
    'usage: npm run fuzz -- [--runs N | --factor F] [--seed S] [--path P] [--only NAME]\n' +
      'Environment: FUZZ_RUNS, FUZZ_FACTOR, FUZZ_SEED, FUZZ_PATH (flags win).',
  )
  process.exit(0)
}

const root = new URL('..', import.meta.url).pathname
const folder = join(root, 'test', 'fuzz')
const files = readdirSync(folder)
  .filter((name) => name.endsWith('.test.ts'))
  .filter((name) => values.only === undefined || name.includes(values.only))
  .sort()
  .map((name) => join('test', 'fuzz', name))
if (files.length === 0) {
  console.error(`no test/fuzz/*.test.ts file matches --only ${values.only}`)
  process.exit(2)
}

const env: NodeJS.ProcessEnv = { ...process.env }
const runs = values.runs ?? process.env.FUZZ_RUNS
const factor = values.factor ?? process.env.FUZZ_FACTOR ?? (runs === undefined ? '20' : undefined)
for (const [name, value] of [
  ['FUZZ_RUNS', runs],
  ['FUZZ_FACTOR', factor],
  ['FUZZ_SEED', values.seed ?? process.env.FUZZ_SEED],
  ['FUZZ_PATH', values.path ?? process.env.FUZZ_PATH],
] as const) {
  if (value === undefined) delete env[name]
  else if (!/^-?\d+(\.\d+)?$/.test(value) && name !== 'FUZZ_PATH') {
    console.error(`${name.toLowerCase().replace('fuzz_', '--')} must be a number: ${value}`)
    process.exit(2)
  } else env[name] = value
}

console.log(
  `fuzzing ${files.length} file(s): ${runs ? `${runs} runs per property` : `${factor}× the default runs`}` +
    `${env.FUZZ_SEED ? `, seed ${env.FUZZ_SEED}` : ', fixed seeds'}${env.FUZZ_PATH ? `, path ${env.FUZZ_PATH}` : ''}`,
)
const started = Date.now()
const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', ...files],
  { cwd: root, env, stdio: 'inherit' },
)
child.once('exit', (code, signal) => {
  console.log(`fuzz finished in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  process.exit(code ?? (signal ? 1 : 0))
})
