/**
 * The compiled graph, as the engine runs it: resources with parsed params and meta, and edges that
 * carry notifications and values. `compile.ts` builds it from a frontend's `GraphSpec`; the graph
 * transforms (autoedge, autogroup) and the engine read it.
 */
import { isDeepStrictEqual } from 'node:util'
import type { Dag } from './dag.js'
import type { MetaParams } from './metaparams.js'
import type { AnyResourceDef } from './resource.js'

/** Where something was declared: a key path in the source (`resources.file[0]`). */
export type Origin = readonly (string | number)[]

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
