/**
 * The YAML frontend: a graph file, read and compiled, then re-read whenever it is saved or reloaded.
 * `-` reads one graph from standard input (named `<stdin>` in messages), not watched.
 */
import { emptyGraph, type Frontend } from '../frontend.js'
import { loadYaml, readGraphFile, type YamlGraph } from './parse.js'
import { followYamlFile } from './watch.js'

/** The name of standard input in messages. */
export const STDIN = '<stdin>'

/** All of standard input, as text. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of process.stdin) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

export function yamlFrontend(file: string): Frontend {
  if (file === '-')
    return async ctx => {
      const first = loadYaml(await readStdin(), STDIN, ctx.registry, ctx.compile)
      for (const m of first.messages) ctx.log.warn(m)
      return { first }
    }
  return async ctx => {
    // Watched before it is read: a change made meanwhile is seen.
    const following =
      ctx.watch || ctx.onReload
        ? await followYamlFile(file, ctx.log, ctx.signal, { watch: ctx.watch, onReload: ctx.onReload })
        : undefined
    try {
      // A FIFO waits for its writer: a stop meanwhile ends the wait, and the run, with nothing run.
      const text = await readGraphFile(file, ctx.signal)
      const load = (t: string): YamlGraph => loadYaml(t, file, ctx.registry, ctx.compile)
      const first = load(text)
      for (const m of first.messages) ctx.log.warn(m)
      return { first, later: following?.graphs(text, load) }
    } catch (err) {
      following?.close()
      if (ctx.signal.aborted) return { first: emptyGraph(ctx) }
      throw err
    }
  }
}
