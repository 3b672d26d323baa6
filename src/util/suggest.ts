/** "Did you mean ...?" for a misspelt name: the closest candidate within a small edit distance. Used for YAML keys, resource kinds, mcl names. */

/** Edit distance where swapping two neighbours counts as one edit (`mdoe` is one from `mode`). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_v, i) => [i])
  for (let j = 1; j <= b.length; j++) d[0]![j] = j
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1)
      d[i]![j] = v
    }
  return d[a.length]![b.length]!
}

/** ` (did you mean `x`?)`, or nothing when no candidate is close. */
export function didYouMean(
  name: string,
  candidates: Iterable<string>,
  quote = (s: string) => `\`${s}\``,
): string {
  let best: string | undefined
  let bestD = Math.max(1, Math.floor(name.length / 3))
  for (const c of candidates) {
    if (c === name) continue
    const d = distance(name, c)
    if (d <= bestD && (best === undefined || d < distance(name, best))) {
      best = c
      bestD = d
    }
  }
  return best === undefined ? '' : ` (did you mean ${quote(best)}?)`
}
