/**
 * The line scan of pieces.ts: a graph file's text cut into list items (*pieces*) and the rest
 * (the *skeleton*), each run of items replaced there by a token line; and where two texts start
 * and stop differing. See pieces.ts for when a cut is used and why it reads as the whole text does.
 */

/** A run of pieces at one indentation, and the lines of the skeleton before it. */
export interface Cut {
  /** Piece boundaries in text order: [start, end] pairs. */
  readonly pieces: number[]
  /** Each run: its indentation and its first and last piece (indices into `pieces`/2). */
  readonly runs: { indent: number; first: number; last: number }[]
  /** The skeleton's text, a token line for each run. */
  readonly skeleton: string
}

/**
 * Placeholders no graph file has: this process's nonce, then the run's number. It need not be
 * unguessable (a skeleton that holds one anyway is read whole: `stray` in pieces.ts), so it is not
 * worth loading node:crypto at every start (2.5 ms).
 */
export const TOKEN = `mgmt-run-${process.pid.toString(36)}-${Math.random().toString(36).slice(2, 12)}-`

export const SPACE = 32
export const NL = 10
export const HASH = 35
export const DASH = 45
export const TAB = 9
export const PERCENT = 37

/** Cuts `text` into pieces and skeleton, or undefined when it has something the fast path avoids. */
export function cut(text: string): Cut | undefined {
  if (text.includes('\r') || text.charCodeAt(0) === 0xfeff) return undefined
  const pieces: number[] = []
  const runs: Cut['runs'] = []
  const skeleton: string[] = []
  const n = text.length
  /** The current run's indentation, -1 outside one; the start of its current piece. */
  let k = -1
  let start = -1
  let pos = 0
  const endRun = (at: number): void => {
    pieces.push(start, at)
    runs.at(-1)!.last = pieces.length / 2 - 1
    k = -1
    start = -1
  }
  while (pos < n) {
    let eol = text.indexOf('\n', pos)
    eol = eol < 0 ? n : eol + 1
    let i = pos
    while (text.charCodeAt(i) === SPACE) i++
    const c = i < n ? text.charCodeAt(i) : NL
    const indent = i - pos
    if (c === NL || c === HASH) {
      // Blank or comment: it goes with the piece it is in, or with the skeleton.
      if (k < 0) skeleton.push(text.slice(pos, eol))
    } else if (k >= 0 && indent > k) {
      // Deeper: the current piece goes on.
    } else {
      if (c === TAB) return undefined
      const next = text.charCodeAt(i + 1)
      const dash = c === DASH && (i + 1 >= n || next === SPACE || next === NL)
      if (dash && nestsList(text, i)) return undefined
      if (k >= 0 && dash && indent === k) {
        pieces.push(start, pos)
        start = pos
      } else {
        if (k >= 0) endRun(pos)
        if (dash) {
          runs.push({ indent, first: pieces.length / 2, last: -1 })
          skeleton.push(`${' '.repeat(indent)}- ${TOKEN}${runs.length - 1}\n`)
          k = indent
          start = pos
        } else {
          if (c === PERCENT && indent === 0) return undefined
          const line = text.slice(pos, eol)
          if (line.includes('*')) return undefined
          skeleton.push(line.endsWith('\n') ? line : `${line}\n`)
        }
      }
    }
    pos = eol
  }
  if (k >= 0) endRun(n)
  return { pieces, runs, skeleton: skeleton.join('') }
}

/**
 * Does the item whose `-` is at `at` start with a list of its own (`- - x`)? js-yaml reads the
 * items after `- -` (an empty entry at the end of the line) as that list's: such an item is not
 * read alone as in the whole text.
 */
export function nestsList(text: string, at: number): boolean {
  let i = at + 1
  while (text.charCodeAt(i) === SPACE) i++
  if (text.charCodeAt(i) !== DASH) return false
  const next = text.charCodeAt(i + 1)
  return i + 1 >= text.length || next === SPACE || next === NL
}

/** Where the common beginning of `a` and `b` ends. */
export function commonPrefix(a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  const CHUNK = 4096
  let i = 0
  while (i + CHUNK <= n && a.slice(i, i + CHUNK) === b.slice(i, i + CHUNK)) i += CHUNK
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++
  return i
}

/** The length of the common end of `a` and `b`, at most `max`. */
export function commonSuffix(a: string, b: string, max: number): number {
  const CHUNK = 4096
  let i = 0
  while (
    i + CHUNK <= max &&
    a.slice(a.length - i - CHUNK, a.length - i) === b.slice(b.length - i - CHUNK, b.length - i)
  )
    i += CHUNK
  while (i < max && a.charCodeAt(a.length - 1 - i) === b.charCodeAt(b.length - 1 - i)) i++
  return i
}
