/**
 * A compiled Puppet catalog, as Puppet serialises it (`catalog_format` 2, the JSON of
 * `puppet catalog compile --render-as json`), and what the compiling child adds to it.
 *
 * How to read it:
 * - `edges` are containment only (a stage contains classes, a class or a defined resource
 *   contains resources); relationships are the `before`, `require`, `notify` and `subscribe`
 *   params, chains (`->`, `~>`) included, each a ref or a list of refs.
 * - Params hold only what the manifest set: no provider defaults.
 * - `sensitive_parameters` lists the params whose values came from `Sensitive()`: they are in
 *   clear in the JSON, and must stay out of logs.
 */

export interface CatalogResource {
  readonly type: string
  readonly title: string
  readonly file?: string | null
  readonly line?: number | null
  readonly exported?: boolean
  /** Puppet's tags: the type, the title's words, the enclosing classes, and the `tag` metaparam. */
  readonly tags?: readonly string[]
  /** `compilable_type` for native types, `defined_type`, `class`, or `unknown` (classes). */
  readonly kind?: string
  readonly parameters?: Readonly<Record<string, unknown>>
  readonly sensitive_parameters?: readonly string[]
}

export interface CatalogEdge {
  readonly source: string
  readonly target: string
}

export interface Catalog {
  /** The node's certname. */
  readonly name: string
  readonly resources: readonly CatalogResource[]
  readonly edges: readonly CatalogEdge[]
}

/** An exported-resource collection (`Type <<| query |>>`) that the manifest evaluated. */
export interface Collection {
  readonly type: string
  /** Puppet's query as a nested list, e.g. `["tag", "==", "web"]`; null for `<<| |>>`. */
  readonly query: unknown
  /** What it collected from other hosts: `[ref, host]` pairs. */
  readonly found?: readonly (readonly [string, string])[]
}

/** What one compile gives: the catalog and what the translation needs besides it. */
export interface CompileResult {
  readonly catalog: Catalog
  readonly collections: readonly Collection[]
  /** Exported resources the manifest collects itself: Puppet applies them here as well. */
  readonly realized: readonly string[]
  /** Resources collected from other hosts: ref → the host that exported it. */
  readonly collected: Readonly<Record<string, string>>
  /** Module name → its directory, to resolve `puppet:///modules/NAME/...` sources. */
  readonly modules: Readonly<Record<string, string>>
  /** The directories modules were searched in, in order. */
  readonly modulepath: readonly string[]
}

/** `Type[title]`, Puppet's way of naming a resource. */
export const ref = (type: string, title: string): string => `${type}[${title}]`

export const refOf = (r: CatalogResource): string => ref(r.type, r.title)

/** `Type[title]` split into its parts (the title may itself hold brackets). */
export function parseRef(s: string): { type: string; title: string } | undefined {
  const open = s.indexOf('[')
  if (open <= 0 || !s.endsWith(']')) return undefined
  return { type: s.slice(0, open), title: s.slice(open + 1, -1) }
}

/** A relationship param's refs: one ref, or a list (possibly nested), as strings. */
export function refList(v: unknown): string[] {
  if (v === undefined || v === null) return []
  if (Array.isArray(v)) return v.flatMap(refList)
  return [String(v)]
}

/** `file:line: ` of a resource's declaration, or '' when the catalog does not say. */
export function locationOf(r: CatalogResource): string {
  if (!r.file) return r.line ? `line ${r.line}: ` : ''
  return r.line ? `${r.file}:${r.line}: ` : `${r.file}: `
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/** Checks the shape of a compile reply; throws an Error naming the first bad key. */
export function readCompileResult(raw: unknown): CompileResult {
  if (!isObj(raw) || !isObj(raw.catalog)) throw new Error('the reply has no catalog')
  const c = raw.catalog
  if (!Array.isArray(c.resources) || !Array.isArray(c.edges))
    throw new Error('the catalog has no resources or edges list')
  for (const [i, r] of c.resources.entries())
    if (!isObj(r) || typeof r.type !== 'string' || typeof r.title !== 'string')
      throw new Error(`catalog.resources[${i}] has no type and title`)
  for (const [i, e] of c.edges.entries())
    if (!isObj(e) || typeof e.source !== 'string' || typeof e.target !== 'string')
      throw new Error(`catalog.edges[${i}] has no source and target`)
  return {
    catalog: {
      name: typeof c.name === 'string' ? c.name : '',
      resources: c.resources as CatalogResource[],
      edges: c.edges as CatalogEdge[],
    },
    collections: Array.isArray(raw.collections) ? (raw.collections as Collection[]) : [],
    realized: Array.isArray(raw.realized) ? raw.realized.map(String) : [],
    collected: isObj(raw.collected) ? (raw.collected as Record<string, string>) : {},
    modules: isObj(raw.modules) ? (raw.modules as Record<string, string>) : {},
    modulepath: Array.isArray(raw.modulepath) ? raw.modulepath.map(String) : [],
  }
}
