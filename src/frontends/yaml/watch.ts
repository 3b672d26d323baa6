/**
 * A YAML graph file's later graphs: a new one each time the file is saved with different content.
 * An invalid edit is logged with its location and skipped, so the running graph stays. Watching is
 * inotify on the file's directory (editors replace files by renaming), filtered by name; nothing
 * polls.
 *
 * The watch starts when `watchYamlFile` is called, before the file is first read: a save made while
 * the first graph is read or applied is not missed (a remote host's file may be copied again at
 * any moment after it was first sent).
 */
import { type FSWatcher, watch } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { basename, dirname } from 'node:path'
import { describeError, isMgmtError } from '../../util/errors.js'
import type { Logger } from '../../util/logger.js'
import type { YamlGraph } from './parse.js'

export interface YamlFileWatch {
  /** The graphs of later saves whose text differs from the last one read (`firstText` at first). */
  graphs(firstText: string, load: (text: string) => YamlGraph): AsyncGenerator<YamlGraph>
  /** Stops watching (when the first graph could not be used). */
  close(): void
}

export function watchYamlFile(file: string, log: Logger, signal: AbortSignal): YamlFileWatch {
  let wake: (() => void) | undefined
  let dirty = false
  const base = basename(file)
  let w: FSWatcher | undefined
  let failed: unknown
  try {
    w = watch(dirname(file), (_ev, name) => {
      if (name !== null && name !== base) return
      dirty = true
      wake?.()
    })
    w.on('error', err => log.warn(`cannot watch ${file}: ${describeError(err)}`))
  } catch (err) {
    // Reported once the file was read: a missing directory is then a read error, said better.
    failed = err
  }
  const close = (): void => {
    w?.close()
    signal.removeEventListener('abort', onAbort)
  }
  // The watch may never be read from (the run ended first): the signal closes it either way.
  const onAbort = (): void => {
    close()
    wake?.()
  }
  signal.addEventListener('abort', onAbort, { once: true })
  return {
    close,
    async *graphs(firstText, load) {
      let last = firstText
      try {
        if (failed !== undefined) {
          log.warn(`cannot watch ${file}: ${describeError(failed)}; changes will not be applied`)
          return
        }
        for (;;) {
          while (!dirty && !signal.aborted) await new Promise<void>(r => (wake = r))
          if (signal.aborted) return
          dirty = false
          const text = await readFile(file, 'utf8').catch(() => undefined)
          if (text === undefined || text === last) continue
          last = text
          try {
            const g = load(text)
            for (const m of g.messages) log.warn(m)
            log.info(`graph file changed: applying \`${g.name}\``)
            yield g
          } catch (err) {
            if (!isMgmtError(err)) throw err
            log.error(`${err.message}\n  (keeping the running graph)`)
          }
        }
      } finally {
        close()
      }
    },
  }
}
