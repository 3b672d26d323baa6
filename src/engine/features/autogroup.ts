/**
 * Autogrouping: resources of one groupable kind (noop, print, later pkg) merge into one vertex
 * when neither depends on the other, directly or not, so merging cannot create a cycle. The
 * vertex takes the edges of everything grouped into it. Candidates go in sorted order, so the
 * result is deterministic. Resources that send or receive values keep their own vertex.
 */
import type { Res, ResEdge, ResGraph } from '../compiled.js'

export function autoGroup(graph: ResGraph): number {
  const byKind = new Map<string, string[]>()
  for (const [id, r] of graph.entries())
    if (r.def.traits?.groupable && r.meta.autogroup && !r.meta.hidden && !carriesValues(graph, id))
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
  sendRecv: [],
})

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
  for (const [from, e] of ins) graph.addEdge(from, parent.id, e, union)
  for (const [to, e] of outs) graph.addEdge(parent.id, to, e, union)
}
