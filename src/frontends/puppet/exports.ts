/**
 * Exported resources between Puppet manifests, through the world, with Puppet's own semantics.
 *
 * - A host's `@@` resources are translated like any other and marked exported, so that the world's
 *   exchange publishes them and any host (YAML, mcl, Puppet) can collect the mgmt resource. Each
 *   carries the Puppet resource itself (type, title, tags, parameters) as its annotation.
 * - A host whose manifest collects (`Type <<| query |>>`) reads what the other hosts exported to it
 *   from their manifests and hands it to its Puppet child with the compile request; the child's
 *   storeconfigs backend answers each collection as PuppetDB would. Puppet then evaluates the query,
 *   applies the collection's overrides, realizes its relationships (`File <<| |>> -> Service[x]`)
 *   and evaluates collected defined resources, all in the catalog that is translated as usual.
 * - A change of the world's exports compiles the manifest again (`watch.ts`); an unchanged set
 *   compiles nothing.
 */
import type { World } from '../../world/world.js'
import { type CollectedResource, stableJson, worldReady } from '../../world/world.js'
import type { CatalogResource } from './catalog.js'

/** The annotation key of an exported Puppet resource. */
export const ANNOTATION = 'puppet'

/** An exported Puppet resource as the child's storeconfigs backend takes it. */
export interface PuppetExport {
  /** The host that exported it. */
  readonly host: string
  readonly type: string
  readonly title: string
  readonly tags: readonly string[]
  readonly parameters: Readonly<Record<string, unknown>>
  readonly sensitive_parameters?: readonly string[]
  readonly file?: string
  readonly line?: number
}

/** The annotations of an exported catalog resource: the resource as Puppet gave it. */
export function annotationsOf(r: CatalogResource): Record<string, unknown> {
  const p: Record<string, unknown> = {
    type: r.type,
    title: r.title,
    tags: r.tags ?? [],
    parameters: r.parameters ?? {},
  }
  if (r.sensitive_parameters?.length) p.sensitive_parameters = r.sensitive_parameters
  if (r.file) p.file = r.file
  if (r.line) p.line = r.line
  return { [ANNOTATION]: p }
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every(x => typeof x === 'string')

/** The Puppet resource of an export, or why it has none that a manifest can collect. */
function puppetExport(r: CollectedResource): PuppetExport | string | undefined {
  const p = r.annotations?.[ANNOTATION]
  if (p === undefined) return undefined
  if (!isObj(p) || typeof p.type !== 'string' || typeof p.title !== 'string')
    return 'its annotation has no Puppet type and title'
  if (!strings(p.tags ?? []) || !isObj(p.parameters ?? {}) || !strings(p.sensitive_parameters ?? []))
    return 'its annotation has bad tags, parameters or sensitive parameters'
  return {
    host: r.host,
    type: p.type,
    title: p.title,
    tags: (p.tags as string[] | undefined) ?? [],
    parameters: (p.parameters as Record<string, unknown> | undefined) ?? {},
    ...(strings(p.sensitive_parameters) && p.sensitive_parameters.length
      ? { sensitive_parameters: p.sensitive_parameters }
      : {}),
    ...(typeof p.file === 'string' ? { file: p.file } : {}),
    ...(typeof p.line === 'number' ? { line: p.line } : {}),
  }
}

/**
 * What the other hosts exported to `hostname` from their manifests, in a stable order: what this
 * host exported itself is in its own catalog already (Puppet collects it there), and resources
 * exported by YAML graphs or mcl programs have no Puppet form. Bad annotations go to `bad`.
 */
export function puppetExports(
  collected: readonly CollectedResource[],
  hostname: string,
  bad: (message: string) => void = () => {},
): PuppetExport[] {
  const out: PuppetExport[] = []
  for (const r of collected) {
    if (r.host === hostname) continue
    const p = puppetExport(r)
    if (p === undefined) continue
    if (typeof p === 'string') {
      bad(`${r.kind}[${r.name}] exported by ${r.host} cannot be collected by a manifest: ${p}`)
      continue
    }
    out.push(p)
  }
  return out.sort((a, b) => cmp(a.host, b.host) || cmp(a.type, b.type) || cmp(a.title, b.title))
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/** The Puppet exports of the other hosts, read from the world, and whether they changed since the last read. */
export class OthersExports {
  #last: string | undefined
  readonly #warned = new Set<string>()

  constructor(
    private readonly world: World | undefined,
    private readonly signal: AbortSignal,
    private readonly warn: (message: string) => void,
  ) {}

  /** Whether there is a world to collect from. */
  get available(): boolean {
    return this.world !== undefined
  }

  /**
   * Reads them (waiting for the world to be ready: none when the run stops first); `changed` is
   * false when they are as last read.
   */
  async read(): Promise<{ exports: PuppetExport[]; changed: boolean }> {
    if (!this.world || !(await worldReady(this.world, this.signal))) return { exports: [], changed: false }
    const exports = puppetExports(await this.world.resCollect(), this.world.hostname, m => {
      if (this.#warned.has(m)) return
      this.#warned.add(m)
      this.warn(m)
    })
    const key = stableJson(exports)
    const changed = key !== this.#last
    this.#last = key
    return { exports, changed }
  }

  /** Wakes `onChange` on every change of any host's exports (see `World.resWatch`). */
  watch(signal: AbortSignal, onChange: () => void): Promise<void> {
    return this.world ? this.world.resWatch(signal, onChange) : Promise.resolve()
  }
}
