/**
 * Autogrouping: resources of one groupable kind (noop, print, later pkg) merge into one vertex
 * when neither depends on the other, directly or not, so merging cannot create a cycle. The
 * vertex takes the edges of everything grouped into it. Candidates go in sorted order, so the
 * result is deterministic. Resources that send or receive values keep their own vertex.
 *
 * Parts (a kind's `partOf`: an `http:server:file` of its `http:server`) are grouped into their
 * parent first, always: they have no life of their own. A part may receive values (the pairs of
 * its incoming edges move to the parent's vertex, addressed to the part); it may not send any.
 */
import type { Issue } from '../../util/errors.js'
import type { Origin, Res, ResEdge, ResGraph } from '../compiled.js'
import { repr } from '../resource.js'

/** Groups every part into its parent; returns what prevents it, located by `origin(id)`. */
export function groupParts(graph: ResGraph, origin: (id: string) => Origin): Issue[] {
  const parts: [Res, { kind: string; name?: string | undefined }][] = []
  const byKind = new Map<string, string[]>()
  for (const [id, r] of graph.entries()) {
    byKind.set(r.kind, [...(byKind.get(r.kind) ?? []), id])
    const of = r.def.partOf?.(r.params, r.name)
    if (of) parts.push([r, of])
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
    else merge(graph, parent, child)
  }
  return issues
}

export function autoGroup(graph: ResGraph): number {
  const byKind = new Map<string, string[]>()
  for (const [id, r] of graph.entries())
    if (
      r.def.traits?.groupable &&
      r.meta.autogroup &&
      !r.meta.hidden &&
      !r.group?.length &&
      !carriesValues(graph, id)
    )
      byKind.set(r.kind, [...(byKind.get(r.kind) ?? []), id])
  let merged = 0
  for (const ids of byKind.values()) {
    ids.sort()
    const gone = new Set<string>()
    for (const [i, v] of ids.entries()) {
      if (gone.has(v)) continue
      for (const w of ids.slice(i + 1)) {
        if (gone.has(w)) continue
        const parent = graph.vertex(v)!
        const child = graph.vertex(w)!
        if (parent.def.groupCmp && !parent.def.groupCmp(parent.params, child.params)) continue
        if (graph.reaches(v, w) || graph.reaches(w, v)) continue
        merge(graph, parent, child)
        gone.add(w)
        merged++
      }
    }
  }
  return merged
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

/** An edge into `child`, moved to its parent: the values it carries are still for `child`. */
const addressed = (e: ResEdge, child: string): ResEdge =>
  e.sendRecv.length ? { ...e, sendRecv: e.sendRecv.map(p => ({ ...p, to: p.to ?? child })) } : e

/** Moves `child` and its edges into `parent`. */
function merge(graph: ResGraph, parent: Res, child: Res): void {
  const ins = [...graph.incoming(child.id)]
  const outs = [...graph.outgoing(child.id)]
  graph.removeVertex(child.id)
  const sema = [...new Set([...parent.meta.sema, ...child.meta.sema])]
  graph.addVertex(parent.id, {
    ...parent,
    meta: { ...parent.meta, sema },
    group: [...(parent.group ?? []), child, ...(child.group ?? [])],
  })
  for (const [from, e] of ins) graph.addEdge(from, parent.id, addressed(e, child.id), union)
  for (const [to, e] of outs) graph.addEdge(parent.id, to, e, union)
}
