/**
 * A compile as a patch of the one before: when a spec differs from the last one compiled through
 * the same cache only by some resources' params (the same kind and name at the same place), and
 * nothing that shapes the graph depends on those params, the new graph is the last one with those
 * vertices' values replaced: no edges resolved again, no automatic edges, no sort, no grouping.
 * A live edit of one file's content in a 10,000-resource graph replaces one value of the graph.
 *
 * The patch is taken only when it gives exactly what a full compile gives. A changed resource must
 * compile without a problem, be a plain vertex of the last graph (declared once, not exported,
 * neither grouped nor a part, of a kind that neither groups nor provides names), and keep
 * everything the graph's shape is computed from: its id, its `uids` and automatic-edge needs, meta
 * `autoedge`. What the graph's other resources provide (a package's files, read from the system)
 * must be what it was. The edges, collects, name and options must be the last ones. Anything else is
 * compiled in full (through the cache, which still spares the unchanged resources).
 */
import { isDeepStrictEqual } from 'node:util'
import type { Issue } from '../util/errors.js'
import type { Compiled, CompileOptions, LastCompile, Res, ResGraph } from './compiled.js'
import { Dag } from './dag.js'
import type { GraphSpec, Origin, ResourceSpec } from './spec.js'

/** More changed resources than this: a full compile. */
const MAX_CHANGED = 256

/**
 * Resource lists known to be another list with only some entries replaced (`resourcesEdited`),
 * so that a patch need not compare them entry by entry.
 */
const edits = new WeakMap<readonly ResourceSpec[], { from: readonly ResourceSpec[]; at: readonly number[] }>()

/**
 * Says that `next` has the very same entries as `from` but at the indexes `at` (ascending): a
 * frontend that read only some resources again (YAML's reload of an edit) says so, and the patch
 * of the next compile looks at those alone. The lists must not change afterwards.
 */
export function resourcesEdited(
  next: readonly ResourceSpec[],
  from: readonly ResourceSpec[],
  at: readonly number[],
): void {
  edits.set(next, { from, at })
}

/**
 * The indexes where `next` differs from `before`, and how many entries were compared; undefined
 * past MAX_CHANGED of them.
 */
function changedResources(
  next: readonly ResourceSpec[],
  before: readonly ResourceSpec[],
): { changed: number[]; compared: number } | undefined {
  const changed: number[] = []
  const edit = edits.get(next)
  if (edit?.from === before) {
    for (const i of edit.at) if (next[i] !== before[i]) changed.push(i)
    return changed.length > MAX_CHANGED ? undefined : { changed, compared: edit.at.length }
  }
  for (let i = 0; i < next.length; i++) {
    if (next[i] === before[i]) continue
    if (changed.length === MAX_CHANGED) return undefined
    changed.push(i)
  }
  return { changed, compared: next.length }
}

export const shapeOptions = (o: CompileOptions): string =>
  `${o.strict}|${o.lenient}|${o.noop}|${o.sema}|${o.noAutoEdges}|${o.noAutoGroup}`

/** One resource compiled, its problems pushed (compile.ts's compileResource). */
export type CompileOne = (r: ResourceSpec, at: Origin, issues: Issue[], warnings: Issue[]) => Res | undefined

/**
 * What a full compile's loop saw, resource by resource, for `recordLast`: the compiled resource
 * (or undefined), whether it became a vertex there, and how many warnings it pushed.
 */
export interface Seen {
  readonly res: (Res | undefined)[]
  readonly vertex: boolean[]
  readonly warningEnds: number[]
}

/** The record of a successful full compile, for the next one to patch. */
export function recordLast(compiled: Compiled, seen: Seen, warnings: readonly Issue[]): LastCompile {
  const count = new Map<string, number>()
  for (const r of seen.res) if (r) count.set(r.id, (count.get(r.id) ?? 0) + 1)
  const graph = compiled.graph
  const plain = seen.res.map((r, i) =>
    r && seen.vertex[i] && count.get(r.id) === 1 && graph.vertex(r.id) === r && unshaped(r) ? r : undefined,
  )
  const per: (Issue[] | undefined)[] = []
  let from = 0
  for (const end of seen.warningEnds) {
    per.push(end > from ? warnings.slice(from, end) : undefined)
    from = end
  }
  const provided: [Res, readonly string[]][] = []
  for (const r of seen.res)
    if (r?.def.provides && r.meta.autoedge) provided.push([r, r.def.provides(r.params, r.name)])
  return {
    compiled,
    options: shapeOptions(compiled.options),
    plain,
    warnings: per,
    after: warnings.slice(from),
    provided,
    compared: seen.res.length,
  }
}

/** A resource whose params decide nothing but its own vertex (no group, part, provided name, export). */
function unshaped(r: Res): boolean {
  return (
    !r.def.traits?.groupable && !r.def.partOf && !r.def.provides && !r.meta.export.length && !r.group?.length
  )
}

/** The new compile as a patch of `last`, or undefined when a full compile is needed. */
export function patchCompile(
  spec: GraphSpec,
  opts: CompileOptions,
  last: LastCompile | undefined,
  compileOne: CompileOne,
): { compiled: Compiled; last: LastCompile } | undefined {
  if (!last) return undefined
  const before = last.compiled.spec
  if (
    spec.name !== before.name ||
    shapeOptions(opts) !== last.options ||
    spec.resources.length !== before.resources.length ||
    spec.edges.length !== before.edges.length ||
    !isDeepStrictEqual(spec.collect ?? [], before.collect ?? [])
  )
    return undefined
  if (spec.edges !== before.edges)
    for (let i = 0; i < spec.edges.length; i++) if (spec.edges[i] !== before.edges[i]) return undefined
  if (!opts.noAutoEdges)
    for (const [r, names] of last.provided)
      if (!isDeepStrictEqual(r.def.provides!(r.params, r.name), names)) return undefined
  const diff = changedResources(spec.resources, before.resources)
  if (!diff || diff.changed.some(i => !last.plain[i])) return undefined
  const { changed, compared } = diff
  const values = new Map<string, Res>()
  const plain = [...last.plain]
  const warnings = [...last.warnings]
  /** A changed resource had warnings, or has: the list of them all is made again. */
  let warned = false
  for (const i of changed) {
    const r = spec.resources[i]!
    const was = last.plain[i]!
    const issues: Issue[] = []
    const own: Issue[] = []
    const res = compileOne(r, r.origin ?? ['resources', i], issues, own)
    if (!res || issues.length || r.exported || res.def !== was.def || !sameShape(was, res, opts))
      return undefined
    values.set(res.id, res)
    plain[i] = res
    if (warnings[i] || own.length) warned = true
    warnings[i] = own.length ? own : undefined
  }
  const graph: ResGraph = values.size ? Dag.withValues(last.compiled.graph, values) : last.compiled.graph
  const compiled: Compiled = {
    ...last.compiled,
    graph,
    warnings: warned ? [...warnings.flatMap(w => w ?? []), ...last.after] : [...last.compiled.warnings],
    collect: spec.collect ?? [],
    spec,
    options: opts,
  }
  return { compiled, last: { ...last, compiled, plain, warnings, compared } }
}

/** Does `b` stand where `a` stood: the same id, uids, needs and plainness? */
function sameShape(a: Res, b: Res, opts: CompileOptions): boolean {
  if (a.id !== b.id || !unshaped(b) || a.meta.autoedge !== b.meta.autoedge) return false
  const def = a.def
  if (def.uids && !isDeepStrictEqual(def.uids(a.params, a.name), def.uids(b.params, b.name))) return false
  if (opts.noAutoEdges || !a.meta.autoedge) return true
  if (!def.autoEdges) return true
  // Read whole: a kind's lists may be lazy (generators), which compare equal unread.
  const needs = (r: Res): string[][] => [...def.autoEdges!(r.params, r.name)].map(list => [...list])
  return isDeepStrictEqual(needs(a), needs(b))
}
