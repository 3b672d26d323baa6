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
 *   change how items read their tags), no carriage return, tab-indented line or byte-order mark;
 * - no item that starts with a list of its own (`- - x`): js-yaml reads the items after `- -`
 *   into that list.
 * An alias in an item of an anchor elsewhere fails in the item alone. The pieces share no node, so
 * their costs (limits.ts) add up to the whole document's.
 *
 * A reload compares the new text with the previous one: a piece that lies wholly in their common
 * beginning or common end has the text of a piece parsed before, whose item is reused as it is
 * (the very same object, so that later stages can recognise it).
 *
 * An edit inside the items of one run that keeps their number (a resource's params changed, the
 * common live edit) costs work in proportion to the edit, not to the file: the pieces' places are
 * kept in a tree of their spans (starts.ts), the lines are cut again only from the piece before
 * the first change to the first place after the last change where the old cut resumes (the same
 * indentation, at a piece's start or the run's end, with the same text from there on), and the
 * document is the last one with that run's list copied and the edited items replaced; its costs
 * are the last ones with the edited items' own replaced. The other edits cut the whole text.
 */
import jsyaml from 'js-yaml'
import { type Cut, commonPrefix, commonSuffix, cut, DASH, HASH, NL, nestsList, SPACE, TOKEN } from './cut.js'
import { type Cost, costProblem, MAX_DEPTH, mayAlias, measure } from './limits.js'
import { Starts } from './starts.js'

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
  /** In text order; up to the first that did not parse. */
  pieces: Piece[] = []
  /** Each piece's start and end in `text`, when there is no `table` (which has them). */
  bounds: number[] = []
  /** The last text's document put together, and what an edit of its items needs. */
  table: Table | undefined
  /**
   * How the last document differs from the one before, when it was an edit of one run's items:
   * its list (`list`, in place of `from`) and the indexes of the items parsed again.
   */
  edit: { readonly list: unknown[]; readonly from: unknown[]; readonly at: readonly number[] } | undefined
  /**
   * Statistics of the last parse, for tests and the bench: the pieces, those parsed again, and
   * those whose bounds were worked out again (every one unless an edit of items was cut alone).
   */
  last = { pieces: 0, parsed: 0, cut: 0 }
}

/** A run of the last document: its pieces, where its list is, and the text after it. */
interface TableRun {
  readonly indent: number
  readonly first: number
  readonly last: number
  /** From the run's end to the next run's first piece, or to the text's end. */
  readonly gap: number
  /** The keys from the document's root to the run's list. */
  readonly path: readonly (string | number)[]
  /** The depth of the list in the document. */
  readonly depth: number
  list: unknown[]
}

/** A document put together from its pieces, with what an edit of its items needs. */
interface Table {
  root: unknown
  readonly starts: Starts
  readonly runs: readonly TableRun[]
  /** The document's cost (limits.ts): its values and objects, the items' included. */
  total: number
  distinct: number
  /** The deepest object of the skeleton's own. */
  readonly skeletonDeepest: number
  /** How many items (with an object) reach each depth: the list's depth, 1, the item's deepest. */
  readonly depths: Map<number, number>
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
  return { item, cost: measure(item, mayAlias(text)) }
}

/**
 * The document `text` parses into, put together from its pieces (those unchanged since the last
 * call taken from `state`), or undefined when that cannot be shown to equal a parse of the whole
 * text, or the document is too costly (the whole parse then says so). Updates `state`.
 */
export function parseByPieces(text: string, state: YamlPieces): unknown {
  const edited = state.table && editPieces(text, state, state.table)
  if (edited !== undefined) return edited
  state.edit = undefined
  const c = cut(text)
  if (!c) return undefined
  const old = state.text
  const prefix = commonPrefix(old, text)
  const suffix = commonSuffix(old, text, Math.min(old.length, text.length) - prefix)
  const delta = text.length - old.length
  const tail = text.length - suffix
  const oldBounds = state.table ? boundsOf(state.table) : state.bounds
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
  state.table = undefined
  state.last = { pieces: c.pieces.length / 2, parsed, cut: c.pieces.length / 2 }
  if (!ok) return undefined
  return keep(text, state, c, assemble(c, pieces))
}

/** Keeps the document put together from the pieces of `text` for an edit of its items; returns its root. */
function keep(text: string, state: YamlPieces, c: Cut, a: Assembled | undefined): unknown {
  if (!a) return undefined
  const starts = new Starts(
    c.pieces.filter((_, i) => i % 2 === 0),
    text.length,
  )
  const runs = c.runs.map((r, i) => {
    const next = c.runs[i + 1]
    const end = c.pieces[2 * r.last + 1]!
    return { ...r, ...a.runs[i]!, gap: (next ? c.pieces[2 * next.first]! : text.length) - end }
  })
  const { root, total, distinct, skeletonDeepest, depths } = a
  state.table = { root, starts, runs, total, distinct, skeletonDeepest, depths }
  state.bounds = []
  return root
}

/** The start and end of each piece of a table. */
function boundsOf(t: Table): number[] {
  const starts = t.starts.all()
  const out: number[] = []
  let run = 0
  for (let i = 0; i + 1 < starts.length; i++) {
    while (t.runs[run]!.last < i) run++
    const r = t.runs[run]!
    out.push(starts[i]!, starts[i + 1]! - (i === r.last ? r.gap : 0))
  }
  return out
}

/** The part of the text that differs from the last one: from `prefix` to `tail` (where the common end starts). */
interface Change {
  readonly old: string
  readonly prefix: number
  readonly tail: number
  /** How much longer the text is. */
  readonly delta: number
}

/**
 * An edit inside the items of one run of `t`, their number kept: the document of `text`, worked
 * out from the edited pieces alone (see the top); undefined when `text` is not such an edit.
 * Updates `state` (and `t`) only when it gives the document.
 */
function editPieces(text: string, state: YamlPieces, t: Table): unknown {
  const old = state.text
  const prefix = commonPrefix(old, text)
  if (prefix === old.length && prefix === text.length) {
    state.edit = undefined
    state.last = { pieces: state.pieces.length, parsed: 0, cut: 0 }
    return t.root
  }
  const suffix = commonSuffix(old, text, Math.min(old.length, text.length) - prefix)
  const ch: Change = { old, prefix, tail: text.length - suffix, delta: text.length - old.length }
  const cr = text.indexOf('\r', prefix)
  if (cr >= 0 && cr < ch.tail) return undefined
  // The piece the change starts in: the cut starts again there, or at the one before it in its run.
  const i = t.starts.find(prefix)
  const r = t.runs.find(x => x.first <= i && i <= x.last)
  if (!r || prefix >= t.starts.start(i + 1) - (i === r.last ? r.gap : 0)) return undefined
  const recut = recutRun(text, ch, t, r, i)
  const edit = recut && reparse(text, ch, state, t, r, recut)
  if (!edit) return undefined
  // Everything checked: the table becomes the new text's.
  const { bounds, first } = recut!
  const count = bounds.length / 2
  const next = (p: number): number =>
    p + 1 < count ? bounds[2 * p + 2]! : t.starts.start(first + count) + ch.delta
  const grows = edit.pieces.map(
    (_, p) => next(p) - bounds[2 * p]! - (t.starts.start(first + p + 1) - t.starts.start(first + p)),
  )
  for (const [p, d] of grows.entries()) t.starts.grow(first + p, d)
  const list = r.list.slice()
  for (const idx of edit.at) {
    state.pieces[idx] = edit.pieces[idx - first]!
    list[idx - r.first] = edit.pieces[idx - first]!.item
  }
  state.edit = { list, from: r.list, at: edit.at.map(idx => idx - r.first) }
  r.list = list
  t.root = withList(t.root, r.path, list)
  t.total = edit.total
  t.distinct = edit.distinct
  t.depths.clear()
  for (const [d, n] of edit.depths) t.depths.set(d, n)
  state.text = text
  state.last = { pieces: state.pieces.length, parsed: edit.at.length, cut: count }
  return t.root
}

/**
 * The pieces cut again (`recut`), each the very same as before when its text is, else parsed
 * (their indexes in `at`), and the document's costs with them; undefined when one does not parse
 * alone or the document is too costly (the whole parse then says so).
 */
function reparse(
  text: string,
  ch: Change,
  state: YamlPieces,
  t: Table,
  r: TableRun,
  recut: { bounds: number[]; first: number },
):
  | { pieces: Piece[]; at: number[]; total: number; distinct: number; depths: Map<number, number> }
  | undefined {
  const { bounds, first } = recut
  const pieces: Piece[] = []
  const at: number[] = []
  let { total, distinct } = t
  const depths = new Map(t.depths)
  /** Counts (d = 1) or uncounts (-1) an item's depth (limits.ts), as assemble does. */
  const tally = (c: Cost, d: number): void => {
    if (!c.distinct) return
    const depth = r.depth + 1 + c.deepest
    const n = (depths.get(depth) ?? 0) + d
    if (n) depths.set(depth, n)
    else depths.delete(depth)
  }
  for (let p = 0; p < bounds.length / 2; p++) {
    const start = bounds[2 * p]!
    const end = bounds[2 * p + 1]!
    const was = state.pieces[first + p]!
    const wasStart = t.starts.start(first + p)
    const wasEnd = t.starts.start(first + p + 1) - (first + p === r.last ? r.gap : 0)
    if (end - start === wasEnd - wasStart && text.slice(start, end) === ch.old.slice(wasStart, wasEnd)) {
      pieces.push(was)
      continue
    }
    const piece = parsePiece(text.slice(start, end))
    if (!piece) return undefined
    pieces.push(piece)
    at.push(first + p)
    total += piece.cost.total - was.cost.total
    distinct += piece.cost.distinct - was.cost.distinct
    tally(was.cost, -1)
    tally(piece.cost, 1)
  }
  if (costProblem({ total, distinct, deepest: Math.max(t.skeletonDeepest, ...depths.keys()) }))
    return undefined
  return { pieces, at, total, distinct, depths }
}

/**
 * The pieces of run `r` cut again in `text`, from piece `i - 1` (the text before piece `i` is the
 * old one, so the cut's state there is too) up to the first line where the old cut resumes: a
 * line at or after the change's end that is, in the old text, the start of a piece of the run
 * after those or the run's end. Undefined when the run would end elsewhere (its items are not all
 * items any more, or a line is one the fast path avoids). From the run's first piece when `i` is
 * that one and skeleton lines come before it (the cut is outside any run there): its first line
 * must then start the run as before.
 */
function recutRun(
  text: string,
  ch: Change,
  t: Table,
  r: TableRun,
  i: number,
): { bounds: number[]; first: number } | undefined {
  const k = r.indent
  const runEnd = t.starts.start(r.last + 1) - r.gap
  const n = text.length
  const bounds: number[] = []
  const first = i > r.first ? i - 1 : i
  if (first === r.first) {
    const before = t.runs[t.runs.indexOf(r) - 1]
    if (before && before.gap === 0) return undefined
  }
  /** Where the current piece starts; -1 before the run's first line. */
  let start = first < i ? t.starts.start(first) : -1
  let pos = t.starts.start(i)
  for (;;) {
    if (pos >= ch.tail && start >= 0) {
      // From here the text is the old one from `was` on: the old cut resumes if a piece of the
      // run (after those cut again) or the run's end was there.
      const was = pos - ch.delta
      const j = t.starts.find(was)
      if (was === runEnd || (j > first && j <= r.last && t.starts.start(j) === was)) {
        bounds.push(start, pos)
        return bounds.length / 2 === (was === runEnd ? r.last + 1 : j) - first ? { bounds, first } : undefined
      }
    }
    if (pos >= n) return undefined
    let eol = text.indexOf('\n', pos)
    eol = eol < 0 ? n : eol + 1
    let c = pos
    while (text.charCodeAt(c) === SPACE) c++
    const code = c < n ? text.charCodeAt(c) : NL
    if (start < 0 || (code !== NL && code !== HASH && c - pos <= k)) {
      // Not deeper than the run (or its first line): it must be the start of one of its items.
      const next = text.charCodeAt(c + 1)
      const dash = code === DASH && (c + 1 >= n || next === SPACE || next === NL)
      if (!dash || c - pos !== k || nestsList(text, c)) return undefined
      if (start >= 0) bounds.push(start, pos)
      start = pos
    }
    pos = eol
  }
}

/** `root` with the value at `path` replaced by `list`: the containers on the way copied, the rest shared. */
function withList(root: unknown, path: readonly (string | number)[], list: unknown[], d = 0): unknown {
  if (d === path.length) return list
  const node = root as Record<string | number, unknown>
  const copy = (Array.isArray(root) ? root.slice() : { ...node }) as Record<string | number, unknown>
  const key = path[d]!
  Object.defineProperty(copy, key, {
    value: withList(node[key], path, list, d + 1),
    writable: true,
    enumerable: true,
    configurable: true,
  })
  return copy
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
    // Without an anchor (above) nothing is shared.
    for (const item of list) pieces.push({ item, cost: measure(item, false) })
  }
  // The walk above only read the skeleton's parse: assemble fills it in.
  const assembled = assemble(c, pieces, skeleton)
  if (assembled === undefined) return undefined
  state.text = text
  state.pieces = pieces
  state.edit = undefined
  state.last = { pieces: pieces.length, parsed: 0, cut: pieces.length }
  return keep(text, state, c, assembled)
}

/** The skeleton's parse, or undefined when it does not parse. */
function parseSkeleton(c: Cut): unknown {
  try {
    return jsyaml.load(c.skeleton, { schema: jsyaml.CORE_SCHEMA })
  } catch {
    return undefined
  }
}

/** A document put together: its root, where each run's list is, and its costs (limits.ts). */
interface Assembled {
  readonly root: unknown
  readonly runs: readonly { path: (string | number)[]; depth: number; list: unknown[] }[]
  readonly total: number
  readonly distinct: number
  readonly skeletonDeepest: number
  readonly depths: Map<number, number>
}

/**
 * The skeleton's document (`root`, its parse, which this fills in) with each run's token replaced
 * by the run's items; undefined when a token is not where a run's list goes, or the document is
 * too costly.
 */
function assemble(c: Cut, pieces: readonly Piece[], root: unknown = parseSkeleton(c)): Assembled | undefined {
  if (root === undefined) return undefined
  const runs = new Array<{ path: (string | number)[]; depth: number; list: unknown[] }>(c.runs.length)
  let total = 0
  let distinct = 0
  let deepest = 0
  const depths = new Map<number, number>()
  let stray = false
  const path: (string | number)[] = []
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
    if (run < 0 || runs[run]) {
      for (const [key, x] of Array.isArray(v) ? v.entries() : Object.entries(v)) {
        path.push(key)
        walk(x, depth + 1)
        path.pop()
      }
      return
    }
    // A run's token, the only item of its list: the run's items instead.
    const r = c.runs[run]!
    const list = v as unknown[]
    runs[run] = { path: [...path], depth, list }
    list.length = 0
    for (let i = r.first; i <= r.last; i++) {
      list.push(pieces[i]!.item)
      const cost = pieces[i]!.cost
      total += cost.total
      distinct += cost.distinct
      if (cost.distinct) depths.set(depth + 1 + cost.deepest, (depths.get(depth + 1 + cost.deepest) ?? 0) + 1)
    }
  }
  walk(root, 0)
  if (stray) return undefined
  for (let i = 0; i < runs.length; i++) if (!runs[i]) return undefined
  if (costProblem({ total, distinct, deepest: Math.max(deepest, ...depths.keys()) })) return undefined
  return { root, runs, total, distinct, skeletonDeepest: deepest, depths }
}

/** The run a token names, or -1 for any other string. */
function runOf(s: string): number {
  if (!s.startsWith(TOKEN)) return -1
  const digits = s.slice(TOKEN.length)
  return /^(0|[1-9]\d*)$/.test(digits) ? Number(digits) : -1
}
