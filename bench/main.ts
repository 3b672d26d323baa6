/**
 * `npm run bench`: mgmt against the shared peer workload (N files with content and mode), and
 * against cf-agent when it is installed. Prints a table (or JSON with `--json`) on stdout and
 * progress on stderr; everything it creates lives in one temporary directory, removed at the end.
 *
 * Then the scale phase (`--scale N`, skipped with `--no-scale`): a graph of N files converged from
 * cold, edited live one resource at a time, and compiled in-process. Then the cluster phase
 * (skipped with `--no-cluster`): hosts on a real etcd, an export's way from one host to another,
 * and three hosts converging from cold.
 *
 *   node dist/bench/main.js [--files N] [--runs R] [--repairs K] [--repair-timeout MS]
 *                           [--scale N | --no-scale] [--scale-runs R] [--swaps K]
 *                           [--exports K] [--cluster-runs R | --no-cluster]
 *                           [--dir PARENT] [--keep] [--json] [--cpu-prof DIR]
 */
import { mkdirSync } from 'node:fs'
import { availableParallelism, cpus, release, tmpdir, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { V8_FLAGS } from '../src/util/v8flags.js'
import { measureCluster } from './cluster.js'
import {
  convergedAfter,
  type Daemon,
  daemonCommand,
  inScratch,
  measureIdle,
  peakRssKb,
  settledRssKb,
  startDaemon,
  stopDaemon,
} from './daemon.js'
import { CLOBBERS, type Clobber, measureDrift } from './drift.js'
import { measureOneShots, type OneShotOptions } from './oneshot.js'
import { findCfAgent } from './peer.js'
import { type Command, errMessage, timedRun } from './proc.js'
import {
  type DriftFigures,
  type EngineFigures,
  type Machine,
  type OneShotFigures,
  type Results,
  render,
  targets,
} from './report.js'
import { measureScale } from './scale.js'
import { measureStartup } from './startup.js'
import { type Summary, summarize } from './stats.js'
import { verifyTree, writeWorkload } from './workload.js'

interface Options {
  readonly files: number
  readonly runs: number
  readonly repairs: number
  readonly repairTimeoutMs: number
  /** Files of the scale phase; 0: skipped. */
  readonly scale: number
  readonly scaleRuns: number
  readonly swaps: number
  /** Export changes timed from host to host; 0: the cluster phase is skipped. */
  readonly exports: number
  readonly clusterRuns: number
  readonly parent: string
  readonly keep: boolean
  readonly json: boolean
  readonly cpuProf?: string
  /** Seconds the long-running engines are left alone before their settled memory is read. */
  readonly settle: number
}

const USAGE =
  'usage: node dist/bench/main.js [--files N] [--runs R] [--repairs K] [--repair-timeout MS]\n' +
  '                               [--scale N | --no-scale] [--scale-runs R] [--swaps K]\n' +
  '                               [--exports K] [--cluster-runs R | --no-cluster]\n' +
  '                               [--settle S] [--dir PARENT] [--keep] [--json] [--cpu-prof DIR]'
const IDLE_SECONDS = 2
/** Runs of each in-process compile figure of the scale phase. */
const COMPILE_RUNS = 7
const BUNDLE = fileURLToPath(new URL('../mgmt.mjs', import.meta.url))

const say = (line: string): void => {
  process.stderr.write(`bench: ${line}\n`)
}

function count(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} expects a positive whole number, not \`${v}\``)
  return n
}

function options(argv: string[]): Options {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      files: { type: 'string' },
      runs: { type: 'string' },
      repairs: { type: 'string' },
      'repair-timeout': { type: 'string' },
      scale: { type: 'string' },
      'no-scale': { type: 'boolean', default: false },
      'scale-runs': { type: 'string' },
      swaps: { type: 'string' },
      exports: { type: 'string' },
      'cluster-runs': { type: 'string' },
      'no-cluster': { type: 'boolean', default: false },
      dir: { type: 'string' },
      keep: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      settle: { type: 'string' },
    },
  })
  return {
    files: count(v.files, '--files', 1000),
    runs: count(v.runs, '--runs', 5),
    repairs: count(v.repairs, '--repairs', 200),
    repairTimeoutMs: count(v['repair-timeout'], '--repair-timeout', 5000),
    scale: v['no-scale'] ? 0 : count(v.scale, '--scale', 10_000),
    scaleRuns: count(v['scale-runs'], '--scale-runs', 3),
    swaps: count(v.swaps, '--swaps', 10),
    exports: v['no-cluster'] ? 0 : count(v.exports, '--exports', 50),
    clusterRuns: count(v['cluster-runs'], '--cluster-runs', 5),
    parent: resolve(v.dir ?? tmpdir()),
    keep: v.keep ?? false,
    json: v.json ?? false,
    cpuProf: v['cpu-prof'] === undefined ? undefined : resolve(v['cpu-prof']),
    settle: v.settle === '0' ? 0 : count(v.settle, '--settle', 90),
  }
}

function machine(dir: string): Machine {
  return {
    cpus: availableParallelism(),
    model: cpus()[0]?.model ?? 'unknown CPU',
    memoryMiB: Math.round(totalmem() / 2 ** 20),
    node: process.version,
    extraCaCerts:
      process.env.NODE_EXTRA_CA_CERTS !== undefined && Number(process.versions.node.split('.')[0]) < 24,
    kernel: release(),
    date: new Date().toISOString(),
    dir,
  }
}

/** `node [profiling flags] <cli>`: the start of every mgmt command line. */
/**
 * mgmt as users run it: the bundle as a command, whose first line sets glibc's malloc tuning and
 * starts the `node` on PATH. Under `--cpu-prof`, this Node.js runs the bundle with the profiler
 * and V8's flags (without the malloc tuning).
 */
function mgmtNode(o: Options): Command {
  if (!o.cpuProf) return { cmd: BUNDLE, args: [] }
  return { cmd: process.execPath, args: ['--cpu-prof', '--cpu-prof-dir', o.cpuProf, ...V8_FLAGS, BUNDLE] }
}

const oneShotFigures = (s: { cold: number[]; noChange: number[]; peakRssKb?: number }): OneShotFigures => ({
  cold: summarize(s.cold),
  noChange: summarize(s.noChange),
  peakRssKb: s.peakRssKb,
})

async function nodeStartup(o: Options, logDir: string): Promise<Summary> {
  const xs: number[] = []
  for (let r = 0; r < o.runs; r++)
    xs.push(await timedRun({ cmd: process.execPath, args: ['-e', ''] }, join(logDir, 'node.log'), 30_000))
  return summarize(xs)
}

async function daemonPhase(
  o: Options,
  w: { yamlPath: string; mgmtDir: string },
  base: string,
  track: (d: Daemon | undefined) => void,
  timeoutMs: number,
): Promise<{ engine: EngineFigures; drift: DriftFigures }> {
  const node = mgmtNode(o)
  const d = startDaemon(
    daemonCommand(node, w.yamlPath, join(base, 'status', 'converged')),
    join(base, 'status', 'converged'),
    join(base, 'logs', 'engine.log'),
  )
  track(d)
  say(`long-running engine pid ${d.pid}: waiting for it to converge`)
  await convergedAfter(d, 0, timeoutMs)
  verifyTree(w.mgmtDir, o.files, 'the long-running engine')
  const idleAfterConverge = await measureIdle(d, IDLE_SECONDS)
  say(`drift: ${o.repairs} repairs`)
  const repairs = await measureDrift(d, {
    dir: w.mgmtDir,
    n: o.files,
    repairs: o.repairs,
    timeoutMs: o.repairTimeoutMs,
  })
  verifyTree(w.mgmtDir, o.files, 'the long-running engine after the drift phase')
  const idleAfterDrift = await measureIdle(d, IDLE_SECONDS)
  const vmHwmKb = peakRssKb(d)
  if (o.settle) say(`long-running engine: left alone (up to ${o.settle} s) for its settled memory`)
  const settledKb = o.settle ? await settledRssKb(d, o.settle) : undefined
  await stopDaemon(d)
  track(undefined)
  // Fewer repairs than kinds of clobber leave a kind without samples: it is left out.
  const byClobber = Object.fromEntries(
    CLOBBERS.map(c => [c, repairs.filter(r => r.clobber === c).map(r => r.ms)] as const)
      .filter(([, xs]) => xs.length > 0)
      .map(([c, xs]) => [c, summarize(xs)]),
  ) as Partial<Record<Clobber, Summary>>
  return {
    engine: { vmHwmKb, settledKb, idleAfterConverge, idleAfterDrift },
    drift: { all: summarize(repairs.map(r => r.ms)), byClobber },
  }
}

async function bench(o: Options, base: string, track: (d: Daemon | undefined) => void): Promise<Results> {
  const logDir = join(base, 'logs')
  mkdirSync(logDir, { recursive: true })
  const w = writeWorkload(o.files, join(base, 'work'), join(base, 'root'))
  const timeoutMs = 60_000 + o.files * 30
  const shot: OneShotOptions = { n: o.files, runs: o.runs, timeoutMs, logDir, say }
  say(`workload: ${o.files} files in ${join(base, 'root')}`)
  const nodeStart = await nodeStartup(o, logDir)
  const startup = await measureStartup({ runs: o.runs, base, node: mgmtNode(o), say })
  const yamlRun = ['run', '--tmp-prefix', '--converged-timeout', '0', 'yaml', w.yamlPath]
  const mgmtCmd = mgmtNode(o)
  const cf = findCfAgent(w.cfPath, join(base, 'work'))
  if (!cf) say('cf-agent is not on PATH: peer skipped')
  // mgmt and cf-agent in turn, run after run.
  const [mgmt, cfShot] = await measureOneShots(
    [
      { name: 'mgmt', command: { ...mgmtCmd, args: [...mgmtCmd.args, ...yamlRun] }, dir: w.mgmtDir },
      ...(cf ? [{ name: cf.name, command: cf.command, dir: w.cfDir }] : []),
    ],
    shot,
  )
  const peer: Results['peer'] =
    cf && cfShot
      ? { name: cf.name, version: cf.version, ...oneShotFigures(cfShot) }
      : { skipped: 'cf-agent is not on PATH' }
  const { drift, engine } = await daemonPhase(o, w, base, track, timeoutMs)
  const scale = o.scale
    ? await measureScale({
        n: o.scale,
        runs: o.scaleRuns,
        swaps: o.swaps,
        compileRuns: COMPILE_RUNS,
        base,
        node: mgmtCmd,
        say,
        track,
        settle: o.settle,
      })
    : undefined
  const cluster = o.exports
    ? await measureCluster({
        exports: o.exports,
        runs: o.clusterRuns,
        base,
        node: mgmtCmd,
        timeoutMs: 60_000,
        say,
      })
    : undefined
  return {
    machine: machine(base),
    params: { files: o.files, runs: o.runs, repairs: o.repairs },
    nodeStartup: nodeStart,
    startup,
    mgmt: { ...oneShotFigures(mgmt), drift, engine },
    peer,
    scale,
    cluster,
  }
}

async function main(): Promise<number> {
  let o: Options
  try {
    o = options(process.argv.slice(2))
  } catch (err) {
    say(`${errMessage(err)}\n${USAGE}`)
    return 2
  }
  return inScratch(o, 'mgmt-bench', say, async (base, started) => {
    const r = await bench(o, base, started)
    const ts = targets(r)
    process.stdout.write(o.json ? `${JSON.stringify({ ...r, targets: ts }, null, 2)}\n` : render(r, ts))
    return 0
  })
}

process.exitCode = await main()
