/**
 * What frontends produce: a plain description of a graph (`GraphSpec`), its resources, edges and
 * collections as declared, each with where it was declared (`Origin`), for located errors.
 * `compile.ts` checks and compiles it into the graph the engine runs (`compiled.ts`).
 */

/** Where something was declared: a key path in the source (`resources.file[0]`). */
export type Origin = readonly (string | number)[]

export interface ResourceSpec {
  readonly kind: string
  readonly name: string
  /** Raw params, keyed by their YAML names. */
  readonly params: Readonly<Record<string, unknown>>
  /** Raw metaparams. */
  readonly meta?: Readonly<Record<string, unknown>>
  /** Where it was declared (a key path in the source), for located errors. */
  readonly origin?: Origin
  /**
   * Exported to other hosts (YAML `@@name`, Puppet `@@`) and not applied here. To apply a
   * resource here *and* export it, give it meta `export` instead.
   */
  readonly exported?: boolean
  /** Travels with the resource when it is exported (`ExportedResource.annotations`); ignored here. */
  readonly annotations?: Readonly<Record<string, unknown>>
}

/**
 * Collect the resources that hosts exported (this one included) into this graph: every export
 * of `kind` addressed to this host or to `*`, optionally only those of one `name` or `host`.
 */
export interface CollectSpec {
  readonly kind: string
  readonly name?: string
  /** The exporting host. */
  readonly host?: string
  /** For `file`: a directory that replaces the directory of each collected file's path. */
  readonly pattern?: string
  readonly origin?: Origin
}

export interface EdgeSpec {
  readonly name: string
  readonly from: { readonly kind: string; readonly name: string }
  readonly to: { readonly kind: string; readonly name: string }
  readonly notify?: boolean
  /** Send/recv: the sender's key, and the receiver's parameter that takes its value. */
  readonly send?: string
  readonly recv?: string
  readonly origin?: Origin
}

export interface GraphSpec {
  readonly name: string
  readonly resources: readonly ResourceSpec[]
  readonly edges: readonly EdgeSpec[]
  /** Exported resources to pull in (`src/world/exchange.ts` does it). */
  readonly collect?: readonly CollectSpec[]
}
