/**
 * Path watching for resources (file, exec `creates`, ...), on inotify through `fs.watch`.
 *
 * Node (libuv) keeps one inotify instance per process and one inotify watch per watched inode, so
 * neither limit grows with the number of subscriptions; the JS work per event does. An `FsWatcher`
 * therefore opens **one `fs.watch` per directory**, reference-counted and shared by every
 * subscription that needs it, and routes each event by entry name: a change to `/d/a` wakes only
 * the subscribers of `/d/a` (and those watching all of `/d`).
 *
 * A subscription on `/p/q/t` registers on its parent `/p/q` for the name `t`: the parent's watch
 * reports creation, removal, renames, writes and chmod/chown of `t`, a directory `t` included. It
 * also registers on each ancestor for the next component (`/` for `p`, `/p` for `q`), so that a
 * missing parent is noticed when it appears and a removed or renamed ancestor when it goes: the
 * registrations are then planned again from the file system. With `recursive`, it registers on `t`
 * and on every directory below it for all names.
 *
 * A directory watch dies silently when its directory is removed or replaced (the watch follows the
 * old inode), so each watch remembers its inode; a self event (a `rename` named like the directory),
 * an `error`, or a plan that finds another inode closes it and re-arms its subscribers.
 */

import { type Dirent, type FSWatcher, watch as fsWatch, readFileSync, type Stats } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { errCode, MgmtError } from './errors.js'

/** The inotify limits, as `fs.watch` runs into them: its error code, what ran out, the sysctl. */
const LIMITS = {
  ENOSPC: { what: 'watch', sysctl: 'fs.inotify.max_user_watches', more: 524288 },
  EMFILE: { what: 'instance', sysctl: 'fs.inotify.max_user_instances', more: 1024 },
} as const

/**
 * The error of a failed `fs.watch` of `path`: at an inotify limit, ERR_INOTIFY_LIMIT, which names
 * the limit, its value and the sysctl that raises it; any other error as it is.
 */
export function watchError(path: string, e: unknown): unknown {
  const code = errCode(e)
  if (code !== 'ENOSPC' && code !== 'EMFILE') return e
  const limit = LIMITS[code]
  let value: string
  try {
    value = readFileSync(`/proc/sys/${limit.sysctl.replaceAll('.', '/')}`, 'utf8').trim()
  } catch {
    value = 'unknown'
  }
  return new MgmtError('ERR_INOTIFY_LIMIT', { path, ...limit, value, code }, { cause: e })
}

export interface PathWatcher {
  watch(
    path: string,
    signal: AbortSignal,
    onChange: () => void,
    opts?: { recursive?: boolean },
  ): Promise<void>
}

export interface FsWatcherOptions {
  /** A directory could not be watched after its subscription started (e.g. the inotify limit). */
  onError?: (path: string, err: unknown) => void
}

/** One wanted registration: a directory, an entry name (null: every name), the directory's inode. */
interface Reg {
  readonly dir: string
  readonly name: string | null
  readonly ino: number
  readonly dev: number
}

/** One `fs.watch` on a directory, shared by every registration in it. */
interface DirWatch {
  readonly dir: string
  readonly w: FSWatcher
  readonly ino: number
  readonly dev: number
  readonly byName: Map<string, Set<Sub>>
  readonly any: Set<Sub>
  refs: number
  closed: boolean
}

/** One `watch()` call. */
interface Sub {
  readonly target: string
  readonly parent: string
  readonly recursive: boolean
  readonly onChange: () => void
  readonly regs: Map<string, { reg: Reg; dw: DirWatch }>
  closed: boolean
  running: boolean
  dirty: boolean
}

const regKey = (dir: string, name: string | null): string => `${dir}\0${name ?? ''}`

/** Stats of `p` when it is a directory, else undefined. */
async function statDir(p: string): Promise<Stats | undefined> {
  try {
    const st = await stat(p)
    return st.isDirectory() ? st : undefined
  } catch {
    return undefined
  }
}

/** `/a/b` → `['/', '/a', '/a/b']`. */
function chain(dir: string): string[] {
  const out = [dir]
  for (let d = dir; d !== '/'; ) {
    d = dirname(d)
    out.unshift(d)
  }
  return out
}

export class FsWatcher implements PathWatcher {
  readonly #dirs = new Map<string, DirWatch>()
  readonly #subs = new Set<Sub>()
  readonly #bySignal = new WeakMap<AbortSignal, Set<Sub>>()
  readonly #onError: (path: string, err: unknown) => void
  /** Directory stats in flight, shared by every plan that asks meanwhile (1,000 files, 1 stat). */
  readonly #statting = new Map<string, Promise<Stats | undefined>>()
  /** Re-plans and checks in flight, and who waits for them to end. */
  #busy = 0
  #idle: (() => void)[] = []

  constructor(opts: FsWatcherOptions = {}) {
    this.#onError = opts.onError ?? (() => {})
  }

  /** How many directories have an open `fs.watch`. */
  get watchedDirs(): number {
    return this.#dirs.size
  }

  /** The watched directories, sorted (for tests and debug output). */
  dirs(): string[] {
    return [...this.#dirs.keys()].sort()
  }

  /** Resolves when no re-plan or inode check is in flight (for tests). */
  idle(): Promise<void> {
    if (this.#busy === 0) return Promise.resolve()
    return new Promise(resolve => this.#idle.push(resolve))
  }

  /** Runs background work, counted for `idle()`. */
  #bg(work: Promise<void>): void {
    this.#busy++
    work
      .catch(e => this.#onError('', e))
      .finally(() => {
        if (--this.#busy > 0) return
        const idle = this.#idle
        this.#idle = []
        for (const fn of idle) fn()
      })
  }

  async watch(
    path: string,
    signal: AbortSignal,
    onChange: () => void,
    opts: { recursive?: boolean } = {},
  ): Promise<void> {
    if (signal.aborted) return
    const target = resolve(path)
    const sub: Sub = {
      target,
      parent: dirname(target),
      recursive: opts.recursive ?? false,
      onChange,
      regs: new Map(),
      closed: false,
      running: false,
      dirty: false,
    }
    this.#subs.add(sub)
    this.#onAbort(signal, sub)
    try {
      await this.#rearm(sub, false, true)
    } catch (e) {
      this.#drop(sub)
      throw e
    }
  }

  /** Drops `sub` when `signal` aborts, with one listener per signal however many paths it watches. */
  #onAbort(signal: AbortSignal, sub: Sub): void {
    let subs = this.#bySignal.get(signal)
    if (!subs) {
      const set = new Set<Sub>()
      subs = set
      this.#bySignal.set(signal, set)
      signal.addEventListener(
        'abort',
        () => {
          for (const s of set) this.#drop(s)
        },
        { once: true },
      )
    }
    subs.add(sub)
  }

  /** Closes every watch; later events are dropped. */
  close(): void {
    for (const sub of this.#subs) sub.closed = true
    this.#subs.clear()
    for (const dw of this.#dirs.values()) {
      dw.closed = true
      dw.w.close()
    }
    this.#dirs.clear()
  }

  /**
   * Brings a subscription's registrations in line with the file system. Runs one at a time per
   * subscription; a request while running makes it run again. With `fire`, calls onChange when
   * registrations changed, since the target may have changed before they were in place.
   */
  async #rearm(sub: Sub, fire: boolean, initial = false): Promise<void> {
    if (sub.running) {
      sub.dirty = true
      return
    }
    sub.running = true
    let changed = false
    try {
      do {
        sub.dirty = false
        const { want, complete } = await this.#plan(sub)
        if (sub.closed) return
        // New watches miss what happened before they existed: a directory made below the last
        // existing one (or in a watched tree) before its watch was there would go unseen, so
        // such a plan is made again until nothing changes. A complete chain needs no second look:
        // the target's parent is watched, and onChange fires below for what happened meanwhile.
        if (this.#apply(sub, want, initial)) {
          changed = true
          if (!complete) sub.dirty = true
        }
      } while (sub.dirty && !sub.closed)
    } finally {
      sub.running = false
    }
    if (fire && changed && !sub.closed) sub.onChange()
  }

  /** The registrations `sub` needs now: the existing part of the ancestor chain, then the tree. */
  async #plan(sub: Sub): Promise<{ want: Map<string, Reg>; complete: boolean }> {
    const want = new Map<string, Reg>()
    const add = (dir: string, name: string | null, st: Stats): void => {
      want.set(regKey(dir, name), { dir, name, ino: st.ino, dev: st.dev })
    }
    if (sub.target === '/') {
      const st = await statDir('/')
      if (st) add('/', null, st)
      return { want, complete: !sub.recursive }
    }
    const dirs = chain(sub.parent)
    const stats = await Promise.all(dirs.map(d => this.#statDir(d)))
    for (let i = 0; i < dirs.length; i++) {
      const st = stats[i]
      if (!st) return { want, complete: false }
      add(dirs[i]!, i + 1 < dirs.length ? basename(dirs[i + 1]!) : basename(sub.target), st)
    }
    if (sub.recursive) await this.#walk(sub.target, add)
    return { want, complete: !sub.recursive }
  }

  /** statDir, shared with concurrent callers; a call after it settled stats again. */
  #statDir(dir: string): Promise<Stats | undefined> {
    const inflight = this.#statting.get(dir)
    if (inflight) return inflight
    const p = statDir(dir).finally(() => this.#statting.delete(dir))
    this.#statting.set(dir, p)
    return p
  }

  /** Adds an all-names registration for `dir` and every directory below it. */
  async #walk(dir: string, add: (dir: string, name: null, st: Stats) => void): Promise<void> {
    const st = await statDir(dir)
    if (!st) return
    add(dir, null, st)
    let entries: Dirent[]
    try {
      entries = await readdir(dir, { withFileTypes: true })
    } catch {
      return // gone or unreadable: its parent's watch reports what happens to it
    }
    await Promise.all(entries.filter(e => e.isDirectory()).map(e => this.#walk(join(dir, e.name), add)))
  }

  /** Registers what is wanted and not there, then drops what is there and not wanted. */
  #apply(sub: Sub, want: Map<string, Reg>, initial: boolean): boolean {
    let changed = false
    for (const [key, reg] of want) {
      const have = sub.regs.get(key)
      if (have && !have.dw.closed && have.reg.ino === reg.ino && have.reg.dev === reg.dev) continue
      if (have) this.#unregister(sub, key)
      try {
        this.#register(sub, key, reg)
        changed = true
      } catch (e) {
        const code = errCode(e)
        if (code === 'ENOENT' || code === 'ENOTDIR') sub.dirty = true
        else if (initial) throw e
        else this.#onError(reg.dir, e)
      }
    }
    for (const key of [...sub.regs.keys()]) {
      if (want.has(key)) continue
      this.#unregister(sub, key)
      changed = true
    }
    return changed
  }

  #register(sub: Sub, key: string, reg: Reg): void {
    let dw = this.#dirs.get(reg.dir)
    if (dw && (dw.ino !== reg.ino || dw.dev !== reg.dev)) {
      this.#kill(dw) // replaced since it was watched
      dw = undefined
    }
    dw ??= this.#open(reg)
    if (reg.name === null) dw.any.add(sub)
    else {
      const set = dw.byName.get(reg.name)
      if (set) set.add(sub)
      else dw.byName.set(reg.name, new Set([sub]))
    }
    dw.refs++
    sub.regs.set(key, { reg, dw })
  }

  #unregister(sub: Sub, key: string): void {
    const have = sub.regs.get(key)
    if (!have) return
    sub.regs.delete(key)
    const { reg, dw } = have
    if (reg.name === null) dw.any.delete(sub)
    else {
      const set = dw.byName.get(reg.name)
      set?.delete(sub)
      if (set?.size === 0) dw.byName.delete(reg.name)
    }
    if (--dw.refs === 0) this.#close(dw)
  }

  #open(reg: Reg): DirWatch {
    let w: FSWatcher
    try {
      w = fsWatch(reg.dir)
    } catch (e) {
      throw watchError(reg.dir, e)
    }
    const dw: DirWatch = {
      dir: reg.dir,
      w,
      ino: reg.ino,
      dev: reg.dev,
      byName: new Map(),
      any: new Set(),
      refs: 0,
      closed: false,
    }
    w.on('change', (type, filename) => this.#dispatch(dw, type, filename))
    w.on('error', () => this.#kill(dw))
    this.#dirs.set(reg.dir, dw)
    // The directory may have been replaced between the plan's stat and the watch.
    this.#bg(this.#verify(dw))
    return dw
  }

  #close(dw: DirWatch): void {
    if (dw.closed) return
    dw.closed = true
    dw.w.close()
    if (this.#dirs.get(dw.dir) === dw) this.#dirs.delete(dw.dir)
  }

  /** Closes a dead watch and re-arms everyone who used it. */
  #kill(dw: DirWatch): void {
    if (dw.closed) return
    this.#close(dw)
    const subs = new Set<Sub>(dw.any)
    for (const set of dw.byName.values()) for (const s of set) subs.add(s)
    for (const sub of subs) {
      for (const [key, have] of sub.regs) if (have.dw === dw) sub.regs.delete(key)
      if (sub.closed) continue
      sub.onChange()
      this.#bg(this.#rearm(sub, true))
    }
  }

  async #verify(dw: DirWatch): Promise<void> {
    const st = await statDir(dw.dir)
    if (!st || st.ino !== dw.ino || st.dev !== dw.dev) this.#kill(dw)
  }

  #dispatch(dw: DirWatch, type: string, filename: string | Buffer | null): void {
    if (dw.closed) return
    const name = filename === null ? null : filename.toString()
    const subs = new Set<Sub>(dw.any)
    if (name === null) for (const set of dw.byName.values()) for (const s of set) subs.add(s)
    else for (const s of dw.byName.get(name) ?? []) subs.add(s)
    for (const sub of subs) {
      if (sub.closed) continue
      if (dw.dir.length < sub.parent.length) {
        // An ancestor of the parent: a directory on the way appeared, went or was replaced.
        // The new plan fires onChange when it differs.
        this.#bg(this.#rearm(sub, true))
        continue
      }
      sub.onChange()
      if (sub.recursive && type === 'rename') this.#bg(this.#treeCheck(sub, dw.dir, name))
    }
    if (type === 'rename' && (name === null || name === basename(dw.dir))) this.#bg(this.#verify(dw))
  }

  /** A recursive subscription re-plans when an entry that appeared or went is a directory. */
  async #treeCheck(sub: Sub, dir: string, name: string | null): Promise<void> {
    if (name === null) return this.#rearm(sub, true)
    const p = join(dir, name)
    const have = sub.regs.get(regKey(p, null))
    const st = await statDir(p)
    const inTree = p === sub.target || p.startsWith(`${sub.target}/`) || sub.target === '/'
    if (!inTree) return
    if (!st !== !have || (st && have && (st.ino !== have.reg.ino || st.dev !== have.reg.dev)))
      await this.#rearm(sub, true)
  }

  #drop(sub: Sub): void {
    if (!this.#subs.delete(sub)) return
    sub.closed = true
    for (const key of [...sub.regs.keys()]) this.#unregister(sub, key)
  }
}
