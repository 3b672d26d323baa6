/**
 * Counting semaphores for the `sema` metaparam. An id `name` or `name:N` names a semaphore of size N
 * (the number after the last colon, when it is a whole number above 0; else 1), shared by every
 * resource of the graph that lists the same id. A resource takes all of its semaphores in sorted
 * order, which cannot deadlock, and holds them while it checks and applies.
 */

/** The size of a semaphore id: `foo` → 1, `hello:42` → 42, `not:smart:4` → 4, `:13` → 13. */
export function semaSize(id: string): number {
  const i = id.lastIndexOf(':')
  if (i < 0) return 1
  const n = Number(id.slice(i + 1))
  return Number.isInteger(n) && n > 0 ? n : 1
}

class Semaphore {
  #free: number
  readonly #waiting: (() => void)[] = []
  constructor(size: number) {
    this.#free = size
  }
  async acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--
      return
    }
    await new Promise<void>(resolve => this.#waiting.push(resolve))
  }
  release(): void {
    const next = this.#waiting.shift()
    if (next) next()
    else this.#free++
  }
}

export class Semaphores {
  readonly #all = new Map<string, Semaphore>()

  /** Takes every semaphore of `ids` (sorted, deduplicated); returns the function that releases them. */
  async acquire(ids: readonly string[]): Promise<() => void> {
    const sorted = [...new Set(ids)].sort()
    const held: Semaphore[] = []
    for (const id of sorted) {
      let s = this.#all.get(id)
      if (!s) {
        s = new Semaphore(semaSize(id))
        this.#all.set(id, s)
      }
      await s.acquire()
      held.push(s)
    }
    return () => {
      for (const s of held.reverse()) s.release()
    }
  }
}
