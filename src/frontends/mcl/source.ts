/**
 * Source text and positions. Every token and node of an mcl program carries a `Span`: the file,
 * a 1-based start (line, column) and an end whose column is just past the last character, the
 * way the original prints its bylines (`/main.mcl @ 2:2-2:18`). A column counts characters (code
 * points): a tab is one column, and so is an emoji.
 */

export interface Pos {
  readonly line: number
  readonly col: number
  /** Offset in the file's text. */
  readonly offset: number
}

export interface Span {
  readonly file: SourceFile
  readonly start: Pos
  /** Exclusive: the column just past the last character. */
  readonly end: Pos
}

/** Something that knows where it was written. */
export interface Located {
  readonly span: Span
}

export class SourceFile {
  #lines: string[] | undefined
  /**
   * @param path how errors name the file: a real path, or a path inside a deploy (`/main.mcl`).
   * @param text the file's contents.
   */
  constructor(
    readonly path: string,
    readonly text: string,
  ) {}

  /** The text of line `n` (1-based), without its newline. */
  line(n: number): string {
    this.#lines ??= this.text.split('\n')
    return this.#lines[n - 1] ?? ''
  }
}

/** The span from the start of `a` to the end of `b`. */
export function join(a: Span, b: Span): Span {
  return { file: a.file, start: a.start, end: b.end }
}

/** A one-character span at `p`. */
export function pointSpan(file: SourceFile, p: Pos): Span {
  return { file, start: p, end: { line: p.line, col: p.col + 1, offset: p.offset + 1 } }
}

/** The original's byline: `FILE @ L1:C1-L2:C2`. */
export function byline(s: Span): string {
  return `${s.file.path} @ ${s.start.line}:${s.start.col}-${s.end.line}:${s.end.col}`
}

/** `file:line:col`, the way a user's editor jumps to it. */
export function location(s: Span): string {
  return `${s.file.path}:${s.start.line}:${s.start.col}`
}

/** Program text as a message quotes it: a long one is cut (a name may be megabytes long). */
export const cut = (text: string): string => (text.length > 30 ? `${text.slice(0, 27)}...` : text)

/** The most characters of a source line an error shows: a longer line is cut around the place. */
export const SHOWN_COLUMNS = 160

/**
 * The part of `text` an error shows around column `col`: the whole line when it is short, else
 * `SHOWN_COLUMNS` characters around `col` with `...` where it was cut; `col` moved to match.
 */
function clip(text: string, col: number): { text: string; col: number; room: number } {
  if (text.length <= SHOWN_COLUMNS) return { text, col, room: Number.POSITIVE_INFINITY }
  // Counted by code point without splitting the line: it may be megabytes long.
  let count = 0
  for (const _ of text) count++
  if (count <= SHOWN_COLUMNS) return { text, col, room: Number.POSITIVE_INFINITY }
  const from = Math.max(0, Math.min(col - 1 - SHOWN_COLUMNS / 2, count - SHOWN_COLUMNS))
  let shown = ''
  let i = 0
  for (const c of text) {
    if (i >= from + SHOWN_COLUMNS) break
    if (i++ >= from) shown += c
  }
  const head = from > 0 ? '...' : ''
  const tail = from + SHOWN_COLUMNS < count ? '...' : ''
  const at = col - from + head.length
  return { text: `${head}${shown}${tail}`, col: at, room: head.length + SHOWN_COLUMNS - at + 1 }
}

/**
 * The source line(s) of a span with carets under it. Leading tabs of the line are kept in the
 * caret line so that the carets stay aligned in a terminal. A long line is cut around the span.
 */
export function highlight(s: Span): string {
  const pad = (text: string, col: number): string =>
    [...text]
      .slice(0, col - 1)
      .map(c => (c === '\t' ? '\t' : ' '))
      .join('')
  const first = clip(s.file.line(s.start.line), s.start.col)
  if (s.start.line === s.end.line) {
    const width = Math.min(Math.max(1, s.end.col - s.start.col), first.room)
    return `${first.text}\n${pad(first.text, first.col)}${'^'.repeat(Math.max(1, width))}`
  }
  const last = clip(s.file.line(s.end.line), Math.max(1, s.end.col - 1))
  return `${first.text}\n${pad(first.text, first.col)}^ from here ...\n${last.text}\n${pad(last.text, last.col)}^ ... to here`
}
