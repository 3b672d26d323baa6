/**
 * The running graph as its resources see it (`ctx.graph()`): every resource, grouped ones
 * included, in the graph's order, one array per graph, so that a kind may cache what it works out
 * from the array by the array. And the number of resources, grouped ones counted one by one.
 *
 * Both are worked out once per graph, when asked. A swap that only replaced some vertices' values
 * (Dag.changedSince) carries them over instead: the next array is a copy of the last with those
 * vertices' entries replaced, and says so (`viewChanges`), so that a kind may update what it
 * cached from the last array rather than work it out again. A one-resource edit of a graph of
 * 10,000 then costs work for one resource here (and a copy of the array, a single memory move).
 */
import type { Res, ResGraph } from './compiled.js'
import type { GraphResource } from './resource.js'

/** How a view differs from the one before it, when it was derived from it. */
export interface ViewChanges {
  /** The view this one was derived from (of the graph before). */
  readonly from: readonly GraphResource[]
  /** The indexes whose entries differ from those of `from`; every other entry is the very same object. */
  readonly changed: readonly number[]
}

/** Each derived view's changes; only the newest view's (the older ones' are dropped, so no chain of views stays). */
const derived = new WeakMap<readonly GraphResource[], ViewChanges>()

/** How `view` differs from the view it was derived from, or undefined when it was built whole. */
export function viewChanges(view: readonly GraphResource[]): ViewChanges | undefined {
  return derived.get(view)
}

const entry = (m: Res): GraphResource => ({ kind: m.kind, name: m.name, params: m.params })
const members = (r: Res): number => 1 + (r.group?.length ?? 0)

/** The view and the count of the running graph, kept from graph to graph where they can be. */
export class GraphViews {
  #graph: ResGraph | undefined
  #view: GraphResource[] | undefined
  /** Where each vertex's entries start in `#view`. */
  #at: Map<string, number> | undefined
  #count: number | undefined
  /** Views built whole and derived, and counts made, since the engine started (for tests). */
  readonly stats = { built: 0, derived: 0, counted: 0 }

  /** The view of `g`. */
  view(g: ResGraph): readonly GraphResource[] {
    this.#for(g)
    if (this.#view) return this.#view
    const view: GraphResource[] = []
    const at = new Map<string, number>()
    for (const [id, r] of g.entries()) {
      at.set(id, view.length)
      view.push(entry(r))
      for (const m of r.group ?? []) view.push(entry(m))
    }
    this.#view = view
    this.#at = at
    this.#count = view.length
    this.stats.built++
    return view
  }

  /** The resources of `g`, grouped ones counted one by one. */
  count(g: ResGraph): number {
    this.#for(g)
    if (this.#count === undefined) {
      let n = 0
      for (const [, r] of g.entries()) n += members(r)
      this.#count = n
      this.stats.counted++
    }
    return this.#count
  }

  /**
   * `next` is `prev` with the values of the vertices `changed` replaced (Dag.changedSince): what
   * was worked out for `prev` is carried over to `next`.
   */
  swapped(prev: ResGraph, next: ResGraph, changed: readonly string[]): void {
    if (this.#graph !== prev) return
    this.#graph = next
    const view = this.#view
    const at = this.#at
    if (this.#count !== undefined)
      for (const id of changed) this.#count += members(next.vertex(id)!) - members(prev.vertex(id)!)
    this.#view = undefined
    this.#at = undefined
    if (!view || !at || changed.some(id => members(next.vertex(id)!) !== members(prev.vertex(id)!))) return
    const out = view.slice()
    const indexes: number[] = []
    for (const id of changed) {
      const r = next.vertex(id)!
      let i = at.get(id)!
      for (const m of [r, ...(r.group ?? [])]) {
        out[i] = entry(m)
        indexes.push(i++)
      }
    }
    derived.delete(view)
    derived.set(out, { from: view, changed: indexes })
    this.#view = out
    this.#at = at
    this.stats.derived++
  }

  /** Forgets what was worked out for another graph than `g`. */
  #for(g: ResGraph): void {
    if (this.#graph === g) return
    if (this.#view) derived.delete(this.#view)
    this.#graph = g
    this.#view = undefined
    this.#at = undefined
    this.#count = undefined
  }
}
