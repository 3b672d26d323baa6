/**
 * Containment: stages contain classes, classes and defined resources contain resources (the
 * catalog's `edges`). mgmt's graph has no containers, so they are flattened: a relationship with a
 * container is a relationship with each native resource it contains, transitively (its leaves).
 * A class included by two others is contained twice; that is fine.
 */
import type { Catalog, CatalogResource } from './catalog.js'
import { refOf } from './catalog.js'

const CONTAINER_TYPES = new Set(['stage', 'class', 'node'])
const CONTAINER_KINDS = new Set(['defined_type', 'class'])

export class Containment {
  readonly #children = new Map<string, string[]>()
  readonly #containers = new Set<string>()
  readonly #leaves = new Map<string, readonly string[]>()

  constructor(catalog: Catalog) {
    for (const e of catalog.edges) {
      const list = this.#children.get(e.source)
      if (list) list.push(e.target)
      else this.#children.set(e.source, [e.target])
      this.#containers.add(e.source)
    }
    for (const r of catalog.resources) if (isContainerResource(r)) this.#containers.add(refOf(r))
  }

  isContainer(ref: string): boolean {
    return this.#containers.has(ref)
  }

  /** The native resources `ref` stands for: itself, or every one a container holds, in order. */
  leaves(ref: string): readonly string[] {
    if (!this.#containers.has(ref)) return [ref]
    const known = this.#leaves.get(ref)
    if (known) return known
    const out = new Set<string>()
    for (const child of this.#children.get(ref) ?? []) for (const l of this.leaves(child)) out.add(l)
    const list = [...out]
    this.#leaves.set(ref, list)
    return list
  }
}

function isContainerResource(r: CatalogResource): boolean {
  return CONTAINER_TYPES.has(r.type.toLowerCase()) || CONTAINER_KINDS.has(r.kind ?? '')
}
