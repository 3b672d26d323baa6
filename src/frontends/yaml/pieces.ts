/**
 * A graph file parsed list item by list item, so that a reload re-parses only the items whose text
 * changed: a one-resource edit of a 10,000-resource file parses one item, not 1.2 MB.
 *
 * A cheap scan of the lines cuts the text into *pieces*, each a list item of a block sequence: a
 * line `- ...` at some indentation k and the lines after it that are indented deeper (blank lines
 * and comment lines go along). Consecutive pieces at one indentation form a *run*. What is left,
 * the *skeleton* (`graph:`, `resources:`, the kinds, ...), has each run replaced by one line
 * `- <token>` at the run's indentation.
 *
 * The result is used only when it provably equals a parse of the whole text; otherwise the caller
 * parses the whole text, which also gives its errors with their lines. It is used when:
 * - each piece parses on its own (js-yaml, the same schema) into a list of exactly one item: an
 *   item cannot then reach into the next piece (an unclosed quote or bracket fails alone), and a
 *   line at indentation ≤ k ends an item in YAML (block scalars, plain scalars and nested
 *   collections of an item are indented deeper);
 * - the skeleton parses, and each run's token is found exactly once, as the only item of a list:
 *   the run is then a block sequence where the whole text has it (a run inside a block scalar or a
 *   quoted string of the skeleton leaves its token inside a string);
 * - no alias in the skeleton (an item could redefine its anchor), no directive (`%TAG` would
 *   change how items read their tags), no carriage return, tab-indented line or byte-order mark.
 * An alias in an item of an anchor elsewhere fails in the item alone. The pieces share no node, so
 * their costs (limits.ts) add up to the whole document's.
 *
 * A reload compares the new text with the previous one: a piece that lies wholly in their common
 * beginning or common end has the text of a piece parsed before, whose item is reused as it is
 * (the very same object, so that later stages can recognise it).
 */
import jsyaml from 'js-yaml'
import { type Cost, costProblem, MAX_DEPTH, measure } from './limits.js'

/** What one list item's text parsed into. */
interface Piece {
  readonly item: unknown
  readonly cost: Cost
}

/** The pieces of the text parsed last, for the next parse to reuse. */
export class YamlPieces {
  /** A parse went through here: the next one goes piece by piece. */
  seen = false
  text = ''
  /** In text order, each with its start and end in `text`; up to the first that did not parse. */
  pieces: Piece[] = []
  bounds: number[] = []
  /** Statistics of the last parse, for tests and the bench. */
  last = { pieces: 0, parsed: 0 }
}

/** A run of pieces at one indentation, and the lines of the skeleton before it. */
interface Cut {
  /** Piece boundaries in text order: [start, end] pairs. */
  readonly pieces: number[]
  /** Each run: its indentation and its first and last piece (indices into `pieces`/2). */
  readonly runs: { indent: number; first: number; last: number }[]
  /** The skeleton's text, a token line for each run. */
  readonly skeleton: string
}

/**
 * Placeholders no graph file has: this process's nonce, then the run's number. It need not be
 * unguessable (a skeleton that holds one anyway is read whole: `stray` in assemble), so it is not
 * worth loading node:crypto at every start (2.5 ms).
 */
export const TOKEN = `mgmt-run-${process.pid.toString(36)}-${Math.random().toString(36).slice(2, 12)}-`

const SPACE = 32
const NL = 10
const HASH = 35
const DASH = 45
const TAB = 9
const PERCENT = 37

/** Cuts `text` into pieces and skeleton, or undefined when it has something the fast path avoids. */
function cut(text: string): Cut | undefined {
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

/** Where the common beginning of `a` and `b` ends. */
function commonPrefix(a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  const CHUNK = 4096
  let i = 0
  while (i + CHUNK <= n && a.slice(i, i + CHUNK) === b.slice(i, i + CHUNK)) i += CHUNK
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++
  return i
}

/** The length of the common end of `a` and `b`, at most `max`. */
function commonSuffix(a: string, b: string, max: number): number {
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

/** The item a piece's text parses into alone, or undefined when it does not parse into one item. */
function parsePiece(text: string): Piece | undefined {
  let list: unknown
  try {
    list = jsyaml.load(text, { schema: jsyaml.CORE_SCHEMA })
  } catch {
    return undefined
  }
  if (!Array.isArray(list) || list.length !== 1) return undefined
  const item = list[0]
  return { item, cost: measure(item) }
}

/**
 * The document `text` parses into, put together from its pieces (those unchanged since the last
 * call taken from `state`), or undefined when that cannot be shown to equal a parse of the whole
 * text, or the document is too costly (the whole parse then says so). Updates `state`.
 */
export function parseByPieces(text: string, state: YamlPieces): unknown {
  const c = cut(text)
  if (!c) return undefined
  const old = state.text
  const prefix = commonPrefix(old, text)
  const suffix = commonSuffix(old, text, Math.min(old.length, text.length) - prefix)
  const delta = text.length - old.length
  const tail = text.length - suffix
  const oldBounds = state.bounds
  const pieces: Piece[] = []
  let ok = true
  let parsed = 0
  let at = 0
  for (let p = 0; p < c.pieces.length; p += 2) {
    const start = c.pieces[p]!
    const end = c.pieces[p + 1]!
    // The same text before: a piece of the old text at this place, of this length.
    let piece: Piece | undefined
    const was = end <= prefix ? start : start >= tail ? start - delta : -1
    if (was >= 0) {
      while (at < oldBounds.length && oldBounds[at]! < was) at += 2
      if (oldBounds[at] === was && oldBounds[at + 1]! - was === end - start) piece = state.pieces[at / 2]
    }
    if (!piece) {
      parsed++
      piece = parsePiece(text.slice(start, end))
      if (!piece) {
        // Parsed whole by the caller; the pieces after this one are parsed another time.
        ok = false
        break
      }
    }
    pieces.push(piece)
  }
  state.text = text
  state.pieces = pieces
  state.bounds = ok ? c.pieces : c.pieces.slice(0, pieces.length * 2)
  state.last = { pieces: c.pieces.length / 2, parsed }
  if (!ok) return undefined
  return assemble(c, pieces)
}

/**
 * Records the pieces of `text` with the items of `root`, the parse of the whole text, for the next
 * parse to reuse, without parsing each piece alone: a first load parses once, and the first edit
 * after it parses one item. Only where an item reads the same alone as in the whole text: no `&`
 * anywhere (without an anchor there is no alias, which could name another piece's anchor), and
 * each run's list in `root` has exactly one item per piece (a quoted string reaching into the next
 * piece would merge two). Returns the document put together from the pieces, its costs checked
 * (limits.ts, as a later parse sums them: the whole document's check is not needed), or undefined
 * when nothing was recorded (the next parse then reads each piece alone).
 */
export function primePieces(text: string, root: unknown, state: YamlPieces): unknown {
  state.seen = true
  if (text.includes('&')) return undefined
  const c = cut(text)
  if (!c) return undefined
  const skeleton = parseSkeleton(c)
  if (skeleton === undefined) return undefined
  // Where each run's token is in the skeleton: the same place holds the run's list in `root`.
  const lists = new Array<unknown[] | undefined>(c.runs.length)
  const walk = (skel: unknown, whole: unknown): boolean => {
    if (skel === null || typeof skel !== 'object') return typeof skel !== 'string' || !skel.startsWith(TOKEN)
    if (whole === null || typeof whole !== 'object') return false
    if (Array.isArray(skel)) {
      const run = skel.length === 1 && typeof skel[0] === 'string' ? runOf(skel[0]) : -1
      if (run >= 0) {
        if (lists[run] || !Array.isArray(whole)) return false
        lists[run] = whole
        return true
      }
      return Array.isArray(whole) && skel.length === whole.length && skel.every((x, i) => walk(x, whole[i]))
    }
    const w = whole as Record<string, unknown>
    return Object.entries(skel).every(([k, x]) => !k.startsWith(TOKEN) && k in w && walk(x, w[k]))
  }
  if (!walk(skeleton, root)) return undefined
  const pieces: Piece[] = []
  for (const [run, r] of c.runs.entries()) {
    const list = lists[run]
    if (!list || list.length !== r.last - r.first + 1) return undefined
    for (const item of list) pieces.push({ item, cost: measure(item) })
  }
  // The walk above only read the skeleton's parse: assemble fills it in.
  const assembled = assemble(c, pieces, skeleton)
  if (assembled === undefined) return undefined
  state.text = text
  state.pieces = pieces
  state.bounds = c.pieces
  state.last = { pieces: pieces.length, parsed: 0 }
  return assembled
}

/** The skeleton's parse, or undefined when it does not parse. */
function parseSkeleton(c: Cut): unknown {
  try {
    return jsyaml.load(c.skeleton, { schema: jsyaml.CORE_SCHEMA })
  } catch {
    return undefined
  }
}

/**
 * The skeleton's document (`root`, its parse, which this fills in) with each run's token replaced
 * by the run's items.
 */
function assemble(c: Cut, pieces: readonly Piece[], root: unknown = parseSkeleton(c)): unknown {
  if (root === undefined) return undefined
  const found = new Array<number>(c.runs.length).fill(-1)
  let total = 0
  let distinct = 0
  let deepest = 0
  let stray = false
  /** Measures the skeleton's part (limits.ts, apart from the runs) and puts the runs in. */
  const walk = (v: unknown, depth: number): void => {
    if (typeof v === 'string' && v.startsWith(TOKEN)) stray = true
    if (v === null || typeof v !== 'object') {
      total++
      return
    }
    total++
    distinct++
    deepest = Math.max(deepest, depth)
    if (depth > MAX_DEPTH) return
    if (!Array.isArray(v) && Object.keys(v).some(key => key.startsWith(TOKEN))) stray = true
    const run = Array.isArray(v) && v.length === 1 && typeof v[0] === 'string' ? runOf(v[0]) : -1
    if (run < 0 || found[run]! >= 0) {
      for (const x of Array.isArray(v) ? v : Object.values(v)) walk(x, depth + 1)
      return
    }
    // A run's token, the only item of its list: the run's items instead.
    found[run] = depth
    const r = c.runs[run]!
    const list = v as unknown[]
    list.length = 0
    for (let i = r.first; i <= r.last; i++) {
      list.push(pieces[i]!.item)
      const cost = pieces[i]!.cost
      total += cost.total
      distinct += cost.distinct
      if (cost.distinct) deepest = Math.max(deepest, depth + 1 + cost.deepest)
    }
  }
  walk(root, 0)
  if (stray || found.some(d => d < 0)) return undefined
  if (costProblem({ total, distinct, deepest })) return undefined
  return root
}

/** The run a token names, or -1 for any other string. */
function runOf(s: string): number {
  if (!s.startsWith(TOKEN)) return -1
  const digits = s.slice(TOKEN.length)
  return /^(0|[1-9]\d*)$/.test(digits) ? Number(digits) : -1
}
