/**
 * Interpretation: the resources and edges a program produced become one resource graph, by the
 * original's rules. Two visible resources of one kind and name must be equal (unset fields count
 * as their zero value, unless the field may be left undefined), else the second is an error;
 * hidden resources (`Meta:hidden`) stay separate vertices. Edges join every vertex of each named
 * (kind, name); an edge to a resource that does not exist is an error, as is a receiving param
 * with two senders or a hidden sender. The graph must have no cycle. A collected resource is its
 * exported params under the fields its `collect` statement sets.
 */

import { stableJson } from '../../../world/world.js'
import { LangError } from '../errors.js'
import { metaRangeProblem } from '../meta.js'
import type { Kind, Schemas } from '../schema/schema.js'
import type { Span } from '../source.js'
import { keyOf, toPlain, type Value, zeroValue } from '../values.js'
import type { Collected, EdgeOut, Output, ResOut } from './eval.js'

export interface LangResource {
  readonly kind: string
  readonly name: string
  /** The fields set, by their mcl names. */
  readonly fields: ReadonlyMap<string, { value: Value; span: Span }>
  /** Metaparams set, as plain values. */
  readonly meta: Readonly<Record<string, unknown>>
  readonly hidden: boolean
  readonly span: Span
  /** A collected resource: the export it came from (its metaparams are in `meta` already). */
  readonly base?: Collected
}

/** A resource's params for the engine: the collected ones, then its fields. */
export function plainParams(r: LangResource): Record<string, unknown> {
  const own = [...r.fields].map(([k, f]) => [k, toPlain(f.value)] as const)
  return { ...(r.base?.params ?? {}), ...Object.fromEntries(own) }
}

export interface LangEdge {
  readonly from: LangResource
  readonly to: LangResource
  notify: boolean
  readonly sendRecv: { send: string; recv: string }[]
  readonly span: Span
}

export interface LangGraph {
  readonly resources: LangResource[]
  readonly edges: LangEdge[]
}

const id = (kind: string, name: string): string => `${kind}[${name}]`

export function interpret(out: Output, schemas: Schemas): LangGraph {
  const visible = new Map<string, LangResource>()
  const hidden = new Map<string, LangResource[]>()
  const exports = new Map<string, LangResource>()
  for (const r of out.resources) {
    const res = build(r, schemas)
    const key = id(r.kind, r.name)
    for (const host of (res.meta.export as string[] | undefined) ?? []) {
      const k = `${key}\0${host}`
      const prev = exports.get(k)
      if (!prev) exports.set(k, res)
      else {
        const why = differs(prev, res, schemas)
        if (why)
          throw new LangError('interpret', `inequivalent duplicate export: ${key} to ${host}: ${why}`, [
            r.span,
          ])
      }
    }
    if (res.hidden) {
      const list = hidden.get(key) ?? []
      const last = list[list.length - 1]
      if (!last || differs(last, res, schemas)) list.push(res)
      hidden.set(key, list)
      continue
    }
    const prev = visible.get(key)
    if (!prev) {
      visible.set(key, res)
      continue
    }
    if (schemas.get(r.kind)?.merges && !prev.base && !res.base) {
      const merged = merge(prev, res, schemas)
      if (typeof merged === 'string')
        throw new LangError('interpret', `incompatible duplicate resource \`${key}\` found: ${merged}`, [
          r.span,
        ])
      visible.set(key, merged)
      continue
    }
    const why = differs(prev, res, schemas)
    if (why)
      throw new LangError('interpret', `inequivalent duplicate resource \`${key}\` found: ${why}`, [r.span])
  }
  const all = (kind: string, name: string): LangResource[] => {
    const key = id(kind, name)
    const v = visible.get(key)
    return [...(v ? [v] : []), ...(hidden.get(key) ?? [])]
  }
  const edges = new Map<string, LangEdge>()
  const fed = new Map<string, string>()
  const addEdge = (from: LangResource, to: LangResource, notify: boolean, span: Span): LangEdge => {
    const k = `${id(from.kind, from.name)}\0${id(to.kind, to.name)}\0${from.hidden}\0${to.hidden}`
    const have = edges.get(k)
    if (have) {
      have.notify ||= notify
      return have
    }
    const e: LangEdge = { from, to, notify, sendRecv: [], span }
    edges.set(k, e)
    return e
  }
  const find = (kind: string, name: string, span: Span): LangResource[] => {
    const found = all(kind, name)
    if (!found.length)
      throw new LangError('interpret', `edge cannot find resource kind: ${kind} named: \`${name}\``, [span])
    return found
  }
  for (const r of out.resources)
    for (const e of r.edges)
      for (const name of e.names)
        for (const self of all(r.kind, r.name))
          for (const other of find(e.kind, name, r.span)) {
            const forward = e.property === 'before' || e.property === 'notify'
            const notify = e.property === 'notify' || e.property === 'listen'
            if (forward) addEdge(self, other, notify, r.span)
            else addEdge(other, self, notify, r.span)
          }
  for (const e of out.edges) edgeStmt(e, find, addEdge, fed)
  const resources = [...visible.values(), ...[...hidden.values()].flat()]
  const graph = { resources, edges: [...edges.values()] }
  checkAcyclic(graph)
  return graph
}

function edgeStmt(
  e: EdgeOut,
  find: (kind: string, name: string, span: Span) => LangResource[],
  addEdge: (from: LangResource, to: LangResource, notify: boolean, span: Span) => LangEdge,
  fed: Map<string, string>,
): void {
  for (let i = 0; i + 1 < e.halves.length; i++) {
    const a = e.halves[i]!
    const b = e.halves[i + 1]!
    for (const n1 of a.names)
      for (const n2 of b.names) {
        const froms = find(a.kind, n1, e.span)
        const tos = find(b.kind, n2, e.span)
        for (const from of froms)
          for (const to of tos) {
            const edge = addEdge(from, to, false, e.span)
            if (!a.field || !b.field) continue
            const target = `${id(b.kind, n2)}.${b.field}`
            const source = `${id(a.kind, n1)}.${a.field}`
            const prev = fed.get(target)
            if (prev && prev !== source)
              throw new LangError(
                'interpret',
                `resource: \`${id(b.kind, n2)}\` has duplicate receive on: \`${b.field}\` param`,
                [e.span],
              )
            if (from.hidden)
              throw new LangError('interpret', `cannot send from hidden resource: ${id(a.kind, n1)}`, [
                e.span,
              ])
            fed.set(target, source)
            if (!edge.sendRecv.some(p => p.send === a.field && p.recv === b.field))
              edge.sendRecv.push({ send: a.field, recv: b.field })
          }
      }
  }
}

/** A produced resource with its kind's checks: the name, the field values, the metaparams. */
function build(r: ResOut, schemas: Schemas): LangResource {
  const kind = schemas.get(r.kind)
  if (!kind)
    throw new LangError(
      'interpret',
      `error building resource: cannot create resource kind \`${r.kind}\` with name \`${r.name}\`: no resource kind \`${r.kind}\` available`,
      [r.span],
    )
  for (const [name, f] of r.fields) {
    const problem = fieldProblem(kind, name, f.value)
    if (problem) throw new LangError('interpret', `error building resource: ${problem}`, [f.span])
  }
  const meta: Record<string, unknown> = { ...(r.base?.meta ?? {}) }
  for (const [name, m] of r.meta) {
    const plain = toPlain(m.value)
    const problem = typeof plain === 'number' ? metaRangeProblem(name, plain) : undefined
    if (problem) throw new LangError('interpret', `error building resource: ${problem}`, [m.span])
    meta[name] = plain
  }
  const hidden = meta.hidden === true
  if (!hidden && r.name.startsWith('$') && meta.dollar !== true)
    throw new LangError('interpret', `${id(r.kind, r.name)} did not Validate: the Res name starts with a $`, [
      r.span,
    ])
  const out = { kind: r.kind, name: r.name, fields: r.fields, meta, hidden, span: r.span }
  return r.base ? { ...out, base: r.base } : out
}

const goRanges: Readonly<Record<string, readonly [bigint, bigint]>> = {
  int8: [-(2n ** 7n), 2n ** 7n - 1n],
  int16: [-(2n ** 15n), 2n ** 15n - 1n],
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  rune: [-(2n ** 31n), 2n ** 31n - 1n],
  uint8: [0n, 2n ** 8n - 1n],
  byte: [0n, 2n ** 8n - 1n],
  uint16: [0n, 2n ** 16n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  uint: [0n, 2n ** 64n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
}

/** Why a value cannot go into a field (an unsigned field takes no negative number...). */
function fieldProblem(kind: Kind, name: string, v: Value): string | undefined {
  const f = kind.fields.get(name)
  if (!f) return undefined
  if (f.go && typeof v === 'bigint') {
    const go = f.go.replace(/^\*+/, '')
    const range = goRanges[go]
    if (range && v < 0n && range[0] === 0n)
      return `can't store negative int \`${v}\` into unsigned \`${go}\` field`
    if (range && (v < range[0] || v > range[1])) return `int \`${v}\` does not fit a \`${go}\` field`
  }
  if (f.zod) {
    const r = f.zod.safeParse(toPlain(v))
    if (!r.success) return `field \`${name}\`: ${r.error.issues[0]?.message ?? 'invalid value'}`
  }
  return undefined
}

/** Why two resources of one kind and name differ, or undefined when they are the same. */
export function differs(a: LangResource, b: LangResource, schemas: Schemas): string | undefined {
  const kind = schemas.get(a.kind)
  if (
    a.kind === 'test' &&
    (a.fields.get('comparefail')?.value === true || b.fields.get('comparefail')?.value === true)
  )
    return 'the CompareFail is true'
  const why = a.base || b.base ? paramsDiffer(a, b) : fieldsDiffer(a, b, kind)
  if (why) return why
  const metaKeys = new Set([...Object.keys(a.meta), ...Object.keys(b.meta)])
  for (const k of metaKeys)
    if (JSON.stringify(a.meta[k]) !== JSON.stringify(b.meta[k])) return `the meta param ${k} differs`
  return undefined
}

/** Which field differs (an unset field counts as its zero value, unless it may be left undefined). */
function fieldsDiffer(a: LangResource, b: LangResource, kind: Kind | undefined): string | undefined {
  for (const name of new Set([...a.fields.keys(), ...b.fields.keys()])) {
    const f = kind?.fields.get(name)
    const dflt = (): string | undefined => (f && !f.optional ? keyOf(zeroValue(f.type)) : undefined)
    const x = a.fields.has(name) ? keyOf(a.fields.get(name)!.value) : dflt()
    const y = b.fields.has(name) ? keyOf(b.fields.get(name)!.value) : dflt()
    if (x !== y)
      return kind?.name === 'file' && name === 'content'
        ? 'the contents of Content differ'
        : `the ${f?.display ?? name} differs`
  }
  return undefined
}

/** Which param differs, for a collected resource (its exported params are raw values). */
function paramsDiffer(a: LangResource, b: LangResource): string | undefined {
  const [x, y] = [plainParams(a), plainParams(b)]
  for (const k of new Set([...Object.keys(x), ...Object.keys(y)]))
    if (stableJson(x[k]) !== stableJson(y[k])) return `the ${k} differs`
  return undefined
}

const pkgStates = ['installed', 'newest']

/**
 * Two duplicates of a kind that merges (`pkg`): equal but for their state, where `installed` and
 * `newest` merge into `newest`; anything else is incompatible (returns why).
 */
function merge(a: LangResource, b: LangResource, schemas: Schemas): LangResource | string {
  const state = (r: LangResource): string => {
    const v = r.fields.get('state')?.value
    return typeof v === 'string' ? v : ''
  }
  const [x, y] = [state(a), state(b)]
  if (x !== y && !(pkgStates.includes(x) && pkgStates.includes(y)))
    return `state differs in an incompatible way: ${x} vs ${y}`
  const rest = (r: LangResource): LangResource => ({
    ...r,
    fields: new Map([...r.fields].filter(([k]) => k !== 'state')),
  })
  const why = differs(rest(a), rest(b), schemas)
  if (why) return why
  if (x === y) return a
  const fields = new Map(a.fields)
  fields.set('state', { value: 'newest', span: a.fields.get('state')!.span })
  return { ...a, fields }
}

/**
 * Depth first, without recursion and without copying the path at each step: a chain of 10,000
 * edges exhausted the stack, and copying made it quadratic.
 */
function checkAcyclic(g: LangGraph): void {
  const out = new Map<LangResource, LangResource[]>()
  for (const e of g.edges) {
    const to = out.get(e.from)
    if (to) to.push(e.to)
    else out.set(e.from, [e.to])
  }
  const state = new Map<LangResource, 1 | 2>()
  for (const root of g.resources) {
    if (state.has(root)) continue
    /** The resources on the way down, and how many of each one's successors were visited. */
    const path: LangResource[] = [root]
    const done: number[] = [0]
    state.set(root, 1)
    while (path.length) {
      const r = path.at(-1)!
      const next = (out.get(r) ?? [])[done[done.length - 1]!]
      if (next === undefined) {
        state.set(r, 2)
        path.pop()
        done.pop()
        continue
      }
      done[done.length - 1]!++
      if (state.get(next) === 2) continue
      if (state.get(next) === 1) {
        const cycle = path.slice(path.indexOf(next)).map(x => id(x.kind, x.name))
        // A cycle of thousands is named by its first and last few.
        const shown =
          cycle.length > 12
            ? [...cycle.slice(0, 6), `... ${cycle.length - 10} more`, ...cycle.slice(-4)]
            : cycle
        throw new LangError('interpret', `resource graph has cycles: ${[...shown, cycle[0]].join(' -> ')}`, [
          next.span,
        ])
      }
      state.set(next, 1)
      path.push(next)
      done.push(0)
    }
  }
}
