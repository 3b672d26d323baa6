/**
 * Work started a bounded number at a time per turn of the event loop.
 *
 * A graph of thousands of resources has thousands of workers to create, start and run at once.
 * Each is a chain of async functions; started side by side in one turn, every chain's frames and
 * temporaries stay alive until all the others have moved on too, so V8's young-generation
 * collections find them alive and copy them to the old generation, where they die later and cost
 * far more (at 5,000 files, about 50 MB copied and dropped: most of a run's time in the garbage
 * collector). Started at most PER_TURN at a time, a chain has finished, or waits on real I/O, before
 * the next ones start, and what it made dies young. A turn is short when nothing else is due, so
 * this costs no parallelism: work that waits on a process or the disk still waits side by side.
 *
 * A turn, not a microtask checkpoint (`process.nextTick`): many chains wait a moment on I/O that
 * they share (the first check of a directory's files reads the directory once), which completes
 * only when the event loop polls. Batched on `nextTick`, the next batch came before that, and a
 * run of 1,000 files gained nothing.
 */

/** Chains started in one turn of the event loop. */
export const PER_TURN = 64

/**
 * A first-in first-out queue of work run by `run`: the first PER_TURN items queued in a turn run
 * once the current task's synchronous work is done (in a microtask, as an `await` would), the rest
 * in the following turns, PER_TURN a turn.
 */
export class TurnQueue<T> {
  readonly #items: (T | undefined)[] = []
  #next = 0
  #due = false

  constructor(
    readonly run: (item: T) => void,
    readonly perTurn: number = PER_TURN,
  ) {}

  /** Items queued and not run yet. */
  get size(): number {
    return this.#items.length - this.#next
  }

  push(item: T): void {
    this.#items.push(item)
    if (this.#due) return
    this.#due = true
    queueMicrotask(this.#drain)
  }

  readonly #drain = (): void => {
    const items = this.#items
    const end = Math.min(this.#next + this.perTurn, items.length)
    try {
      while (this.#next < end) {
        const item = items[this.#next] as T
        items[this.#next++] = undefined
        this.run(item)
      }
    } finally {
      if (this.#next < items.length) setImmediate(this.#drain)
      else {
        items.length = 0
        this.#next = 0
        this.#due = false
      }
    }
  }
}

/**
 * `Promise.all(items.map(fn))`, with the calls started PER_TURN a turn: the first ones at once,
 * the next ones in the following turns.
 */
export async function inTurns<T, R>(
  items: readonly T[],
  fn: (item: T) => R | Promise<R>,
  perTurn: number = PER_TURN,
): Promise<R[]> {
  const out: (R | Promise<R>)[] = []
  for (let i = 0; i < items.length; i++) {
    if (i > 0 && i % perTurn === 0) await nextTurn()
    out.push(fn(items[i] as T))
  }
  return Promise.all(out)
}

const nextTurn = (): Promise<void> => new Promise(resolve => setImmediate(resolve))
