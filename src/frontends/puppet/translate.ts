/**
 * A compiled catalog → the engine's `GraphSpec`, in TypeScript, from the catalog's JSON alone (never
 * from Puppet's RAL), so that the result depends on the manifest and not on the host.
 *
 * Each native resource becomes one mgmt resource: through its type's mapping (`types/`) when the
 * kind it maps to is registered and every param it sets has a meaning there, otherwise through the
 * `pippet` fallback, which Puppet itself applies. Containers (stages, classes, defined resources)
 * are flattened (`edges.ts`). Everything that is not mapped is reported, once per type and reason.
 *
 * Exported resources (`@@`) are translated the same way and marked exported, with the Puppet
 * resource as their annotation (`exports.ts`); those the manifest collects itself are applied here
 * too. Resources collected from other hosts are in the catalog already (Puppet collected them).
 */

import type { LocatedIssue } from '../../engine/compiled.js'
import type { GraphSpec, Origin, ResourceSpec } from '../../engine/spec.js'
import { type CatalogResource, type Collection, type CompileResult, locationOf, refOf } from './catalog.js'
import { Containment } from './containment.js'
import { relationshipEdges } from './edges.js'
import { annotationsOf } from './exports.js'
import { RefIndex } from './refs.js'
import {
  bool,
  flag,
  type Invalid,
  isInvalid,
  isUnmapped,
  MAPPINGS,
  type MapContext,
  METAPARAMS,
  NOT_APPLIED,
  ORDERING_ONLY,
  type Vertex,
} from './types/index.js'

export interface TranslateOptions {
  /** The params of a registered kind; undefined when this build has no such kind. */
  readonly kindParams: (kind: string) => ReadonlySet<string> | undefined
  /** Seconds between checks of the resources Puppet applies (`pippet`); 0: no polling. */
  readonly pollInterval: number
}

export interface Translation {
  readonly spec: GraphSpec
  /** What was not mapped natively or not at all, one line per type and reason. */
  readonly warnings: readonly string[]
  /** The values of `Sensitive()` params: never to be printed. */
  readonly secrets: readonly string[]
  /** What each exported-resource collection collected from other hosts, one line each. */
  readonly collected: readonly string[]
  /** Values Puppet itself refuses, at the resource's param: the graph must not run. */
  readonly issues: readonly LocatedIssue[]
}

/** The fallback kind, and the metaparams it does not pass to Puppet. */
const FALLBACK = 'pippet'
const NOT_PASSED = new Set([...METAPARAMS].filter(m => m !== 'loglevel'))

/** Warnings grouped by message, each listing the refs it concerns. */
class Notes {
  readonly #by = new Map<string, string[]>()
  add(message: string, ref?: string): void {
    const refs = this.#by.get(message) ?? []
    if (ref !== undefined) refs.push(ref)
    this.#by.set(message, refs)
  }
  lines(): string[] {
    return [...this.#by].map(([message, refs]) => {
      if (refs.length === 0) return message
      const shown =
        refs.length > 5 ? `${refs.slice(0, 5).join(', ')} and ${refs.length - 5} more` : refs.join(', ')
      return `${message}: ${shown}`
    })
  }
}

export function translate(result: CompileResult, opts: TranslateOptions): Translation {
  const { catalog } = result
  const containment = new Containment(catalog)
  const index = new RefIndex(catalog.resources)
  const notes = new Notes()
  const ctx: MapContext = { modules: result.modules }
  const issues: LocatedIssue[] = []
  const inherited = inheritedNoop(catalog.resources, containment, (r, message) =>
    issues.push({ path: [`${locationOf(r)}${refOf(r)}`, 'noop'], message }),
  )
  const resources: ResourceSpec[] = []
  const vertices = new Map<string, Vertex>()
  const noops = new Set<string>()
  const addNoop = (name: string, origin: Origin): Vertex => {
    const v: Vertex = { kind: 'noop', name, params: {} }
    if (!noops.has(name)) resources.push({ ...v, origin })
    noops.add(name)
    return v
  }
  const realized = new Set(result.realized)
  for (const r of catalog.resources) {
    const ref = refOf(r)
    const from = result.collected[ref]
    const origin = [`${from === undefined ? '' : `exported by ${from}: `}${locationOf(r)}${ref}`]
    const container = containment.isContainer(ref)
    const refused = (bad: Invalid): void =>
      void issues.push({ path: [...origin, bad.param], message: bad.invalid })
    const vertex = (): Vertex => vertexOf(r, opts, ctx, notes, inherited.get(ref), refused)
    if (r.exported) {
      const e = exportedSpec(r, origin, container, realized.has(ref), vertex)
      resources.push(e.spec)
      if (e.applied) vertices.set(ref, e.applied)
      continue
    }
    if (container) continue
    const v = vertex()
    vertices.set(ref, v)
    resources.push({ ...v, origin })
  }
  const edges = relationshipEdges({
    resources: catalog.resources,
    index,
    containment,
    vertex: ref => vertices.get(ref),
    applied: r => !r.exported || realized.has(refOf(r)),
    addNoop,
    warn: m => notes.add(m),
  })
  const secrets = catalog.resources.flatMap(r =>
    (r.sensitive_parameters ?? []).flatMap(k => secretsIn(r.parameters?.[k])),
  )
  return {
    spec: { name: catalog.name || 'puppet', resources, edges },
    warnings: notes.lines(),
    secrets,
    collected: result.collections.map(collectedLine),
    issues,
  }
}

/** The values a Sensitive param holds, as text: itself, or every string and number in its list or hash. */
function secretsIn(v: unknown): string[] {
  if (Array.isArray(v)) return v.flatMap(secretsIn)
  if (typeof v === 'object' && v !== null) return Object.values(v).flatMap(secretsIn)
  return typeof v === 'string' || typeof v === 'number' ? [String(v)] : []
}

/** `` `File <<| tag == 'web' |>>` collected File[/etc/a] from h1, File[/etc/b] from h2 ``. */
function collectedLine(c: Collection): string {
  const found = c.found ?? []
  const what = found.length ? found.map(([ref, host]) => `${ref} from ${host}`).join(', ') : 'nothing'
  return `\`${collectionText(c)}\` collected ${what}`
}

/**
 * An `@@` resource: exported, with the Puppet resource as its annotation, and applied here too
 * when the manifest collects it itself (`realized`). A defined resource is evaluated where it is
 * collected: to mgmt, it is a `noop`.
 */
function exportedSpec(
  r: CatalogResource,
  origin: Origin,
  container: boolean,
  realized: boolean,
  vertex: () => Vertex,
): { spec: ResourceSpec; applied?: Vertex } {
  const annotations = annotationsOf(r)
  if (container)
    return { spec: { kind: 'noop', name: refOf(r), params: {}, exported: true, annotations, origin } }
  const v = vertex()
  if (!realized) return { spec: { ...v, exported: true, annotations, origin } }
  return { spec: { ...v, meta: { ...v.meta, export: ['*'] }, annotations, origin }, applied: v }
}

/** A native resource's vertex: mapped, a `noop`, or the fallback. */
function vertexOf(
  r: CatalogResource,
  opts: TranslateOptions,
  ctx: MapContext,
  notes: Notes,
  inheritedNoop: boolean | undefined,
  refused: (bad: Invalid) => void,
): Vertex {
  const ref = refOf(r)
  const type = r.type.toLowerCase()
  const p = r.parameters ?? {}
  const noop = p.noop === undefined ? inheritedNoop : flag(p.noop)
  const meta: Record<string, unknown> = noop === undefined ? {} : { noop }
  for (const k of ['schedule', 'audit'] as const)
    if (p[k] !== undefined) notes.add(`the \`${k}\` metaparam is not supported; ignored`, ref)
  if (ORDERING_ONLY.has(type)) return { kind: 'noop', name: ref, params: {} }
  if (type in NOT_APPLIED) {
    notes.add(`${r.type}: not applied (${NOT_APPLIED[type]}); kept as a noop for its relationships`, ref)
    return { kind: 'noop', name: ref, params: {} }
  }
  const mapped = mapNative(r, opts, ctx)
  if (typeof mapped !== 'string' && isInvalid(mapped)) {
    refused(mapped)
    return { kind: 'noop', name: ref, params: {} }
  }
  if (typeof mapped !== 'string') return { ...mapped, meta: { ...mapped.meta, ...meta } }
  const poll = opts.pollInterval > 0 ? `checked every ${opts.pollInterval} s` : 'checked at start only'
  notes.add(`${r.type}: ${mapped}; applied by Puppet through \`${FALLBACK}\` (${poll})`, ref)
  const params: Record<string, unknown> = { type, title: r.title, params: passedParams(p) }
  if (r.sensitive_parameters?.length) params.sensitive = [...r.sensitive_parameters]
  return {
    kind: FALLBACK,
    name: ref,
    params,
    meta: opts.pollInterval > 0 ? { ...meta, poll: opts.pollInterval } : meta,
  }
}

/** The mapped vertex, why there is none, or the value Puppet refuses. */
function mapNative(r: CatalogResource, opts: TranslateOptions, ctx: MapContext): Vertex | Invalid | string {
  const m = MAPPINGS[r.type.toLowerCase()]
  if (!m) return 'no native mapping'
  const known = opts.kindParams(m.kind)
  if (!known) return `no \`${m.kind}\` kind in this build`
  // mgmt's kinds log what they write (a file's diff in noop, an exec's command); Puppet redacts.
  if (r.sensitive_parameters?.length)
    return `Sensitive ${r.sensitive_parameters.map(k => `\`${k}\``).join(', ')}`
  const p = r.parameters ?? {}
  const handled = new Set([...m.params, ...(m.ignored ?? [])])
  const extra = Object.keys(p).filter(k => !METAPARAMS.has(k) && !handled.has(k))
  if (extra.length) return `${extra.map(k => `\`${k}\``).join(', ')} not mapped`
  const shaped = oddShape(p, m.lists ?? [], m.anyShape ?? [])
  if (shaped) return shaped
  const v = m.map(r, p, ctx)
  if (isUnmapped(v)) return `${v.unmapped} not mapped`
  if (isInvalid(v)) return v
  const missing = Object.keys(v.params).filter(k => !known.has(k))
  if (missing.length) return `the \`${m.kind}\` kind has no ${missing.map(k => `\`${k}\``).join(', ')}`
  return v
}

/**
 * Why a param's value has a shape the mapping cannot take (a list where one value goes, a hash,
 * binary data), or undefined. Puppet decides what such a value means, or refuses it.
 */
function oddShape(
  p: Readonly<Record<string, unknown>>,
  lists: readonly string[],
  anyShape: readonly string[],
): string | undefined {
  for (const [k, v] of Object.entries(p)) {
    if (METAPARAMS.has(k) || anyShape.includes(k)) continue
    const values = Array.isArray(v) && lists.includes(k) ? v : [v]
    for (const x of values) {
      if (Array.isArray(x)) return `\`${k}\` as a list`
      if (typeof x !== 'object' || x === null) continue
      return Object.keys(x).join() === '__binary' ? `binary \`${k}\`` : `\`${k}\` as a hash`
    }
  }
  return undefined
}

/** The params Puppet needs to apply a resource alone: all but relationships and the like. */
function passedParams(p: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(p).filter(([k]) => !NOT_PASSED.has(k)))
}

/** `noop => true` on a class or defined resource holds for every resource in it that does not say otherwise. */
function inheritedNoop(
  resources: readonly CatalogResource[],
  containment: Containment,
  refused: (r: CatalogResource, message: string) => void,
): Map<string, boolean> {
  const out = new Map<string, boolean>()
  for (const r of resources) {
    const set = r.parameters?.noop
    if (set === undefined || !containment.isContainer(refOf(r))) continue
    const noop = bool(set)
    // Puppet refuses it: what the class holds must not run as if it were not there.
    if (noop === undefined) {
      refused(r, `expected true or false, got ${JSON.stringify(set)}`)
      continue
    }
    for (const leaf of containment.leaves(refOf(r))) if (!out.has(leaf)) out.set(leaf, noop)
  }
  return out
}

/** `File <<| tag == 'web' |>>`, from Puppet's query: `[lhs, op, rhs]`, nested for `and` and `or`. */
export function collectionText(c: Collection): string {
  const q = (v: unknown, top: boolean): string => {
    if (!Array.isArray(v)) return typeof v === 'string' ? `'${v}'` : String(v)
    const [a, op, b] = v as unknown[]
    if (op === 'and' || op === 'or') {
      const text = `${q(a, false)} ${op} ${q(b, false)}`
      return top ? text : `(${text})`
    }
    return `${String(a)} ${String(op)} ${q(b, false)}`
  }
  return `${c.type} <<| ${c.query === null || c.query === undefined ? '' : `${q(c.query, true)} `}|>>`
}
