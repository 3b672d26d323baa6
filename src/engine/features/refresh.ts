/**
 * Pending notifications, kept on disk so that none is lost to a crash, a `kill -9` or a stop.
 *
 * The intent comes first: before a resource with outgoing `notify` edges checks with apply=true,
 * the flag of each of those edges is written (one small file an edge, fsync'd, and its directory
 * fsync'd). When the check changed something (or failed half-way), the flags stay: the
 * notifications are pending. When it found nothing to change, the flags it wrote are dropped. A
 * crash at any point in between leaves the flags on disk, so the next start delivers them.
 *
 * A flag is removed only after the receiver's successful, non-noop checkApply, and only when no
 * new notification came along that edge while the receiver ran: a receiver takes the generation
 * of each pending edge when it starts, and its delivery clears an edge only at that generation. A
 * sender checking when a delivery ends keeps the flag until its check says whether it changed
 * something (then the flag is a new notification) or not (then it goes). On start, the flags
 * of edges that still exist are delivered; those of edges that are gone are dropped, with a log
 * line. Delivery is at least once: a crash between the receiver's action and the removal of the
 * flag, or during a check that would have found nothing to change, delivers once more, never
 * zero times.
 */
import { createHash } from 'node:crypto'
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from '../../util/logger.js'
import { syncDir, writeStateFile } from '../../util/statefile.js'
import { sweepTemps } from '../../util/tempfile.js'

const key = (from: string, to: string): string => `${from}\0${to}`

export class RefreshStore {
  readonly #dir: string
  readonly #log: Logger
  /** Pending edges, by `from\0to`. */
  readonly #pending = new Set<string>()
  /** Edges of a sender's check whose outcome is not known yet. */
  readonly #intents = new Set<string>()
  /** How many notifications each edge has had (in this process): a delivery clears what it saw. */
  readonly #gen = new Map<string, number>()
  /** Delivered while the sender was checking: cleared when that check changes nothing. */
  readonly #deferred = new Set<string>()
  #ready: Promise<void> | undefined

  constructor(dir: string, log: Logger) {
    this.#dir = dir
    this.#log = log
  }

  /** Reads the flags left by an earlier run (once), and removes the temporary files of a crash. */
  load(): Promise<void> {
    this.#ready ??= this.#load().catch(e => {
      this.#ready = undefined // tried again next time (a full disk may be freed)
      throw e
    })
    return this.#ready
  }

  async #load(): Promise<void> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 })
    const names = await readdir(this.#dir)
    await sweepTemps(this.#dir, names)
    for (const name of names) {
      if (!name.endsWith('.json')) continue
      try {
        const { from, to } = JSON.parse(await readFile(join(this.#dir, name), 'utf8')) as {
          from: string
          to: string
        }
        this.#pending.add(key(from, to))
      } catch {
        // Flags are renamed into place whole, so this is not ours: drop it.
        await unlink(join(this.#dir, name)).catch(() => {})
      }
    }
  }

  isPending(from: string, to: string): boolean {
    return this.#pending.has(key(from, to))
  }

  /** The generation of from → to, which a delivery passes to `clear`. */
  generation(from: string, to: string): number {
    return this.#gen.get(key(from, to)) ?? 0
  }

  #notified(k: string): void {
    this.#gen.set(k, (this.#gen.get(k) ?? 0) + 1)
    this.#deferred.delete(k)
  }

  /** Every pending edge, as [from, to]. */
  pending(): [string, string][] {
    return [...this.#pending].map(k => k.split('\0') as [string, string])
  }

  /**
   * Before `from` checks with apply=true: persists the flag of each edge to `tos` that is not
   * pending already, and keeps every one of them from being cleared until `settle`. Resolves once
   * the flags are on disk, with the edges it wrote (which `settle` takes too).
   */
  async intend(from: string, tos: readonly string[]): Promise<readonly string[]> {
    const fresh = tos.filter(to => !this.#pending.has(key(from, to)))
    for (const to of tos) this.#intents.add(key(from, to))
    try {
      await Promise.all(fresh.map(to => this.#write(from, to)))
    } catch (e) {
      await this.settle(from, tos, fresh, false)
      throw e
    }
    return fresh
  }

  /**
   * After the check: when it `changed` something (or failed), each edge has a pending
   * notification; otherwise the flags `intend` wrote are removed, and so are those whose delivery
   * ended during the check (no fsync: a flag that comes back after a crash is one more delivery,
   * which at least once allows).
   */
  async settle(
    from: string,
    tos: readonly string[],
    fresh: readonly string[],
    changed: boolean,
  ): Promise<void> {
    const drop: string[] = []
    for (const to of tos) {
      const k = key(from, to)
      this.#intents.delete(k)
      if (changed) {
        this.#pending.add(k)
        this.#notified(k)
      } else if (fresh.includes(to) || this.#deferred.delete(k)) {
        this.#pending.delete(k)
        drop.push(to)
      }
    }
    await Promise.all(drop.map(to => this.#unlink(from, to)))
  }

  /**
   * Removes the flag of from → to, once delivered: at `generation` only (a later notification
   * stays pending), and not while the sender is checking (its `settle` decides).
   */
  async clear(from: string, to: string, generation?: number): Promise<void> {
    const k = key(from, to)
    if (!this.#pending.has(k)) return
    if (generation !== undefined && generation !== this.generation(from, to)) return
    if (this.#intents.has(k)) {
      this.#deferred.add(k)
      return
    }
    this.#pending.delete(k)
    await this.#unlink(from, to)
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

  #write(from: string, to: string): Promise<void> {
    return writeStateFile(
      this.#file(from, to),
      `${JSON.stringify({ from, to, since: new Date().toISOString() })}\n`,
    )
  }

  async #unlink(from: string, to: string): Promise<void> {
    await unlink(this.#file(from, to)).catch(err => {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    })
  }

  #file(from: string, to: string): string {
    return join(this.#dir, `${createHash('sha256').update(key(from, to)).digest('hex').slice(0, 32)}.json`)
  }
}
