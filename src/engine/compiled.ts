/**
 * The compiled graph, as the engine runs it: resources with parsed params and meta, and edges that
 * carry notifications and values. `compile.ts` builds it from a frontend's `GraphSpec` (spec.ts),
 * under `CompileOptions`, and returns it as `Compiled`; the graph transforms (autoedge, autogroup)
 * and the engine read it. A compile that takes a `CompileCache` keeps what the next compile of the
 * same source reuses (`LastCompile`, recompile.ts).
 */
import { isDeepStrictEqual } from 'node:util'
import type { Issue } from '../util/errors.js'
import type { ExportedResource } from '../world/world.js'
import type { Dag } from './dag.js'
import type { MetaParams } from './metaparams.js'
import type { AnyResourceDef } from './resource.js'
import type { CollectSpec, GraphSpec, ResourceSpec } from './spec.js'

/** A resource of a compiled graph: params and meta parsed, defaults filled. */
export interface Res {
  readonly id: string
  readonly kind: string
  readonly name: string
  readonly def: AnyResourceDef
  readonly params: Readonly<Record<string, unknown>>
  readonly meta: Readonly<MetaParams>
  /** Resources grouped into this one (autogroup). */
  readonly group?: readonly Res[]
}

/** One value carried by an edge: the sender's key and the receiver's parameter. */
export interface SendRecvPair {
  readonly send: string
  readonly recv: string
  /** In a grouped vertex: the member that receives (its id); absent: the vertex's own resource. */
  readonly to?: string
}

/** An edge of a compiled graph. Several declared edges between one pair merge into one. */
export interface ResEdge {
  readonly name: string
  readonly notify: boolean
  /** Values this edge carries. */
  readonly sendRecv: readonly SendRecvPair[]
}

export type ResGraph = Dag<Res, ResEdge>

/** Why two resources of the same id differ, or undefined when they are the same. */
export function differs(a: Res, b: Res): string | undefined {
  if (a === b) return undefined
  if (a.kind !== b.kind) return 'the kind differs'
  const reason =
    a.params === b.params
      ? undefined
      : a.def.cmp
        ? a.def.cmp(a.params, b.params)
        : isDeepStrictEqual(a.params, b.params)
          ? undefined
          : `the params differ (${changedKeys(a.params, b.params).join(', ')})`
  if (reason) return reason
  if (!isDeepStrictEqual(a.meta, b.meta))
    return `the meta differs (${changedKeys(a.meta, b.meta).join(', ')})`
  return groupDiffers(a.group ?? [], b.group ?? [])
}

/** Why two vertices' grouped resources differ: one added, removed, or changed. */
function groupDiffers(a: readonly Res[], b: readonly Res[]): string | undefined {
  const ids = (g: readonly Res[]): Set<string> => new Set(g.map(r => r.id))
  const [ia, ib] = [ids(a), ids(b)]
  for (const r of b) if (!ia.has(r.id)) return `${r.id} was grouped into it`
  for (const r of a) if (!ib.has(r.id)) return `${r.id} left its group`
  const byId = new Map(b.map(r => [r.id, r]))
  for (const r of a) {
    const why = differs(r, byId.get(r.id)!)
    if (why) return `its grouped ${r.id} changed: ${why}`
  }
  return undefined
}

function changedKeys(a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)])
  return [...keys].filter(k => !isDeepStrictEqual(a[k], b[k])).sort()
}

/** A located problem: `path` starts with the declaration's origin. */
export type LocatedIssue = Issue

export interface CompileOptions {
  /** Unknown keys are warnings (and dropped) instead of errors (`--lenient`). */
  readonly lenient?: boolean
  /** Obsolete keys of the original are errors instead of warnings (`--strict`). */
  readonly strict?: boolean
  /** Override every resource's meta noop (`--noop`). */
  readonly noop?: boolean
  /** `--sema N`: add `:N` to every resource's semaphores. */
  readonly sema?: number
  /** Skip automatic edges (`--no-autoedges`). */
  readonly noAutoEdges?: boolean
  /** Skip grouping (`--no-autogroup`). */
  readonly noAutoGroup?: boolean
  /** Keeps compiled resources between compiles of one source (a watched file, a stream). */
  readonly cache?: CompileCache
}

/**
 * Compiled resources by their declaration: a reload of a large graph re-parses only what changed,
 * and an unchanged resource keeps the very same params object, which the graph diff sees at once.
 * Each compile keeps only the entries it used, so the cache never outgrows the graph.
 */
export class CompileCache {
  #entries = new Map<string, { res: Res; warnings: Issue[] }>()
  #used = new Map<string, { res: Res; warnings: Issue[] }>()
  /** By the params object itself: a frontend that hands the same object again skips the key. */
  #byParams = new WeakMap<object, { r: ResourceSpec; opts: string; hit: { res: Res; warnings: Issue[] } }>()
  /** The last compile that succeeded, for the next one to patch (recompile.ts). */
  last: LastCompile | undefined

  /** The compile of a spec with these very params and meta objects, name and kind. */
  same(r: ResourceSpec, opts: string): { res: Res; warnings: Issue[] } | undefined {
    const known = this.#byParams.get(r.params)
    if (!known || known.opts !== opts) return undefined
    const k = known.r
    return k === r || (k.kind === r.kind && k.name === r.name && k.meta === r.meta) ? known.hit : undefined
  }
  remember(r: ResourceSpec, opts: string, hit: { res: Res; warnings: Issue[] }): void {
    this.#byParams.set(r.params, { r, opts, hit })
  }

  get(key: string): { res: Res; warnings: Issue[] } | undefined {
    const hit = this.#entries.get(key)
    if (hit) this.#used.set(key, hit)
    return hit
  }
  set(key: string, v: { res: Res; warnings: Issue[] }): void {
    this.#used.set(key, v)
  }
  /** How many entries it keeps under a declaration's text (the last full compile's, and since). */
  get size(): number {
    return this.#entries.size + this.#used.size
  }
  /** Ends a compile: what it did not use is forgotten. */
  rotate(): void {
    this.#entries = this.#used
    this.#used = new Map()
  }
}

export interface Compiled {
  readonly graph: ResGraph
  readonly name: string
  readonly warnings: LocatedIssue[]
  /** What this host exports: `exported` resources, and resources with meta `export`. */
  readonly exports: readonly ExportedResource[]
  /** What it collects (the spec's `collect`). */
  readonly collect: readonly CollectSpec[]
  /** The spec and options it was compiled from: collected resources are merged into the spec. */
  readonly spec: GraphSpec
  readonly options: CompileOptions
}

/** What the last full or patched compile left for the next one. */
export interface LastCompile {
  readonly compiled: Compiled
  /** The options that shape the graph, as a string (`shapeOptions`). */
  readonly options: string
  /** Per resource of the spec: its compiled resource when a patch may replace it. */
  readonly plain: (Res | undefined)[]
  /** Per resource of the spec: its warnings, located, in the order a full compile lists them. */
  readonly warnings: (Issue[] | undefined)[]
  /** The warnings after the resources' (dropped automatic edges). */
  readonly after: readonly Issue[]
  /**
   * Each vertex whose kind `provides` names, with what it provided: a package's shipped files are
   * read from the system, so a patch first checks they are still the same.
   */
  readonly provided: readonly (readonly [Res, readonly string[]])[]
  /** The resources this compile compared with the last one's (for tests): all of a full compile's. */
  readonly compared: number
}
