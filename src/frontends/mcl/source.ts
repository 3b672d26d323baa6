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

/**
 * The source line(s) of a span with carets under it. Leading tabs of the line are kept in the
 * caret line so that the carets stay aligned in a terminal.
 */
export function highlight(s: Span): string {
  const first = s.file.line(s.start.line)
  const pad = (text: string, col: number): string =>
    [...text]
      .slice(0, col - 1)
      .map(c => (c === '\t' ? '\t' : ' '))
      .join('')
  if (s.start.line === s.end.line) {
    const width = Math.max(1, s.end.col - s.start.col)
    return `${first}\n${pad(first, s.start.col)}${'^'.repeat(width)}`
  }
  const last = s.file.line(s.end.line)
  return `${first}\n${pad(first, s.start.col)}^ from here ...\n${last}\n${pad(last, Math.max(1, s.end.col - 1))}^ ... to here`
}
