/**
 * Path watching for resources (file, exec `creates`, ...), on inotify through `fs.watch`.
 *
 * PROVISIONAL: one fs.watch per call on the nearest existing ancestor directory. To be replaced
 * by the shared implementation (one watcher per directory for the whole engine).
 */
import { type FSWatcher, watch } from 'node:fs'
import { dirname } from 'node:path'

export interface PathWatcher {
  watch(
    path: string,
    signal: AbortSignal,
    onChange: () => void,
    opts?: { recursive?: boolean },
  ): Promise<void>
}

export class FsWatcher implements PathWatcher {
  readonly #open = new Set<FSWatcher>()

  async watch(
    path: string,
    signal: AbortSignal,
    onChange: () => void,
    opts: { recursive?: boolean } = {},
  ): Promise<void> {
    let w: FSWatcher | undefined
    const arm = (): void => {
      w?.close()
      if (w) this.#open.delete(w)
      if (signal.aborted) return
      let dir = dirname(path.replace(/\/+$/, '') || '/')
      for (;;) {
        try {
          w = watch(dir, { recursive: opts.recursive ?? false }, () => {
            onChange()
          })
          w.on('error', () => arm())
          this.#open.add(w)
          return
        } catch {
          if (dir === '/') return
          dir = dirname(dir)
        }
      }
    }
    arm()
    signal.addEventListener('abort', () => {
      w?.close()
      if (w) this.#open.delete(w)
    })
  }

  close(): void {
    for (const w of this.#open) w.close()
    this.#open.clear()
  }
}
