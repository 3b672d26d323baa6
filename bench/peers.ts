/**
 * `npm run bench:peers`: mgmt beside its peers on the shared workload of `bench-peers/gen.py`
 * (N files with content and mode), one command for every size: `cf-agent` (CFEngine) and, where
 * installed, `puppet apply`, each from scratch and then with nothing to change. Prints a table
 * with medians, minimums, peak memory and each peer's time as a multiple of mgmt's; `--svg FILE`
 * writes the plot of time against the number of files, `--json` the raw figures. A peer that is
 * not installed is skipped with a message. Every run is checked file by file (bytes and mode).
 *
 *   node dist/bench/peers.js [--files 1000,5000] [--runs R] [--gen PATH] [--svg FILE]
 *                            [--dir PARENT] [--keep] [--json]
 *
 * Runs go round the tools in turn (mgmt, cf-agent, puppet, mgmt, ...), so that a noisy moment of a
 * shared machine falls on all of them; quote medians and ratios, not single runs.
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, cpus, release, tmpdir, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { version as mgmtVersion } from '../src/version.js'
import { inScratch } from './daemon.js'
import { which } from './peer.js'
import { plotSvg } from './plot.js'
import { type Command, errMessage, timedPeakRun } from './proc.js'
import { type Summary, summarize } from './stats.js'
import { verifyTree } from './workload.js'

/** The command as users run it (its first line starts the `node` on PATH). */
const BUNDLE = fileURLToPath(new URL('../mgmt.mjs', import.meta.url))
const DEFAULT_GEN = fileURLToPath(new URL('../../../shared/bench-peers/gen.py', import.meta.url))
const USAGE =
  'usage: node dist/bench/peers.js [--files 1000,5000] [--runs R] [--gen PATH] [--svg FILE]\n' +
  '                                [--dir PARENT] [--keep] [--json]'

interface Options {
  readonly sizes: number[]
  readonly runs: number
  readonly gen: string
  readonly svg?: string
  readonly parent: string
  readonly keep: boolean
  readonly json: boolean
}

/** One tool, for one size: how to run it on the workload in `out`, and what it manages. */
interface Tool {
  readonly name: string
  readonly version: string
  /** The directory under ROOT that it manages. */
  readonly subdir: string
  command(out: string): Command
}

interface ToolFigures {
  readonly name: string
  readonly version: string
  readonly scratch: Summary
  readonly noChange: Summary
  /** Highest peak resident set over its runs, KiB (with GNU time). */
  readonly peakRssKb?: number
}

interface SizeFigures {
  readonly files: number
  readonly tools: ToolFigures[]
}

interface PeerResults {
  readonly machine: Record<string, string | number>
  readonly runs: number
  readonly sizes: SizeFigures[]
  readonly skipped: { readonly name: string; readonly reason: string }[]
}

const say = (line: string): void => {
  process.stderr.write(`bench:peers: ${line}\n`)
}

function options(argv: string[]): Options {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      files: { type: 'string' },
      runs: { type: 'string' },
      gen: { type: 'string' },
      svg: { type: 'string' },
      dir: { type: 'string' },
      keep: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  })
  const sizes = (v.files ?? '1000,5000').split(',').map(s => Number(s.trim()))
  if (!sizes.every(n => Number.isInteger(n) && n > 0))
    throw new Error(`--files expects sizes like 1000,5000, not \`${v.files}\``)
  const runs = Number(v.runs ?? 3)
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`--runs expects a positive whole number, not \`${v.runs}\``)
  return {
    sizes,
    runs,
    gen: resolve(v.gen ?? DEFAULT_GEN),
    svg: v.svg === undefined ? undefined : resolve(v.svg),
    parent: resolve(v.dir ?? tmpdir()),
    keep: v.keep ?? false,
    json: v.json ?? false,
  }
}

function versionOf(exe: string, args: string[]): string {
  try {
    return execFileSync(exe, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n')[0]!
      .trim()
  } catch {
    return 'unknown version'
  }
}

/** mgmt and the peers found on PATH; the others are listed as skipped. */
function tools(base: string): { found: Tool[]; skipped: PeerResults['skipped'] } {
  const found: Tool[] = [
    {
      name: 'mgmt',
      version: mgmtVersion,
      subdir: 'mgmt',
      command: out => ({
        cmd: BUNDLE,
        args: ['run', '--tmp-prefix', '--converged-timeout', '0', 'yaml', join(out, 'mgmt.yaml')],
      }),
    },
  ]
  const skipped: PeerResults['skipped'] = []
  const cf = which('cf-agent')
  // -K: ignore locks (a run straight after another still works); -I: log each change, as mgmt does.
  if (cf)
    found.push({
      name: 'cf-agent',
      version: versionOf(cf, ['--version']),
      subdir: 'cfengine',
      command: out => ({ cmd: cf, args: ['-KI', '-f', join(out, 'cf.cf')], cwd: out }),
    })
  else skipped.push({ name: 'cf-agent', reason: 'cf-agent is not on PATH (Debian cfengine3)' })
  const puppet = which('puppet')
  // Its own configuration and state directories, so that the machine's are neither read nor changed.
  const state = join(base, 'puppet-state')
  const dirs = ['confdir', 'vardir', 'codedir', 'logdir', 'rundir'].flatMap(d => [`--${d}`, join(state, d)])
  if (puppet)
    found.push({
      name: 'puppet apply',
      version: `Puppet ${versionOf(puppet, ['--version'])}`,
      subdir: 'puppet',
      command: out => ({ cmd: puppet, args: ['apply', ...dirs, join(out, 'pup.pp')], cwd: out }),
    })
  else skipped.push({ name: 'puppet apply', reason: 'puppet is not on PATH (Debian puppet)' })
  return { found, skipped }
}

/** gen.py N OUT ROOT; cf-agent wants its policy not writable by others. */
function generate(o: Options, n: number, out: string, root: string): void {
  mkdirSync(root, { recursive: true })
  execFileSync('python3', [o.gen, String(n), out, root], { stdio: ['ignore', 'ignore', 'inherit'] })
  chmodSync(join(out, 'cf.cf'), 0o600)
}

interface Samples {
  scratch: number[]
  noChange: number[]
  peak: number[]
}

async function measureSize(o: Options, all: Tool[], n: number, base: string): Promise<SizeFigures> {
  const out = join(base, `work-${n}`)
  const root = join(base, `root-${n}`)
  const logs = join(base, 'logs')
  mkdirSync(logs, { recursive: true })
  generate(o, n, out, root)
  say(`${n} files: workload in ${out}, managed files under ${root}`)
  const timeoutMs = 300_000 + n * 200
  const samples = new Map<Tool, Samples>(all.map(t => [t, { scratch: [], noChange: [], peak: [] }]))
  const run = async (t: Tool, label: string): Promise<number> => {
    const log = join(logs, `${t.subdir}-${n}-${label}.log`)
    const { ms, peakRssKb } = await timedPeakRun(t.command(out), log, `${log}.rss`, timeoutMs)
    verifyTree(join(root, t.subdir), n, `${t.name} (${n} files, ${label})`)
    if (peakRssKb !== undefined) samples.get(t)!.peak.push(peakRssKb)
    return ms
  }
  for (let r = 1; r <= o.runs; r++)
    for (const t of all) {
      rmSync(join(root, t.subdir), { recursive: true, force: true })
      const s = samples.get(t)!
      s.scratch.push(await run(t, `scratch-${r}`))
      s.noChange.push(await run(t, `nochange-${r}`))
      say(
        `${n} files, run ${r}/${o.runs}, ${t.name}: scratch ${s.scratch.at(-1)!.toFixed(0)} ms, ` +
          `no change ${s.noChange.at(-1)!.toFixed(0)} ms`,
      )
    }
  return {
    files: n,
    tools: all.map(t => {
      const s = samples.get(t)!
      return {
        name: t.name,
        version: t.version,
        scratch: summarize(s.scratch),
        noChange: summarize(s.noChange),
        peakRssKb: s.peak.length ? Math.max(...s.peak) : undefined,
      }
    }),
  }
}

const seconds = (ms: number): string =>
  ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 1000).toFixed(2)} s`
const times = (x: number): string => `${x >= 10 ? x.toFixed(0) : x.toFixed(1)}×`

/** The table, in Markdown: medians (minimums), peak memory, and each tool's time as a multiple of mgmt's. */
export function renderTable(r: PeerResults): string {
  const lines = [
    `Peer benchmark: ${r.runs} run${r.runs === 1 ? '' : 's'} each, medians (min); ratio = the tool's median / mgmt's.`,
    `Machine: ${r.machine.cpus} CPUs (${r.machine.model}), ${r.machine.memoryMiB} MiB, Node ${r.machine.node}, Linux ${r.machine.kernel}, ${r.machine.date}`,
    '',
    '| files | tool | from scratch | no change | peak memory | scratch vs mgmt | no change vs mgmt |',
    '|---:|---|---:|---:|---:|---:|---:|',
  ]
  for (const s of r.sizes) {
    const mgmt = s.tools.find(t => t.name === 'mgmt')!
    for (const t of s.tools) {
      const mem = t.peakRssKb === undefined ? '' : `${Math.round(t.peakRssKb / 1024)} MB`
      lines.push(
        `| ${s.files.toLocaleString('en-US')} | ${t.name} | ${seconds(t.scratch.median)} (${seconds(t.scratch.min)}) | ` +
          `${seconds(t.noChange.median)} (${seconds(t.noChange.min)}) | ${mem} | ` +
          `${times(t.scratch.median / mgmt.scratch.median)} | ${times(t.noChange.median / mgmt.noChange.median)} |`,
      )
    }
  }
  lines.push('', ...r.sizes[0]!.tools.map(t => `- ${t.name}: ${t.version}`))
  for (const s of r.skipped) lines.push(`- ${s.name}: skipped, ${s.reason}`)
  return `${lines.join('\n')}\n`
}

const COLOURS: Record<string, string> = { mgmt: '#2563eb', 'cf-agent': '#16a34a', 'puppet apply': '#dc2626' }

/** Time against the number of files: one line per tool and mode (scratch solid, no change dashed). */
export function renderPlot(r: PeerResults): string {
  const names = r.sizes[0]!.tools.map(t => t.name)
  const series = names.flatMap(name =>
    (['scratch', 'noChange'] as const).map(mode => ({
      label: `${name}, ${mode === 'scratch' ? 'from scratch' : 'no change'}`,
      colour: COLOURS[name] ?? '#6b7280',
      dashed: mode === 'noChange',
      points: r.sizes.map(s => ({ x: s.files, y: s.tools.find(t => t.name === name)![mode].median / 1000 })),
    })),
  )
  return plotSvg({
    title: 'Time to apply N files (median, log scale)',
    xLabel: 'files managed',
    yLabel: 'seconds',
    series,
    yFormat: y => (y >= 10 ? y.toFixed(0) : y >= 1 ? y.toFixed(1) : y.toFixed(2)),
  })
}

async function main(): Promise<number> {
  let o: Options
  try {
    o = options(process.argv.slice(2))
  } catch (err) {
    say(`${errMessage(err)}\n${USAGE}`)
    return 2
  }
  if (!existsSync(o.gen)) {
    say(`the workload generator is not at ${o.gen}; give its path with --gen`)
    return 2
  }
  return inScratch(o, 'mgmt-bench-peers', say, async base => {
    const { found, skipped } = tools(base)
    for (const s of skipped) say(`${s.name} skipped: ${s.reason}`)
    const sizes: SizeFigures[] = []
    for (const n of o.sizes) sizes.push(await measureSize(o, found, n, base))
    const results: PeerResults = {
      machine: {
        cpus: availableParallelism(),
        model: cpus()[0]?.model ?? 'unknown CPU',
        memoryMiB: Math.round(totalmem() / 2 ** 20),
        node: process.version,
        kernel: release(),
        date: new Date().toISOString(),
      },
      runs: o.runs,
      sizes,
      skipped,
    }
    if (o.svg) {
      writeFileSync(o.svg, renderPlot(results))
      say(`plot written to ${o.svg}`)
    }
    process.stdout.write(o.json ? `${JSON.stringify(results, null, 2)}\n` : renderTable(results))
    return 0
  })
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  process.exitCode = await main()
