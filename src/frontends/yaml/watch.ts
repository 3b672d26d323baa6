/**
 * A YAML graph file's later graphs: a new one each time the file's content changes, or a reload is
 * asked for (SIGHUP). Whatever goes wrong meanwhile is logged and the running graph stays: an
 * invalid edit (with its location), a file that disappears or cannot be read, any failure while
 * loading.
 *
 * The file is watched through the engine's inotify watcher (util/fswatch.ts), which follows a
 * replaced or re-created parent directory. It watches every link on the way to the file too: a
 * Kubernetes ConfigMap mounts `g.yaml -> ..data/g.yaml` and updates by swapping `..data` for a link
 * to a new directory, which changes no entry named `g.yaml`. Nothing polls.
 *
 * A file written in place is read once it has been quiet for `DEBOUNCE_MS` after its last write:
 * an editor that writes in place, or in several steps, never has a half-written graph applied. A
 * file replaced whole (renamed over, as most editors save, or a link swapped) is complete as it
 * appears: it is read `SETTLE_MS` after, unless a write comes meanwhile. A reload (SIGHUP) reads it
 * at once.
 */
import { lstat, readlink } from 'node:fs/promises'
import { join, resolve, sep } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { describeError, isMgmtError, logError } from '../../util/errors.js'
import { type ChangeType, FsWatcher } from '../../util/fswatch.js'
import type { Logger } from '../../util/logger.js'
import { type Link, linkSignal } from '../../util/signals.js'
import { monotonicMs } from '../../util/timers.js'
import { readGraphFile, type YamlGraph } from './parse.js'

export interface FollowOptions {
  /** Watch the file for changes (`--no-watch`: reloads only). */
  readonly watch: boolean
  /** Subscribes to reload requests (SIGHUP); returns the unsubscribe function. */
  readonly onReload?: (fn: () => void) => () => void
  /** How long the file must be quiet before it is read (DEBOUNCE_MS by default). */
  readonly debounceMs?: number
}

/** How long the file must be quiet after a write before it is read, ms (docs: README, Live changes). */
export const DEBOUNCE_MS = 1000

/**
 * How long after a file was replaced whole it is read, ms: long enough for the events of one save
 * (a rename, then a change of mode or owner, or a second rename) to arrive together and be read
 * once, and for a write that follows to be seen (it then waits for DEBOUNCE_MS of quiet); short
 * beside the 50 ms a live change may take (docs: README, Live changes).
 */
export const SETTLE_MS = 5

/** Symbolic links followed before a path is given up as a loop (as the kernel's ELOOP). */
const MAX_LINKS = 40

/**
 * The paths whose change can change what `file` reads: every symbolic link met while resolving
 * it (in a directory on the way or at the end), and the file it resolves to.
 */
export async function linkChain(file: string): Promise<string[]> {
  const out: string[] = []
  let path = resolve(file)
  for (let hops = 0; hops <= MAX_LINKS; hops++) {
    const link = await firstLink(path)
    if (!link) break
    out.push(link.at)
    path = resolve(link.at, '..', link.target, ...link.rest)
  }
  out.push(path)
  return [...new Set(out)]
}

/** The first symbolic link on the way to `path`: where, its target, and the components after it. */
async function firstLink(path: string): Promise<{ at: string; target: string; rest: string[] } | undefined> {
  const parts = path.split(sep).filter(Boolean)
  let at = '/'
  for (let i = 0; i < parts.length; i++) {
    at = join(at, parts[i]!)
    const st = await lstat(at).catch(() => undefined)
    if (!st) return undefined
    if (st.isSymbolicLink()) {
      const target = await readlink(at)
      return { at, target, rest: parts.slice(i + 1) }
    }
  }
  return undefined
}

/**
 * Starts following `file`: its watches are in place when this resolves, so a change made after the
 * first read of the file is never missed. `firstText` and `load` come after, from `open`.
 */
export async function followYamlFile(
  file: string,
  log: Logger,
  signal: AbortSignal,
  opts: FollowOptions = { watch: true },
): Promise<{
  graphs(firstText: string, load: (text: string) => YamlGraph): AsyncGenerator<YamlGraph>
  close(): void
}> {
  let wake: (() => void) | undefined
  let dirty = false
  let reload = false
  /** A change since the last read was not a whole replacement: wait for the writes to end. */
  let written = false
  const poke = (type?: ChangeType): void => {
    dirty = true
    if (type !== 'rename') written = true
    wake?.()
  }
  const watcher = new FsWatcher({
    onError: (path, err) => log.error(`watching ${path}: ${describeError(err)}`),
  })
  let chain: string[] = []
  /** The watches of the current chain end with it (linked, not AbortSignal.any: see util/signals.ts). */
  let chainLink: Link | undefined
  /** Watches every path of the file's link chain; a new chain replaces the old watches. */
  const follow = async (): Promise<void> => {
    const next = await linkChain(file)
    if (next.join('\0') === chain.join('\0') && chainLink) return
    chainLink?.abort()
    const link = linkSignal(signal)
    chainLink = link
    chain = next
    for (const p of chain) await watcher.watch(p, link.signal, poke)
  }
  const offReload = opts.onReload?.(() => {
    reload = true
    poke()
  })
  const onAbort = (): void => wake?.()
  signal.addEventListener('abort', onAbort, { once: true })
  const close = (): void => {
    chainLink?.abort()
    watcher.close()
    offReload?.()
    signal.removeEventListener('abort', onAbort)
  }
  let watching = opts.watch
  if (watching) {
    try {
      await follow()
    } catch (err) {
      log.error(
        `cannot watch ${file}: ${describeError(err)}; its changes are not applied (SIGHUP reloads it)`,
      )
      watching = false
    }
  }

  async function* graphs(firstText: string, load: (text: string) => YamlGraph): AsyncGenerator<YamlGraph> {
    let last = firstText
    /** The problem reading the file last time, so that a lasting one is logged once. */
    let unreadable: string | undefined
    try {
      for (;;) {
        while (!dirty && !signal.aborted) await new Promise<void>(r => (wake = r))
        if (signal.aborted) return
        // Quiet for DEBOUNCE_MS since the last write, SETTLE_MS after a replacement (a change
        // meanwhile starts the wait again).
        while (dirty && !reload && !signal.aborted) {
          dirty = false
          const ms = written ? (opts.debounceMs ?? DEBOUNCE_MS) : SETTLE_MS
          await sleep(ms, undefined, { signal }).catch(() => {})
        }
        if (signal.aborted) return
        dirty = false
        written = false
        const asked = reload
        reload = false
        if (asked) log.info(`SIGHUP: reloading ${file}`)
        if (watching) await follow().catch(err => log.error(`cannot watch ${file}: ${describeError(err)}`))
        let text: string
        const t0 = monotonicMs()
        try {
          text = await readGraphFile(file, signal)
        } catch (err) {
          if (signal.aborted) return
          const read = isMgmtError(err, 'ERR_FILE_READ') ? err.details : undefined
          const why = read ? read.reason : describeError(err)
          const gone = read?.errno === 'ENOENT'
          if (why !== unreadable || asked)
            log.warn(`${file}: ${gone ? 'gone' : 'cannot be read'} (${why}); keeping the running graph`)
          unreadable = why
          continue
        }
        if (unreadable !== undefined) log.info(`${file}: readable again`)
        unreadable = undefined
        if (text === last) {
          if (asked) log.info(`${file}: unchanged`)
          continue
        }
        last = text
        let g: YamlGraph
        const t1 = monotonicMs()
        try {
          g = load(text)
        } catch (err) {
          // Any failure, not only an invalid graph: the running graph stays whatever happened.
          logError(log, err, '\n  (keeping the running graph)')
          continue
        }
        for (const m of g.messages) log.warn(m)
        const ms = (t: number): string => (t < 10 ? t.toFixed(1) : t.toFixed(0))
        log.debug(`${file}: read in ${ms(t1 - t0)} ms, loaded in ${ms(monotonicMs() - t1)} ms`)
        log.info(`graph file changed: applying \`${g.name}\``)
        yield g
      }
    } finally {
      close()
    }
  }
  return { graphs, close }
}
