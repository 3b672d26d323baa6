/**
 * A YAML graph file's later graphs: a new one each time the file is saved with different content. An invalid edit is logged with its location and skipped, so the
 * running graph stays. Watching is inotify on the file's directory (editors replace files by
 * renaming), filtered by name; nothing polls.
 */
import { watch } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { basename, dirname } from 'node:path'
import { describeError, isMgmtError } from '../../util/errors.js'
import type { Logger } from '../../util/logger.js'
import type { YamlGraph } from './parse.js'

export async function* watchYamlFile(
  file: string,
  firstText: string,
  load: (text: string) => YamlGraph,
  log: Logger,
  signal: AbortSignal,
): AsyncGenerator<YamlGraph> {
  let last = firstText
  let wake: (() => void) | undefined
  let dirty = false
  const base = basename(file)
  const w = watch(dirname(file), (_ev, name) => {
    if (name !== null && name !== base) return
    dirty = true
    wake?.()
  })
  w.on('error', err => log.warn(`cannot watch ${file}: ${describeError(err)}`))
  const onAbort = (): void => wake?.()
  signal.addEventListener('abort', onAbort, { once: true })
  try {
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
    w.close()
    signal.removeEventListener('abort', onAbort)
  }
}
