/**
 * The interleaved-rounds schedule shared by the micro and HTTP benchmarks: every round runs
 * every contestant once, and the starting contestant rotates from round to round, so no
 * contestant always runs first (cold) or last (after everyone else's garbage).
 */

/** The order of `items` in round `round`: a rotation by `round` places. */
export function rotation<T>(items: readonly T[], round: number): T[] {
  if (items.length === 0) return []
  const shift = round % items.length
  return [...items.slice(shift), ...items.slice(0, shift)]
}

/**
 * Run `rounds` rounds of `measure` over `items` in rotated order; returns each item's samples
 * indexed by round, so `samples.get(item)[r]` and another item's `[r]` come from the same round.
 */
export async function runRounds<T>(
  items: readonly T[],
  rounds: number,
  measure: (item: T, round: number) => Promise<number> | number,
): Promise<Map<T, number[]>> {
  const samples = new Map<T, number[]>(items.map((item) => [item, new Array<number>(rounds)]))
  for (let round = 0; round < rounds; round++) {
    for (const item of rotation(items, round)) {
      samples.get(item)![round] = await measure(item, round)
    }
  }
  return samples
}
