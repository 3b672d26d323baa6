/**
 * `npm run bench:driftpair -- A B`: drift repairs of two builds, paired repair by repair. Two
 * long-running engines, the command files A and B (each a `dist/mgmt.mjs`, run by the `node` on
 * PATH), each on its own copy of the bench's workload, its tree made beforehand as the bench's
 * one-shot runs leave it. Then, K times, one repair of each (as `npm run bench` times them, see
 * drift.ts), the order swapped every round. Paired so closely, a change of a tenth of a millisecond
 * shows through a disk whose pace moves by milliseconds from one minute to the next, which runs of
 * one engine after the other cannot show.
 *
 * Prints each side's repairs (p50, p90, p99, and the p50 of each kind of clobber), the engine's CPU
 * time and context switches per repair (every thread), and the median of the per-repair ratios B/A.
 *
 *   node dist/bench/driftpair.js [--files N] [--repairs K] [--dir PARENT] A B
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { convergedAfter, type Daemon, daemonCommand, startDaemon, stopDaemon } from './daemon.js'
import { CLOBBERS, DirEvents, type DriftOptions, type Repair, repairOnce } from './drift.js'
import { cpuMs, wakeups } from './proc.js'
import { percentile, summarize } from './stats.js'
import { DIR_MODE, FILE_MODE, fileContent, fileName, writeWorkload } from './workload.js'

const say = (line: string): void => {
  process.stderr.write(`bench:driftpair: ${line}\n`)
}

interface Side {
  readonly name: string
  readonly d: Daemon
  readonly events: DirEvents
  readonly o: DriftOptions
  readonly repairs: Repair[]
}

/** The managed tree as converged: the directory and its N files, each with its content and mode. */
function makeTree(dir: string, n: number): void {
  mkdirSync(dir, { recursive: true })
  chmodSync(dir, DIR_MODE)
  for (let i = 0; i < n; i++) {
    const p = join(dir, fileName(i))
    writeFileSync(p, fileContent(i))
    chmodSync(p, FILE_MODE)
  }
}

const line = (s: Side, cpu: number, switches: number, k: number): string => {
  const all = summarize(s.repairs.map(r => r.ms))
  const kinds = CLOBBERS.map(c =>
    percentile(
      s.repairs.filter(r => r.clobber === c).map(r => r.ms),
      50,
    ),
  )
  return (
    `${s.name}: p50 ${all.median.toFixed(3)} p90 ${all.p90.toFixed(3)} p99 ${all.p99.toFixed(3)} ms; ` +
    `${CLOBBERS.join('/')} p50 ${kinds.map(x => x.toFixed(3)).join('/')} ms; ` +
    `CPU ${((cpu * 1000) / k).toFixed(0)} us and ${(switches / k).toFixed(1)} switches a repair`
  )
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: {
      files: { type: 'string', default: '1000' },
      repairs: { type: 'string', default: '300' },
      dir: { type: 'string', default: tmpdir() },
    },
  })
  const n = Number(values.files)
  const k = Number(values.repairs)
  if (positionals.length !== 2 || !(n > 0) || !(k >= 3))
    throw new Error('usage: node dist/bench/driftpair.js [--files N] [--repairs K>=3] [--dir PARENT] A B')
  const base = mkdtempSync(join(values.dir, 'mgmt-driftpair-'))
  const sides: Side[] = []
  try {
    for (const [name, cmd] of [
      ['A', positionals[0]!],
      ['B', positionals[1]!],
    ] as const) {
      const w = writeWorkload(n, join(base, name, 'work'), join(base, name, 'root'))
      makeTree(w.mgmtDir, n)
      const status = join(base, name, 'status', 'converged')
      const d = startDaemon(
        daemonCommand({ cmd: resolve(cmd), args: [] }, w.yamlPath, status),
        status,
        join(base, name, 'engine.log'),
      )
      const o = { dir: w.mgmtDir, n, repairs: k, timeoutMs: 10_000 }
      sides.push({ name, d, events: new DirEvents(w.mgmtDir), o, repairs: [] })
      say(`${name}: ${cmd}, pid ${d.pid}: waiting for it to converge`)
      await convergedAfter(d, 0, 60_000 + n * 30)
    }
    await sleep(1000)
    const cpu0 = sides.map(s => cpuMs(s.d.pid))
    const sw0 = sides.map(s => wakeups(s.d.pid))
    say(`${k} repairs each, interleaved`)
    for (let i = 0; i < k; i++)
      for (const s of i % 2 ? [...sides].reverse() : sides)
        s.repairs.push(await repairOnce(s.d, s.events, s.o, i))
    const [a, b] = sides as [Side, Side]
    sides.forEach((s, j) => {
      process.stdout.write(`${line(s, cpuMs(s.d.pid) - cpu0[j]!, wakeups(s.d.pid) - sw0[j]!, k)}\n`)
    })
    const ratios = a.repairs.map((r, i) => b.repairs[i]!.ms / r.ms)
    process.stdout.write(`B/A, the median of the per-repair ratios: ${percentile(ratios, 50).toFixed(3)}\n`)
  } finally {
    for (const s of sides) {
      s.events.close()
      await stopDaemon(s.d)
    }
    rmSync(base, { recursive: true, force: true })
  }
}

main().catch(err => {
  say(`FAILED: ${err instanceof Error ? err.message : String(err)}`)
  process.exitCode = 1
})
