/**
 * Relationships → mgmt edges. `before` and `notify` point from the resource that declares them to
 * their targets, `require` and `subscribe` the other way; `notify` and `subscribe` carry refreshes
 * (`notify: true`). An end that is a container stands for every native resource it contains, so
 * `Class[a] -> Class[b]` orders each resource of `a` before each one of `b`. An empty container
 * still orders what is around it: it becomes a `noop` vertex.
 *
 * `m × n` edges between two big containers are replaced by a `noop` barrier (`m + n` edges) when
 * they only order; refreshes always go leaf to leaf, because a `noop` does not pass them on.
 */

import type { EdgeSpec, Origin } from '../../engine/spec.js'
import { type CatalogResource, locationOf, refList, refOf } from './catalog.js'
import type { Containment } from './containment.js'
import type { RefIndex } from './refs.js'
import type { Vertex } from './types/index.js'

/** Each relationship metaparam: whether its targets come after the declaring resource, and whether it refreshes. */
const RELATIONSHIPS = [
  { param: 'before', after: true, notify: false },
  { param: 'notify', after: true, notify: true },
  { param: 'require', after: false, notify: false },
  { param: 'subscribe', after: false, notify: true },
] as const

export interface EdgeInput {
  readonly resources: readonly CatalogResource[]
  readonly index: RefIndex
  readonly containment: Containment
  /** The vertex of a native resource, or undefined when it has none (exported). */
  vertex(ref: string): Vertex | undefined
  /** Whether a resource is applied here: not exported, or exported and collected here too. */
  applied(r: CatalogResource): boolean
  /** Adds a `noop` vertex named `name` (an empty container, a barrier) and returns it. */
  addNoop(name: string, origin: Origin): Vertex
  warn(message: string): void
}

export function relationshipEdges(input: EdgeInput): EdgeSpec[] {
  const edges = new Map<string, EdgeSpec>()
  const add = (from: Vertex, to: Vertex, name: string, notify: boolean, origin: Origin): void => {
    if (from.kind === to.kind && from.name === to.name) return
    const key = `${from.kind}\0${from.name}\0${to.kind}\0${to.name}`
    const had = edges.get(key)
    if (had && (had.notify || !notify)) return
    const ends = { from: { kind: from.kind, name: from.name }, to: { kind: to.kind, name: to.name } }
    edges.set(key, { name: had?.name ?? name, ...ends, notify, origin: had?.origin ?? origin })
  }
  const ends = (ref: string, origin: Origin): { ref: string; v: Vertex }[] => {
    const out: { ref: string; v: Vertex }[] = []
    for (const leaf of input.containment.leaves(ref)) {
      const v = input.vertex(leaf)
      if (v) out.push({ ref: leaf, v })
    }
    if (out.length === 0 && input.containment.isContainer(ref))
      out.push({ ref, v: input.addNoop(ref, origin) })
    return out
  }
  for (const r of input.resources) {
    // An exported resource's relationships travel with it, to the hosts that collect it.
    if (!input.applied(r)) continue
    const self = refOf(r)
    for (const rel of RELATIONSHIPS)
      for (const target of refList(r.parameters?.[rel.param])) {
        const origin = [`${locationOf(r)}${self}`, rel.param]
        const t = input.index.resolve(target)
        if (!t) {
          input.warn(`${locationOf(r)}${self}: ${rel.param} ${target}: no such resource in the catalog`)
          continue
        }
        if (!input.applied(t)) continue
        const [from, to] = rel.after ? [self, refOf(t)] : [refOf(t), self]
        const sources = ends(from, origin)
        const targets = ends(to, origin)
        const m = sources.length
        const n = targets.length
        if (!rel.notify && m > 1 && n > 1 && m * n > 2 * (m + n)) {
          const barrier = input.addNoop(`${from} -> ${to}`, origin)
          for (const s of sources) add(s.v, barrier, `${s.ref} -> ${from} -> ${to}`, false, origin)
          for (const t of targets) add(barrier, t.v, `${from} -> ${to} -> ${t.ref}`, false, origin)
          continue
        }
        for (const s of sources)
          for (const t of targets) add(s.v, t.v, `${s.ref} -> ${t.ref}`, rel.notify, origin)
      }
  }
  return [...edges.values()]
}
