/**
 * A program's later graphs: one each time one of its files changes (the entry, its local
 * imports, their metadata), and one each time what it read outside its files changes in a way
 * that changes its graph (a world key, another host's export, a value kept by a `value` resource;
 * see `run/outside.ts`). The set of files and reads can change with each compile (an added import,
 * a key computed from another), so the watches follow it. Files are watched with inotify on each
 * file's directory (editors replace files by renaming), filtered by name; the world through its
 * own watches; nothing polls. An invalid edit is logged with its location and skipped, so the
 * running graph stays. File events are let settle (50 ms) before a compile, so that a file caught
 * half-written is not compiled.
 */
import { setMaxListeners } from 'node:events'
import { type FSWatcher, watch } from 'node:fs'
import { basename, dirname } from 'node:path'
import type { Compiled } from '../../engine/compiled.js'
import type { GraphSpec } from '../../engine/spec.js'
import { describeError, isMgmtError } from '../../util/errors.js'
import { FsWatcher } from '../../util/fswatch.js'
import type { Logger } from '../../util/logger.js'
import { type Link, linkSignal } from '../../util/signals.js'
import { readTextFile } from '../../util/textfile.js'
import type { World } from '../../world/world.js'
import type { ReadSet } from './run/outside.js'

/** How long the files must stay unchanged before a new compile. */
const settleMs = 50

/** The contents of the files, to tell a real change from a touch. */
function snapshot(files: ReadonlySet<string>): string {
  const parts: string[] = []
  for (const f of [...files].sort()) {
    let text = '\0missing'
    try {
      text = readTextFile(f)
    } catch {}
    parts.push(`${f}\0${text}`)
  }
  return parts.join('\0\0')
}

/** The graph without where each part was declared. */
const graphKey = (s: GraphSpec): string =>
  JSON.stringify(s, (k, v: unknown) => (k === 'origin' ? undefined : v))

/** What to follow besides nothing. */
export interface Follow {
  /** The program's files (`--no-watch` turns it off). */
  readonly files: boolean
  /** The world the program reads; absent, its reads are not followed. */
  readonly world?: World
  /** What the last good evaluation read outside its files. */
  used(): ReadSet
}

/** Watches what a program read outside its files, and calls `onChange` when any of it changes. */
class OutsideWatch {
  readonly #watches = new Map<string, Link>()
  readonly #fs: FsWatcher

  constructor(
    private readonly world: World | undefined,
    private readonly signal: AbortSignal,
    private readonly onChange: () => void,
    private readonly log: Logger,
  ) {
    this.#fs = new FsWatcher({ onError: (p, err) => log.warn(`cannot watch ${p}: ${describeError(err)}`) })
    // One link a key or file the program reads: as many listeners on the run's signal.
    setMaxListeners(0, signal)
  }

  /** Watches exactly what `used` holds: new reads are watched, dropped ones no longer. */
  async follow(used: ReadSet): Promise<void> {
    if (this.signal.aborted) return
    const { world, onChange } = this
    const want = new Map<string, (s: AbortSignal) => Promise<void>>()
    if (world) {
      for (const k of used.strings) want.set(`the world's key ${k}`, s => world.strWatch(k, s, onChange))
      for (const k of used.maps)
        want.set(`the world's per-host key ${k}`, s => world.strMapWatch(k, s, onChange))
      if (used.exports) want.set("the world's exported resources", s => world.resWatch(s, onChange))
    }
    for (const f of used.values) want.set(f, s => this.#fs.watch(f, s, onChange))
    for (const [k, link] of this.#watches)
      if (!want.has(k)) {
        link.abort()
        this.#watches.delete(k)
      }
    for (const [k, start] of want) {
      if (this.#watches.has(k)) continue
      // Linked, not AbortSignal.any, which would keep an entry in the run's signal for each watch.
      const link = linkSignal(this.signal)
      this.#watches.set(k, link)
      try {
        await start(link.signal)
      } catch (err) {
        this.log.warn(`cannot watch ${k}: ${describeError(err)}`)
      }
    }
  }

  close(): void {
    for (const link of this.#watches.values()) link.abort()
    this.#fs.close()
  }
}

/**
 * Starts watching at once (so that no change made while the first graph starts is missed) and
 * returns the stream of later graphs.
 */
export function watchFiles(
  read: Set<string>,
  first: Compiled,
  /** Compiles again; `edited`: a file changed (else only what the program read outside). */
  load: (edited: boolean) => Promise<Compiled>,
  log: Logger,
  signal: AbortSignal,
  follow: Follow,
): AsyncIterable<Compiled> {
  const watchers = new Map<string, FSWatcher>()
  let wake: (() => void) | undefined
  let dirty = false
  let outsideDirty = false
  const outside = new OutsideWatch(
    follow.world,
    signal,
    () => {
      outsideDirty = true
      wake?.()
    },
    log,
  )
  const sync = (): void => {
    if (!follow.files || stopped) return
    const dirs = new Set([...read].map(f => dirname(f)))
    for (const [dir, w] of watchers)
      if (!dirs.has(dir)) {
        w.close()
        watchers.delete(dir)
      }
    for (const dir of dirs) {
      if (watchers.has(dir)) continue
      try {
        const w = watch(dir, (_ev, name) => {
          if (name !== null && ![...read].some(f => dirname(f) === dir && basename(f) === name)) return
          dirty = true
          wake?.()
        })
        w.on('error', err => log.warn(`cannot watch ${dir}: ${describeError(err)}`))
        watchers.set(dir, w)
      } catch (err) {
        log.debug(`cannot watch ${dir}: ${describeError(err)}`)
      }
    }
  }
  let stopped = false
  const stop = (): void => {
    if (stopped) return
    stopped = true
    for (const w of watchers.values()) w.close()
    outside.close()
  }
  // Ends the watches even when the stream is never read (a run stopped while it starts).
  const onAbort = (): void => {
    stop()
    wake?.()
  }
  signal.addEventListener('abort', onAbort, { once: true })
  let last = snapshot(read)
  sync()
  if (signal.aborted) stop()
  async function* later(): AsyncGenerator<Compiled> {
    let lastGraph = graphKey(first.spec)
    try {
      await outside.follow(follow.used())
      for (;;) {
        while (!dirty && !outsideDirty && !signal.aborted) await new Promise<void>(r => (wake = r))
        if (signal.aborted) return
        // A save often comes as several events (truncate, write): wait until they stop, so that
        // a half-written program (an empty one is valid) is never applied.
        while (dirty && !signal.aborted) {
          dirty = false
          await new Promise<void>(r => setTimeout(r, settleMs))
        }
        if (signal.aborted) return
        const now = snapshot(read)
        const edited = now !== last
        if (!edited && !outsideDirty) continue
        outsideDirty = false
        try {
          const g = await load(edited)
          // Stopped meanwhile: what the load had is not applied.
          if (signal.aborted) return
          last = now
          const key = graphKey(g.spec)
          // What the program read changed, its graph did not: nothing to apply.
          if (!edited && key === lastGraph) continue
          lastGraph = key
          log.info(`${edited ? 'program' : 'what the program reads'} changed: applying \`${g.name}\``)
          yield g
        } catch (err) {
          if (!isMgmtError(err)) throw err
          last = now
          log.error(`${err.message}\n  (keeping the running graph)`)
        } finally {
          sync()
          await outside.follow(follow.used())
        }
      }
    } finally {
      stop()
      signal.removeEventListener('abort', onAbort)
    }
  }
  return later()
}
