/**
 * `npm run bench:puppet` (= `node dist/bench/puppet.js`): a Puppet manifest of N files (the shared
 * peer workload's `pup.pp`) run by `mgmt run puppet` and by `puppet apply`, cold and with nothing
 * to change; then the persistent Puppet child's re-compile after one-line edits, and the whole live
 * path of an edit (save → the file on disk) through a running `mgmt run puppet`. Skipped, with a
 * message, when `puppet` is not installed. Prints a table (or JSON with `--json`) on stdout and
 * progress on stderr; everything lives in one temporary directory, removed at the end.
 *
 *   node dist/bench/puppet.js [--files N] [--runs R] [--edits K] [--dir PARENT] [--keep] [--json]
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { availableParallelism, cpus, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { type Daemon, inScratch } from './daemon.js'
import { measureOneShots, type OneShot, type OneShotOptions } from './oneshot.js'
import { which } from './peer.js'
import { errMessage } from './proc.js'
import { measureLiveEdits, measureRecompiles, type Recompiles } from './puppetlive.js'
import { ms } from './report.js'
import { type Summary, summarize } from './stats.js'
import { puppetManifest } from './workload.js'

/** Files of the small manifest whose re-compiles are measured too: a typical node's size. */
const SMALL = 20
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url))
const say = (line: string): void => {
  process.stderr.write(`bench: ${line}\n`)
}

interface Options {
  readonly files: number
  readonly runs: number
  readonly edits: number
  readonly parent: string
  readonly keep: boolean
  readonly json: boolean
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
      edits: { type: 'string' },
      dir: { type: 'string' },
      keep: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  })
  return {
    files: count(v.files, '--files', 1000),
    runs: count(v.runs, '--runs', 5),
    edits: count(v.edits, '--edits', 25),
    parent: resolve(v.dir ?? tmpdir()),
    keep: v.keep ?? false,
    json: v.json ?? false,
  }
}

interface Figures {
  readonly cold: Summary
  readonly noChange: Summary
  readonly peakRssKb?: number
}

interface Results {
  readonly machine: {
    readonly cpus: number
    readonly model: string
    readonly node: string
    readonly date: string
  }
  readonly puppetVersion: string
  readonly files: number
  readonly mgmt: Figures
  readonly puppet: Figures
  readonly recompile: Recompiles
  readonly recompileSmall: Recompiles
  readonly live: Summary
}

const figures = (s: OneShot): Figures => ({
  cold: summarize(s.cold),
  noChange: summarize(s.noChange),
  peakRssKb: s.peakRssKb,
})

async function bench(o: Options, base: string, track: (d: Daemon | undefined) => void): Promise<Results> {
  const root = join(base, 'root')
  const logDir = join(base, 'logs')
  const pp = join(base, 'pup.pp')
  mkdirSync(root, { recursive: true })
  mkdirSync(logDir, { recursive: true })
  writeFileSync(pp, puppetManifest(o.files, root))
  const dir = join(root, 'puppet')
  const shot: OneShotOptions = { n: o.files, runs: o.runs, timeoutMs: 120_000 + o.files * 60, logDir, say }
  const pvar = join(base, 'puppet-var')
  // Puppet's state, reports and logs go to the bench's directory, not to the host's.
  const puppetArgs = [
    'apply',
    '--color=false',
    `--vardir=${pvar}`,
    `--logdir=${pvar}/log`,
    `--rundir=${pvar}/run`,
    pp,
  ]
  const mgmtArgs = [CLI, 'run', '--tmp-prefix', '--converged-timeout', '0', 'puppet', pp]
  // In turn, run after run; each cold run starts from an empty directory.
  const [puppetShot, mgmtShot] = await measureOneShots(
    [
      { name: 'puppet-apply', command: { cmd: 'puppet', args: puppetArgs }, dir },
      { name: 'mgmt-puppet', command: { cmd: process.execPath, args: mgmtArgs }, dir },
    ],
    shot,
  )
  const puppet = figures(puppetShot!)
  const mgmt = figures(mgmtShot!)
  say(`re-compiles: ${o.edits} one-line edits of ${pp} in a persistent child`)
  const recompile = await measureRecompiles({ n: o.files, root, manifest: pp, edits: o.edits })
  const small = join(base, 'small.pp')
  writeFileSync(small, puppetManifest(SMALL, root))
  say(`re-compiles: ${o.edits} one-line edits of a ${SMALL}-file manifest`)
  const recompileSmall = await measureRecompiles({ n: SMALL, root, manifest: small, edits: o.edits })
  writeFileSync(pp, puppetManifest(o.files, root))
  say(`live edits: ${o.edits} saves of ${pp} under a running mgmt run puppet`)
  const live = await measureLiveEdits({
    n: o.files,
    root,
    manifest: pp,
    edits: o.edits,
    node: { cmd: process.execPath, args: [CLI] },
    base,
    timeoutMs: 60_000,
    track,
  })
  return {
    machine: {
      cpus: availableParallelism(),
      model: cpus()[0]?.model ?? 'unknown CPU',
      node: process.version,
      date: new Date().toISOString(),
    },
    puppetVersion: execFileSync('puppet', ['--version'], { encoding: 'utf8' }).trim(),
    files: o.files,
    mgmt,
    puppet,
    recompile,
    recompileSmall,
    live: summarize(live),
  }
}

const ratio = (a: number, b: number): string => `×${(a / b).toFixed(2)}`
const mib = (kb: number | undefined): string => (kb === undefined ? '—' : `${(kb / 1024).toFixed(1)} MiB`)
const med = (s: Summary): string => `${ms(s.median)} ms (${ms(s.min)})`

function render(r: Results, o: Options): string {
  const { mgmt, puppet, recompile: rc } = r
  return [
    `${r.files} files, ${o.runs} runs each, ${o.edits} edits; ${r.machine.cpus} × ${r.machine.model}, Node ${r.machine.node}, Puppet ${r.puppetVersion}`,
    '',
    '| figure | mgmt run puppet | puppet apply | mgmt / puppet |',
    '|---|---|---|---|',
    `| cold converge, median (min) | ${med(mgmt.cold)} | ${med(puppet.cold)} | ${ratio(mgmt.cold.median, puppet.cold.median)} |`,
    `| no-change run, median (min) | ${med(mgmt.noChange)} | ${med(puppet.noChange)} | ${ratio(mgmt.noChange.median, puppet.noChange.median)} |`,
    `| peak RSS, cold run | ${mib(mgmt.peakRssKb)} | ${mib(puppet.peakRssKb)} | |`,
    '',
    '| the persistent child | median | p90 | max |',
    '|---|---|---|---|',
    `| first compile (Ruby, Puppet, Facter, compile), wall | ${ms(rc.first)} ms | | |`,
    `| re-compile after a one-line edit, in the child | ${ms(rc.child.median)} ms | ${ms(rc.child.p90)} ms | ${ms(rc.child.max)} ms |`,
    `| · the same from Node (the catalog's JSON both ways) | ${ms(rc.roundTrip.median)} ms | ${ms(rc.roundTrip.p90)} ms | ${ms(rc.roundTrip.max)} ms |`,
    `| · translate + compileGraph | ${ms(rc.translate.median)} ms | ${ms(rc.translate.p90)} ms | ${ms(rc.translate.max)} ms |`,
    `| re-compile of a ${SMALL}-file manifest, in the child | ${ms(r.recompileSmall.child.median)} ms | ${ms(r.recompileSmall.child.p90)} ms | ${ms(r.recompileSmall.child.max)} ms |`,
    `| live edit under mgmt run puppet: save → the file on disk | ${ms(r.live.median)} ms | ${ms(r.live.p90)} ms | ${ms(r.live.max)} ms |`,
    '',
  ].join('\n')
}

async function main(): Promise<number> {
  let o: Options
  try {
    o = options(process.argv.slice(2))
  } catch (err) {
    say(
      `${errMessage(err)}\nusage: node dist/bench/puppet.js [--files N] [--runs R] [--edits K] [--dir PARENT] [--keep] [--json]`,
    )
    return 2
  }
  if (!which('puppet')) {
    say('puppet is not on PATH (Debian package `puppet`): the Puppet bench is skipped')
    return 0
  }
  return inScratch(o, 'mgmt-bench-puppet', say, async (base, started) => {
    const r = await bench(o, base, started)
    process.stdout.write(o.json ? `${JSON.stringify(r, null, 2)}\n` : render(r, o))
    return 0
  })
}

process.exitCode = await main()
