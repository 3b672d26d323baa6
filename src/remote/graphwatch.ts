/**
 * A remote host's graph files, followed here while it runs: a file saved with a valid graph is
 * copied again (the host applies the difference), an invalid one is reported and not copied, and
 * a change of the host's own `remote`, `hostname` or `remotes` is said to wait for the next start.
 * After a reconnection, the files saved while the host was away are checked and copied the same way.
 */
import { type FSWatcher, watch } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { basename, dirname } from 'node:path'
import type { YamlRemote } from '../frontends/yaml/parse.js'
import { describeError } from '../util/errors.js'
import type { Logger } from '../util/logger.js'
import type { HostPlan } from './files.js'

type HostFile = HostPlan['files'][number]

export interface GraphWatchOptions {
  readonly plan: HostPlan
  readonly hostname: string
  readonly log: Logger
  /** Throws an MgmtError when the file's graph is invalid, else resolves with its remote. */
  readonly check: (file: string) => Promise<YamlRemote | undefined>
  /** The text of each file as last copied, by local path (kept across reconnections). */
  readonly sent: Map<string, string>
  /** Copies a file's text there (`own`: the host's own file); resolves with the bytes written. */
  readonly put: (f: HostFile, text: string, own: boolean) => Promise<number>
  /** Check each file at once too (a reconnection: saved meanwhile). */
  readonly recheck: boolean
}

/** Watches the files' directories; close the watchers to stop. */
export function watchGraphs(o: GraphWatchOptions): FSWatcher[] {
  const own = o.plan.files[0]
  const byDir = new Map<string, HostFile[]>()
  for (const f of o.plan.files) byDir.set(dirname(f.abs), [...(byDir.get(dirname(f.abs)) ?? []), f])
  let queue = Promise.resolve()
  const copy = (f: HostFile): void => {
    queue = queue.then(async () => {
      const text = await readFile(f.abs, 'utf8').catch(() => undefined)
      if (text === undefined || text === o.sent.get(f.abs)) return
      o.sent.set(f.abs, text)
      try {
        const remote = await o.check(f.abs)
        if (f === own && !sameHost(remote, o.plan.remote))
          o.log.warn(
            `${basename(f.abs)}: its remote, hostname or remotes changed: that takes effect at the next start`,
          )
      } catch (err) {
        o.log.error(`${describeError(err)}\n  (not copied: ${o.hostname} keeps running its last graph)`)
        return
      }
      await o
        .put(f, text, f === own)
        .then(n => o.log.info(`${basename(f.abs)} changed: copied (${n} bytes)`))
        .catch(err => o.log.error(`${basename(f.abs)} changed, but cannot be copied: ${describeError(err)}`))
    })
  }
  if (o.recheck) for (const f of o.plan.files) copy(f)
  return [...byDir].map(([dir, files]) => {
    const w = watch(dir, (_ev, name) => {
      for (const f of files) if (name === null || name === basename(f.abs)) copy(f)
    })
    w.on('error', err => o.log.warn(`cannot watch ${dir}: ${describeError(err)}`))
    return w
  })
}

const sameHost = (a: YamlRemote | undefined, b: YamlRemote): boolean =>
  a !== undefined &&
  a.url === b.url &&
  a.hostname === b.hostname &&
  a.remotes.join('\n') === b.remotes.join('\n')
