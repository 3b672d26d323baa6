/**
 * Drift-repair latency: clobber one managed file at a time and time how long the engine takes to
 * put it back, from the clobbering syscall to the moment this process sees the file correct again
 * (bytes and mode). The bench learns of changes from its own `fs.watch` on the directory and reads
 * the file on each event; it never polls. Repairs do not overlap: after each one the bench waits for
 * the engine to report it has converged again, then checks the file once more.
 */
import { chmodSync, type FSWatcher, unlinkSync, watch, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { convergedAfter, type Daemon, statusLines } from './daemon.js'
import { fileName, fileProblem } from './workload.js'

export const CLOBBERS = ['content', 'delete', 'chmod'] as const
export type Clobber = (typeof CLOBBERS)[number]

export interface Repair {
  readonly file: number
  readonly clobber: Clobber
  readonly ms: number
}

export interface DriftOptions {
  readonly dir: string
  readonly n: number
  readonly repairs: number
  /** Longest wait for one repair (and for the engine to settle after it), ms. */
  readonly timeoutMs: number
}

/** A stride coprime with most N, so that successive repairs hit files far apart. */
const STRIDE = 7919

function clobber(path: string, how: Clobber): void {
  if (how === 'content') writeFileSync(path, 'clobbered\n')
  else if (how === 'delete') unlinkSync(path)
  else chmodSync(path, 0o600)
}

/** Routes the directory's events to the one repair being waited for. */
export class DirEvents {
  readonly #w: FSWatcher
  #listener: ((name: string | null) => void) | undefined

  constructor(dir: string) {
    this.#w = watch(dir)
    this.#w.on('change', (_ev, name) => this.#listener?.(name === null ? null : String(name)))
  }

  /** Resolves with the time `i` is first seen correct after an event naming it. */
  repaired(dir: string, i: number, timeoutMs: number): Promise<number> {
    const name = fileName(i)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#listener = undefined
        reject(new Error(`${join(dir, name)} not repaired within ${timeoutMs} ms: ${fileProblem(dir, i)}`))
      }, timeoutMs)
      this.#listener = changed => {
        if (changed !== null && changed !== name) return
        if (fileProblem(dir, i) !== undefined) return
        const t = performance.now()
        clearTimeout(timer)
        this.#listener = undefined
        resolve(t)
      }
    })
  }

  close(): void {
    this.#w.close()
  }
}

/** Repair `k` of a run: clobbers a file (the `k`-th of the stride, the `k`-th kind) and times its repair. */
export async function repairOnce(d: Daemon, events: DirEvents, o: DriftOptions, k: number): Promise<Repair> {
  const i = (k * STRIDE) % o.n
  const how = CLOBBERS[k % CLOBBERS.length]!
  const before = statusLines(d).length
  const repaired = events.repaired(o.dir, i, o.timeoutMs)
  const t0 = performance.now()
  clobber(join(o.dir, fileName(i)), how)
  const t1 = await repaired
  await convergedAfter(d, before, o.timeoutMs)
  const problem = fileProblem(o.dir, i)
  if (problem) throw new Error(`after repair ${k} (${how}) the engine converged with ${problem}`)
  return { file: i, clobber: how, ms: t1 - t0 }
}

/** Runs `o.repairs` clobber-and-repair rounds against a converged engine. */
export async function measureDrift(d: Daemon, o: DriftOptions): Promise<Repair[]> {
  const events = new DirEvents(o.dir)
  const out: Repair[] = []
  try {
    for (let k = 0; k < o.repairs; k++) out.push(await repairOnce(d, events, o, k))
  } finally {
    events.close()
  }
  return out
}
