/**
 * A running manifest's later graphs. The manifest, the module path, the facts file and the
 * `puppet.conf` are watched (inotify, through the shared path watcher: nothing polls); any change
 * compiles again in the persistent child and yields the new graph, which the engine applies as a
 * diff. `--puppet-interval` compiles again every N seconds too, with facts resolved anew. A compile
 * that fails is logged with Puppet's own message (file and line) and the running graph stays; a
 * compile that gives the same graph yields nothing. A manifest that collects exported resources
 * also compiles again when another host's exports change (the world's watch), and only then.
 */
import type { Compiled } from '../../engine/compiled.js'
import type { GraphSpec } from '../../engine/spec.js'
import { describeError, isMgmtError } from '../../util/errors.js'
import { FsWatcher } from '../../util/fswatch.js'
import type { Logger } from '../../util/logger.js'
import type { Built } from './compiler.js'

export interface WatchedPath {
  readonly path: string
  /** Every file below it too (a module directory, a directory of manifests). */
  readonly recursive: boolean
}

export interface LiveOptions {
  readonly first: Built
  /**
   * Compiles again; throws an MgmtError when the manifest is invalid. With `onlyExports`, only
   * when the exports it collects changed: undefined otherwise.
   */
  rebuild(refreshFacts: boolean, onlyExports: boolean): Promise<Built | undefined>
  /** Watched for edits; empty: no watching. */
  readonly paths: readonly WatchedPath[]
  /** Seconds between compiles; 0: none. */
  readonly interval: number
  /** Whether the last compile collects exported resources. */
  collecting(): boolean
  /** Wakes `onChange` whenever any host's exports change. */
  watchExports(signal: AbortSignal, onChange: () => void): Promise<void>
  readonly log: Logger
  readonly signal: AbortSignal
}

/** How long a burst of writes (an editor saving, `git checkout`) may take before one compile covers it. */
const SETTLE_MS = 25

/** The graph without where each part was declared: moving a line changes nothing. */
const graphKey = (s: GraphSpec): string =>
  JSON.stringify(s, (k, v: unknown) => (k === 'origin' ? undefined : v))

export async function* followManifest(o: LiveOptions): AsyncGenerator<Compiled> {
  const { log, signal } = o
  let edited: string | undefined
  let due = false
  let exportsChanged = false
  let watchingExports = false
  let wake: (() => void) | undefined
  const poke = (): void => wake?.()
  const watcher = new FsWatcher({ onError: (p, err) => log.warn(`cannot watch ${p}: ${describeError(err)}`) })
  const timer =
    o.interval > 0
      ? setInterval(() => {
          due = true
          poke()
        }, o.interval * 1000)
      : undefined
  signal.addEventListener('abort', poke, { once: true })
  let last = graphKey(o.first.spec)
  let lastWarnings = new Set(o.first.warnings)
  let lastCollected = o.first.collected.join('\n')
  const followExports = async (): Promise<void> => {
    if (watchingExports || !o.collecting()) return
    watchingExports = true
    await o.watchExports(signal, () => {
      exportsChanged = true
      poke()
    })
  }
  try {
    await followExports()
    for (const w of o.paths)
      await watcher.watch(
        w.path,
        signal,
        () => {
          edited = w.path
          poke()
        },
        { recursive: w.recursive },
      )
    for (;;) {
      while (!edited && !due && !exportsChanged && !signal.aborted) await new Promise<void>(r => (wake = r))
      if (signal.aborted) return
      if (edited) await new Promise(r => setTimeout(r, SETTLE_MS))
      const why = edited
        ? `${edited} changed`
        : due
          ? `${o.interval} s passed`
          : 'the exported resources changed'
      const refreshFacts = due
      const onlyExports = !edited && !due
      edited = undefined
      due = false
      exportsChanged = false
      let b: Built | undefined
      try {
        b = await o.rebuild(refreshFacts, onlyExports)
      } catch (err) {
        if (!isMgmtError(err)) throw err
        log.error(`${err.message}\n  (keeping the running graph)`)
        continue
      }
      if (!b) continue
      await followExports()
      for (const w of b.warnings) if (!lastWarnings.has(w)) log.warn(w)
      lastWarnings = new Set(b.warnings)
      const collected = b.collected.join('\n')
      if (collected !== lastCollected) for (const c of b.collected) log.info(c)
      lastCollected = collected
      const key = graphKey(b.spec)
      if (key === last) {
        log.debug(`${why}: compiled in ${b.ms} ms, the same graph`)
        continue
      }
      last = key
      log.info(`${why}: compiled in ${b.ms} ms, applying the new graph`)
      yield b.compiled
    }
  } finally {
    clearInterval(timer)
    signal.removeEventListener('abort', poke)
    watcher.close()
  }
}
