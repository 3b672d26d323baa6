/**
 * A counting limit on work in flight, first come first served: `take` resolves when one of the
 * `size` slots is free, `give` passes it on to the next in line. Holding no timer and no listener,
 * an idle limit costs nothing.
 */
export class Slots {
  #free: number
  /** Takers waiting, in order (`#head` is the next one). */
  #waiting: (() => void)[] = []
  #head = 0

  constructor(readonly size: number) {
    this.#free = size
  }

  /** How many take calls wait for a slot. */
  get waiting(): number {
    return this.#waiting.length - this.#head
  }

  take(): Promise<void> | undefined {
    if (this.#free > 0) {
      this.#free--
      return undefined
    }
    return new Promise<void>(resolve => this.#waiting.push(resolve))
  }

  give(): void {
    if (this.#head < this.#waiting.length) {
      const next = this.#waiting[this.#head++]!
      if (this.#head === this.#waiting.length) {
        this.#waiting = []
        this.#head = 0
      }
      next()
    } else this.#free++
  }

  /** Runs `work` in a slot. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    await this.take()
    try {
      return await work()
    } finally {
      this.give()
    }
  }
}
