/**
 * Building graphs in code, with the parameters of each kind typed:
 *
 *   const g = new Graph('demo')
 *   const pw = g.add('password', 'pw1', { length: 16 })
 *   const f = g.add('file', 'f1', { path: '/tmp/secret', state: 'exists' })
 *   g.sendRecv(pw, 'password', f, 'content')      // a wrong key or type does not compile
 *   g.edge(f, g.add('noop', 'n1'), { notify: true })
 *
 * A Graph is a plain description (`toSpec()`); the engine compiles and checks it like any other.
 */
import type { z } from 'zod'
import type { metaParams } from '../engine/metaparams.js'
import {
  type AnyResourceDef,
  anyDef,
  type ParamsSchema,
  type ResourceDef,
  repr,
  type SendsOf,
  type SendsShape,
} from '../engine/resource.js'
import type { CollectSpec, EdgeSpec, GraphSpec, ResourceSpec } from '../engine/spec.js'
import type { BuiltinDef } from '../resources/index.js'

type Defs = BuiltinDef
/** Every built-in kind, by name. */
export type KindMap = { [D in Defs as D['kind']]: D }
export type Kind = keyof KindMap
/** The params a kind accepts (defaults may be left out). */
export type ParamsInput<K extends Kind> = z.input<KindMap[K]['params']>
/** The params a kind has once parsed. */
export type ParamsOutput<K extends Kind> = z.output<KindMap[K]['params']>
/** The values a kind sends. */
export type Sends<K extends Kind> = SendsOf<KindMap[K]>
/** Metaparams, all optional. */
export type MetaInput = Partial<z.input<ReturnType<typeof metaParams>>>

/** The params of kind T that can take a value of type V. */
export type RecvParams<T extends Kind, V> = {
  [P in keyof ParamsOutput<T>]-?: [V] extends [NonNullable<ParamsOutput<T>[P]>] ? P : never
}[keyof ParamsOutput<T>]

/** A resource added to a Graph; pass it to edge, notify and sendRecv. */
export interface Ref<K extends Kind = Kind> {
  readonly kind: K
  readonly name: string
}

/** A custom kind (made with `defineResource`), as `Graph.add` takes it. */
export type CustomKind = ResourceDef<string, ParamsSchema, SendsShape>

/** A number `mode` is the bits, as in every Node API (`0o644`); the engine reads an octal string. */
function modeBits(params: Record<string, unknown>): Record<string, unknown> {
  const m = params.mode
  return typeof m === 'number' && Number.isInteger(m) && m >= 0
    ? { ...params, mode: `0${m.toString(8)}` }
    : params
}

export class Graph {
  readonly #resources: ResourceSpec[] = []
  readonly #edges: EdgeSpec[] = []
  readonly #collect: CollectSpec[] = []
  readonly #kinds = new Map<string, AnyResourceDef>()

  constructor(readonly name = 'graph') {}

  /**
   * Adds a resource; its params are checked against its kind's type. The kind is a built-in kind's
   * name, or a custom kind made with `defineResource` (then `run` registers it). A number `mode`
   * is the permission bits (`0o644`).
   */
  add<K extends Kind>(kind: K, name: string, params?: ParamsInput<K>, meta?: MetaInput): Ref<K>
  add<D extends CustomKind>(kind: D, name: string, params?: z.input<D['params']>, meta?: MetaInput): Ref
  add(kind: Kind | CustomKind, name: string, params?: object, meta?: MetaInput): Ref {
    const k = typeof kind === 'string' ? kind : kind.kind
    if (typeof kind !== 'string') this.#kinds.set(k, anyDef(kind))
    // The origin names the resource in errors: `timer[t].interval: expected...`.
    this.#resources.push({
      kind: k,
      name,
      params: modeBits({ ...(params ?? {}) }),
      meta: { ...(meta ?? {}) },
      origin: [repr(k, name)],
    })
    return { kind: k as Kind, name }
  }

  /** The custom kinds this graph uses (`add` with a definition). */
  get kinds(): readonly AnyResourceDef[] {
    return [...this.#kinds.values()]
  }

  /**
   * Exports a resource to the other hosts of the cluster (to `meta.export`, or to every host); it
   * is not applied here (YAML's `@@name`). To apply it here too, use `add` with meta `export`.
   */
  export<K extends Kind>(kind: K, name: string, params?: ParamsInput<K>, meta?: MetaInput): this {
    this.#resources.push({
      kind,
      name,
      params: { ...(params ?? {}) },
      meta: { ...(meta ?? {}) },
      origin: [`@@${repr(kind, name)}`],
      exported: true,
    })
    return this
  }

  /**
   * Collects the resources of `kind` that hosts export (this one included) into this graph; a
   * file's `pattern` replaces its directory. `name` and `host` narrow it down.
   */
  collect(kind: Kind, opts: { pattern?: string; name?: string; host?: string } = {}): this {
    this.#collect.push({ kind, ...opts })
    return this
  }

  /** `to` runs after `from`; with notify, a change of `from` refreshes `to`. */
  edge(from: Ref, to: Ref, opts: { notify?: boolean; name?: string } = {}): this {
    this.#edges.push({
      name: opts.name ?? `${ref(from)} -> ${ref(to)}`,
      from,
      to,
      notify: opts.notify ?? false,
    })
    return this
  }

  /** A change of `from` refreshes `to` (reload a service, regenerate a password...). */
  notify(from: Ref, to: Ref): this {
    return this.edge(from, to, { notify: true })
  }

  /** The value `key` that `from` sends becomes the param `param` of `to`. */
  sendRecv<
    F extends Kind,
    S extends keyof Sends<F> & string,
    T extends Kind,
    P extends RecvParams<T, Sends<F>[S]> & string,
  >(from: Ref<F>, key: S, to: Ref<T>, param: P): this {
    this.#edges.push({ name: `${ref(from)}.${key} -> ${ref(to)}.${param}`, from, to, send: key, recv: param })
    return this
  }

  toSpec(): GraphSpec {
    return {
      name: this.name,
      resources: [...this.#resources],
      edges: [...this.#edges],
      ...(this.#collect.length ? { collect: [...this.#collect] } : {}),
    }
  }
}

const ref = (r: Ref): string => repr(r.kind, r.name)
