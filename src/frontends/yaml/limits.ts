/**
 * Bounds on what a YAML document may cost, checked right after parsing, before anything walks it.
 *
 * YAML aliases share one node in the parsed data, so a kilobyte of nested aliases (a "billion
 * laughs") parses at once into a tiny structure that stands for billions of values: anything that
 * then walks it in full (a type check, a copy, a JSON encoding) runs for minutes and takes
 * gigabytes. Its expanded size is measured here in one pass over the distinct nodes, and a
 * document that expands far beyond its own size is refused, as is one that nests absurdly deep.
 *
 * The measure adds up: parts that share no node (the list items of a graph file parsed one by one,
 * see pieces.ts) are measured apart and summed, with the same verdict as the whole.
 */

/** Expanded values allowed: this many, plus `AMPLIFICATION` times the distinct nodes. */
const BASE = 1_000_000
const AMPLIFICATION = 50
/** Nesting deeper than this is refused (the original's graphs nest a handful of levels). */
export const MAX_DEPTH = 1000

/** What a parsed value costs to walk. */
export interface Cost {
  /** Values once every alias is expanded. */
  readonly total: number
  /** Distinct objects and arrays. */
  readonly distinct: number
  /** The deepest level at which an object or array is first met, the value itself at 0. */
  readonly deepest: number
}

/**
 * Measures `v` (its nodes are not shared with anything measured apart). `aliases`: the text it was
 * parsed from may share nodes (`mayAlias`); when it cannot, every node is met once and the walk
 * keeps no record of the nodes it met.
 */
export function measure(v: unknown, aliases = true): Cost {
  const sizes = aliases ? new Map<object, number>() : undefined
  let distinct = 0
  let deepest = 0
  const size = (v: unknown, depth: number): number => {
    if (v === null || typeof v !== 'object') return 1
    const known = sizes?.get(v)
    if (known !== undefined) return known
    if (depth > deepest) deepest = depth
    // Deeper than this is refused whatever the rest: no need to go further down (nor to overflow
    // the stack doing so).
    if (depth > MAX_DEPTH) return 1
    distinct++
    sizes?.set(v, Number.POSITIVE_INFINITY) // in progress: an alias of an ancestor never ends
    let n = 1
    for (const x of Array.isArray(v) ? v : Object.values(v)) n += size(x, depth + 1)
    sizes?.set(v, n)
    return n
  }
  return { total: size(v, 0), distinct, deepest }
}

/** Why a document of this cost is too costly to use, or undefined when it is fine. */
export function costProblem({ total, distinct, deepest }: Cost): string | undefined {
  if (deepest > MAX_DEPTH) return `it nests more than ${MAX_DEPTH} levels deep`
  const limit = BASE + AMPLIFICATION * distinct
  if (total > limit)
    return (
      `its aliases expand it to ${Number.isFinite(total) ? `about ${total.toExponential(1)}` : 'infinitely many'} ` +
      `values, more than the ${limit.toLocaleString('en')} allowed for its ${distinct.toLocaleString('en')} ` +
      'distinct nodes (an alias bomb?)'
    )
  return undefined
}

/** Why the parsed document is too costly to use, or undefined when it is fine. */
export function tooCostly(root: unknown, text: string): string | undefined {
  return costProblem(measure(root, mayAlias(text)))
}

/** Whether a YAML text can share nodes: only an alias (`*name`) of an anchor (`&name`) does. */
export const mayAlias = (text: string): boolean => text.includes('&') && text.includes('*')
