/**
 * A line diff (Myers' O(ND) algorithm) and its unified rendering, for noop runs that show what
 * would change in a file.
 */

export interface Edit {
  readonly op: ' ' | '-' | '+'
  readonly line: string
}

/** Past this many differences the diff gives up and replaces every line (still a valid diff). */
const MAX_D = 1000
/** Marks a last line without a newline, so that `a` and `a\n` differ. */
const NO_EOL = '\u0000no-eol'

/** Lines of a text; the last one carries NO_EOL when the text does not end with a newline. */
export function splitLines(text: string): string[] {
  if (text === '') return []
  const lines = text.split('\n')
  if (lines[lines.length - 1] === '') lines.pop()
  else lines[lines.length - 1] += NO_EOL
  return lines
}

/** The edits turning `a` into `b`: common lines (' '), deletions ('-') and insertions ('+'). */
export function diffLines(a: readonly string[], b: readonly string[]): Edit[] {
  let pre = 0
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++
  let suf = 0
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf])
    suf++
  const ma = a.slice(pre, a.length - suf)
  const mb = b.slice(pre, b.length - suf)
  const mid = myers(ma, mb) ?? [
    ...ma.map(line => ({ op: '-' as const, line })),
    ...mb.map(line => ({ op: '+' as const, line })),
  ]
  const same = (lines: readonly string[]): Edit[] => lines.map(line => ({ op: ' ', line }))
  return [...same(a.slice(0, pre)), ...mid, ...same(a.slice(a.length - suf))]
}

/** Myers' forward search, keeping each round's frontier for the walk back. */
function myers(a: readonly string[], b: readonly string[]): Edit[] | undefined {
  const n = a.length
  const m = b.length
  const max = n + m
  const v = new Int32Array(2 * max + 2)
  const trace: Int32Array[] = []
  for (let d = 0; d <= Math.min(max, MAX_D); d++) {
    trace.push(v.slice(max - d, max + d + 1))
    for (let k = -d; k <= d; k += 2) {
      const down = k === -d || (k !== d && v[max + k - 1]! < v[max + k + 1]!)
      let x = down ? v[max + k + 1]! : v[max + k - 1]! + 1
      let y = x - k
      while (x < n && y < m && a[x] === b[y]) {
        x++
        y++
      }
      v[max + k] = x
      if (x >= n && y >= m) return backtrack(trace, a, b)
    }
  }
  return undefined
}

function backtrack(trace: readonly Int32Array[], a: readonly string[], b: readonly string[]): Edit[] {
  const out: Edit[] = []
  let x = a.length
  let y = b.length
  const snake = (toX: number, toY: number): void => {
    while (x > toX && y > toY) {
      x--
      y--
      out.push({ op: ' ', line: a[x]! })
    }
  }
  for (let d = trace.length - 1; d > 0; d--) {
    const v = trace[d]!
    const at = (k: number): number => v[k + d]!
    const k = x - y
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1
    const prevX = at(prevK)
    const prevY = prevX - prevK
    snake(prevX, prevY)
    if (x === prevX) out.push({ op: '+', line: b[prevY]! })
    else out.push({ op: '-', line: a[prevX]! })
    x = prevX
    y = prevY
  }
  snake(0, 0)
  return out.reverse()
}

/** A hunk's line range: `start` is 1-based, or the line before when the range is empty. */
const range = (start: number, len: number): string => `${len === 0 ? start : start + 1},${len}`

function renderLine(e: Edit): string {
  if (!e.line.endsWith(NO_EOL)) return `${e.op}${e.line}\n`
  return `${e.op}${e.line.slice(0, -NO_EOL.length)}\n\\ No newline at end of file\n`
}

/**
 * `old` → `new` as a unified diff with `context` lines around each change, headed by `---`/`+++`
 * lines naming `path`. Empty when the texts are equal.
 */
export function unifiedDiff(oldText: string, newText: string, path: string, context = 3): string {
  const edits = diffLines(splitLines(oldText), splitLines(newText))
  const changed = edits.flatMap((e, i) => (e.op === ' ' ? [] : [i]))
  if (changed.length === 0) return ''
  let out = `--- ${path}\n+++ ${path}\n`
  // Line numbers before each edit.
  const oldAt: number[] = []
  const newAt: number[] = []
  let o = 0
  let n = 0
  for (const e of edits) {
    oldAt.push(o)
    newAt.push(n)
    if (e.op !== '+') o++
    if (e.op !== '-') n++
  }
  oldAt.push(o)
  newAt.push(n)
  for (let g = 0; g < changed.length; ) {
    let last = g
    while (last + 1 < changed.length && changed[last + 1]! - changed[last]! - 1 <= 2 * context) last++
    const from = Math.max(0, changed[g]! - context)
    const to = Math.min(edits.length, changed[last]! + context + 1)
    const hunk = edits.slice(from, to)
    out += `@@ -${range(oldAt[from]!, oldAt[to]! - oldAt[from]!)} +${range(newAt[from]!, newAt[to]! - newAt[from]!)} @@\n`
    out += hunk.map(renderLine).join('')
    g = last + 1
  }
  return out
}
