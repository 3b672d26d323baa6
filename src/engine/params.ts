/**
 * Normalizing a resource's raw params, once, at the boundary: strip and report unknown and
 * obsolete keys, parse with the kind's schema (defaults, field checks), fill name-dependent
 * defaults, and run the kind's cross-field checks. Every problem comes back at once, with its path,
 * in our words (messages.ts).
 *
 * An unknown key is an error, with the closest known key as a hint (`lenient`: a warning, and
 * dropped); an obsolete key of the original is a warning, and dropped (`strict`: an error).
 */
import type { z } from 'zod'
import { type Issue, MgmtError } from '../util/errors.js'
import { didYouMean } from '../util/suggest.js'
import { issueMessage, UNITS } from './messages.js'
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
  /** Keys that were dropped: obsolete ones, and unknown ones when lenient. */
  readonly warnings: Issue[]
}

/** How unknown and obsolete keys are taken. */
export interface KeyRules {
  /** Unknown keys are warnings (and dropped), not errors. */
  readonly lenient?: boolean
  /** Obsolete keys are errors, not warnings. */
  readonly strict?: boolean
}

/**
 * Turns zod's issues into ours, keeping their paths; `units` gives the unit of a top-level key
 * (`kind.key` in UNITS) for the messages, `kind` is the prefix of those keys.
 */
export function zodIssues(
  error: z.ZodError,
  prefix: readonly (string | number)[] = [],
  kind?: string,
): Issue[] {
  return error.issues.map(i => {
    const path = i.path.map(p => (typeof p === 'symbol' ? String(p) : p))
    const unit = kind && path.length === 1 ? UNITS[`${kind}.${String(path[0])}`] : undefined
    return { path: [...prefix, ...path], message: issueMessage(i, unit) }
  })
}

/** Splits raw keys into the known ones (returned) and the unknown or obsolete ones (issues or warnings). */
export function sortKeys(
  raw: Readonly<Record<string, unknown>>,
  known: ReadonlySet<string>,
  obsolete: Readonly<Record<string, string>> | undefined,
  rules: KeyRules,
  out: { issues: Issue[]; warnings: Issue[] },
  what = 'parameter',
): Record<string, unknown> {
  const input: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(raw)) {
    if (known.has(k)) input[k] = v
    else if (obsolete && Object.hasOwn(obsolete, k))
      (rules.strict ? out.issues : out.warnings).push({
        path: [k],
        message: `obsolete ${what}, ignored: ${obsolete[k]}`,
      })
    else
      (rules.lenient ? out.warnings : out.issues).push({
        path: [k],
        message: `unknown ${what}${didYouMean(k, known)}`,
      })
  }
  return input
}

export function parseParams<D extends AnyDef>(
  typed: D,
  name: string,
  raw: Readonly<Record<string, unknown>>,
  opts: KeyRules = {},
): ParsedParams<ParamsOfDef<D>> {
  const def = typed as AnyResourceDef
  const out = { issues: [] as Issue[], warnings: [] as Issue[] }
  const input = sortKeys(raw, knownKeys(def), def.obsolete, opts, out)
  const { issues, warnings } = out
  const res = def.params.safeParse(input, { reportInput: true })
  if (!res.success) return { issues: [...issues, ...zodIssues(res.error, [], def.kind)], warnings }
  const params = def.normalize ? def.normalize(res.data, name) : res.data
  issues.push(...nulIssues(def, params), ...(def.validate?.(params, name) ?? []))
  // The kind's own schema produced these params, so they have its params type.
  return issues.length ? { issues, warnings } : { params: params as ParamsOfDef<D>, issues, warnings }
}

/**
 * A NUL in a string of the params, outside the kind's `anyText`: such a string cannot be a path,
 * a command, an argument, an environment value or a name (the system ends it at the NUL, and
 * Node.js refuses it). One issue per param.
 */
export function nulIssues(def: Pick<AnyResourceDef, 'anyText'>, params: PlainParams): Issue[] {
  const issues: Issue[] = []
  for (const key in params) {
    if (def.anyText?.includes(key)) continue
    const at = nulAt(params[key], [key])
    if (at)
      issues.push({
        path: at,
        message: 'a NUL byte (\\0) is not allowed here: no path, command or name can hold one',
      })
  }
  return issues
}

/** The path to the first string in `v` that holds a NUL. */
function nulAt(v: unknown, path: (string | number)[]): (string | number)[] | undefined {
  if (typeof v === 'string') return v.includes('\0') ? path : undefined
  if (typeof v !== 'object' || v === null) return undefined
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const at = nulAt(v[i], [...path, i])
      if (at) return at
    }
    return undefined
  }
  for (const k in v) {
    // A key with a NUL is no name to show: its object is named.
    if (k.includes('\0')) return path
    const at = nulAt((v as Record<string, unknown>)[k], [...path, k])
    if (at) return at
  }
  return undefined
}

const known = new WeakMap<object, ReadonlySet<string>>()
/** A kind's param names, worked out once per schema. */
function knownKeys(def: AnyResourceDef): ReadonlySet<string> {
  let k = known.get(def.params)
  if (!k) {
    k = new Set(Object.keys(def.params.shape))
    known.set(def.params, k)
  }
  return k
}

/** parseParams for code that wants an exception: throws ERR_RES_PARAMS_INVALID. */
export function mustParseParams<D extends AnyDef>(
  def: D,
  name: string,
  raw: Readonly<Record<string, unknown>>,
  opts: KeyRules = {},
): ParamsOfDef<D> {
  const r = parseParams(def, name, raw, opts)
  if (!r.params)
    throw new MgmtError('ERR_RES_PARAMS_INVALID', { res: repr(def.kind, name), issues: r.issues })
  return r.params
}
