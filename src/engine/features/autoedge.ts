/**
 * Automatic edges: a resource that needs another one of the graph (a file its parent directory, an
 * exec the file of its binary) depends on it without an edge being written. Each kind says what
 * it is (`uids`, each held by one resource), what else it stands for (`provides`, which several
 * may share: a package's shipped files) and what it needs (`autoEdges`); one index makes the
 * matching linear in the number of resources. An automatic edge never creates a cycle: one that
 * would is dropped with a warning.
 */
import { isMgmtError } from '../../util/errors.js'
import type { Res, ResEdge, ResGraph } from '../compiled.js'
import { KindNeed } from '../resource.js'

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

/** The part of a uid before its first `:` (`file:` of `file:/etc/motd`). */
const kindOf = (uid: string): string => uid.slice(0, uid.indexOf(':') + 1)

const NOTHING: readonly never[] = Object.freeze([])
/**
 * What a resource is, kept per resource (a resource is immutable, and unchanged ones are the very
 * same object from one compile to the next). Not what it needs: those lists may be lazy (read only
 * as far as asked, once), and are asked for again each time. Nor what it provides: a package's
 * shipped files are read from the system each time.
 */
const known = new WeakMap<Res, readonly string[]>()

/** The uids of a resource (its kind's `uids`), worked out once per resource. */
export function uidsOf(r: Res): readonly string[] {
  let uids = known.get(r)
  if (!uids) {
    uids = r.def.uids?.(r.params, r.name) ?? NOTHING
    known.set(r, uids)
  }
  return uids
}

export function addAutoEdges(graph: ResGraph): AutoEdgeResult {
  const index: Index = new Map()
  const kinds = new Set<string>()
  // Most uids are of the kind of the one before: a kind is cut out of a uid only when it changes.
  let kind = ''
  for (const r of graph.values()) {
    if (!r.meta.autoedge) continue
    const id = r.id
    for (const uid of uidsOf(r)) {
      if (!index.has(uid)) index.set(uid, id)
      if (kind !== '' && uid.startsWith(kind)) continue
      kind = kindOf(uid)
      kinds.add(kind)
    }
    for (const name of r.def.provides?.(r.params, r.name) ?? []) {
      kinds.add(kindOf(name))
      const held = index.get(name)
      if (held === undefined) index.set(name, [id])
      else if (Array.isArray(held)) held.push(id)
    }
  }
  let added = 0
  // The edges added here, by their very value (the graph keeps it as it is: none existed).
  const auto = new Set<ResEdge>()
  for (const r of graph.values()) {
    const id = r.id
    for (const from of wanted(r, index, kinds)) {
      if (from === id || graph.outgoing(from).has(id)) continue
      const edge: ResEdge = { name: `autoedge ${from} -> ${id}`, notify: false, sendRecv: NO_VALUES }
      graph.addEdge(from, id, edge)
      auto.add(edge)
      added++
    }
  }
  if (!added) return { added, dropped: [], acyclic: false }
  return { added, ...breakCycles(graph, auto) }
}

/**
 * For each need of `r`, the resources of its first candidate that another resource has. A need
 * whose first candidate is of a kind of uid nobody has is skipped unread; most candidates are
 * nobody's (a file's shipped directories), and cost a lookup, no allocation.
 */
function wanted(r: Res, index: Index, kinds: ReadonlySet<string>): string[] {
  const out: string[] = []
  if (!r.meta.autoedge || !r.def.autoEdges) return out
  for (const need of r.def.autoEdges(r.params, r.name)) {
    if (need instanceof KindNeed) {
      if (kinds.has(need.kind))
        for (const path of need.paths(need.arg)) if (holders(`${need.kind}${path}`, index, r.id, out)) break
      continue
    }
    let first = true
    for (const uid of need) {
      if (first && !kinds.has(kindOf(uid))) break
      first = false
      if (holders(uid, index, r.id, out)) break
    }
  }
  return out
}

/** Adds the resources (but `self`) that hold `uid` to `out`; whether there were any. */
function holders(uid: string, index: Index, self: string, out: string[]): boolean {
  const held = index.get(uid)
  if (held === undefined) return false
  const before = out.length
  if (typeof held === 'string') {
    if (held !== self) out.push(held)
  } else for (const id of held) if (id !== self) out.push(id)
  return out.length > before
}

/** Removes automatic edges until the graph has no cycle; an explicit cycle is left for the caller. */
function breakCycles(graph: ResGraph, auto: Set<ResEdge>): { dropped: string[]; acyclic: boolean } {
  const dropped: string[] = []
  for (;;) {
    try {
      graph.topoSort()
      return { dropped, acyclic: true }
    } catch (err) {
      if (!isMgmtError(err, 'ERR_GRAPH_CYCLE')) throw err
      const cycle = err.details.cycle
      const isAuto = (from: string, to: string): boolean => {
        const e = graph.outgoing(from).get(to)
        return e !== undefined && auto.has(e)
      }
      const i = cycle.findIndex((from, k) => isAuto(from, cycle[(k + 1) % cycle.length]!))
      if (i < 0) return { dropped, acyclic: false }
      const from = cycle[i]!
      const to = cycle[(i + 1) % cycle.length]!
      auto.delete(graph.outgoing(from).get(to)!)
      graph.removeEdge(from, to)
      dropped.push(`automatic edge ${from} -> ${to} dropped: it would close the cycle ${cycle.join(' -> ')}`)
    }
  }
}
