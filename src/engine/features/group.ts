/**
 * The running form of a grouped vertex: one Instance made of its members' instances. Its watch
 * runs every member's watch and reports ready once all of them are; its checkApply checks the
 * members one after the other, and is right only when all of them were.
 */
import type { Instance } from '../resource.js'

export interface Member {
  readonly id: string
  readonly instance: Instance
}

/** `event` is the vertex's; each member reports through the function `readyGate` returns. */
export function readyGate(count: number, event: () => void): () => () => void {
  let waiting = count
  return () => {
    let ready = false
    return () => {
      if (!ready) {
        ready = true
        waiting--
      }
      if (waiting === 0) event()
    }
  }
}

export function composite(members: readonly Member[]): Instance {
  return {
    async watch(signal) {
      // Each member gets a signal of its own, all aborted by one listener on the vertex's: an
      // AbortSignal with 100,000 listeners makes each addition (and the abort) crawl.
      const own = members.map(() => new AbortController())
      const stop = (): void => {
        for (const c of own) c.abort(signal.reason)
      }
      if (signal.aborted) stop()
      else signal.addEventListener('abort', stop, { once: true })
      try {
        await Promise.all(members.map((m, i) => m.instance.watch(own[i]!.signal)))
      } catch (err) {
        // One member's watch failed: the others stop with it. (A watch that returns has set up
        // what ends with its signal, and keeps following until the vertex stops.)
        signal.removeEventListener('abort', stop)
        stop()
        throw err
      }
    },
    async checkApply(apply, signal) {
      let ok = true
      for (const m of members) ok = (await m.instance.checkApply(apply, signal)) && ok
      return ok
    },
    async cleanup() {
      for (const m of members) await m.instance.cleanup?.()
    },
    interrupt() {
      for (const m of members) m.instance.interrupt?.()
    },
  }
}
