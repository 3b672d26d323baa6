/**
 * A program's later graphs: one each time one of its files changes (the entry, its local
 * imports, their metadata). The set of files can change with each compile (an added import), so
 * the watched directories follow it. Watching is inotify on each file's directory (editors replace
 * files by renaming), filtered by name; nothing polls. An invalid edit is logged with its
 * location and skipped, so the running graph stays.
 */
import { type FSWatcher, readFileSync, watch } from 'node:fs'
import { basename, dirname } from 'node:path'
import type { Compiled } from '../../engine/compile.js'
import { describeError, isMgmtError } from '../../util/errors.js'
import type { Logger } from '../../util/logger.js'

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

export async function* watchFiles(
  read: Set<string>,
  load: () => Compiled,
  log: Logger,
  signal: AbortSignal,
): AsyncGenerator<Compiled> {
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
  try {
    for (;;) {
      while (!dirty && !signal.aborted) await new Promise<void>(r => (wake = r))
      if (signal.aborted) return
      dirty = false
      const now = snapshot(read)
      if (now === last) continue
      try {
        const g = load()
        last = snapshot(read)
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
    for (const w of watchers.values()) w.close()
    signal.removeEventListener('abort', onAbort)
  }
}
