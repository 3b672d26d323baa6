/**
 * Automatic edges: a resource that needs another one of the graph (a file its parent directory, an
 * exec the file of its binary) depends on it without an edge being written. Each kind says what
 * it is (`uids`, each held by one resource), what else it stands for (`provides`, which several
 * may share: a package's shipped files) and what it needs (`autoEdges`); one index makes the
 * matching linear in the number of resources. An automatic edge never creates a cycle: one that
 * would is dropped with a warning.
 */
import { isMgmtError } from '../../util/errors.js'
import type { Res, ResGraph } from '../compiled.js'

export interface AutoEdgeResult {
  added: number
  /** Why an automatic edge was dropped. */
  dropped: string[]
  /** The graph was found to have no cycle (so the caller need not sort it again). */
  acyclic: boolean
}

/** An automatic edge carries no values (one frozen list for all of them). */
const NO_VALUES: readonly never[] = Object.freeze([])

/** Who holds each uid (one resource) or provided name (possibly several). */
type Index = Map<string, string | string[]>

/**
 * What a resource is and needs: pure functions of its params, kept per resource. Not what it
 * provides: a package's shipped files are read from the system each time.
 */
interface Facts {
  readonly uids: readonly string[]
  readonly needs: readonly (readonly string[])[]
}

const NOTHING: readonly never[] = Object.freeze([])
/** A resource is immutable, and unchanged ones are the very same object from one compile to the next. */
const known = new WeakMap<Res, Facts>()

function factsOf(r: Res): Facts {
  let f = known.get(r)
  if (!f) {
    const { def, params, name } = r
    f = {
      uids: def.uids?.(params, name) ?? NOTHING,
      needs: def.autoEdges?.(params, name) ?? NOTHING,
    }
    known.set(r, f)
  }
  return f
}

/** The uids of a resource (its kind's `uids`), worked out once per resource. */
export const uidsOf = (r: Res): readonly string[] => factsOf(r).uids

export function addAutoEdges(graph: ResGraph): AutoEdgeResult {
  const index: Index = new Map()
  for (const [id, r] of graph.entries()) {
    if (!r.meta.autoedge) continue
    const facts = factsOf(r)
    for (const uid of facts.uids) if (!index.has(uid)) index.set(uid, id)
    for (const name of r.def.provides?.(r.params, r.name) ?? []) {
      const held = index.get(name)
      if (held === undefined) index.set(name, [id])
      else if (Array.isArray(held)) held.push(id)
    }
  }
  let added = 0
  const auto = new Set<string>()
  for (const [id, r] of graph.entries()) {
    for (const from of wanted(r, index)) {
      if (from === id || graph.outgoing(from).has(id)) continue
      graph.addEdge(from, id, { name: `autoedge ${from} -> ${id}`, notify: false, sendRecv: NO_VALUES })
      auto.add(`${from}\0${id}`)
      added++
    }
  }
  if (!added) return { added, dropped: [], acyclic: false }
  return { added, ...breakCycles(graph, auto) }
}

/** For each need of `r`, the resources of its first candidate that another resource has. */
function* wanted(r: Res, index: Index): Iterable<string> {
  if (!r.meta.autoedge || !r.def.autoEdges) return
  for (const candidates of factsOf(r).needs)
    for (const uid of candidates) {
      const held = index.get(uid)
      // Most candidates are nobody's (a file's shipped directories): nothing allocated for those.
      if (held === undefined) continue
      if (typeof held === 'string') {
        if (held === r.id) continue
        yield held
        break
      }
      const ids = held.filter(id => id !== r.id)
      if (ids.length) {
        yield* ids
        break
      }
    }
}

/** Removes automatic edges until the graph has no cycle; an explicit cycle is left for the caller. */
function breakCycles(graph: ResGraph, auto: Set<string>): { dropped: string[]; acyclic: boolean } {
  const dropped: string[] = []
  for (;;) {
    try {
      graph.topoSort()
      return { dropped, acyclic: true }
    } catch (err) {
      if (!isMgmtError(err, 'ERR_GRAPH_CYCLE')) throw err
      const cycle = err.details.cycle
      const i = cycle.findIndex((from, k) => auto.has(`${from}\0${cycle[(k + 1) % cycle.length]}`))
      if (i < 0) return { dropped, acyclic: false }
      const from = cycle[i]!
      const to = cycle[(i + 1) % cycle.length]!
      graph.removeEdge(from, to)
      auto.delete(`${from}\0${to}`)
      dropped.push(`automatic edge ${from} -> ${to} dropped: it would close the cycle ${cycle.join(' -> ')}`)
    }
  }
}
