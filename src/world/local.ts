/**
 * The embedded World: one host, in-process. With a directory it keeps its strings, exports and
 * deploys in `<dir>/world.json` (written atomically after every change, so a value set before a
 * crash or a restart is there afterwards); without one it is purely in memory, the fake the engine's
 * unit tests use. The host's converged state is live, never persisted.
 */
import { mkdir, readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { describeError, errCode, MgmtError } from '../util/errors.js'
import { writeStateFile } from '../util/statefile.js'
import { readSaved, type SavedWorld } from './stored.js'
import {
  type CollectedResource,
  type CollectFilter,
  type Deploy,
  type ExportedResource,
  exportedTo,
  exportJson,
  matches,
  sortCollected,
  type World,
} from './world.js'

/**
 * What the world holds. Keys come from graphs (a `kv` key, an mcl program's), so they are kept in
 * Maps, never as an object's properties: a key such as `__proto__` or `toString` is a key like any
 * other, where an object's would reach its prototype (and `__proto__` every object's).
 */
interface State {
  strings: Map<string, string>
  maps: Map<string, Map<string, string>>
  exports: Map<string, ExportedResource[]>
  deploys: Deploy[]
}

const emptyState = (): State => ({ strings: new Map(), maps: new Map(), exports: new Map(), deploys: [] })

const FILE = 'world.json'

export class LocalWorld implements World {
  readonly #dir: string | undefined
  #data: State = emptyState()
  readonly #watchers = new Map<string, Set<() => void>>()
  #converged = false
  #loaded: Promise<void> | undefined
  #closed = false
  /** The save in progress, and whether another must follow it. */
  #saving: Promise<void> | undefined
  #again = false

  /** `dir`: where to persist; none keeps everything in memory. */
  constructor(
    readonly hostname: string,
    dir?: string,
  ) {
    this.#dir = dir
  }

  ready(): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('the world is closed'))
    this.#loaded ??= this.#load()
    return this.#loaded
  }

  async strGet(key: string): Promise<string | undefined> {
    await this.ready()
    return this.#data.strings.get(key)
  }
  async strSet(key: string, value: string): Promise<void> {
    await this.ready()
    if (this.#data.strings.get(key) === value) return
    this.#data.strings.set(key, value)
    await this.#changed(`str:${key}`)
  }
  async strDel(key: string): Promise<void> {
    await this.ready()
    if (!this.#data.strings.delete(key)) return
    await this.#changed(`str:${key}`)
  }
  strWatch(key: string, signal: AbortSignal, onChange: () => void): Promise<void> {
    return this.#watch(`str:${key}`, signal, onChange)
  }

  async strMapGet(key: string): Promise<Readonly<Record<string, string>>> {
    await this.ready()
    return Object.fromEntries(this.#data.maps.get(key) ?? [])
  }
  async strMapSet(key: string, value: string): Promise<void> {
    await this.ready()
    const m = this.#data.maps.get(key) ?? new Map<string, string>()
    this.#data.maps.set(key, m)
    if (m.get(this.hostname) === value) return
    m.set(this.hostname, value)
    await this.#changed(`map:${key}`)
  }
  async strMapDel(key: string): Promise<void> {
    await this.ready()
    const m = this.#data.maps.get(key)
    if (!m?.delete(this.hostname)) return
    if (m.size === 0) this.#data.maps.delete(key)
    await this.#changed(`map:${key}`)
  }
  strMapWatch(key: string, signal: AbortSignal, onChange: () => void): Promise<void> {
    return this.#watch(`map:${key}`, signal, onChange)
  }

  async resExport(resources: readonly ExportedResource[]): Promise<boolean> {
    await this.ready()
    const before = (this.#data.exports.get(this.hostname) ?? []).map(exportJson).sort()
    const after = resources.map(exportJson).sort()
    if (before.join('\n') === after.join('\n')) return false
    if (resources.length)
      this.#data.exports.set(
        this.hostname,
        resources.map(r => ({ ...r })),
      )
    else this.#data.exports.delete(this.hostname)
    await this.#changed('res')
    return true
  }
  async resCollect(filter?: CollectFilter): Promise<CollectedResource[]> {
    await this.ready()
    const out: CollectedResource[] = []
    for (const [host, list] of this.#data.exports)
      for (const r of list) {
        const c = { ...r, host }
        if (exportedTo(r, this.hostname) && matches(c, filter)) out.push(c)
      }
    return sortCollected(out)
  }
  resWatch(signal: AbortSignal, onChange: () => void): Promise<void> {
    return this.#watch('res', signal, onChange)
  }

  async setConverged(converged: boolean): Promise<void> {
    if (this.#converged === converged) return
    this.#converged = converged
    this.#notify('conv')
  }
  async convergedGet(): Promise<ReadonlyMap<string, boolean>> {
    return new Map([[this.hostname, this.#converged]])
  }
  convergedWatch(signal: AbortSignal, onChange: () => void): Promise<void> {
    return this.#watch('conv', signal, onChange)
  }

  async deployAdd(deploy: Omit<Deploy, 'id'>): Promise<number> {
    await this.ready()
    const id = (this.#data.deploys.at(-1)?.id ?? 0) + 1
    this.#data.deploys.push({ ...deploy, id })
    await this.#changed('deploy')
    return id
  }
  async deployGet(id?: number): Promise<Deploy | undefined> {
    await this.ready()
    return id === undefined ? this.#data.deploys.at(-1) : this.#data.deploys.find(d => d.id === id)
  }
  deployWatch(signal: AbortSignal, onChange: () => void): Promise<void> {
    return this.#watch('deploy', signal, onChange)
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#watchers.clear()
    await this.#saving
  }

  async #load(): Promise<void> {
    if (!this.#dir) return
    await mkdir(this.#dir, { recursive: true, mode: 0o700 })
    let text: string
    try {
      text = await readFile(join(this.#dir, FILE), 'utf8')
    } catch (e) {
      if (errCode(e) === 'ENOENT') return
      throw e
    }
    // JSON.parse makes a key such as `__proto__` an own property, which entries() lists (readSaved
    // returns what it made). A file that is not the world's state stops the run: nothing of a
    // world made anew from it would be what the hosts stored.
    let saved: SavedWorld
    try {
      saved = readSaved(join(this.#dir, FILE), text)
    } catch (err) {
      throw new MgmtError('ERR_PREFIX', {
        prefix: dirname(this.#dir),
        reason: `${describeError(err)}: repair it, or move it away to start with an empty world`,
      })
    }
    this.#data = {
      strings: new Map(Object.entries(saved.strings ?? {})),
      maps: new Map(Object.entries(saved.maps ?? {}).map(([k, m]) => [k, new Map(Object.entries(m))])),
      exports: new Map(Object.entries(saved.exports ?? {})),
      deploys: saved.deploys ?? [],
    }
  }

  async #watch(topic: string, signal: AbortSignal, onChange: () => void): Promise<void> {
    await this.ready()
    if (signal.aborted) return
    const s = this.#watchers.get(topic) ?? new Set()
    this.#watchers.set(topic, s)
    s.add(onChange)
    signal.addEventListener('abort', () => s.delete(onChange), { once: true })
    onChange()
  }

  /** Persists the change, then wakes the watchers of `topic`. */
  async #changed(topic: string): Promise<void> {
    await this.#save()
    this.#notify(topic)
  }

  #notify(topic: string): void {
    for (const fn of [...(this.#watchers.get(topic) ?? [])]) fn()
  }

  /** Writes the whole state; changes made while a write runs are written by one more write. */
  #save(): Promise<void> {
    if (!this.#dir) return Promise.resolve()
    if (this.#saving) {
      this.#again = true
      return this.#saving
    }
    const dir = this.#dir
    const run = async (): Promise<void> => {
      do {
        this.#again = false
        await writeStateFile(join(dir, FILE), JSON.stringify(saved(this.#data)))
      } while (this.#again)
    }
    this.#saving = run().finally(() => {
      this.#saving = undefined
    })
    return this.#saving
  }
}

/** The state as `world.json` keeps it (Object.fromEntries makes every key an own property). */
function saved(d: State): SavedWorld {
  return {
    strings: Object.fromEntries(d.strings),
    maps: Object.fromEntries([...d.maps].map(([k, m]) => [k, Object.fromEntries(m)])),
    exports: Object.fromEntries(d.exports),
    deploys: d.deploys,
  }
}
