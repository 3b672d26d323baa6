/**
 * The Puppet children of this process, shared: the Puppet frontend compiles with one, and every
 * `pippet` resource applies its resource through the same one, so that a manifest with fallbacks
 * costs one Ruby process and the fallbacks see the manifest's modules (their custom types).
 *
 * Children are keyed by their settings and counted by lease; the last release stops one. A
 * `pippet` resource takes the settings the Puppet frontend of this process announced, or Puppet's
 * defaults when it runs from a YAML graph.
 */
import type { Logger } from '../../util/logger.js'
import { PuppetChild, type PuppetSettings } from './child.js'

export interface PuppetLease {
  readonly child: PuppetChild
  /** Gives the lease back; the last one stops the child. Idempotent. */
  release(): Promise<void>
}

const shared = new Map<string, { child: PuppetChild; leases: number }>()
let forFallbacks: PuppetSettings = {}

const keyOf = (s: PuppetSettings): string =>
  JSON.stringify([s.modulepath ?? '', s.certname ?? '', s.config ?? ''])

export function leasePuppet(settings: PuppetSettings, log: Logger): PuppetLease {
  const key = keyOf(settings)
  let entry = shared.get(key)
  if (!entry) {
    entry = { child: new PuppetChild(settings, log), leases: 0 }
    shared.set(key, entry)
  }
  entry.leases++
  const held = entry
  let released = false
  return {
    child: held.child,
    async release() {
      if (released) return
      released = true
      if (--held.leases > 0) return
      if (shared.get(key) === held) shared.delete(key)
      await held.child.stop()
    },
  }
}

/** The settings `pippet` resources use from now on (the Puppet frontend's). */
export function setFallbackSettings(s: PuppetSettings): void {
  forFallbacks = s
}

export function fallbackSettings(): PuppetSettings {
  return forFallbacks
}
