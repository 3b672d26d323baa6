/**
 * The converged detector. Every component (a resource's worker, later each remote host) holds a
 * handle and says when it is busy and when it is idle. The whole is converged when every handle
 * has been idle for `timeout` seconds; a single timer is armed when the last one goes idle, so an
 * idle engine does no work at all. Listeners hear every change of the converged state.
 */

export interface ConvergerHandle {
  setBusy(busy: boolean): void
  /** Stop counting this component. */
  remove(): void
}

/** One component's handle: a plain record, its busy state counted by the converger. */
class Handle implements ConvergerHandle {
  busy = false
  removed = false
  constructor(readonly converger: Converger) {}
  setBusy(busy: boolean): void {
    if (this.removed || busy === this.busy) return
    this.busy = busy
    this.converger.count(busy ? 1 : -1)
  }
  remove(): void {
    this.setBusy(false)
    this.removed = true
  }
}

export class Converger {
  /** How many handles are busy. */
  #busy = 0
  readonly #listeners = new Set<(converged: boolean) => void>()
  readonly #idleListeners = new Set<(idle: boolean) => void>()
  #timer: NodeJS.Timeout | undefined
  #converged = false
  /** Nothing busy and not paused: the moment every component settled, whatever the timeout. */
  #idle = true
  #paused = 0

  /** `timeout` in seconds; negative: never converged (the listeners never hear true). */
  constructor(readonly timeout: number) {}

  get converged(): boolean {
    return this.#converged
  }

  register(busy = true): ConvergerHandle {
    const h = new Handle(this)
    if (busy) h.setBusy(true)
    else this.#update()
    return h
  }

  /** For handles: `delta` more (or fewer) components are busy. */
  count(delta: number): void {
    this.#busy += delta
    this.#update()
  }

  onChange(fn: (converged: boolean) => void): () => void {
    this.#listeners.add(fn)
    return () => this.#listeners.delete(fn)
  }

  /** Hears every change between busy and idle (nothing busy, not paused), at once, with no timeout. */
  onIdle(fn: (idle: boolean) => void): () => void {
    this.#idleListeners.add(fn)
    return () => this.#idleListeners.delete(fn)
  }

  /** Hold off convergence (during a graph swap); pairs with resume(). */
  pause(): void {
    this.#paused++
    this.#update()
  }
  resume(): void {
    this.#paused--
    this.#update()
  }

  close(): void {
    clearTimeout(this.#timer)
    this.#listeners.clear()
    this.#idleListeners.clear()
  }

  #update(): void {
    const idle = this.#busy === 0 && this.#paused === 0
    if (idle !== this.#idle) {
      this.#idle = idle
      for (const fn of [...this.#idleListeners]) fn(idle)
    }
    if (!idle) {
      if (this.#timer) {
        clearTimeout(this.#timer)
        this.#timer = undefined
      }
      this.#set(false)
      return
    }
    if (this.timeout < 0 || this.#timer || this.#converged) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#set(true)
    }, this.timeout * 1000)
  }

  #set(c: boolean): void {
    if (c === this.#converged) return
    this.#converged = c
    for (const fn of [...this.#listeners]) fn(c)
  }
}
