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

/** A context from loose parts (the single-resource harness, a reversal). */
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

/** What every context of an engine shares. */
export interface ContextHost {
  readonly hostname: string
  readonly world: World
  /** `<prefix>/engine/state`. */
  readonly stateDir: string
  readonly watcher: PathWatcher
  /** `--diff`: show what a real run changes in detail. */
  readonly diff: boolean
  /** The running graph's resources (ctx.graph()). */
  resources(): readonly GraphResource[]
}

/** The running side of a context: the worker of its vertex, once it exists. */
export interface ContextLink {
  event(): void
  readonly refreshing: boolean
  sent: Readonly<Record<string, unknown>> | undefined
  readonly recvState: Record<string, RecvState>
}

/**
 * The engine's context of one resource: a plain record that reaches everything through its host
 * and its worker (no closures of its own), so that 10,000 resources cost 10,000 small objects.
 */
export class LinkedContext implements ResourceContext {
  /** The worker; events before it exists are dropped (the first event comes from watch, later). */
  link: ContextLink | undefined
  /** A grouped vertex's resource: its members' running instances (ctx.group()). */
  members: readonly GroupMember[] | undefined
  #state: StateFiles | undefined

  constructor(
    readonly host: ContextHost,
    readonly kind: string,
    readonly name: string,
    readonly log: Logger,
    /** A member of a group: its ready gate (the vertex's event once every member is ready). */
    readonly gate?: () => void,
    /** A member of a group: its own received state. */
    readonly own?: { readonly recvState: Record<string, RecvState> },
  ) {}

  get hostname(): string {
    return this.host.hostname
  }
  get debug(): boolean {
    return this.log.isDebug
  }
  get diff(): boolean {
    return this.host.diff
  }
  get world(): World {
    return this.host.world
  }
  get state(): StateFiles {
    this.#state ??= stateFiles(join(this.host.stateDir, varDirName(this.kind, this.name)))
    return this.#state
  }
  event(): void {
    if (this.gate) this.gate()
    else this.link?.event()
  }
  refresh(): boolean {
    return this.link?.refreshing ?? false
  }
  send(values: Readonly<Record<string, unknown>>): void {
    if (this.link) this.link.sent = values
  }
  recv(): Readonly<Record<string, RecvState>> {
    return this.own ? this.own.recvState : (this.link?.recvState ?? {})
  }
  graph(): readonly GraphResource[] {
    return this.host.resources()
  }
  group(): readonly GroupMember[] {
    return this.members ?? []
  }
  watchPath(
    path: string,
    signal: AbortSignal,
    onChange: () => void,
    opts?: { recursive?: boolean },
  ): Promise<void> {
    // Owned by the worker: the engine ends its paths when it stops it, whatever the signal.
    return this.host.watcher.watch(path, signal, onChange, opts, this.link ?? signal)
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
  const read = async (name: string): Promise<string | undefined> => {
    await sweep()
    return (await readBytes(name))?.toString('utf8')
  }
  return {
    path,
    async readBytes(name) {
      await sweep()
      return readBytes(name)
    },
    read,
    async readJson(name) {
      const text = await read(name)
      if (text === undefined) return undefined
      try {
        return JSON.parse(text) as unknown
      } catch {
        return undefined
      }
    },
    async write(name, data, mode = 0o600) {
      await writeStateFile(await path(name), data, mode)
    },
  }
}
