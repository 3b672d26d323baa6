/**
 * Pending notifications, kept on disk so that they survive a crash or a stop.
 *
 * When a resource changes something, the flag of each of its outgoing `notify` edges is written
 * (one small file an edge, fsync'd, and its directory fsync'd) before the resource is marked done.
 * The flag is removed only after the receiver's successful, non-noop checkApply. On start, the
 * flags of edges that still exist are delivered; those of edges that are gone are dropped, with a
 * log line. Delivery is at least once: a crash between the receiver's action and the removal of
 * the flag delivers it again, never zero times.
 */
import { createHash } from 'node:crypto'
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from '../../util/logger.js'
import { syncDir, writeStateFile } from '../../util/statefile.js'

const key = (from: string, to: string): string => `${from}\0${to}`

export class RefreshStore {
  readonly #dir: string
  readonly #log: Logger
  /** Pending edges, by `from\0to`. */
  readonly #pending = new Set<string>()
  #ready: Promise<void> | undefined

  constructor(dir: string, log: Logger) {
    this.#dir = dir
    this.#log = log
  }

  /** Reads the flags left by an earlier run (once). */
  load(): Promise<void> {
    this.#ready ??= this.#load()
    return this.#ready
  }

  async #load(): Promise<void> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 })
    for (const name of await readdir(this.#dir)) {
      if (!name.endsWith('.json')) continue
      try {
        const { from, to } = JSON.parse(await readFile(join(this.#dir, name), 'utf8')) as {
          from: string
          to: string
        }
        this.#pending.add(key(from, to))
      } catch {
        // A flag being written when the process died: the source will run again and re-notify
        // only if it changes, so keep nothing from a torn file.
        await unlink(join(this.#dir, name)).catch(() => {})
      }
    }
  }

  isPending(from: string, to: string): boolean {
    return this.#pending.has(key(from, to))
  }

  /** Every pending edge, as [from, to]. */
  pending(): [string, string][] {
    return [...this.#pending].map(k => k.split('\0') as [string, string])
  }

  /** Persists the flag of from → to; resolves once it is on disk. */
  async set(from: string, to: string): Promise<void> {
    const k = key(from, to)
    if (this.#pending.has(k)) return
    await writeStateFile(
      this.#file(from, to),
      `${JSON.stringify({ from, to, since: new Date().toISOString() })}\n`,
    )
    this.#pending.add(k)
  }

  /** Removes the flag of from → to, once delivered. */
  async clear(from: string, to: string): Promise<void> {
    const k = key(from, to)
    if (!this.#pending.has(k)) return
    this.#pending.delete(k)
    await unlink(this.#file(from, to)).catch(err => {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    })
    await syncDir(this.#dir)
  }

  /** Drops the flags of edges for which `exists` is false, with a log line each. */
  async prune(exists: (from: string, to: string) => boolean): Promise<void> {
    for (const [from, to] of this.pending())
      if (!exists(from, to)) {
        this.#log.info(
          `dropping a pending notification from ${from} to ${to}: that notify edge is no longer in the graph`,
        )
        await this.clear(from, to)
      }
  }

  #file(from: string, to: string): string {
    return join(this.#dir, `${createHash('sha256').update(key(from, to)).digest('hex').slice(0, 32)}.json`)
  }
}
