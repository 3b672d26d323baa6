/**
 * The remote graph files of a run: each `--remote FILE` and, depth first, the `remotes:` each one
 * lists. Every file is read and compiled here, on the initiator, before any host is contacted: an
 * invalid graph, a file without `remote:`, two files for one host name, or a file that lists itself
 * stops the run with every problem listed, and nothing starts anywhere.
 */
import { createRequire } from 'node:module'
import { dirname, relative, resolve, sep } from 'node:path'
import type { CompileOptions } from '../engine/compiled.js'
import type { Registry } from '../engine/registry.js'
import { loadYamlFile, type YamlRemote } from '../frontends/yaml/parse.js'
import { MgmtError } from '../util/errors.js'
import { maskPassword } from './url.js'

/** One host to configure: its graph file, and the hosts it configures itself. */
export interface HostPlan {
  /** The graph file, absolute. */
  readonly file: string
  readonly remote: YamlRemote
  readonly children: readonly HostPlan[]
  /**
   * The files that travel to this host (its own first, then its descendants'), each with its path
   * relative to their deepest common directory: `remotes:` entries, relative to the file that lists
   * them, resolve the same way there as here.
   */
  readonly files: readonly { readonly abs: string; readonly rel: string }[]
}

/** Loads the files given to `--remote` and everything they list. Throws MgmtError. */
export async function loadRemoteFiles(
  files: readonly string[],
  registry: Registry,
  opts: CompileOptions,
): Promise<HostPlan[]> {
  const problems: string[] = []
  const byHostname = new Map<string, string>()
  const load = async (file: string, path: readonly string[]): Promise<HostPlan | undefined> => {
    if (path.includes(file)) {
      problems.push(`${file} lists itself: ${[...path, file].join(' -> ')}`)
      return undefined
    }
    const g = await loadYamlFile(file, registry, opts)
    if (!g.remote) {
      problems.push(
        `${file}: no \`remote:\` key; a remote graph file names its host with remote: ssh://user@host`,
      )
      return undefined
    }
    const seen = byHostname.get(g.remote.hostname)
    if (seen !== undefined) problems.push(`${file} and ${seen} both name the host \`${g.remote.hostname}\``)
    byHostname.set(g.remote.hostname, file)
    const children: HostPlan[] = []
    for (const r of g.remote.remotes) {
      const child = await load(resolve(dirname(file), r), [...path, file])
      if (child) children.push(child)
    }
    return { file, remote: g.remote, children, files: travelling(file, children) }
  }
  const plans: HostPlan[] = []
  for (const f of [...new Set(files.map(f => resolve(f)))]) {
    const p = await load(f, [])
    if (p) plans.push(p)
  }
  if (problems.length) throw new MgmtError('ERR_REMOTE_FILES', { problems })
  return plans
}

function travelling(file: string, children: readonly HostPlan[]): HostPlan['files'] {
  const all = [file, ...new Set(children.flatMap(c => c.files.map(f => f.abs)))]
  const root = commonDir(all.map(f => dirname(f)))
  return all.map(abs => ({ abs, rel: relative(root, abs) }))
}

function commonDir(dirs: readonly string[]): string {
  let common = dirs[0]!.split(sep)
  for (const d of dirs.slice(1)) {
    const parts = d.split(sep)
    let i = 0
    while (i < common.length && common[i] === parts[i]) i++
    common = common.slice(0, i)
  }
  return common.join(sep) || sep
}

/** Every plan of the tree, parents before their children. */
export function flatten(plans: readonly HostPlan[]): HostPlan[] {
  return plans.flatMap(p => [p, ...flatten(p.children)])
}

/**
 * A graph file's text as it travels to a host. In the host's own file, the password of `remote:`
 * (which it has no use for) is replaced by as many `*`, so that it is never stored there; the files
 * of its children keep theirs, since the host logs in to them.
 */
export function travellingText(text: string, own: boolean): Buffer {
  if (!own || !/^\s*remote\s*:/m.test(text) || !text.includes('@')) return Buffer.from(text)
  // Loaded only here, as in the YAML frontend: the position-keeping parser takes a while to load.
  const yaml = createRequire(import.meta.url)('yaml') as typeof import('yaml')
  const doc = yaml.parseDocument(text)
  const node = doc.get('remote', true) as { range?: [number, number, number]; value?: unknown } | undefined
  if (!node?.range || typeof node.value !== 'string') return Buffer.from(text)
  const masked = maskPassword(node.value)
  if (masked === node.value) return Buffer.from(text)
  return Buffer.from(text.slice(0, node.range[0]) + JSON.stringify(masked) + text.slice(node.range[1]))
}
