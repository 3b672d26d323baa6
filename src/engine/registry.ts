/**
 * The registry of resource kinds. It is filled explicitly from `src/resources/index.ts` (never as a
 * side effect of importing a module), so what exists never depends on import order.
 */
import { MgmtError } from '../util/errors.js'
import type { AnyResourceDef } from './resource.js'

export class Registry {
  readonly #kinds = new Map<string, AnyResourceDef>()

  constructor(defs: Iterable<AnyResourceDef> = []) {
    for (const d of defs) this.register(d)
  }

  register(def: AnyResourceDef): void {
    if (!def.kind) throw new MgmtError('ERR_RES_KIND_EMPTY', {})
    if (this.#kinds.has(def.kind)) throw new MgmtError('ERR_RES_KIND_DUPLICATE', { kind: def.kind })
    this.#kinds.set(def.kind, def)
  }

  get(kind: string): AnyResourceDef {
    const def = this.#kinds.get(kind)
    if (!def) throw new MgmtError('ERR_RES_KIND_UNKNOWN', { kind })
    return def
  }

  has(kind: string): boolean {
    return this.#kinds.has(kind)
  }

  kinds(): string[] {
    return [...this.#kinds.keys()]
  }
}
