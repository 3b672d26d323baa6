/**
 * A YAML graph as a deploy: the graph file and every file it names by a relative path (a file's
 * `source`, a directory's tree), read into one record that `mgmt deploy` stores in the world and
 * every host unpacks (`frontends/deploy.ts`). Only files in the graph's directory or below can
 * travel: the record keeps their paths relative to it.
 */
import { lstat, readdir, readFile } from 'node:fs/promises'
import { basename, dirname, join, relative, resolve, sep } from 'node:path'
import type { CompileOptions } from '../../engine/compiled.js'
import type { Registry } from '../../engine/registry.js'
import { describeError, MgmtError } from '../../util/errors.js'
import type { Deploy, DeployFile } from '../../world/world.js'
import { loadYamlFile, type YamlGraph } from './parse.js'

/** Loads the graph (a graph that does not load throws its located error) and packs it. */
export async function packYaml(
  file: string,
  registry: Registry,
  opts: CompileOptions = {},
): Promise<{ graph: YamlGraph; deploy: Omit<Deploy, 'id'> }> {
  const graph = await loadYamlFile(file, registry, opts)
  const base = dirname(resolve(file))
  const files: Record<string, DeployFile> = {}
  files[basename(file)] = await read(resolve(file), file)
  for (const rel of graph.files) {
    const path = resolve(base, rel)
    const inside = relative(base, path)
    if (inside === '' || inside === '..' || inside.startsWith(`..${sep}`))
      throw new MgmtError('ERR_DEPLOY_FILE', {
        file: rel,
        reason: "it is not in the graph's directory or below",
      })
    await add(path, inside, files, rel)
  }
  return {
    graph,
    deploy: { frontend: 'yaml', main: basename(file), files, time: new Date().toISOString() },
  }
}

/** Adds a file, or a directory's whole tree, under its relative name. */
async function add(path: string, rel: string, out: Record<string, DeployFile>, named: string): Promise<void> {
  const st = await lstat(path).catch(err => {
    throw new MgmtError('ERR_DEPLOY_FILE', { file: named, reason: describeError(err) }, { cause: err })
  })
  if (st.isDirectory()) {
    for (const e of await readdir(path)) await add(join(path, e), join(rel, e), out, named)
    return
  }
  if (!st.isFile())
    throw new MgmtError('ERR_DEPLOY_FILE', {
      file: path,
      reason: 'only regular files and directories can travel',
    })
  out[rel] = await read(path, named)
}

async function read(path: string, named: string): Promise<DeployFile> {
  try {
    const [data, st] = await Promise.all([readFile(path), lstat(path)])
    return { data: data.toString('base64'), mode: st.mode & 0o777 }
  } catch (err) {
    throw new MgmtError('ERR_DEPLOY_FILE', { file: named, reason: describeError(err) }, { cause: err })
  }
}
