/**
 * Resource schemas for the type checker: each kind's fields with their mcl types, what it sends,
 * whether it receives. A kind the engine runs is described by its own zod schema (so the two can
 * never drift); any other kind of the original comes from the generated table `kinds.ts`, so
 * that programs using kinds this version does not run yet still type-check.
 */
import type { z } from 'zod'
import type { Registry } from '../../../engine/registry.js'
import type { ResourceDef } from '../../../engine/resource.js'
import { parseType, T, type Type } from '../types.js'
import { goKinds } from './kinds.js'
import type { FieldInfo } from './table.js'

export interface Field {
  readonly type: Type
  /** The engine's schema of the field (engine kinds). */
  readonly zod?: z.ZodType
  /** The Go type (other kinds). */
  readonly go?: string
  /** Unset differs from the zero value (a Go pointer, an optional zod field). */
  readonly optional: boolean
  /** The name the original's messages use (`Content`). */
  readonly display: string
  /** A field of the original's kind that this engine's kind lacks (the engine warns about it). */
  readonly unsupported?: boolean
}

export interface Kind {
  readonly name: string
  readonly fields: ReadonlyMap<string, Field>
  readonly sends: ReadonlyMap<string, Field>
  readonly recv: boolean
  readonly merges: boolean
  /** The engine's definition, when the engine runs this kind. */
  readonly def?: ResourceDef
}

/** Kind lookup for the checker: the engine's registry first, then the generated table. */
export class Schemas {
  readonly #cache = new Map<string, Kind | undefined>()
  constructor(private readonly registry?: Registry) {}

  get(kind: string): Kind | undefined {
    if (this.#cache.has(kind)) return this.#cache.get(kind)
    const k = this.registry?.has(kind) ? fromDef(this.registry.get(kind)) : fromTable(kind)
    this.#cache.set(kind, k)
    return k
  }

  /** Every kind known, engine kinds included. */
  kinds(): string[] {
    return [...new Set([...(this.registry?.kinds() ?? []), ...Object.keys(goKinds)])].sort()
  }
}

function fromTable(kind: string): Kind | undefined {
  const info = goKinds[kind]
  if (!info) return undefined
  const conv = (f: FieldInfo): Field => ({
    type: parseType(f.type),
    go: f.go,
    optional: f.go.startsWith('*'),
    display: f.name,
  })
  return {
    name: kind,
    fields: new Map(Object.entries(info.fields).map(([k, f]) => [k, conv(f)])),
    sends: new Map(Object.entries(info.sends ?? {}).map(([k, f]) => [k, conv(f)])),
    recv: info.recv === true,
    merges: info.merges === true,
  }
}

const capitalise = (s: string): string => s.replace(/(^|_)([a-z])/g, (_m, _u, c: string) => c.toUpperCase())

function fromDef(def: ResourceDef): Kind {
  const fields = new Map<string, Field>()
  for (const [k, s] of Object.entries(def.params.shape)) {
    const zs = s as z.ZodType
    fields.set(k, {
      type: zodToType(zs),
      zod: zs,
      optional: isOptional(zs),
      display: goKinds[def.kind]?.fields[k]?.name ?? capitalise(k),
    })
  }
  // The original's fields that this kind lacks still type-check; the engine warns about them.
  for (const [k, f] of fromTable(def.kind)?.fields ?? [])
    if (!fields.has(k)) fields.set(k, { ...f, unsupported: true })
  const sends = new Map<string, Field>()
  for (const [k, s] of Object.entries(def.sends ?? {}))
    sends.set(k, { type: zodToType(s), zod: s, optional: false, display: capitalise(k) })
  return { name: def.kind, fields, sends, recv: true, merges: goKinds[def.kind]?.merges === true, def }
}

interface ZodDef {
  type: string
  innerType?: ZodLike
  in?: ZodLike
  element?: ZodLike
  keyType?: ZodLike
  valueType?: ZodLike
  shape?: Record<string, ZodLike>
  options?: ZodLike[]
  values?: unknown[]
  checks?: { _zod: { def: { check?: string; format?: string } } }[]
}
type ZodLike = { def: ZodDef }

const wrappers = ['default', 'optional', 'nullable', 'prefault', 'readonly', 'catch', 'nonoptional']

/** True when a field may be left out (no default fills it). */
function isOptional(s: z.ZodType): boolean {
  let d = (s as unknown as ZodLike).def
  for (let i = 0; i < 10 && wrappers.includes(d.type); i++) {
    if (d.type === 'optional') return true
    if (d.type === 'default' || d.type === 'prefault') return false
    d = d.innerType!.def
  }
  return false
}

/** The mcl type of a zod schema: strings and enums `str`, integers `int`, arrays, records... */
export function zodToType(s: z.ZodType): Type {
  return conv((s as unknown as ZodLike).def, 0)
}

function conv(d: ZodDef, depth: number): Type {
  if (depth > 20) return T.variant
  if (wrappers.includes(d.type) && d.innerType) return conv(d.innerType.def, depth + 1)
  switch (d.type) {
    case 'pipe':
      return d.in ? conv(d.in.def, depth + 1) : T.variant
    case 'string':
    case 'enum':
      return T.str
    case 'boolean':
      return T.bool
    case 'number':
      return (d.checks ?? []).some(
        c => c._zod.def.check === 'number_format' && /int/.test(c._zod.def.format ?? ''),
      )
        ? T.int
        : T.float
    case 'bigint':
      return T.int
    case 'literal': {
      const v = d.values?.[0]
      return typeof v === 'string'
        ? T.str
        : typeof v === 'boolean'
          ? T.bool
          : typeof v === 'number'
            ? T.float
            : T.variant
    }
    case 'array':
      return T.list(d.element ? conv(d.element.def, depth + 1) : T.variant)
    case 'record':
      return T.map(
        d.keyType ? conv(d.keyType.def, depth + 1) : T.str,
        d.valueType ? conv(d.valueType.def, depth + 1) : T.variant,
      )
    case 'object':
      return T.struct(
        Object.entries(d.shape ?? {}).map(([name, v]) => ({ name, type: conv(v.def, depth + 1) })),
      )
    case 'union': {
      const opts = (d.options ?? []).map(o => conv(o.def, depth + 1))
      const first = opts[0]
      if (first && opts.every(o => o.k === first.k && o.k !== 'list' && o.k !== 'map' && o.k !== 'struct'))
        return first
      return T.variant
    }
    default:
      return T.variant
  }
}
