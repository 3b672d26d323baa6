/**
 * Live changes of a running graph: the YAML graph file is edited so that exactly one file
 * resource's content changes, and saved as editors save (a temporary file renamed over the graph).
 * The time runs from the rename to the moment this process sees the new content on disk, through
 * its own `fs.watch` on the file's directory (no polling). The engine's log line for the swap says
 * how many resources it kept, restarted, added and removed, and how long the swap itself took.
 * Edits do not overlap: after each one the bench waits for the engine to converge again.
 */
import { type FSWatcher, readFileSync, renameSync, watch, writeFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { convergedAfter, type Daemon, statusLines } from './daemon.js'
import { editContent, scaleFile, scaleFileProblem, scaleResources, scaleYaml } from './scaleload.js'

/** What the engine logged for one graph swap. */
export interface SwapLog {
  readonly kept: number
  readonly changed: number
  readonly added: number
  readonly removed: number
  /** The engine's own time for the swap (diff, stop, start), ms. */
  readonly engineMs: number
}

export interface Swap extends SwapLog {
  readonly file: number
  /** From the rename of the graph file to the new content on disk, ms. */
  readonly ms: number
}

export interface SwapOptions {
  /** The directory the graph manages. */
  readonly root: string
  readonly n: number
  readonly yamlPath: string
  readonly swaps: number
  /** Longest wait for one change to be applied (and for the engine to settle after it), ms. */
  readonly timeoutMs: number
}

/** A stride coprime with 100 and most N, so that successive edits hit files in different directories. */
const STRIDE = 7919
/** `graph swap: 10100 kept, 1 changed (file[d3/f7]), 0 added, 0 removed (9.1 ms)` (each list named, or not). */
const SWAP_LINE =
  /graph swap: (\d+) kept, (\d+) changed(?: \(.*?\))?, (\d+) added(?: \(.*?\))?, (\d+) removed(?: \(.*?\))? \(([\d.]+) ms\)/g

/** Every graph swap the engine has logged so far. */
export function swapLog(logPath: string): SwapLog[] {
  return [...readFileSync(logPath, 'utf8').matchAll(SWAP_LINE)].map(m => ({
    kept: Number(m[1]),
    changed: Number(m[2]),
    added: Number(m[3]),
    removed: Number(m[4]),
    engineMs: Number(m[5]),
  }))
}

/**
 * Resolves with the time file `j` is first seen in its wanted state (after `edits`), checked on
 * each event of its directory that names it. The watch is in place when this returns.
 */
function applied(o: SwapOptions, j: number, edits: ReadonlyMap<number, string>): Promise<number> {
  const { dir, name } = scaleFile(o.root, j)
  let w: FSWatcher | undefined
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(
            `not applied within ${o.timeoutMs} ms: ${scaleFileProblem(o.root, j, edits) ?? 'now it is'}`,
          ),
        ),
      o.timeoutMs,
    )
    w = watch(dir, (_ev, changed) => {
      if (changed !== null && String(changed) !== name) return
      if (scaleFileProblem(o.root, j, edits) !== undefined) return
      const t = performance.now()
      clearTimeout(timer)
      resolve(t)
    })
    w.on('error', err => {
      clearTimeout(timer)
      reject(err)
    })
  }).finally(() => w?.close())
}

async function swapOnce(d: Daemon, o: SwapOptions, edits: Map<number, string>, k: number): Promise<Swap> {
  const j = ((k + 1) * STRIDE) % o.n
  edits.set(j, editContent(k, j))
  const tmp = `${o.yamlPath}.saving`
  writeFileSync(tmp, scaleYaml(scaleResources(o.n, o.root, edits)))
  const converged = statusLines(d).length
  const swaps = swapLog(d.logPath).length
  const seen = applied(o, j, edits)
  const t0 = performance.now()
  renameSync(tmp, o.yamlPath)
  const t1 = await seen
  await convergedAfter(d, converged, o.timeoutMs)
  const logged = swapLog(d.logPath).slice(swaps)
  if (logged.length !== 1)
    throw new Error(`edit ${k}: the engine logged ${logged.length} graph swaps, not one`)
  const problem = scaleFileProblem(o.root, j, edits)
  if (problem) throw new Error(`after edit ${k} the engine converged with ${problem}`)
  return { file: j, ms: t1 - t0, ...logged[0]! }
}

/** Runs `o.swaps` one-resource edits against a converged engine; `edits` collects what they changed. */
export async function measureSwaps(d: Daemon, o: SwapOptions, edits: Map<number, string>): Promise<Swap[]> {
  const out: Swap[] = []
  for (let k = 0; k < o.swaps; k++) out.push(await swapOnce(d, o, edits, k))
  return out
}
