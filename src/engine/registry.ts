/**
 * The registry of resource kinds. It is filled explicitly from `src/resources/index.ts` (never as a
 * side effect of importing a module), so what exists never depends on import order. A kind may be
 * registered by name with the load of its definition, which runs when the kind is first asked for:
 * its name is known (`has`, `kinds`) without it.
 */
import { MgmtError } from '../util/errors.js'
import type { AnyResourceDef } from './resource.js'

/** A kind's definition, or the load of it. */
type Entry = AnyResourceDef | (() => AnyResourceDef)

export class Registry {
  readonly #kinds = new Map<string, Entry>()

  constructor(defs: Iterable<AnyResourceDef> = []) {
    for (const d of defs) this.register(d)
  }

  register(def: AnyResourceDef): void {
    if (!def.kind) throw new MgmtError('ERR_RES_KIND_EMPTY', {})
    if (this.#kinds.has(def.kind)) throw new MgmtError('ERR_RES_KIND_DUPLICATE', { kind: def.kind })
    this.#kinds.set(def.kind, def)
  }

  /** Registers `kind`, whose definition `load` returns when the kind is first asked for. */
  registerLazy(kind: string, load: () => AnyResourceDef): void {
    if (!kind) throw new MgmtError('ERR_RES_KIND_EMPTY', {})
    if (this.#kinds.has(kind)) throw new MgmtError('ERR_RES_KIND_DUPLICATE', { kind })
    this.#kinds.set(kind, load)
  }

  get(kind: string): AnyResourceDef {
    const entry = this.#kinds.get(kind)
    if (!entry) throw new MgmtError('ERR_RES_KIND_UNKNOWN', { kind })
    if (typeof entry !== 'function') return entry
    const def = entry()
    if (def.kind !== kind) throw new Error(`the definition loaded for kind ${kind} is of kind ${def.kind}`)
    this.#kinds.set(kind, def)
    return def
  }

  has(kind: string): boolean {
    return this.#kinds.has(kind)
  }

  kinds(): string[] {
    return [...this.#kinds.keys()]
  }

  /** The kinds whose definitions are loaded, in the order they were registered. */
  loaded(): string[] {
    return [...this.#kinds].filter(([, e]) => typeof e !== 'function').map(([kind]) => kind)
  }
}
