/** Order statistics over samples in milliseconds. */

export interface Summary {
  readonly n: number
  readonly min: number
  readonly median: number
  readonly p90: number
  readonly p99: number
  readonly max: number
}

/** The nearest-rank percentile `p` (0–100) of `xs`, which must not be empty. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) throw new Error('percentile of no samples')
  const sorted = [...xs].sort((a, b) => a - b)
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length))
  return sorted[rank - 1]!
}

export function summarize(xs: readonly number[]): Summary {
  return {
    n: xs.length,
    min: Math.min(...xs),
    median: percentile(xs, 50),
    p90: percentile(xs, 90),
    p99: percentile(xs, 99),
    max: Math.max(...xs),
  }
}
