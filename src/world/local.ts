/**
 * The embedded World: one host, in-process. With a directory it keeps its strings, exports and
 * deploys in `<dir>/world.json` (written atomically after every change, so a value set before a
 * crash or a restart is there afterwards); without one it is purely in memory, the fake the engine's
 * unit tests use. The host's converged state is live, never persisted.
 */
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { errCode } from '../util/errors.js'
import { writeStateFile } from '../util/statefile.js'
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

interface Saved {
  strings: Record<string, string>
  maps: Record<string, Record<string, string>>
  exports: Record<string, ExportedResource[]>
  deploys: Deploy[]
}

const FILE = 'world.json'

export class LocalWorld implements World {
  readonly #dir: string | undefined
  #data: Saved = { strings: {}, maps: {}, exports: {}, deploys: [] }
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
    return this.#data.strings[key]
  }
  async strSet(key: string, value: string): Promise<void> {
    await this.ready()
    if (this.#data.strings[key] === value) return
    this.#data.strings[key] = value
    await this.#changed(`str:${key}`)
  }
  async strDel(key: string): Promise<void> {
    await this.ready()
    if (!(key in this.#data.strings)) return
    delete this.#data.strings[key]
    await this.#changed(`str:${key}`)
  }
  strWatch(key: string, signal: AbortSignal, onChange: () => void): Promise<void> {
    return this.#watch(`str:${key}`, signal, onChange)
  }

  async strMapGet(key: string): Promise<Readonly<Record<string, string>>> {
    await this.ready()
    return { ...(this.#data.maps[key] ?? {}) }
  }
  async strMapSet(key: string, value: string): Promise<void> {
    await this.ready()
    const m = this.#data.maps[key] ?? {}
    this.#data.maps[key] = m
    if (m[this.hostname] === value) return
    m[this.hostname] = value
    await this.#changed(`map:${key}`)
  }
  async strMapDel(key: string): Promise<void> {
    await this.ready()
    const m = this.#data.maps[key]
    if (!m || !(this.hostname in m)) return
    delete m[this.hostname]
    if (Object.keys(m).length === 0) delete this.#data.maps[key]
    await this.#changed(`map:${key}`)
  }
  strMapWatch(key: string, signal: AbortSignal, onChange: () => void): Promise<void> {
    return this.#watch(`map:${key}`, signal, onChange)
  }

  async resExport(resources: readonly ExportedResource[]): Promise<boolean> {
    await this.ready()
    const before = (this.#data.exports[this.hostname] ?? []).map(exportJson).sort()
    const after = resources.map(exportJson).sort()
    if (before.join('\n') === after.join('\n')) return false
    if (resources.length) this.#data.exports[this.hostname] = resources.map(r => ({ ...r }))
    else delete this.#data.exports[this.hostname]
    await this.#changed('res')
    return true
  }
  async resCollect(filter?: CollectFilter): Promise<CollectedResource[]> {
    await this.ready()
    const out: CollectedResource[] = []
    for (const [host, list] of Object.entries(this.#data.exports))
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
    const saved = JSON.parse(text) as Partial<Saved>
    this.#data = {
      strings: saved.strings ?? {},
      maps: saved.maps ?? {},
      exports: saved.exports ?? {},
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
        await writeStateFile(join(dir, FILE), JSON.stringify(this.#data))
      } while (this.#again)
    }
    this.#saving = run().finally(() => {
      this.#saving = undefined
    })
    return this.#saving
  }
}
