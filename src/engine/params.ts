/**
 * Normalizing a resource's raw params, once, at the boundary: strip and report unknown and
 * obsolete keys, parse with the kind's schema (defaults, field checks), fill name-dependent
 * defaults, and run the kind's cross-field checks. Every problem comes back at once, with its path.
 */
import type { z } from 'zod'
import { type Issue, MgmtError } from '../util/errors.js'
import {
  type AnyResourceDef,
  type ParamsSchema,
  type PlainParams,
  type ResourceDef,
  repr,
  type SendsShape,
} from './resource.js'

/** A kind's own params type when it is known (a typed definition), else a plain record. */
type ParamsOfDef<D> = D extends ResourceDef<string, infer S, SendsShape> ? z.output<S> : PlainParams
type AnyDef = AnyResourceDef | ResourceDef<string, ParamsSchema, SendsShape>

export interface ParsedParams<P> {
  /** Present when there are no issues. */
  readonly params?: P
  /** Problems that make the resource invalid. */
  readonly issues: Issue[]
  /** Unknown or obsolete keys that were dropped (errors in strict mode, so then in `issues`). */
  readonly warnings: Issue[]
}

/** Turns zod's issues into ours, keeping their paths. */
export function zodIssues(error: z.ZodError, prefix: readonly (string | number)[] = []): Issue[] {
  return error.issues.map(i => ({
    path: [...prefix, ...i.path.map(p => (typeof p === 'symbol' ? String(p) : p))],
    message: i.message,
  }))
}

/** Each kind's param keys, worked out once. */
const keysOf = new WeakMap<AnyResourceDef, ReadonlySet<string>>()

function knownKeys(def: AnyResourceDef): ReadonlySet<string> {
  let keys = keysOf.get(def)
  if (!keys) {
    keys = new Set(Object.keys(def.params.shape))
    keysOf.set(def, keys)
  }
  return keys
}

export function parseParams<D extends AnyDef>(
  typed: D,
  name: string,
  raw: Readonly<Record<string, unknown>>,
  opts: { strict?: boolean } = {},
): ParsedParams<ParamsOfDef<D>> {
  const def = typed as AnyResourceDef
  const known = knownKeys(def)
  const input: Record<string, unknown> = {}
  const warnings: Issue[] = []
  for (const [k, v] of Object.entries(raw)) {
    if (known.has(k)) input[k] = v
    else if (def.obsolete && k in def.obsolete)
      warnings.push({ path: [k], message: `obsolete parameter, ignored: ${def.obsolete[k]}` })
    else warnings.push({ path: [k], message: 'unknown parameter' })
  }
  const issues: Issue[] = opts.strict ? [...warnings] : []
  const res = def.params.safeParse(input)
  if (!res.success)
    return { issues: [...issues, ...zodIssues(res.error)], warnings: opts.strict ? [] : warnings }
  const params = def.normalize ? def.normalize(res.data, name) : res.data
  issues.push(...(def.validate?.(params, name) ?? []))
  const kept = opts.strict ? [] : warnings
  // The kind's own schema produced these params, so they have its params type.
  return issues.length
    ? { issues, warnings: kept }
    : { params: params as ParamsOfDef<D>, issues, warnings: kept }
}

/** parseParams for code that wants an exception: throws ERR_RES_PARAMS_INVALID. */
export function mustParseParams<D extends AnyDef>(
  def: D,
  name: string,
  raw: Readonly<Record<string, unknown>>,
  opts: { strict?: boolean } = {},
): ParamsOfDef<D> {
  const r = parseParams(def, name, raw, opts)
  if (!r.params)
    throw new MgmtError('ERR_RES_PARAMS_INVALID', { res: repr(def.kind, name), issues: r.issues })
  return r.params
}
