/**
 * A directed graph keyed by vertex id (`kind[name]` for resources), with merged edges and a
 * topological sort that names the resources of a cycle.
 */
import { MgmtError } from '../util/errors.js'

/** The edges of a vertex without any: one shared empty map (most vertices have an edge or two). */
const NONE: ReadonlyMap<string, never> = new Map<string, never>()

export class Dag<V, E> {
  #vertices = new Map<string, V>()
  /** Edges by source, then target; a vertex without outgoing edges has no entry. */
  #out = new Map<string, Map<string, E>>()
  /** Edges by target, then source; a vertex without incoming edges has no entry. */
  #in = new Map<string, Map<string, E>>()
  /** The edge maps are shared with another graph (`withValues`): copied before a change. */
  #shared = false

  /**
   * A graph of the same vertices and edges as `g`, with some vertices' values replaced. The edges
   * are shared until either graph changes its own (a copy is made then), so this costs a copy of
   * the vertex map only.
   */
  static withValues<V, E>(g: Dag<V, E>, values: ReadonlyMap<string, V>): Dag<V, E> {
    const out = new Dag<V, E>()
    out.#vertices = new Map(g.#vertices)
    for (const [id, v] of values) {
      if (!out.#vertices.has(id)) throw new Error(`vertex ${id}: unknown vertex`)
      out.#vertices.set(id, v)
    }
    out.#out = g.#out
    out.#in = g.#in
    out.#shared = true
    g.#shared = true
    return out
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
    return this.#vertices.entries()
  }
  /** The vertices' values (no [id, value] pair made for each, as `entries()` makes). */
  values(): IterableIterator<V> {
    return this.#vertices.values()
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
