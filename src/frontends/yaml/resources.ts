/**
 * The `resources` of a YAML graph file read into specs, kind by kind and item by item, through
 * what the loads before read: an item read before (the very same parsed object, pieces.ts) keeps
 * its spec, and a list that is an edit of the last one (a piece's items parsed again) has only
 * those items read again, which the compile is told of (engine/recompile.ts), so that a
 * one-resource edit of a 10,000-resource file reads one resource.
 */
import { isAbsolute, resolve } from 'node:path'
import type { CompileCache } from '../../engine/compiled.js'
import { resourcesEdited } from '../../engine/recompile.js'
import type { EdgeSpec, ResourceSpec } from '../../engine/spec.js'
import type { Issue } from '../../util/errors.js'
import { YamlPieces } from './pieces.js'

/** A resource name starting with this is exported to the other hosts, not applied here. */
const EXPORTED = '@@'

/**
 * What a reload reuses of the loads before it, kept beside the compile cache of the file's loads:
 * the parsed list items (pieces.ts), and what the document's reading made of each item, by the
 * item (the very same parsed object).
 */
export interface Reuse {
  readonly pieces: YamlPieces
  /** Each kind's list of items last time, and the spec of each (by place: no lookup at all). */
  lists: Map<string, KindList>
  /** The resources read last time, when they were each kind's specs one after the other (`plain`). */
  resourcesRead: readonly ResourceSpec[] | undefined
  readonly resources: WeakMap<
    object,
    { kind: string; base: string; spec: ResourceSpec; source?: string | undefined }
  >
  readonly edges: WeakMap<object, { index: number; edge: EdgeSpec }>
  /** The list of edges read last time without a problem, and its edges. */
  edgesRead: { readonly raw: unknown[]; readonly edges: EdgeSpec[] } | undefined
}

const reuses = new WeakMap<CompileCache, Reuse>()

export function reuseOf(cache: CompileCache | undefined): Reuse | undefined {
  if (!cache) return undefined
  let r = reuses.get(cache)
  if (!r) {
    r = {
      pieces: new YamlPieces(),
      lists: new Map(),
      resourcesRead: undefined,
      resources: new WeakMap(),
      edges: new WeakMap(),
      edgesRead: undefined,
    }
    reuses.set(cache, r)
  }
  return r
}

/** The statistics of the last piece-wise parse through `cache` (how many items were parsed again). */
export function lastParse(cache: CompileCache): { pieces: number; parsed: number; cut: number } | undefined {
  return reuses.get(cache)?.pieces.last
}

export type Obj = Record<string, unknown>
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Where relative paths start (the graph file's directory), and the relative paths found. */
export interface Relative {
  readonly base: string
  readonly files: string[]
  /** Unknown keys are warnings, not errors (`--lenient`). */
  readonly lenient?: boolean
  readonly reuse?: Reuse
}

/** A kind's list of items as read last time. */
interface KindList {
  readonly items: unknown[]
  /** Each item's spec (undefined: it has a problem), and the relative `source` it names. */
  readonly specs: (ResourceSpec | undefined)[]
  readonly sources: (string | undefined)[]
  readonly base: string
  /** Every item has a spec and none names a relative source: `specs` are the kind's resources as they are. */
  readonly plain: boolean
}

export function readResources(raw: unknown, issues: Issue[], rel: Relative): ResourceSpec[] {
  if (raw === undefined || raw === null) return []
  if (!isObj(raw)) {
    issues.push({ path: ['resources'], message: 'expected a mapping of kind to a list of resources' })
    return []
  }
  const parts: ResourceSpec[][] = []
  const reuse = rel.reuse
  const lists: Map<string, KindList> = new Map()
  /** The indexes where the resources differ from those read last time, while that can be told. */
  let changed: number[] | undefined = reuse?.resourcesRead && []
  let offset = 0
  for (const [kind, list] of Object.entries(raw)) {
    if (list === null) continue
    if (!Array.isArray(list)) {
      issues.push({ path: ['resources', kind], message: 'expected a list of resources' })
      changed = undefined
      continue
    }
    const before = reuse?.lists.get(kind)
    const same = before?.base === rel.base ? before : undefined
    const read = (same && reread(kind, list, same, issues, rel)) ?? readList(kind, list, same, issues, rel)
    if (!read.list.plain || !read.at) changed = undefined
    for (const i of read.at ?? []) changed?.push(offset + i)
    offset += list.length
    parts.push(
      read.list.plain ? (read.list.specs as ResourceSpec[]) : read.list.specs.filter(x => x !== undefined),
    )
    if (reuse) lists.set(kind, read.list)
  }
  const out = parts.length === 1 ? parts[0]!.slice() : ([] as ResourceSpec[]).concat(...parts)
  if (reuse) {
    // The same kinds in the same order, each list read as it was or with some items read again.
    const kinds = [...reuse.lists.keys()]
    if (
      changed &&
      reuse.resourcesRead &&
      [...lists.keys()].every((k, i) => k === kinds[i]) &&
      kinds.length === lists.size
    )
      resourcesEdited(out, reuse.resourcesRead, changed)
    reuse.lists = lists
    reuse.resourcesRead = [...lists.values()].every(l => l.plain) ? out : undefined
  }
  return out
}

/**
 * A kind's list read through `same`, its reading last time, when it is that list or an edit of it
 * (pieces.ts): the specs of the items the edit did not touch as they were, the others read again
 * (their indexes in `at`). Undefined when the list is neither, or its last reading was not plain.
 */
function reread(
  kind: string,
  list: unknown[],
  same: KindList,
  issues: Issue[],
  rel: Relative,
): { list: KindList; at: readonly number[] } | undefined {
  if (!same.plain) return undefined
  if (same.items === list) return { list: same, at: [] }
  const edit = rel.reuse?.pieces.edit
  if (!edit || edit.list !== list || edit.from !== same.items) return undefined
  const specs = same.specs.slice()
  const sources = same.sources.slice()
  let plain = true
  // In order, so that the sources they name (none before) are listed in order.
  for (const i of edit.at) {
    const read = readItem(kind, list[i], i, issues, rel)
    specs[i] = read?.spec
    sources[i] = read?.source
    if (!read || read.source !== undefined) plain = false
  }
  return { list: { items: list, specs, sources, base: rel.base, plain }, at: edit.at }
}

/** A kind's list read item by item: an item at the same place as last time (in `same`) keeps its spec. */
function readList(
  kind: string,
  list: unknown[],
  same: KindList | undefined,
  issues: Issue[],
  rel: Relative,
): { list: KindList; at?: undefined } {
  const specs: (ResourceSpec | undefined)[] = []
  const sources: (string | undefined)[] = []
  let plain = true
  for (let i = 0; i < list.length; i++) {
    const item: unknown = list[i]
    // The same item at the same place as last time: its spec as it was.
    const was = same && same.items[i] === item ? same.specs[i] : undefined
    const read = was ? { spec: was, source: same!.sources[i] } : readItem(kind, item, i, issues, rel)
    if (was && read?.source !== undefined) rel.files.push(read.source)
    specs.push(read?.spec)
    sources.push(read?.source)
    if (!read || read.source !== undefined) plain = false
  }
  return { list: { items: list, specs, sources, base: rel.base, plain } }
}

/** One item of a kind's list, through the items read before. */
function readItem(
  kind: string,
  item: unknown,
  i: number,
  issues: Issue[],
  rel: Relative,
): { spec: ResourceSpec; source?: string | undefined } | undefined {
  const at = ['resources', kind, i]
  const known = isObj(item) ? rel.reuse?.resources.get(item) : undefined
  if (known && known.kind === kind && known.base === rel.base) {
    // The same item as before, elsewhere: the same spec (the very same params), at its place now.
    if (known.source !== undefined) rel.files.push(known.source)
    const o = known.spec.origin!
    if (o[1] !== kind || o[2] !== i) known.spec = { ...known.spec, origin: at }
    return known
  }
  const read = readResource(kind, item, at, issues, rel)
  if (read && rel.reuse && isObj(item))
    rel.reuse.resources.set(item, { kind, base: rel.base, spec: read.spec, source: read.source })
  return read
}

/** One resource of the list of a kind, and the relative `source` it names. */
function readResource(
  kind: string,
  item: unknown,
  at: (string | number)[],
  issues: Issue[],
  rel: Relative,
): { spec: ResourceSpec; source?: string } | undefined {
  if (!isObj(item)) {
    issues.push({ path: at, message: 'expected a mapping with a `name` and params' })
    return undefined
  }
  const { name, meta, ...params } = item
  const exported = typeof name === 'string' && name.startsWith(EXPORTED)
  const bare = exported ? name.slice(EXPORTED.length) : name
  if ((typeof bare !== 'string' && typeof bare !== 'number') || bare === '') {
    issues.push({
      path: name === undefined ? at : [...at, 'name'],
      message: 'expected a non-empty `name`',
    })
    return undefined
  }
  if (meta !== undefined && meta !== null && !isObj(meta)) {
    issues.push({ path: [...at, 'meta'], message: 'expected a mapping of metaparams' })
    return undefined
  }
  const source = kind === 'file' ? relativeSource(params, rel) : undefined
  return {
    spec: {
      kind,
      name: String(bare),
      params,
      meta: (meta ?? {}) as Obj,
      origin: at,
      ...(exported ? { exported } : {}),
    },
    ...(source !== undefined ? { source } : {}),
  }
}

/**
 * A file's `source` relative to the graph file's directory is made absolute (and remembered, so
 * that a deploy carries it along). A symlink's `source` is its target: it stays as written.
 */
function relativeSource(params: Obj, rel: Relative): string | undefined {
  const src = params.source
  if (typeof src !== 'string' || src === '' || isAbsolute(src) || params.symlink === true) return undefined
  rel.files.push(src)
  params.source = resolve(rel.base, src) + (src.endsWith('/') ? '/' : '')
  return src
}
