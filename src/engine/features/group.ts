/**
 * The running form of a grouped vertex: one Instance made of its members' instances. Its watch
 * runs every member's watch and reports ready once all of them are; its checkApply checks the
 * members one after the other, and is right only when all of them were.
 */
import { setMaxListeners } from 'node:events'
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
      // Every member listens on the one signal: more than Node's default of 10 is expected here.
      setMaxListeners(Math.max(10, members.length * 4), signal)
      await Promise.all(members.map(m => m.instance.watch(signal)))
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
