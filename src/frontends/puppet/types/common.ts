/**
 * What a Puppet type's mapping is: the mgmt kind it becomes, the params it reads, and a function
 * from a catalog resource to an mgmt resource, or to the reason it cannot be mapped (the resource
 * then goes through the `pippet` fallback, applied by Puppet itself).
 */
import type { CatalogResource } from '../catalog.js'

/** An mgmt resource, as a GraphSpec holds it. */
export interface Vertex {
  readonly kind: string
  readonly name: string
  readonly params: Readonly<Record<string, unknown>>
  readonly meta?: Readonly<Record<string, unknown>>
}

/** Why a resource cannot be mapped natively. */
export interface Unmapped {
  readonly unmapped: string
}

export interface MapContext {
  /** Module name → directory, for `puppet:///modules/...` sources. */
  readonly modules: Readonly<Record<string, string>>
}

export interface TypeMapping {
  /** The mgmt kind it becomes; a kind that is not registered sends the resource to the fallback. */
  readonly kind: string
  /** The params it reads. Any other param (metaparams aside) sends the resource to the fallback. */
  readonly params: readonly string[]
  /** Params with no effect under mgmt, knowingly dropped (the mapping table in docs/puppet.md says why). */
  readonly ignored?: readonly string[]
  /** Params that may be lists; any other given as a list (or as a hash) goes to the fallback. */
  readonly lists?: readonly string[]
  /** Params whose value may have any shape (a notify's message). */
  readonly anyShape?: readonly string[]
  map(r: CatalogResource, p: Readonly<Record<string, unknown>>, ctx: MapContext): Vertex | Unmapped | Invalid
}

export const unmapped = (reason: string): Unmapped => ({ unmapped: reason })

/** A value Puppet itself refuses (when it applies it): an error at that param, before anything runs. */
export interface Invalid {
  readonly param: string
  readonly invalid: string
}

export const invalid = (param: string, message: string): Invalid => ({ param, invalid: message })

export const isInvalid = (m: Vertex | Unmapped | Invalid): m is Invalid => 'invalid' in m

export const isUnmapped = (m: Vertex | Unmapped | Invalid): m is Unmapped => 'unmapped' in m

/** Puppet booleans arrive as booleans, sometimes as the strings `true` and `false`. */
export function bool(v: unknown): boolean | undefined {
  if (v === true || v === 'true') return true
  if (v === false || v === 'false') return false
  return undefined
}

/**
 * A boolean param that is set: true or false (also `yes` and `no` where Puppet takes them, its
 * Boolean params), else the value as it is, for the kind to reject with the resource's location
 * rather than a value quietly dropped.
 */
export function flag(v: unknown, yesNo = false): unknown {
  if (yesNo && (v === 'yes' || v === 'no')) return v === 'yes'
  return bool(v) ?? v
}

/** A string-valued param, or undefined when unset. */
export const str = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : String(v))

/**
 * An id (a uid, a gid): a number, or digits in a string. Anything else stays as it is, for the
 * kind to reject with the resource's location: `Number('')` would be 0, root's id.
 */
export const id = (v: unknown): unknown => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v)

/** A param that may be one value or a list. */
export const list = (v: unknown): unknown[] =>
  v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]

/** The namevar `name` when set, else the title. */
export const nameOf = (r: CatalogResource, p: Readonly<Record<string, unknown>>): string =>
  str(p.name) ?? r.title
