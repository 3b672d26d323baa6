/** Building a ResourceContext: shared by the engine's workers and the single-resource test harness. */
import { createHash } from 'node:crypto'
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { errCode } from '../util/errors.js'
import type { PathWatcher } from '../util/fswatch.js'
import type { Logger } from '../util/logger.js'
import { writeStateFile } from '../util/statefile.js'
import { sweepTemps } from '../util/tempfile.js'
import type { World } from '../world/world.js'
import type { GraphResource, GroupMember, RecvState, ResourceContext, StateFiles } from './resource.js'

/** A resource's private directory name: readable, and unique by a hash of kind and name. */
export function varDirName(kind: string, name: string): string {
  const safe = `${kind}-${name}`.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60)
  const hash = createHash('sha256').update(`${kind}\0${name}`).digest('hex').slice(0, 12)
  return `${safe}-${hash}`
}

export interface ContextParts {
  kind: string
  name: string
  hostname: string
  log: Logger
  world: World
  /** `<prefix>/engine/state`; each resource gets a directory below it. */
  stateDir: string
  watcher: PathWatcher
  /** `--diff`: show what a real run changes in detail. */
  diff?: boolean
  event(): void
  refresh?(): boolean
  send?(values: Readonly<Record<string, unknown>>): void
  recv?(): Readonly<Record<string, RecvState>>
  graph?(): readonly GraphResource[]
  group?(): readonly GroupMember[]
}

export function createContext(p: ContextParts): ResourceContext {
  return {
    kind: p.kind,
    name: p.name,
    hostname: p.hostname,
    debug: p.log.isDebug,
    diff: p.diff ?? false,
    log: p.log,
    world: p.world,
    event: p.event,
    refresh: p.refresh ?? (() => false),
    send: p.send ?? (() => {}),
    recv: p.recv ?? (() => ({})),
    graph: p.graph ?? (() => []),
    group: p.group ?? (() => []),
    watchPath: (path, signal, onChange, opts) => p.watcher.watch(path, signal, onChange, opts),
    state: stateFiles(join(p.stateDir, varDirName(p.kind, p.name))),
  }
}

/**
 * State files in `dir`, a 0700 directory made on first write. The temporary files a crash left in
 * it are removed on first use.
 */
export function stateFiles(dir: string): StateFiles {
  let made: Promise<unknown> | undefined
  let swept: Promise<unknown> | undefined
  const sweep = (): Promise<unknown> => (swept ??= sweepTemps(dir).catch(() => (swept = undefined)))
  const path = async (name: string): Promise<string> => {
    made ??= mkdir(dir, { recursive: true, mode: 0o700 }).catch(e => {
      made = undefined
      throw e
    })
    await made
    await sweep()
    return join(dir, name)
  }
  const readBytes = async (name: string): Promise<Buffer | undefined> => {
    try {
      return await readFile(join(dir, name))
    } catch (e) {
      if (errCode(e) === 'ENOENT') return undefined
      throw e
    }
  }
  return {
    path,
    async readBytes(name) {
      await sweep()
      return readBytes(name)
    },
    async read(name) {
      await sweep()
      return (await readBytes(name))?.toString('utf8')
    },
    async write(name, data, mode = 0o600) {
      await writeStateFile(await path(name), data, mode)
    },
  }
}
