/**
 * Autogrouping: resources of one groupable kind (noop, print, later pkg) merge into one vertex
 * when neither depends on the other, directly or not, so merging cannot create a cycle. The
 * vertex takes the edges of everything grouped into it. Resources that send or receive values
 * keep their own vertex.
 *
 * One pass in topological order, layer by layer (each layer sorted, so the result is
 * deterministic), near-linear in the size of the graph. Every vertex gets a rank: a new group or
 * an ungrouped vertex takes the next rank, and a member takes its group's. A vertex may join a
 * group only when the group's rank is above the rank of each of its predecessors. Ranks then
 * strictly increase along every edge of the merged graph, so it has no cycle, and no two members
 * of a group can reach each other. Of the groups a vertex may join, the oldest is tried first
 * (then a few more, for kinds whose `groupCmp` refuses some pairs).
 *
 * Parts (a kind's `partOf`: an `http:server:file` of its `http:server`) are grouped into their
 * parent first, always: they have no life of their own. A part may receive values (the pairs of
 * its incoming edges move to the parent's vertex, addressed to the part); it may not send any.
 */
import type { Issue } from '../../util/errors.js'
import type { Res, ResEdge, ResGraph } from '../compiled.js'
import { repr } from '../resource.js'
import type { Origin } from '../spec.js'

/** Groups every part into its parent; returns what prevents it, located by `origin(id)`. */
export function groupParts(graph: ResGraph, origin: (id: string) => Origin): Issue[] {
  const parts: [Res, { kind: string; name?: string | undefined }][] = []
  for (const r of graph.values()) {
    const of = r.def.partOf?.(r.params, r.name)
    if (of) parts.push([r, of])
  }
  if (!parts.length) return []
  const byKind = new Map<string, string[]>()
  for (const r of graph.values()) {
    const ids = byKind.get(r.kind)
    if (ids) ids.push(r.id)
    else byKind.set(r.kind, [r.id])
  }
  const issues: Issue[] = []
  for (const [child, of] of parts.sort(([a], [b]) => (a.id < b.id ? -1 : 1))) {
    const problem = (message: string): void => {
      issues.push({ path: origin(child.id), message: `${child.id}: ${message}` })
    }
    const found = of.name === undefined ? (byKind.get(of.kind) ?? []) : [repr(of.kind, of.name)]
    const id = found.length === 1 ? found[0] : undefined
    const parent = id === undefined ? undefined : graph.vertex(id)
    if (!parent) {
      problem(
        of.name !== undefined || found.length === 0
          ? `it is part of ${of.name === undefined ? `a ${of.kind}` : repr(of.kind, of.name)}, which the graph does not have`
          : `the graph has ${found.length} ${of.kind} resources (${found.join(', ')}): name the one it is part of`,
      )
      continue
    }
    if ([...graph.outgoing(child.id).values()].some(e => e.sendRecv.length))
      problem(`it is part of ${parent.id} and cannot send values`)
    else if (graph.reaches(parent.id, child.id) || graph.reaches(child.id, parent.id))
      problem(`it is part of ${parent.id}, so no path of edges may join the two`)
    else merge(graph, parent, [child])
  }
  return issues
}

/** How many open groups of a kind a vertex tries before it starts its own. */
const TRIES = 16

interface Group {
  readonly parent: Res
  readonly rank: number
  readonly members: Res[]
}

export function autoGroup(graph: ResGraph): number {
  if (!mayGroup(graph)) return 0
  const rank = new Map<string, number>()
  const open = new Map<string, Group[]>()
  const groups: Group[] = []
  let next = 0
  for (const id of layeredOrder(graph)) {
    const r = graph.vertex(id)!
    let above = 0
    for (const from of graph.incoming(id).keys()) above = Math.max(above, rank.get(from) ?? 0)
    if (!candidate(graph, r)) {
      rank.set(id, ++next)
      continue
    }
    const list = open.get(r.kind) ?? []
    const g = join(list, r, above)
    if (g) {
      g.members.push(r)
      rank.set(id, g.rank)
      continue
    }
    const fresh: Group = { parent: r, rank: ++next, members: [] }
    list.push(fresh)
    open.set(r.kind, list)
    groups.push(fresh)
    rank.set(id, fresh.rank)
  }
  let merged = 0
  for (const g of groups)
    if (g.members.length) {
      merge(graph, g.parent, g.members)
      merged += g.members.length
    }
  return merged
}

/**
 * Whether some kind has two vertices that may group, by the checks that need no edge: without such
 * a pair no group can form, and the pass (a sort of the whole graph) is skipped. A graph of files
 * has none.
 */
function mayGroup(graph: ResGraph): boolean {
  const seen = new Set<string>()
  for (const r of graph.values()) {
    if (!groupableAlone(r)) continue
    if (seen.has(r.kind)) return true
    seen.add(r.kind)
  }
  return false
}

/** The oldest group of `list` (sorted by rank) that `r` may join, trying at most TRIES. */
function join(list: readonly Group[], r: Res, above: number): Group | undefined {
  // The first group ranked above every predecessor: a binary search, ranks grow along the list.
  let lo = 0
  let hi = list.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (list[mid]!.rank > above) hi = mid
    else lo = mid + 1
  }
  for (let i = lo; i < list.length && i < lo + TRIES; i++) {
    const p = list[i]!.parent
    if (!p.def.groupCmp || p.def.groupCmp(p.params, r.params)) return list[i]
  }
  return undefined
}

/** What makes `r` groupable by itself, without looking at its edges: its kind and its meta. */
const groupableAlone = (r: Res): boolean =>
  r.def.traits?.groupable === true && r.meta.autogroup && !r.meta.hidden && !r.group?.length

/** May `r` join a group at all? (A kind whose groupCmp refuses a resource with itself: never.) */
function candidate(graph: ResGraph, r: Res): boolean {
  if (!groupableAlone(r) || carriesValues(graph, r.id)) return false
  return !r.def.groupCmp || r.def.groupCmp(r.params, r.params)
}

/** Kahn's topological order, one layer at a time, each layer sorted by id. */
function layeredOrder(graph: ResGraph): string[] {
  const indeg = new Map<string, number>()
  let layer: string[] = []
  for (const id of graph.ids()) {
    const d = graph.incoming(id).size
    indeg.set(id, d)
    if (d === 0) layer.push(id)
  }
  const out: string[] = []
  while (layer.length) {
    layer.sort()
    out.push(...layer)
    const nextLayer: string[] = []
    for (const id of layer)
      for (const to of graph.outgoing(id).keys()) {
        const d = indeg.get(to)! - 1
        indeg.set(to, d)
        if (d === 0) nextLayer.push(to)
      }
    layer = nextLayer
  }
  return out
}

function carriesValues(graph: ResGraph, id: string): boolean {
  for (const e of graph.incoming(id).values()) if (e.sendRecv.length) return true
  for (const e of graph.outgoing(id).values()) if (e.sendRecv.length) return true
  return false
}

const union = (a: ResEdge, b: ResEdge): ResEdge => ({
  name: a.name,
  notify: a.notify || b.notify,
  sendRecv: [...a.sendRecv, ...b.sendRecv],
})

/** An edge into `member`, moved to its parent: the values it carries are still for `member`. */
const addressed = (e: ResEdge, member: string): ResEdge =>
  e.sendRecv.length ? { ...e, sendRecv: e.sendRecv.map(p => ({ ...p, to: p.to ?? member })) } : e

/** Moves `members` (and what is grouped into them) and their edges into `parent`, in one step. */
function merge(graph: ResGraph, parent: Res, members: readonly Res[]): void {
  const edges: { from: string; to: string; e: ResEdge }[] = []
  const sema = new Set(parent.meta.sema)
  for (const m of members) {
    for (const [from, e] of graph.incoming(m.id)) edges.push({ from, to: parent.id, e: addressed(e, m.id) })
    for (const [to, e] of graph.outgoing(m.id)) edges.push({ from: parent.id, to, e })
    for (const s of m.meta.sema) sema.add(s)
    graph.removeVertex(m.id)
  }
  const group = [...(parent.group ?? []), ...members.flatMap(m => [m, ...(m.group ?? [])])]
  graph.addVertex(parent.id, { ...parent, meta: { ...parent.meta, sema: [...sema] }, group })
  for (const { from, to, e } of edges) graph.addEdge(from, to, e, union)
}
