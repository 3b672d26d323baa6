/**
 * The directories above a file that other `file` resources of the graph manage. A file never acts
 * through one of them that is missing or is no longer a real directory (a link planted in its
 * place): it waits (`ERR_RES_WAITING`), since the resource that manages the directory repairs it,
 * or fails on it, and its automatic edge then runs the file again. Unmanaged directories on the
 * way (a system's `/var/run -> /run`) are followed as usual.
 */
import { viewChanges } from '../../engine/graphview.js'
import type { GraphResource } from '../../engine/resource.js'
import { MgmtError } from '../../util/errors.js'
import { lstatOr } from './nofollow.js'

const SLASH = 47

/** The parent directories of a path, nearest first, each with a trailing `/`. */
export function* parentDirs(path: string): Generator<string> {
  let end = path.length
  while (end > 0 && path.charCodeAt(end - 1) === SLASH) end--
  let p = path.slice(0, end)
  while (p.length > 0) {
    p = p.slice(0, p.lastIndexOf('/'))
    yield `${p}/`
  }
}

/** What is worked out once per graph snapshot: the managed directories, and those above each parent. */
interface Managed {
  /** Managed directories (paths without their trailing `/`) → resource name. */
  readonly dirs: ReadonlyMap<string, string>
  /** The managed directories above each parent directory (shared by its files). */
  readonly above: Map<string, readonly ManagedDir[]>
}

const byGraph = new WeakMap<readonly GraphResource[], Managed>()

/** The directory a resource manages (its path, with the trailing `/`), if it is one. */
function dirOf(g: GraphResource | undefined): string | undefined {
  const path = g?.kind === 'file' ? g.params.path : undefined
  return typeof path === 'string' && path.endsWith('/') && path !== '/' ? path : undefined
}

/**
 * The snapshot's managed directories: those of the snapshot it was derived from when the entries
 * that changed manage the same directories under the same names (a content edit), else read anew.
 */
function managed(graph: readonly GraphResource[]): Managed {
  let m = byGraph.get(graph)
  if (m) return m
  const d = viewChanges(graph)
  const before = d && byGraph.get(d.from)
  if (
    before &&
    d.changed.every(i => {
      const [a, b] = [d.from[i], graph[i]]
      return dirOf(a) === dirOf(b) && (dirOf(a) === undefined || a?.name === b?.name)
    })
  )
    m = before
  else {
    const dirs = new Map<string, string>()
    for (const g of graph) {
      const path = dirOf(g)
      if (path) dirs.set(path.slice(0, -1), g.name)
    }
    m = { dirs, above: new Map() }
  }
  byGraph.set(graph, m)
  return m
}

/** A managed directory above a file: its path (no trailing `/`) and its resource's name. */
export interface ManagedDir {
  readonly path: string
  readonly name: string
}

const NONE: readonly ManagedDir[] = Object.freeze([])

/** The directories above `target` that the graph manages, top-down (the list is shared: read only). */
export function managedAncestors(target: string, graph: readonly GraphResource[]): readonly ManagedDir[] {
  const { dirs, above: cache } = managed(graph)
  if (dirs.size === 0) return NONE
  const parent = target.slice(0, target.lastIndexOf('/') + 1)
  const hit = cache.get(parent)
  if (hit) return hit
  const out: ManagedDir[] = []
  for (const d of parentDirs(target)) {
    const name = dirs.get(d.slice(0, -1))
    if (name !== undefined) out.unshift({ path: d.slice(0, -1), name })
  }
  const list = out.length ? out : NONE
  cache.set(parent, list)
  return list
}

/** Throws `ERR_RES_WAITING` when a managed directory above is missing or is not a directory. */
export async function checkAncestors(ancestors: readonly ManagedDir[]): Promise<void> {
  for (const { path, name } of ancestors) {
    const st = await lstatOr(path)
    if (st?.isDirectory()) continue
    const is = !st ? 'missing' : st.isSymbolicLink() ? 'a symlink' : 'not a directory'
    throw new MgmtError('ERR_RES_WAITING', { on: `file[${name}]`, reason: `${path}/ is ${is}` })
  }
}
