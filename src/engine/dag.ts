/**
 * A directed graph keyed by vertex id (`kind[name]` for resources), with merged edges and a
 * topological sort that names the resources of a cycle.
 */
import { MgmtError } from '../util/errors.js'

/** The edges of a vertex without any: one shared empty map (most vertices have an edge or two). */
const NONE: ReadonlyMap<string, never> = new Map<string, never>()

/**
 * Replaced values kept beside a shared vertex map (`withValues`) before the map is copied: a graph
 * derived edit after edit copies at most this many values each time, and the whole map once per
 * this many replaced vertices.
 */
const OVERLAY_MAX = 256

export class Dag<V, E> {
  /** The vertices; when `#overlay` is set, the values before those it replaces. */
  #vertices = new Map<string, V>()
  /** Values that replace those of `#vertices` (withValues), which is then shared and never changed. */
  #overlay: Map<string, V> | undefined
  /** The vertex map is shared with another graph (`withValues`): copied before a change. */
  #sharedVertices = false
  /** Edges by source, then target; a vertex without outgoing edges has no entry. */
  #out = new Map<string, Map<string, E>>()
  /** Edges by target, then source; a vertex without incoming edges has no entry. */
  #in = new Map<string, Map<string, E>>()
  /** The edge maps are shared with another graph (`withValues`): copied before a change. */
  #shared = false
  /** Vertices added or removed so far. */
  #version = 0
  /**
   * A graph made by `withValues` whose vertex map was copied (OVERLAY_MAX): the graph it was made
   * from (not kept alive by this), that graph's version then, and the ids whose values it replaced.
   */
  #origin:
    | { readonly graph: WeakRef<Dag<V, E>>; readonly version: number; readonly ids: string[] }
    | undefined

  /**
   * A graph of the same vertices and edges as `g`, with some vertices' values replaced. The vertex
   * map and the edges are shared until either graph changes its own (a copy is made then): the
   * replaced values are kept aside, so this costs work in proportion to the values replaced since
   * the shared map was made (at most OVERLAY_MAX; past that the map is copied with them).
   */
  static withValues<V, E>(g: Dag<V, E>, values: ReadonlyMap<string, V>): Dag<V, E> {
    const out = new Dag<V, E>()
    const overlay = new Map(g.#overlay)
    for (const [id, v] of values) {
      if (!g.#vertices.has(id)) throw new Error(`vertex ${id}: unknown vertex`)
      overlay.set(id, v)
    }
    out.#vertices = g.#vertices
    out.#overlay = overlay
    out.#sharedVertices = true
    g.#sharedVertices = true
    if (overlay.size > OVERLAY_MAX) {
      out.#ownVertices()
      out.#origin = { graph: new WeakRef(g), version: g.#version, ids: [...values.keys()] }
    }
    out.#out = g.#out
    out.#in = g.#in
    out.#shared = true
    g.#shared = true
    return out
  }

  /**
   * The ids whose values differ between `g` and this graph, when both are derived from one vertex
   * map, or this one from `g` (`withValues`), and they share their edges, with no change since:
   * then they have the same vertices in the same order and the same edges, and these ids are all
   * that differs. Undefined otherwise. Costs work in proportion to the values replaced since the
   * shared map was made.
   */
  changedSince(g: Dag<V, E>): string[] | undefined {
    if (g === this) return []
    if (g.#out !== this.#out || g.#in !== this.#in) return undefined
    if (g.#vertices !== this.#vertices) {
      const o = this.#origin
      if (!o || o.version !== g.#version || o.graph.deref() !== g) return undefined
      return o.ids.filter(id => this.vertex(id) !== g.vertex(id))
    }
    const out: string[] = []
    for (const id of this.#overlay?.keys() ?? []) if (this.vertex(id) !== g.vertex(id)) out.push(id)
    for (const id of g.#overlay?.keys() ?? [])
      if (!this.#overlay?.has(id) && this.vertex(id) !== g.vertex(id)) out.push(id)
    return out
  }

  /** Makes the vertex map this graph's own, its replaced values in it, before it changes. */
  #ownVertices(): void {
    if (!this.#sharedVertices) return
    const own = new Map(this.#vertices)
    for (const [id, v] of this.#overlay ?? []) own.set(id, v)
    this.#vertices = own
    this.#overlay = undefined
    this.#sharedVertices = false
  }

  /** Its vertices change: it is no longer the graph it was made from with other values. */
  #changed(): void {
    this.#version++
    this.#origin = undefined
  }

  /** Makes the edge maps this graph's own before it changes them. */
  #own(): void {
    if (!this.#shared) return
    const copy = (m: Map<string, Map<string, E>>) => new Map([...m].map(([k, v]) => [k, new Map(v)]))
    this.#out = copy(this.#out)
    this.#in = copy(this.#in)
    this.#shared = false
  }

  addVertex(id: string, v: V): void {
    this.#ownVertices()
    this.#changed()
    this.#vertices.set(id, v)
  }

  /** Adds from → to; when the edge exists, `merge(old, new)` decides the kept value. */
  addEdge(from: string, to: string, e: E, merge: (a: E, b: E) => E = (_a, b) => b): void {
    if (!this.#vertices.has(from) || !this.#vertices.has(to))
      throw new Error(`edge ${from} -> ${to}: unknown vertex`)
    this.#own()
    let out = this.#out.get(from)
    if (!out) {
      out = new Map()
      this.#out.set(from, out)
    }
    let inc = this.#in.get(to)
    if (!inc) {
      inc = new Map()
      this.#in.set(to, inc)
    }
    const old = out.get(to)
    const kept = old === undefined ? e : merge(old, e)
    out.set(to, kept)
    inc.set(from, kept)
  }

  /** Removes a vertex and its edges. */
  removeVertex(id: string): void {
    this.#own()
    for (const to of this.#out.get(id)?.keys() ?? []) this.#drop(this.#in, to, id)
    for (const from of this.#in.get(id)?.keys() ?? []) this.#drop(this.#out, from, id)
    this.#out.delete(id)
    this.#in.delete(id)
    this.#ownVertices()
    this.#changed()
    this.#vertices.delete(id)
  }

  #drop(index: Map<string, Map<string, E>>, a: string, b: string): void {
    const m = index.get(a)
    if (!m) return
    m.delete(b)
    if (m.size === 0) index.delete(a)
  }

  /** Is `to` reachable from `from` along edges? */
  reaches(from: string, to: string): boolean {
    const seen = new Set([from])
    const todo = [from]
    while (todo.length) {
      for (const next of this.outgoing(todo.pop()!).keys()) {
        if (next === to) return true
        if (!seen.has(next)) {
          seen.add(next)
          todo.push(next)
        }
      }
    }
    return false
  }

  removeEdge(from: string, to: string): void {
    this.#own()
    this.#drop(this.#out, from, to)
    this.#drop(this.#in, to, from)
  }

  vertex(id: string): V | undefined {
    if (this.#overlay) {
      const v = this.#overlay.get(id)
      if (v !== undefined) return v
    }
    return this.#vertices.get(id)
  }
  has(id: string): boolean {
    return this.#vertices.has(id)
  }
  get size(): number {
    return this.#vertices.size
  }
  ids(): IterableIterator<string> {
    return this.#vertices.keys()
  }
  entries(): IterableIterator<[string, V]> {
    return this.#overlay ? this.#replaced(this.#overlay) : this.#vertices.entries()
  }
  *#replaced(overlay: ReadonlyMap<string, V>): IterableIterator<[string, V]> {
    for (const [id, v] of this.#vertices) yield [id, overlay.get(id) ?? v]
  }
  /** The vertices' values (no [id, value] pair made for each, as `entries()` makes). */
  values(): IterableIterator<V> {
    return this.#overlay ? this.#replacedValues(this.#overlay) : this.#vertices.values()
  }
  *#replacedValues(overlay: ReadonlyMap<string, V>): IterableIterator<V> {
    for (const [id, v] of this.#vertices) yield overlay.get(id) ?? v
  }
  /** Edges leaving `id`, by target id. */
  outgoing(id: string): ReadonlyMap<string, E> {
    return this.#out.get(id) ?? NONE
  }
  /** Edges entering `id`, by source id. */
  incoming(id: string): ReadonlyMap<string, E> {
    return this.#in.get(id) ?? NONE
  }
  *edges(): IterableIterator<[string, string, E]> {
    for (const [from, m] of this.#out) for (const [to, e] of m) yield [from, to, e]
  }

  /** The ids in dependency order; throws ERR_GRAPH_CYCLE naming the vertices of one cycle. */
  topoSort(): string[] {
    const indeg = new Map<string, number>()
    const ready: string[] = []
    for (const id of this.#vertices.keys()) {
      const d = this.#in.get(id)?.size ?? 0
      indeg.set(id, d)
      if (d === 0) ready.push(id)
    }
    const order: string[] = []
    while (ready.length) {
      const id = ready.pop()!
      order.push(id)
      for (const to of this.outgoing(id).keys()) {
        const d = indeg.get(to)! - 1
        indeg.set(to, d)
        if (d === 0) ready.push(to)
      }
    }
    if (order.length !== this.#vertices.size)
      throw new MgmtError('ERR_GRAPH_CYCLE', {
        cycle: this.#findCycle(new Set([...indeg].filter(([, d]) => d > 0).map(([id]) => id))),
      })
    return order
  }

  /** One cycle among `left` (vertices Kahn's algorithm could not order), as a list of ids. */
  #findCycle(left: Set<string>): string[] {
    const start = [...left].sort()[0]!
    // Walk backwards along incoming edges inside `left` until a vertex repeats: every vertex in
    // `left` has such an edge, so the walk must close a cycle.
    const seen = new Map<string, number>()
    const path: string[] = []
    let cur = start
    while (!seen.has(cur)) {
      seen.set(cur, path.length)
      path.push(cur)
      cur = [...this.incoming(cur).keys()].filter(id => left.has(id)).sort()[0]!
    }
    const cycle = path.slice(seen.get(cur)).reverse()
    const first = cycle.indexOf([...cycle].sort()[0]!)
    return [...cycle.slice(first), ...cycle.slice(0, first)]
  }
}
