/**
 * `npm run bench:remote`: remote execution over SSH against three hosts, each a network namespace
 * with its own sshd (src/testing/remotelab.ts; needs root and `ip netns`), the initiator in a
 * namespace of its own, with its managed etcd: the initiator and the three hosts are one cluster.
 *
 * - Cold: every host's cache emptied first; the run copies the program (and, on the hosts without
 *   Node.js, this Node.js binary). Cached: the same run again. Each run is
 *   `mgmt run --converged-timeout 0 --remote h1.yaml --remote h2.yaml --remote h3.yaml empty`,
 *   each host exporting a file and collecting every host's, the initiator's etcd started from
 *   nothing: the time to the initiator's `the cluster converged` line (every host has applied its graph and the others' exports, and said
 *   so through etcd) and to its exit (remote runs stopped, files removed, etcd stopped,
 *   disconnected), and the bytes it copied. Each host's collected files are checked after the run.
 * - Live edits: a long-running run; a host's graph file is saved with a new content, timed until
 *   that host's managed file holds it (seen through an inotify watch, no polling).
 * - Dropped connections: in a long-running run, the sshd processes serving h1's connection are
 *   stopped (frozen) once: timed until keepalives notice the loss, and until h1 is back; in another,
 *   they are killed D times, each time once h1's new run has converged: timed until the initiator
 *   says h1 is back (with the backoff's part of it), and until its new run says it has converged.
 *
 *   node dist/bench/remote.js [--runs R] [--edits K] [--drops D] [--json]
 */
import { watch } from 'node:fs'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { availableParallelism, cpus } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { childrenOf } from '../src/testing/proc.js'
import { createRemoteLab, type RemoteLab } from '../src/testing/remotelab.js'
import { type Summary, summarize } from './stats.js'

const HOSTS = ['h1', 'h2', 'h3'] as const

const say = (line: string): void => {
  process.stderr.write(`bench: ${line}\n`)
}

interface RunFigures {
  readonly toConvergedMs: number
  readonly toExitMs: number
  readonly programBytes: number
  readonly nodeBytes: number
  readonly graphBytes: number
}

/** Each host keeps `out/bench`, exports `exported-<host>` and collects every host's into `out/`. */
async function graphFiles(lab: RemoteLab, dir: string, content: string): Promise<string[]> {
  const files: string[] = []
  for (const h of HOSTS) {
    const file = join(dir, `${h}.yaml`)
    const out = join(lab.hosts[h]!.dir, 'out')
    await writeFile(
      file,
      [
        `graph: ${h}`,
        `remote: root@${lab.hosts[h]!.addr(0)}`,
        `hostname: ${h}`,
        'resources:',
        '  file:',
        '  - name: out',
        `    path: ${join(out, 'bench')}`,
        '    state: exists',
        `    content: ${JSON.stringify(`${content}\n`)}`,
        `  - name: "@@exported-${h}"`,
        `    path: /nowhere/exported-${h}`,
        '    state: exists',
        `    content: ${JSON.stringify(`exported by ${h}\n`)}`,
        'collect:',
        '- kind: file',
        `  pattern: ${out}/`,
        '',
      ].join('\n'),
    )
    files.push(file)
  }
  return files
}

/** Throws unless every host holds every host's export. */
async function checkExchanged(lab: RemoteLab): Promise<void> {
  for (const h of HOSTS)
    for (const from of HOSTS) {
      const got = await readFile(join(lab.hosts[h]!.dir, 'out', `exported-${from}`), 'utf8').catch(() => '')
      if (got !== `exported by ${from}\n`) throw new Error(`${h} lacks ${from}'s export`)
    }
}

const args = (lab: RemoteLab, files: string[], extra: string[]): string[] => [
  'run',
  ...extra,
  ...files.flatMap(f => ['--remote', f]),
  '--ssh-key',
  lab.clientKey.file,
  '--known-hosts',
  lab.knownHosts,
  'empty',
]

async function oneRun(lab: RemoteLab, files: string[]): Promise<RunFigures> {
  const t0 = performance.now()
  // Every run forms its cluster from nothing (the initiator's etcd data, and what the hosts wrote).
  await rm(join(lab.dir, 'init', 'prefix'), { recursive: true, force: true })
  for (const h of HOSTS) await rm(join(lab.hosts[h]!.dir, 'out'), { recursive: true, force: true })
  for (const h of HOSTS) await mkdir(join(lab.hosts[h]!.dir, 'out'))
  const m = lab.mgmt(args(lab, files, ['--converged-timeout', '0']))
  await m.waitFor(/the cluster converged: 4 hosts/, 120_000)
  const toConvergedMs = performance.now() - t0
  const code = await m.exited
  const toExitMs = performance.now() - t0
  if (code !== 0) throw new Error(`mgmt exited with ${code}:\n${m.output()}`)
  await checkExchanged(lab)
  const sum = { programBytes: 0, nodeBytes: 0, graphBytes: 0 }
  for (const h of HOSTS) {
    const r = new RegExp(
      `${h}: ready in [\\d.]+ s: copied (\\d+) program bytes, (\\d+) Node\\.js bytes, (\\d+) graph bytes`,
    ).exec(m.output())
    if (!r) throw new Error(`no ready line for ${h}:\n${m.output()}`)
    sum.programBytes += Number(r[1])
    sum.nodeBytes += Number(r[2])
    sum.graphBytes += Number(r[3])
  }
  return { toConvergedMs, toExitMs, ...sum }
}

/** Saves h1's graph file with new contents `edits` times; the time until h1's file holds each. */
async function liveEdits(lab: RemoteLab, dir: string, edits: number): Promise<number[]> {
  const files = await graphFiles(lab, dir, 'edit 0')
  const m = lab.mgmt(args(lab, files, []))
  const target = join(lab.hosts.h1!.dir, 'out', 'bench')
  const out: number[] = []
  try {
    await m.waitFor(/h1: running graph/, 60_000)
    for (let i = 1; i <= edits; i++) {
      const want = `edit ${i}\n`
      const seen = new Promise<void>((resolve, reject) => {
        const check = async (): Promise<void> => {
          if ((await readFile(target, 'utf8').catch(() => '')) === want) {
            clearTimeout(timer)
            w.close()
            resolve()
          }
        }
        const w = watch(join(lab.hosts.h1!.dir, 'out'), () => void check())
        const timer = setTimeout(() => {
          w.close()
          reject(new Error(`edit ${i} not applied within 10 s:\n${m.output()}`))
        }, 10_000)
      })
      const text = (await readFile(files[0]!, 'utf8')).replace(
        /content: .*/,
        `content: ${JSON.stringify(want)}`,
      )
      const t0 = performance.now()
      await writeFile(`${files[0]}.new`, text)
      await rename(`${files[0]}.new`, files[0]!)
      await seen
      out.push(performance.now() - t0)
    }
  } finally {
    m.child.kill('SIGINT')
    await m.kill(15_000)
  }
  return out
}

/** Output holding `re` at least `n` times. */
const times = (re: string, n: number): RegExp => new RegExp(`(${re}[\\s\\S]*){${n}}`)

interface Drops {
  /** Each killed connection: to h1's `back` line, the backoff's part of it, and to its new run's `converged` line. */
  readonly back: number[]
  readonly waited: number[]
  readonly converged: number[]
  /** A frozen connection (its sshd processes stopped): to the loss noticed, and to `back`. */
  readonly frozen: { readonly noticedMs: number; readonly backMs: number }
}

/** The `back` lines' waits, in ms. */
const waits = (output: string): number[] =>
  [...output.matchAll(/h1: back [\d.]+ s after the loss \(\d+ attempts?, ([\d.]+) s of it waiting\)/g)].map(
    r => Number(r[1]) * 1000,
  )

/**
 * Long-running runs of the three hosts: in one, h1's connection is frozen once (its sshd processes
 * stopped, so that only keepalives can tell); in another, it is dropped `n` times by killing them,
 * each time once its new run has converged (the waits grow: the connection never holds 30 s).
 */
async function drops(lab: RemoteLab, dir: string, n: number): Promise<Drops> {
  const files = await graphFiles(lab, dir, 'drops')
  const sshd = lab.hosts.h1!.sshd.child.pid!
  const run = async (fn: (m: ReturnType<RemoteLab['mgmt']>) => Promise<void>): Promise<string> => {
    const m = lab.mgmt(args(lab, files, []))
    try {
      await m.waitFor(/h1: converged: /, 60_000)
      await fn(m)
      return m.output()
    } finally {
      m.child.kill('SIGINT')
      await m.kill(15_000)
    }
  }
  let frozen = { noticedMs: 0, backMs: 0 }
  await run(async m => {
    const sessions = childrenOf(sshd)
    const t0 = performance.now()
    for (const pid of sessions) process.kill(pid, 'SIGSTOP')
    try {
      await m.waitFor(/h1: warn: connection lost/, 60_000)
      const noticedMs = performance.now() - t0
      await m.waitFor(/h1: back \d/, 60_000)
      frozen = { noticedMs, backMs: performance.now() - t0 }
    } finally {
      for (const pid of sessions) process.kill(pid, 'SIGKILL')
    }
  })
  const back: number[] = []
  const converged: number[] = []
  const output = await run(async m => {
    for (let i = 1; i <= n; i++) {
      const t0 = performance.now()
      for (const pid of childrenOf(sshd)) process.kill(pid, 'SIGKILL')
      await m.waitFor(times('h1: back \\d', i), 60_000)
      back.push(performance.now() - t0)
      // Its new run's convergence: a line after the i-th `back`.
      await m.waitFor(times('h1: back \\d[\\s\\S]*?h1: converged: ', i), 60_000)
      converged.push(performance.now() - t0)
    }
  })
  return { back, waited: waits(output), converged, frozen }
}

const ms = (s: Summary): string =>
  `${s.median.toFixed(0)} ms (min ${s.min.toFixed(0)}, max ${s.max.toFixed(0)})`
const bytes = (n: number): string => (n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : `${n} B`)

async function main(): Promise<void> {
  const { values: v } = parseArgs({
    options: {
      runs: { type: 'string' },
      edits: { type: 'string' },
      drops: { type: 'string' },
      json: { type: 'boolean' },
    },
  })
  const runs = Number(v.runs ?? 5)
  const edits = Number(v.edits ?? 20)
  const dropCount = Number(v.drops ?? 5)
  say('making three hosts (network namespaces, each with sshd)')
  const lab = await createRemoteLab('bench', [
    { name: 'h1', bridges: [0] },
    { name: 'h2', bridges: [0] },
    { name: 'h3', bridges: [0] },
  ])
  const nodeless = await createRemoteLab('benchnn', [
    { name: 'h1', bridges: [0], noNode: true },
    { name: 'h2', bridges: [0], noNode: true },
    { name: 'h3', bridges: [0], noNode: true },
  ])
  const results: Record<string, { runs: RunFigures[] } | number[]> = {}
  let dropped: Drops | undefined
  try {
    for (const [name, l] of [
      ['Node.js on the hosts', lab],
      ['no Node.js on the hosts', nodeless],
    ] as const) {
      const dir = join(l.dir, 'graphs')
      await mkdir(dir, { recursive: true })
      const files = await graphFiles(l, dir, 'bench')
      const cold: RunFigures[] = []
      const cached: RunFigures[] = []
      for (let i = 0; i < runs; i++) {
        for (const h of HOSTS)
          await rm(join(l.hosts[h]!.dir, 'prefix', 'remote'), { recursive: true, force: true })
        say(`${name}: cold run ${i + 1}/${runs}`)
        cold.push(await oneRun(l, files))
        say(`${name}: cached run ${i + 1}/${runs}`)
        cached.push(await oneRun(l, files))
      }
      results[`${name}, cold`] = { runs: cold }
      results[`${name}, cached`] = { runs: cached }
    }
    say(`live edits: ${edits}`)
    results['live edit'] = await liveEdits(lab, join(lab.dir, 'graphs'), edits)
    say(`dropped connections: one frozen, then ${dropCount} killed`)
    dropped = await drops(lab, join(lab.dir, 'graphs'), dropCount)
  } finally {
    await lab.cleanup()
    await nodeless.cleanup()
  }
  if (v.json) {
    process.stdout.write(`${JSON.stringify({ ...results, drops: dropped }, null, 2)}\n`)
    return
  }
  process.stdout.write(
    `machine: ${cpus()[0]?.model ?? '?'}, ${availableParallelism()} cores; Node.js ${process.versions.node}; ${runs} runs each\n\n`,
  )
  process.stdout.write(
    '| initiator + three hosts, exchanging exports | to the cluster converged (median) | to exit (median) | copied per run |\n|---|---|---|---|\n',
  )
  for (const [name, r] of Object.entries(results)) {
    if (Array.isArray(r)) continue
    const f = r.runs[0]!
    process.stdout.write(
      `| ${name} | ${ms(summarize(r.runs.map(x => x.toConvergedMs)))} | ${ms(summarize(r.runs.map(x => x.toExitMs)))} | ` +
        `program ${bytes(f.programBytes)}, Node.js ${bytes(f.nodeBytes)}, graphs ${bytes(f.graphBytes)} |\n`,
    )
  }
  const live = results['live edit'] as number[]
  const s = summarize(live)
  process.stdout.write(
    `\nlive edit of a host's graph file, saved to applied there (${live.length} edits): median ${s.median.toFixed(0)} ms, ` +
      `p90 ${s.p90.toFixed(0)} ms, max ${s.max.toFixed(0)} ms\n`,
  )
  const d = dropped!
  const secs = (x: number[]): string => x.map(v => (v / 1000).toFixed(1)).join(', ')
  process.stdout.write(
    `\nh1's connection killed ${d.back.length} times: back after ${secs(d.back)} s, of it waiting ${secs(d.waited)} s ` +
      `(reconnecting: ${ms(summarize(d.back.map((b, i) => b - (d.waited[i] ?? 0))))}); ` +
      `its new run converged after ${secs(d.converged)} s\n` +
      `h1's connection frozen: the loss noticed after ${(d.frozen.noticedMs / 1000).toFixed(1)} s, ` +
      `back after ${(d.frozen.backMs / 1000).toFixed(1)} s\n`,
  )
}

await main()
