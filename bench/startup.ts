/**
 * The start-up phase of `npm run bench`: `mgmt --version` beside `node -e ''`, and chains of noops
 * (each with an edge to the next) as whole `mgmt run --tmp-prefix --converged-timeout 0 yaml`
 * processes, beside the same command on a graph of one noop: what the scheduling of a long chain
 * adds to a run.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Command, timedRun } from './proc.js'
import { type Summary, summarize } from './stats.js'

export interface StartupFigures {
  readonly version: Summary
  /** A graph of one noop: the run's fixed cost. */
  readonly oneNoop: Summary
  readonly chain1000: Summary
  /** 4,000 noops with `--no-autogroup`: every vertex scheduled on its own. */
  readonly chain4000: Summary
}

/** A YAML graph of `n` noops, each with an edge to the next. */
export function chainYaml(n: number): string {
  const names = Array.from({ length: n }, (_, i) => `n${i}`)
  const edges = names
    .slice(1)
    .map((to, i) => `- {name: e${i}, from: {kind: noop, name: n${i}}, to: {kind: noop, name: ${to}}}`)
  return `graph: chain\nresources:\n  noop:\n${names.map(x => `  - name: ${x}`).join('\n')}\n${
    edges.length ? `edges:\n${edges.join('\n')}\n` : ''
  }`
}

export async function measureStartup(o: {
  readonly runs: number
  readonly base: string
  readonly node: Command
  readonly say: (line: string) => void
}): Promise<StartupFigures> {
  const log = join(o.base, 'logs', 'startup.log')
  const times = async (args: string[]): Promise<Summary> => {
    const xs: number[] = []
    for (let r = 0; r < o.runs; r++)
      xs.push(await timedRun({ ...o.node, args: [...o.node.args, ...args] }, log, 120_000))
    return summarize(xs)
  }
  const graph = (n: number): string => {
    const file = join(o.base, `chain-${n}.yaml`)
    writeFileSync(file, chainYaml(n))
    return file
  }
  const run = (file: string, ...flags: string[]): Promise<Summary> =>
    times(['run', '--tmp-prefix', '--converged-timeout', '0', ...flags, 'yaml', file])
  o.say('start-up: mgmt --version, a graph of one noop, chains of 1,000 and 4,000 noops')
  return {
    version: await times(['--version']),
    oneNoop: await run(graph(1)),
    chain1000: await run(graph(1000)),
    chain4000: await run(graph(4000), '--no-autogroup'),
  }
}
