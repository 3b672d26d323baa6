/**
 * A full garbage collection when a long-running engine has settled after a graph commit (its first
 * graph, or a change), if the heap grew by COLLECT_GROWN bytes since the last one.
 *
 * A commit leaves garbage that V8 is slow to take back in an engine that then goes quiet: at
 * 10,000 files, the first converge leaves its graph's parse and compile behind, and each edit of
 * the graph file leaves the file's last text (1.2 MB, outside V8's heap under Node.js 24, which V8
 * collects only once 64 MB of such memory has come). Ten edits raised the engine's resident set
 * from 131 to 149 MiB, and it stayed there until V8's memory reducer ran, a minute later. Collected
 * when the engine settles, the garbage goes at a moment when nothing waits (about 50 ms at 10,000
 * files, 5 at 1,000), and the engine holds its settled size from then on.
 *
 * A small graph grows the heap too little to be worth one (a collection costs a few milliseconds
 * even then).
 *
 * Once too before the engine starts its first graph, whatever the heap grew: the garbage of
 * reading and compiling the graph goes, and the first converge starts from the graph's live size.
 * A 1,000-file engine then peaked at 65.9-66.1 MiB in six runs, against 66.8-68.8 MiB without
 * (10 ms, once). Only where the command's launcher started Node.js with `--expose-gc`
 * (util/v8flags.ts): a program that uses the library keeps its own garbage collector's pace.
 */
import { getHeapStatistics } from 'node:v8'
import { monotonicMs } from './timers.js'

/** Growth of the heap (V8's and the memory its strings and buffers hold) that a collection is for. */
export const COLLECT_GROWN = 8 << 20

/** What a collection found and left. */
export interface Collection {
  readonly beforeBytes: number
  readonly afterBytes: number
  readonly ms: number
}

const heldBytes = (): number => {
  const s = getHeapStatistics()
  return s.used_heap_size + s.external_memory
}

export class SettledCollector {
  /** What the heap held after the last collection, or when the collector was made. */
  #after = heldBytes()

  constructor(
    /** V8's collector, as `--expose-gc` gives it (undefined: never collects). */
    readonly gc: (() => void) | undefined = (globalThis as { gc?: () => void }).gc,
    readonly grown: number = COLLECT_GROWN,
  ) {}

  /** Collects if the heap grew enough since the last time; undefined when it did not collect. */
  settled(): Collection | undefined {
    if (!this.gc || heldBytes() - this.#after < this.grown) return undefined
    return this.collect()
  }

  /** Collects, whatever the heap grew (undefined: no collector). */
  collect(): Collection | undefined {
    if (!this.gc) return undefined
    const beforeBytes = heldBytes()
    const t0 = monotonicMs()
    this.gc()
    this.#after = heldBytes()
    return { beforeBytes, afterBytes: this.#after, ms: monotonicMs() - t0 }
  }
}
