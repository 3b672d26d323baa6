/**
 * The scale phase: a graph of N files in directories of 100 (plus the directories and 50 noops),
 * converged from cold and re-checked by the CLI, then run by a long-running engine whose graph file
 * is edited one resource at a time, and finally loaded and compiled in this process.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { type CompileFigures, measureCompile } from './compile.js'
import {
  convergedAfter,
  type Daemon,
  daemonCommand,
  settledRssKb,
  startDaemon,
  stopDaemon,
} from './daemon.js'
import { type Command, procStatus, timedPeakRun } from './proc.js'
import { scaleResources, scaleYaml, verifyScale } from './scaleload.js'
import { type Summary, summarize } from './stats.js'
import { measureSwaps, type Swap } from './swap.js'

export interface ScaleOptions {
  /** Files of the graph. */
  readonly n: number
  /** Cold and no-change runs of the CLI. */
  readonly runs: number
  /** One-resource edits of the running graph. */
  readonly swaps: number
  /** Runs of each in-process compile figure. */
  readonly compileRuns: number
  /** The bench's temporary directory. */
  readonly base: string
  /** `node [flags] <cli>`. */
  readonly node: Command
  readonly say: (line: string) => void
  /** Told of the long-running engine, so that it is stopped whatever happens. */
  readonly track: (d: Daemon | undefined) => void
  /** Seconds the engine is left alone after the edits before its settled memory is read (0: not). */
  readonly settle: number
}

export interface LiveFigures {
  /** From the engine's start to its first converged report, the tree removed beforehand. */
  readonly coldStartMs: number
  /** Resident set right after that first convergence, KiB. */
  readonly rssConvergedKb: number
  /** Resident set after the edits, KiB. */
  readonly rssAfterKb: number
  /** Peak resident set over the engine's life, KiB. */
  readonly vmHwmKb: number
  /** VmRSS once the engine was left alone `settle` seconds after the edits (undefined: not asked). */
  readonly rssSettledKb?: number
  /** Rename of the graph file → new content on disk. */
  readonly applied: Summary
  /** The engine's own swap time, from its log. */
  readonly engineSwap: Summary
  readonly swaps: readonly Swap[]
}

export interface ScaleFigures {
  readonly files: number
  /** Every resource declared: files, directories, noops. */
  readonly resources: number
  readonly cold: Summary
  readonly noChange: Summary
  /** Highest peak resident set of the CLI runs (GNU time), KiB. */
  readonly peakRssKb?: number
  readonly live: LiveFigures
  readonly compile: CompileFigures
}

/** No edits: the graph as generated, as the CLI runs and the engine's first convergence use it. */
const NO_EDITS: ReadonlyMap<number, string> = new Map()
/** Longest wait for one live edit to be applied and the engine to settle; a failure guard. */
const SWAP_TIMEOUT_MS = 60_000

interface Paths {
  readonly root: string
  readonly yamlPath: string
  readonly logDir: string
}

type CliFigures = Pick<ScaleFigures, 'cold' | 'noChange' | 'peakRssKb'>

async function cliRuns(o: ScaleOptions, p: Paths, timeoutMs: number): Promise<CliFigures> {
  const c = {
    ...o.node,
    args: [...o.node.args, 'run', '--tmp-prefix', '--converged-timeout', '0', 'yaml', p.yamlPath],
  }
  const cold: number[] = []
  const noChange: number[] = []
  const peaks: number[] = []
  const run = async (label: string): Promise<number> => {
    const r = await timedPeakRun(
      c,
      join(p.logDir, `scale-${label}.log`),
      join(p.logDir, 'scale-rss.out'),
      timeoutMs,
    )
    verifyScale(p.root, o.n, NO_EDITS, `mgmt (scale, ${label} run)`)
    if (r.peakRssKb !== undefined) peaks.push(r.peakRssKb)
    return r.ms
  }
  for (let r = 1; r <= o.runs; r++) {
    rmSync(p.root, { recursive: true, force: true })
    cold.push(await run(`cold-${r}`))
    noChange.push(await run(`nochange-${r}`))
    o.say(
      `scale run ${r}/${o.runs}: cold ${cold.at(-1)!.toFixed(0)} ms, no change ${noChange.at(-1)!.toFixed(0)} ms`,
    )
  }
  return {
    cold: summarize(cold),
    noChange: summarize(noChange),
    peakRssKb: peaks.length ? Math.max(...peaks) : undefined,
  }
}

async function live(o: ScaleOptions, p: Paths, timeoutMs: number): Promise<LiveFigures> {
  rmSync(p.root, { recursive: true, force: true })
  const statusPath = join(o.base, 'status-scale', 'converged')
  const t0 = performance.now()
  const d = startDaemon(
    daemonCommand(o.node, p.yamlPath, statusPath),
    statusPath,
    join(p.logDir, 'scale-engine.log'),
  )
  o.track(d)
  o.say(`scale: long-running engine pid ${d.pid}: waiting for it to converge from cold`)
  await convergedAfter(d, 0, timeoutMs)
  const coldStartMs = performance.now() - t0
  verifyScale(p.root, o.n, NO_EDITS, 'the long-running engine (scale)')
  const rssConvergedKb = procStatus(d.pid).vmRssKb
  o.say(`scale: ${o.swaps} live edits`)
  const edits = new Map<number, string>()
  const swaps = await measureSwaps(
    d,
    { root: p.root, n: o.n, yamlPath: p.yamlPath, swaps: o.swaps, timeoutMs: SWAP_TIMEOUT_MS },
    edits,
  )
  verifyScale(p.root, o.n, edits, 'the long-running engine after the live edits')
  const { vmHwmKb, vmRssKb } = procStatus(d.pid)
  if (o.settle) o.say(`scale: the engine left alone (up to ${o.settle} s) for its settled memory`)
  const rssSettledKb = o.settle ? await settledRssKb(d, o.settle) : undefined
  await stopDaemon(d)
  o.track(undefined)
  return {
    coldStartMs,
    rssConvergedKb,
    rssAfterKb: vmRssKb,
    vmHwmKb,
    rssSettledKb,
    applied: summarize(swaps.map(s => s.ms)),
    engineSwap: summarize(swaps.map(s => s.engineMs)),
    swaps,
  }
}

export async function measureScale(o: ScaleOptions): Promise<ScaleFigures> {
  const p: Paths = {
    root: join(o.base, 'root', 'scale'),
    yamlPath: join(o.base, 'scale', 'scale.yaml'),
    logDir: join(o.base, 'logs'),
  }
  const resources = scaleResources(o.n, p.root, NO_EDITS)
  mkdirSync(join(o.base, 'scale'), { recursive: true })
  mkdirSync(p.logDir, { recursive: true })
  writeFileSync(p.yamlPath, scaleYaml(resources))
  const timeoutMs = 60_000 + o.n * 30
  o.say(`scale: ${o.n} files, ${resources.length} resources in ${p.root}`)
  const cli = await cliRuns(o, p, timeoutMs)
  const liveFigures = await live(o, p, timeoutMs)
  o.say(`scale: compiling in-process, ${o.compileRuns} runs`)
  const compile = await measureCompile({ n: o.n, root: p.root, file: p.yamlPath, runs: o.compileRuns })
  rmSync(p.root, { recursive: true, force: true })
  return { files: o.n, resources: resources.length, ...cli, live: liveFigures, compile }
}
