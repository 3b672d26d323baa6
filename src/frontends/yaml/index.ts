/** The YAML frontend: a graph file, read and compiled, then re-read whenever it is saved. */
import { readFile } from 'node:fs/promises'
import { describeError, MgmtError } from '../../util/errors.js'
import type { Frontend } from '../frontend.js'
import { loadYaml, type YamlGraph } from './parse.js'
import { watchYamlFile } from './watch.js'

export function yamlFrontend(file: string): Frontend {
  return async ctx => {
    // Watching starts before the first read, so that a save in between is not missed.
    const watching = ctx.watch ? watchYamlFile(file, ctx.log, ctx.signal) : undefined
    try {
      const text = await readFile(file, 'utf8').catch(err => {
        throw new MgmtError('ERR_FILE_READ', { file, reason: describeError(err) }, { cause: err })
      })
      const load = (t: string): YamlGraph => loadYaml(t, file, ctx.registry, ctx.compile)
      const first = load(text)
      for (const m of first.messages) ctx.log.warn(m)
      return { first, later: watching?.graphs(text, load) }
    } catch (err) {
      watching?.close()
      throw err
    }
  }
}
