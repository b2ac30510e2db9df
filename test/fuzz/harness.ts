/**
 * The harness of the property suites in test/fuzz (and of `npm run fuzz`, which runs the same
 * files with more runs): fixed seeds, run counts, replay of a failure, and outcomes that never
 * throw. The key ring and base tokens are in token-families.ts, the attacker's mutations in
 * mutations.ts (built from the edits in edits.ts), base64url spellings in canonical.ts.
 *
 * Environment (all optional):
 *   FUZZ_RUNS   runs per property (default: each property's own, small enough for `npm test`)
 *   FUZZ_FACTOR multiply each property's default runs (what `npm run fuzz` sets)
 *   FUZZ_SEED   seed for every property (default: a fixed seed per property, see `seedOf`)
 *   FUZZ_PATH   replay one counterexample: the `path` a failure printed (use with FUZZ_SEED and
 *               `--test-name-pattern` so only that property runs)
 */
import type { TestContext } from 'node:test'
import fc from 'fast-check'

/** The seed every property derives its own from; change it only on purpose. */
export const BASE_SEED = 0x6a776761

/** A stable 32-bit seed per property name, so adding a property never reshuffles the others. */
export function seedOf(name: string): number {
  const fromEnv = process.env.FUZZ_SEED
  if (fromEnv !== undefined && fromEnv !== '') {
    const seed = Number(fromEnv)
    if (!Number.isInteger(seed)) throw new TypeError(`FUZZ_SEED must be an integer: ${fromEnv}`)
    return seed
  }
  let hash = BASE_SEED
  for (const char of name) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0
  return hash | 0
}

/**
 * Runs for one property: FUZZ_RUNS when set; else the property's default times FUZZ_FACTOR
 * (default 1), which is how `npm run fuzz` scales every property at once.
 */
export function runsOf(defaultRuns: number): number {
  const positive = (name: string) => {
    const raw = process.env[name]
    if (raw === undefined || raw === '') return undefined
    const value = Number(raw)
    if (!Number.isFinite(value) || value <= 0) {
      throw new TypeError(`${name} must be a positive number: ${raw}`)
    }
    return value
  }
  const runs = positive('FUZZ_RUNS')
  if (runs !== undefined) return Math.ceil(runs)
  return Math.ceil(defaultRuns * (positive('FUZZ_FACTOR') ?? 1))
}

/**
 * Check a property with its fixed seed. On failure the error names the seed, the path and the
 * command that replays exactly that counterexample; the test's diagnostics always carry the
 * seed and run count, so a long run's log says what it covered.
 */
export async function checkProperty<Ts extends [unknown, ...unknown[]]>(
  t: TestContext,
  property: fc.IAsyncProperty<Ts> | fc.IProperty<Ts>,
  defaultRuns: number,
): Promise<void> {
  const seed = seedOf(t.name)
  const numRuns = runsOf(defaultRuns)
  const path = process.env.FUZZ_PATH || undefined
  const details = await fc.check(property as fc.IAsyncProperty<Ts>, {
    seed,
    numRuns,
    path,
    endOnFailure: false,
  })
  t.diagnostic(`seed ${seed}, ${details.numRuns} runs${path ? `, path ${path}` : ''}`)
  if (details.failed) {
    // node --test runs each file in a process of its own, with the file as argv[1].
    const file = (process.argv[1] ?? 'test/fuzz/*.test.ts').replace(/^.*\/test\//, 'test/')
    const replay =
      `FUZZ_SEED=${details.seed} FUZZ_PATH=${details.counterexamplePath ?? ''} ` +
      `node --import tsx --test --test-name-pattern=${JSON.stringify(t.name)} ${file}`
    throw new Error(
      `Property "${t.name}" failed (seed ${details.seed}, path ${details.counterexamplePath}).\n` +
        `Replay: ${replay}\n${fc.defaultReportMessage(details) ?? ''}`,
      { cause: details.errorInstance },
    )
  }
}

/** Resolve a promise (or a synchronous throw) into an outcome, never throwing. */
export async function outcomeOf<T>(
  run: () => Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await run() }
  } catch (error) {
    return { ok: false, error }
  }
}
