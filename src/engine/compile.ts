/**
 * The compilation of what a frontend produces (a `GraphSpec`, spec.ts) into a checked resource
 * graph (compiled.ts). Compilation parses every resource's params and meta with its kind's schema,
 * resolves edge ends, merges duplicates, and rejects cycles, reporting every problem at once with
 * the path of its declaration (`origin`), so a frontend can point at a file and line. A compile
 * with a cache may be a patch of the last one (recompile.ts).
 */

import { formatPath, type Issue, isMgmtError, MgmtError } from '../util/errors.js'
import { didYouMean } from '../util/suggest.js'
import type { ExportedResource } from '../world/world.js'
import {
  type Compiled,
  type CompileOptions,
  differs,
  type LocatedIssue,
  type Res,
  type ResEdge,
  type ResGraph,
} from './compiled.js'
import { Dag } from './dag.js'
import { addAutoEdges, uidsOf } from './features/autoedge.js'
import { autoGroup, groupParts } from './features/autogroup.js'
import { checkSendRecv } from './features/sendrecv.js'
import { defaultMeta, META_KEYS, type MetaParams, metaParams, validateMeta } from './metaparams.js'
import { parseParams, sortKeys, zodIssues } from './params.js'
import { patchCompile, recordLast, type Seen } from './recompile.js'
import type { Registry } from './registry.js'
import { repr } from './resource.js'
import type { GraphSpec, Origin, ResourceSpec } from './spec.js'

/** The compile failure: every issue, located, and the warnings (a typo'd key often explains an error). */
export class GraphInvalid extends MgmtError<'ERR_GRAPH_INVALID'> {
  constructor(
    readonly issues: LocatedIssue[],
    readonly warnings: LocatedIssue[] = [],
  ) {
    super('ERR_GRAPH_INVALID', {
      issues: [...issues, ...warnings.map(w => ({ ...w, message: `${w.message} (warning)` }))].map(i =>
        i.path.length ? `${formatPath(i.path)}: ${i.message}` : i.message,
      ),
    })
  }
}

/**
 * A graph with this many problems is not looked at further: nobody reads more, and a million of
 * them (a generated file gone wrong) would cost gigabytes.
 */
const MAX_ISSUES = 1000

export function compileGraph(spec: GraphSpec, registry: Registry, opts: CompileOptions = {}): Compiled {
  const cache = opts.cache
  if (cache) {
    // A patch finds resources under their declaration's text, but keeps what it compiles by the
    // spec's objects only: keyed entries would pile up, one an edit, as a patch never rotates the
    // cache (a full compile does).
    const patched = patchCompile(spec, opts, cache.last, (r, at, issues, warnings) =>
      compileResource(r, registry, opts, at, issues, warnings, false),
    )
    if (patched) {
      cache.last = patched.last
      return patched.compiled
    }
    cache.last = undefined
  }
  const seen: Seen | undefined = cache && { res: [], vertex: [], warningEnds: [] }
  const compiled = compileAll(spec, registry, opts, seen)
  if (cache && seen) cache.last = recordLast(compiled, seen, compiled.warnings)
  return compiled
}

/** The full compile; `seen` collects what recordLast needs. */
function compileAll(
  spec: GraphSpec,
  registry: Registry,
  opts: CompileOptions,
  seen: Seen | undefined,
): Compiled {
  const issues: LocatedIssue[] = []
  const warnings: LocatedIssue[] = []
  const graph: ResGraph = new Dag()
  const origins = new Map<string, Origin>()
  const edgeOrigins = new Map<string, Origin>()
  const exports = new Map<string, { res: Res; out: ExportedResource }>()
  for (let i = 0; i < spec.resources.length; i++) {
    const r = spec.resources[i]!
    if (issues.length >= MAX_ISSUES) {
      issues.push({ path: [], message: `stopped after ${MAX_ISSUES} problems` })
      throw new GraphInvalid(issues, warnings.slice(0, MAX_ISSUES))
    }
    const at = r.origin ?? ['resources', i]
    const res = compileResource(r, registry, opts, at, issues, warnings)
    if (seen) {
      seen.res.push(res)
      seen.vertex.push(false)
      seen.warningEnds.push(warnings.length)
    }
    if (!res) continue
    if (r.exported || res.meta.export.length) {
      const reason = addExport(exports, res, r)
      if (reason)
        issues.push({ path: at, message: `${res.id} is exported twice with different params: ${reason}` })
      if (r.exported) continue
    }
    const prev = graph.vertex(res.id)
    if (prev) {
      const reason = differs(prev, res)
      if (reason)
        issues.push({ path: at, message: `${res.id} is declared twice with different params: ${reason}` })
      continue
    }
    graph.addVertex(res.id, res)
    origins.set(res.id, at)
    if (seen) seen.vertex[i] = true
  }
  for (const [i, c] of (spec.collect ?? []).entries())
    if (!registry.has(c.kind))
      issues.push({
        path: c.origin ?? ['collect', i],
        message: `collect: ${unknownKind(c.kind, registry)}`,
      })
  for (const [i, e] of spec.edges.entries()) {
    const at = e.origin ?? ['edges', i]
    const from = repr(e.from.kind, e.from.name)
    const to = repr(e.to.kind, e.to.name)
    let ok = true
    for (const [end, id] of [
      ['from', from],
      ['to', to],
    ] as const)
      if (!graph.has(id)) {
        ok = false
        if (exports.has(id))
          issues.push({
            path: [...at, end],
            message: `edge \`${e.name}\`: its \`${end}\` resource ${id} is exported, not in this host's graph`,
          })
        // An end whose resource is declared but failed to compile was reported already.
        else if (!hasSpec(spec, id))
          issues.push({
            path: [...at, end],
            message: `edge \`${e.name}\`: its \`${end}\` resource ${id} is not in the graph`,
          })
      }
    if (!ok) continue
    if (from === to) {
      issues.push({ path: at, message: `edge \`${e.name}\` goes from ${from} to itself` })
      continue
    }
    if ((e.send === undefined) !== (e.recv === undefined)) {
      issues.push({ path: at, message: `edge \`${e.name}\`: \`send\` and \`recv\` go together` })
      continue
    }
    const sendRecv = e.send !== undefined && e.recv !== undefined ? [{ send: e.send, recv: e.recv }] : []
    graph.addEdge(from, to, { name: e.name, notify: e.notify ?? false, sendRecv }, mergeEdges)
    edgeOrigins.set(`${from}\0${to}`, at)
  }
  issues.push(...checkSendRecv(graph, (from, to) => edgeOrigins.get(`${from}\0${to}`) ?? []))
  issues.push(...uidConflicts(graph, origins))
  if (issues.length === 0) {
    const auto = opts.noAutoEdges ? undefined : addAutoEdges(graph)
    for (const d of auto?.dropped ?? []) warnings.push({ path: [], message: d })
    try {
      if (!auto?.acyclic) graph.topoSort()
    } catch (err) {
      if (!isMgmtError(err, 'ERR_GRAPH_CYCLE')) throw err
      issues.push({ path: origins.get(err.details.cycle[0]!) ?? [], message: err.message })
    }
  }
  // Parts join their parents even with --no-autogroup: apart, they would do nothing.
  if (issues.length === 0) issues.push(...groupParts(graph, id => origins.get(id) ?? []))
  opts.cache?.rotate()
  if (issues.length) throw new GraphInvalid(issues, warnings)
  if (!opts.noAutoGroup) autoGroup(graph)
  return {
    graph,
    name: spec.name,
    warnings,
    exports: [...exports.values()].map(e => e.out),
    collect: spec.collect ?? [],
    spec,
    options: opts,
  }
}

/**
 * Adds an exported resource: its raw params and meta (without `export` and `hidden`, which are
 * the exporter's business), to `*` for an `exported` spec unless its meta names hosts. Returns
 * why it differs from an export of the same id, if it does.
 */
function addExport(
  exports: Map<string, { res: Res; out: ExportedResource }>,
  res: Res,
  r: ResourceSpec,
): string | undefined {
  const prev = exports.get(res.id)
  if (prev) return differs(prev.res, res)
  const { export: _to, hidden: _hidden, ...meta } = (r.meta ?? {}) as Record<string, unknown>
  exports.set(res.id, {
    res,
    out: {
      kind: res.kind,
      name: res.name,
      params: r.params,
      meta,
      to: res.meta.export.length ? [...res.meta.export] : ['*'],
      ...(r.annotations && { annotations: r.annotations }),
    },
  })
  return undefined
}

/**
 * Two resources that manage one thing (the same uid: `file:/etc/motd` under two names) would fight
 * over it, each undoing the other's change at once: a load-time conflict instead.
 */
function uidConflicts(graph: ResGraph, origins: ReadonlyMap<string, Origin>): LocatedIssue[] {
  const issues: LocatedIssue[] = []
  const owner = new Map<string, string>()
  for (const r of graph.values()) {
    if (!r.def.uids) continue
    const id = r.id
    const uids = uidsOf(r)
    for (const uid of uids.length === 1 ? uids : new Set(uids)) {
      const other = owner.get(uid)
      if (other === undefined) owner.set(uid, id)
      else
        issues.push({
          path: origins.get(id) ?? [],
          message: `${id} and ${other} both manage ${uid}: one thing is managed by one resource`,
        })
    }
  }
  return issues
}

/** `no resource kind \`fiel\` available (did you mean \`file\`?)`, with the known kinds. */
function unknownKind(kind: string, registry: Registry): string {
  const hint = didYouMean(kind, registry.kinds())
  return `no resource kind \`${kind}\` available${hint || ` (known: ${registry.kinds().join(', ')})`}`
}

function hasSpec(spec: GraphSpec, id: string): boolean {
  return spec.resources.some(r => repr(r.kind, r.name) === id)
}

/** Several edges between one pair: notify is OR'ed, send/recv pairs are united. */
const mergeEdges = (a: ResEdge, b: ResEdge): ResEdge => ({
  name: a.name,
  notify: a.notify || b.notify,
  sendRecv: [
    ...a.sendRecv,
    ...b.sendRecv.filter(p => !a.sendRecv.some(q => q.send === p.send && q.recv === p.recv)),
  ],
})

function compileResource(
  r: ResourceSpec,
  registry: Registry,
  opts: CompileOptions,
  at: Origin,
  issues: LocatedIssue[],
  warnings: LocatedIssue[],
  /** What it compiles is kept under the declaration's text too (else by its objects only). */
  keyed = true,
): Res | undefined {
  if (!registry.has(r.kind)) {
    issues.push({
      path: at,
      message: unknownKind(r.kind, registry),
    })
    return undefined
  }
  if (typeof r.name !== 'string' || r.name === '') {
    issues.push({ path: [...at, 'name'], message: `a \`${r.kind}\` resource needs a non-empty name` })
    return undefined
  }
  const variant = opts.cache && resourceOptions(opts)
  const same = variant === undefined ? undefined : opts.cache!.same(r, variant)
  const key =
    variant === undefined || same
      ? undefined
      : JSON.stringify([
          r.kind,
          r.name,
          r.params,
          r.meta ?? {},
          opts.strict,
          opts.lenient,
          opts.noop,
          opts.sema,
        ])
  const hit = same ?? (key === undefined ? undefined : opts.cache!.get(key))
  if (hit) {
    if (!same) opts.cache!.remember(r, variant!, hit)
    for (const w of hit.warnings) warnings.push({ path: [...at, ...w.path], message: w.message })
    return hit.res
  }
  const def = registry.get(r.kind)
  const parsed = parseParams(def, r.name, r.params, opts)
  const own = [...parsed.warnings]
  for (const i of parsed.issues) issues.push({ path: [...at, ...i.path], message: i.message })
  const meta = compileMeta(r.meta ?? {}, opts, issues, own, at)
  for (const w of own) warnings.push({ path: [...at, ...w.path], message: w.message })
  if (r.name.startsWith('$') && meta && !meta.dollar)
    issues.push({ path: [...at, 'name'], message: 'a name starting with `$` needs meta `dollar: true`' })
  if (!parsed.params || !meta) return undefined
  const res: Res = { id: repr(r.kind, r.name), kind: r.kind, name: r.name, def, params: parsed.params, meta }
  if (variant !== undefined) {
    if (key !== undefined && keyed) opts.cache!.set(key, { res, warnings: own })
    opts.cache!.remember(r, variant, { res, warnings: own })
  }
  return res
}

/** resourceOptions by options object: made once per compile, not once per resource (each kept its own). */
const optionStrings = new WeakMap<CompileOptions, string>()

/** The options that change how one resource compiles. */
export function resourceOptions(o: CompileOptions): string {
  let s = optionStrings.get(o)
  if (s === undefined) {
    s = `${o.strict}|${o.lenient}|${o.noop}|${o.sema}`
    optionStrings.set(o, s)
  }
  return s
}

function isEmpty(o: Readonly<Record<string, unknown>>): boolean {
  for (const _ in o) return false
  return true
}

/** The metaparams; `at` is the resource's origin, problems are pushed with `meta.` paths. */
function compileMeta(
  raw: Readonly<Record<string, unknown>>,
  opts: CompileOptions,
  issues: LocatedIssue[],
  warnings: Issue[],
  origin?: Origin,
): MetaParams | undefined {
  // Most resources have no meta: they share the defaults (frozen; the engine only reads meta).
  if (!opts.noop && !(opts.sema && opts.sema > 0) && isEmpty(raw)) return defaultMeta
  const at = [...(origin ?? []), 'meta']
  const out = { issues: [] as Issue[], warnings: [] as Issue[] }
  const known = sortKeys(raw, META_KEYS, undefined, opts, out, 'metaparam')
  for (const w of out.warnings) warnings.push({ path: ['meta', ...w.path], message: w.message })
  for (const i of out.issues) issues.push({ path: [...at, ...i.path], message: i.message })
  const res = metaParams().safeParse(known, { reportInput: true })
  if (!res.success) {
    for (const i of zodIssues(res.error, [], 'meta'))
      issues.push({ path: [...at, ...i.path], message: i.message })
    return undefined
  }
  if (out.issues.length) return undefined
  const bad = validateMeta(res.data)
  for (const i of bad) issues.push({ path: [...at, ...i.path], message: i.message })
  if (bad.length) return undefined
  const meta = { ...res.data }
  if (opts.noop) meta.noop = true
  if (opts.sema && opts.sema > 0) meta.sema = [...meta.sema, `:${opts.sema}`]
  return meta
}
