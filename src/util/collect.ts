/**
 * A full garbage collection when a long-running engine has settled after a graph commit (its first
 * graph, or a change), if the heap grew by COLLECT_GROWN bytes since the last one.
 *
 * A commit leaves garbage that V8 is slow to take back in an engine that then goes quiet: at
 * 10,000 files, the first converge leaves its graph's parse and compile behind, and each edit of
 * the graph file leaves the file's last text (1.2 MB, outside V8's heap under Node.js 24, which V8
 * collects only once 64 MB of such memory has come). Ten edits raised the engine's resident set
 * from 131 to 149 MiB, and it stayed there until V8's memory reducer ran, a minute later. Collected
 * when the engine settles, the garbage goes at a moment when nothing waits (about 45 ms at 10,000
 * files), and the engine holds its settled size from then on.
 *
 * A small graph grows the heap too little to be worth one (a collection costs a few milliseconds
 * even then). At 10,000 files an edit grows it by about 1.5 MB: with COLLECT_GROWN at 2 MiB, the
 * bench's ten edits in a row peaked at 137.5 and 141.4 MiB, at 8 MiB at 142.3 and 141.5 (they
 * then collect every edit or two, and every five).
 *
 * Once too before the engine starts its first graph, whatever the heap grew: the garbage of
 * reading and compiling the graph goes, and the first converge starts from the graph's live size.
 * A 1,000-file engine then peaked at 64.3-64.5 MiB in six runs, against 65.2-67.2 MiB without
 * (10 ms, once).
 *
 * The command asks for it in a run that takes reloads (not a one-shot run): `exposedGc` sets V8's
 * `--expose-gc` then. On the command line that starts Node.js, the flag cost every run its share
 * (paired: a one-shot run of one noop 1.06x, of 1,000 unchanged files 1.04x), for a collector
 * that only a long-running engine calls. A program that uses the library keeps its
 * own garbage collector's pace.
 */
import { getHeapStatistics, setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { monotonicMs } from './timers.js'

/**
 * Growth of the heap (V8's, and the memory its strings and buffers hold outside it) that a
 * collection is for. The young generation counts too: its garbage is a scavenge away, but left out,
 * edits in a row collected less often, and the bench's 10,000-file engine peaked 2-4 MiB higher
 * (139.3-144.7 MiB in three runs, against 135.2-141.4 in six).
 */
export const COLLECT_GROWN = 2 << 20

/** What a collection found and left. */
export interface Collection {
  readonly beforeBytes: number
  readonly afterBytes: number
  readonly ms: number
}

/** What the heap holds, with the memory outside it that it holds. */
export function heldBytes(): number {
  const s = getHeapStatistics()
  return s.used_heap_size + s.external_memory
}

/**
 * V8's full collection, in this process from now on: `--expose-gc` set from JavaScript (as
 * util/v8flags.ts sets the optimizing compilers), and `gc` taken from a context made for each call
 * (a context kept would hold 0.2 MB; one made costs 0.8 ms, beside a collection's 10-50). None in
 * the build's warm-up (`MGMT_CODE_CACHE_OUT`): V8 keys the code cache it writes on its flags, and
 * a start without the flag would refuse a cache written under it.
 */
export function exposedGc(env: NodeJS.ProcessEnv = process.env): (() => void) | undefined {
  if (env.MGMT_CODE_CACHE_OUT !== undefined) return undefined
  setFlagsFromString('--expose-gc')
  return () => (runInNewContext('gc') as () => void)()
}

export class SettledCollector {
  /** What the heap held after the last collection, or when the collector was made. */
  #after: number

  constructor(
    /** V8's full collection (`exposedGc`). */
    readonly gc: () => void,
    /** What the heap holds, as `heldBytes` measures it. */
    readonly held: () => number = heldBytes,
  ) {
    this.#after = held()
  }

  /** Collects if the heap grew by COLLECT_GROWN since the last time; undefined when it did not. */
  settled(): Collection | undefined {
    const beforeBytes = this.held()
    return beforeBytes - this.#after < COLLECT_GROWN ? undefined : this.#collect(beforeBytes)
  }

  /** Collects, whatever the heap grew. */
  collect(): Collection {
    return this.#collect(this.held())
  }

  #collect(beforeBytes: number): Collection {
    const t0 = monotonicMs()
    this.gc()
    this.#after = this.held()
    return { beforeBytes, afterBytes: this.#after, ms: monotonicMs() - t0 }
  }
}
