/** "Did you mean ...?" for a misspelt name: the closest candidate within a small edit distance. */

function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_v, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    prev = cur
  }
  return prev[b.length]!
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
