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
 * What is in flight at once is bounded too (IN_FLIGHT), except work that takes its time.
 *
 * A turn, not a microtask checkpoint (`process.nextTick`): many chains wait a moment on I/O that
 * they share (the first check of a directory's files reads the directory once), which completes
 * only when the event loop polls. Batched on `nextTick`, the next batch came before that, and a
 * run of 1,000 files gained nothing.
 */
import { monotonicMs } from '../util/timers.js'

/** Chains started in one turn of the event loop. */
export const PER_TURN = 64

/**
 * Chains in flight at once in a queue that bounds them (the engine's passes), not counting those
 * that have run for LONG_MS or more.
 *
 * Started in turns but not bounded, every chain of a graph that waits for the same thing stays
 * alive while it waits: at 10,000 files written from scratch, 10,000 passes started in a few
 * turns and then queued for the disk (128 writes at a time, four fdatasyncs), each chain's frames
 * alive for seconds, long enough to be copied to the old generation and die there (the old
 * generation collected 86 MB of garbage in that run; the engine peaked at 159-184 MiB). Bounded,
 * a pass waits for the disk alone, for milliseconds, and what it made dies young (33 MB; a peak of
 * 131-137 MiB); the disk is kept as busy (the thread pool runs four fdatasyncs at a time).
 */
export const IN_FLIGHT = 32

/**
 * A chain in flight this long no longer counts against IN_FLIGHT: it waits on something that
 * takes its time (a command, a package manager, a service's start), and the chains behind it
 * must not wait for it to end. Work that takes its time still runs side by side, IN_FLIGHT more
 * every LONG_MS, and chains that wait on each other never stall.
 */
export const LONG_MS = 200

/** A chain in flight that still counts against the bound. */
interface Flight {
  readonly t0: number
  counted: boolean
}

/**
 * A first-in first-out queue of work run by `run`: the first PER_TURN items queued in a turn run
 * once the current task's synchronous work is done (in a microtask, as an `await` would), the rest
 * in the following turns, PER_TURN a turn. With an `inFlight` bound, an item whose `run` returns a
 * promise holds one of `inFlight` places until the promise settles or it has held it `longMs`; the
 * items behind wait for a place. A timer runs only while items wait behind a full bound.
 */
export class TurnQueue<T> {
  readonly #items: (T | undefined)[] = []
  #next = 0
  #due = false
  /** The items in flight that held a place when they started, oldest first. */
  #flights: Flight[] = []
  #head = 0
  /** Places held. */
  #held = 0
  #timer: NodeJS.Timeout | undefined

  constructor(
    readonly run: (item: T) => unknown,
    readonly perTurn: number = PER_TURN,
    readonly inFlight: number = Number.POSITIVE_INFINITY,
    readonly longMs: number = LONG_MS,
  ) {}

  /** Items queued and not run yet. */
  get size(): number {
    return this.#items.length - this.#next
  }

  /** Places held by items in flight. */
  get held(): number {
    return this.#held
  }

  push(item: T): void {
    this.#items.push(item)
    if (this.#due) return
    // The bound is full: a settled item, or the timer, drains again.
    if (this.#held >= this.inFlight) {
      this.#wait()
      return
    }
    this.#due = true
    queueMicrotask(this.#drain)
  }

  readonly #drain = (): void => {
    const items = this.#items
    const end = Math.min(this.#next + this.perTurn, items.length)
    try {
      while (this.#next < end && this.#room()) {
        const item = items[this.#next] as T
        items[this.#next++] = undefined
        const p = this.run(item)
        if (p instanceof Promise && this.inFlight !== Number.POSITIVE_INFINITY) this.#hold(p)
      }
    } finally {
      if (this.#next >= items.length) {
        items.length = 0
        this.#next = 0
        this.#due = false
        clearTimeout(this.#timer)
        this.#timer = undefined
      } else if (this.#held < this.inFlight) setImmediate(this.#drain)
      else {
        this.#due = false
        this.#wait()
      }
    }
  }

  #hold(p: Promise<unknown>): void {
    const f: Flight = { t0: monotonicMs(), counted: true }
    this.#flights.push(f)
    this.#held++
    p.then(
      () => this.#settled(f),
      (err: unknown) => {
        this.#settled(f)
        throw err
      },
    )
  }

  #settled(f: Flight): void {
    if (!f.counted) return
    f.counted = false
    this.#held--
    // Drops the settled ones at the head: with the bound never full, nothing else would.
    this.#oldest()
    if (this.#due || this.#next >= this.#items.length) return
    this.#due = true
    setImmediate(this.#drain)
  }

  /** A place is free, once the items in flight for `longMs` have given theirs up. */
  #room(): boolean {
    if (this.#held < this.inFlight) return true
    const now = monotonicMs()
    for (let f = this.#oldest(); f && now - f.t0 >= this.longMs; f = this.#oldest()) {
      f.counted = false
      this.#held--
    }
    return this.#held < this.inFlight
  }

  /** The oldest item that holds a place (the ones before it that gave theirs up are dropped). */
  #oldest(): Flight | undefined {
    const flights = this.#flights
    while (this.#head < flights.length && !flights[this.#head]!.counted) this.#head++
    if (this.#head === flights.length) {
      this.#flights = []
      this.#head = 0
      return undefined
    }
    if (this.#head > 1024 && this.#head * 2 > flights.length) {
      this.#flights = flights.slice(this.#head)
      this.#head = 0
    }
    return this.#flights[this.#head]
  }

  /** Until the oldest item in flight has held its place `longMs`. */
  #wait(): void {
    const oldest = this.#oldest()
    if (oldest) this.#timer ??= setTimeout(this.#aged, Math.max(1, oldest.t0 + this.longMs - monotonicMs()))
  }

  readonly #aged = (): void => {
    this.#timer = undefined
    if (this.#due || this.#next >= this.#items.length) return
    this.#due = true
    this.#drain()
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
