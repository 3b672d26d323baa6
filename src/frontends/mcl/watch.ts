/**
 * A program's later graphs: one each time one of its files changes (the entry, its local
 * imports, their metadata). The set of files can change with each compile (an added import), so
 * the watched directories follow it. Watching is inotify on each file's directory (editors replace
 * files by renaming), filtered by name; nothing polls. An invalid edit is logged with its
 * location and skipped, so the running graph stays. Events are let settle (50 ms) before a compile,
 * so that a file caught half-written is not compiled.
 */
import { type FSWatcher, readFileSync, watch } from 'node:fs'
import { basename, dirname } from 'node:path'
import type { Compiled } from '../../engine/compile.js'
import { describeError, isMgmtError } from '../../util/errors.js'
import type { Logger } from '../../util/logger.js'

/** How long the files must stay unchanged before a new compile. */
const settleMs = 50

/** The contents of the files, to tell a real change from a touch. */
function snapshot(files: ReadonlySet<string>): string {
  const parts: string[] = []
  for (const f of [...files].sort()) {
    let text = '\0missing'
    try {
      text = readFileSync(f, 'utf8')
    } catch {}
    parts.push(`${f}\0${text}`)
  }
  return parts.join('\0\0')
}

/**
 * Starts watching at once (so that no change made while the first graph starts is missed) and
 * returns the stream of later graphs.
 */
export function watchFiles(
  read: Set<string>,
  load: () => Compiled,
  log: Logger,
  signal: AbortSignal,
): AsyncIterable<Compiled> {
  const watchers = new Map<string, FSWatcher>()
  let wake: (() => void) | undefined
  let dirty = false
  const sync = (): void => {
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
  const onAbort = (): void => wake?.()
  signal.addEventListener('abort', onAbort, { once: true })
  let last = snapshot(read)
  sync()
  const stop = (): void => {
    for (const w of watchers.values()) w.close()
    signal.removeEventListener('abort', onAbort)
  }
  async function* later(): AsyncGenerator<Compiled> {
    try {
      for (;;) {
        while (!dirty && !signal.aborted) await new Promise<void>(r => (wake = r))
        if (signal.aborted) return
        // A save often comes as several events (truncate, write): wait until they stop, so that
        // a half-written program (an empty one is valid) is never applied.
        while (dirty && !signal.aborted) {
          dirty = false
          await new Promise<void>(r => setTimeout(r, settleMs))
        }
        if (signal.aborted) return
        const now = snapshot(read)
        if (now === last) continue
        try {
          const g = load()
          last = now
          log.info(`program changed: applying \`${g.name}\``)
          yield g
        } catch (err) {
          if (!isMgmtError(err)) throw err
          last = now
          log.error(`${err.message}\n  (keeping the running graph)`)
        } finally {
          sync()
        }
      }
    } finally {
      stop()
    }
  }
  return later()
}
