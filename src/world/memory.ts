/** An in-process World. The embedded default for one host, and the fake for engine tests. */
import type { World } from './world.js'

export class MemoryWorld implements World {
  readonly #strings = new Map<string, string>()
  readonly #watchers = new Map<string, Set<() => void>>()
  constructor(readonly hostname: string) {}

  async strGet(key: string): Promise<string | undefined> {
    return this.#strings.get(key)
  }
  async strSet(key: string, value: string): Promise<void> {
    if (this.#strings.get(key) === value) return
    this.#strings.set(key, value)
    this.#notify(key)
  }
  async strDel(key: string): Promise<void> {
    if (this.#strings.delete(key)) this.#notify(key)
  }
  async strWatch(key: string, signal: AbortSignal, onChange: () => void): Promise<void> {
    if (signal.aborted) return
    const set = this.#watchers.get(key) ?? new Set()
    this.#watchers.set(key, set)
    set.add(onChange)
    signal.addEventListener('abort', () => set.delete(onChange), { once: true })
    onChange()
  }
  async close(): Promise<void> {
    this.#watchers.clear()
  }
  #notify(key: string): void {
    for (const fn of this.#watchers.get(key) ?? []) fn()
  }
}
