/**
 * What a program reads outside its own files: the world (`world.getval`, `world.kvlookup`,
 * `collect.res`, `collect`), the values kept by `value` resources (`value.get*`), and what
 * commands print (`os.system`).
 *
 * Builtins run synchronously, the world answers and commands end asynchronously, so a program is
 * evaluated in rounds: a builtin that asks for what was not fetched yet gets the empty answer and
 * notes it; after the round, what was noted is fetched (the commands run side by side, the engine
 * going on meanwhile) and the program evaluated again, until a round asks for nothing new. What
 * the last round read of the world and the kept values is what the frontend watches: a change of
 * it evaluates the program again (`watch.ts`), its commands run again with it.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { varDirName } from '../../../engine/context.js'
import type { CollectedResource, World } from '../../../world/world.js'
import { worldReady } from '../../../world/world.js'
import { system } from './command.js'

/** The keys of what a round read, by source. */
export interface ReadSet {
  readonly strings: ReadonlySet<string>
  readonly maps: ReadonlySet<string>
  readonly exports: boolean
  /** The kept-value files of `value` resources. */
  readonly values: ReadonlySet<string>
}

export class Outside {
  readonly #strings = new Map<string, string | undefined>()
  readonly #maps = new Map<string, Readonly<Record<string, string>>>()
  #exports: readonly CollectedResource[] | undefined
  /** Each command's first line of output, once it has run. */
  readonly #commands = new Map<string, string>()
  #used = { strings: new Set<string>(), maps: new Set<string>(), exports: false, values: new Set<string>() }
  #missing = {
    strings: new Set<string>(),
    maps: new Set<string>(),
    exports: false,
    commands: new Set<string>(),
  }

  /**
   * @param stateDir the engine's resource state (`<prefix>/engine/state`), where `value` resources
   *   keep their values; without it, no value is ready.
   */
  constructor(readonly stateDir?: string) {}

  /** A shared string (`kv`), or undefined when the key does not exist or was not fetched yet. */
  string(key: string): string | undefined {
    this.#used.strings.add(key)
    if (!this.#strings.has(key)) this.#missing.strings.add(key)
    return this.#strings.get(key)
  }

  /** Every host's value of a per-host key (`kv` with `mapped`), by host. */
  map(key: string): Readonly<Record<string, string>> {
    this.#used.maps.add(key)
    const v = this.#maps.get(key)
    if (!v) this.#missing.maps.add(key)
    return v ?? {}
  }

  /** The resources exported to this host, by every host (this one included). */
  exports(): readonly CollectedResource[] {
    this.#used.exports = true
    if (!this.#exports) this.#missing.exports = true
    return this.#exports ?? []
  }

  /** The first line `cmd` printed (`os.system`), or undefined when it has not run yet. */
  command(cmd: string): string | undefined {
    const out = this.#commands.get(cmd)
    if (out === undefined) this.#missing.commands.add(cmd)
    return out
  }

  /** What the `value` resource `name` keeps, or undefined when it keeps nothing (yet). */
  value(name: string): { value: unknown } | undefined {
    if (!this.stateDir) return undefined
    const file = join(this.stateDir, varDirName('value', name), 'value.json')
    this.#used.values.add(file)
    try {
      const kept = JSON.parse(readFileSync(file, 'utf8')) as unknown
      return typeof kept === 'object' && kept !== null && 'value' in kept
        ? (kept as { value: unknown })
        : undefined
    } catch {
      return undefined
    }
  }

  /** Starts a round: nothing used, nothing missing; what was fetched is kept. */
  round(): void {
    this.#used = { strings: new Set(), maps: new Set(), exports: false, values: new Set() }
    this.#missing = { strings: new Set(), maps: new Set(), exports: false, commands: new Set() }
  }

  /**
   * Whether the round asked for something not fetched yet that can be had: a command's output, or,
   * with a world, what it holds (without one, its answers stay empty).
   */
  pending(world: World | undefined): boolean {
    return this.#missing.commands.size > 0 || (world !== undefined && this.#asksWorld)
  }

  /** Whether the round asked the world for what was not fetched yet. */
  get #asksWorld(): boolean {
    const m = this.#missing
    return m.strings.size > 0 || m.maps.size > 0 || m.exports
  }

  /** What the round read. */
  get used(): ReadSet {
    return this.#used
  }

  /** Fetches what the round missed, and runs its commands; false when `signal` aborts first. */
  async fetch(world: World | undefined, signal: AbortSignal): Promise<boolean> {
    const m = this.#missing
    const reads = world !== undefined && this.#asksWorld
    await Promise.all([
      ...[...m.commands].map(async c => this.#commands.set(c, await system(c, signal))),
      (async () => {
        if (!reads || !(await worldReady(world, signal))) return
        await Promise.all([
          ...[...m.strings].map(async k => this.#strings.set(k, await world.strGet(k))),
          ...[...m.maps].map(async k => this.#maps.set(k, await world.strMapGet(k))),
          m.exports ? world.resCollect().then(rs => (this.#exports = rs)) : undefined,
        ])
      })(),
    ])
    return !signal.aborted
  }
}
