/**
 * Statistics for the benchmark: medians and spreads of per-round samples. Ratios are taken
 * per round (paired: both sides ran in the same round, seconds apart) and then the median of
 * those is reported, which cancels most of the drift a shared machine adds between rounds.
 */

/** Median of `values` (NaN for an empty list). */
export function median(values: readonly number[]): number {
  return quantile(values, 0.5)
}

/** Linear-interpolated quantile `q` (0..1) of `values` (NaN for an empty list). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const position = (sorted.length - 1) * q
  const below = Math.floor(position)
  const above = Math.ceil(position)
  const low = sorted[below]!
  const high = sorted[above]!
  return low + (high - low) * (position - below)
}

/**
 * Half the interquartile range relative to the median: a robust "± %" for a row. NaN with
 * fewer than two samples (no spread to speak of).
 */
export function relativeSpread(values: readonly number[]): number {
  const middle = median(values)
  if (values.length < 2 || !(middle > 0)) return Number.NaN
  return (quantile(values, 0.75) - quantile(values, 0.25)) / 2 / middle
}

/**
 * Median of the per-round ratios `numerator[i] / denominator[i]`. Rounds where either side is
 * missing or zero are skipped.
 */
export function pairedRatio(numerator: readonly number[], denominator: readonly number[]): number {
  const ratios: number[] = []
  const rounds = Math.min(numerator.length, denominator.length)
  for (let round = 0; round < rounds; round++) {
    const top = numerator[round]!
    const bottom = denominator[round]!
    if (Number.isFinite(top) && bottom > 0) ratios.push(top / bottom)
  }
  return median(ratios)
}

/**
 * Element-wise maximum over several series of samples (per round), e.g. "the best peer in
 * this round". Series may differ in length; missing entries are ignored.
 */
export function bestPerRound(series: readonly (readonly number[])[]): number[] {
  const rounds = Math.max(0, ...series.map((samples) => samples.length))
  const best: number[] = []
  for (let round = 0; round < rounds; round++) {
    let top = Number.NaN
    for (const samples of series) {
      const value = samples[round]
      if (value !== undefined && !(value <= top)) top = value
    }
    best.push(top)
  }
  return best
}
