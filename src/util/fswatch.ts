/**
 * Path watching for resources (file, exec `creates`, ...), on inotify through `fs.watch`.
 *
 * Node (libuv) keeps one inotify instance per process and one inotify watch per watched inode, so
 * neither limit grows with the number of subscriptions; the JS work and memory per path do. An
 * `FsWatcher` therefore keeps one tree of the paths it follows, shared by every subscription: a
 * node per path that is watched or lies on the way to one. A directory that holds a followed path
 * has **one `fs.watch`**, and its events are routed by entry name to that entry's node: a change
 * to `/d/a` wakes only the subscribers of `/d/a`. 1,000 files in one directory cost one watch and
 * 1,000 small nodes; their ancestors (`/`, `/d`) are one node each, whoever follows what below.
 *
 * A subscription on `/p/q/t` wakes on every change of `t` that its parent's watch reports:
 * creation, removal, renames, writes, chmod/chown, a directory `t` included. An event about an
 * ancestor on the way (`q` in `/p`) makes the watcher look at that part of the tree again: a
 * directory that appeared is watched, one that went or was replaced is watched anew, and the
 * subscribers below are told when what they follow may have changed unseen. With `recursive`, the
 * target and every directory below it are watched for every name.
 *
 * The tree is brought in line with the file system synchronously (a directory's stat answers from
 * the dentry cache), so a subscription is in place when `watch()` resolves, and a path added under
 * a directory that is already watched costs no system call at all.
 *
 * A directory watch dies silently when its directory is removed or replaced (the watch follows the
 * old inode), so each watch remembers its inode; a self event, an `error`, or a look that finds
 * another inode closes it and watches the directory there now.
 *
 * A shared temporary directory on the way (sticky, as `/tmp` is) is not watched while every entry
 * followed in it is a directory on the way that is watched itself: each of those reports its own
 * move, removal or replacement (a self event), which is all that the parent's watch would say of
 * it. The kernel's first watch of a directory walks every name it has cached there, and a `/tmp`
 * that other programs fill and empty all day caches hundreds of thousands (tens of milliseconds a
 * start). Once such an entry goes, the directory is watched again, to see it come back.
 *
 * Signals and owners: a subscription ends when its signal aborts, or when its owner (by default the
 * signal) is released. A caller that owns many signals (the engine) may `adopt` them and `release`
 * each owner itself: the watcher then adds no listener to them. The engine names each worker as the
 * owner of its subscriptions, so that resources may share one adopted signal.
 */

import {
  type FSWatcher,
  watch as fsWatch,
  lstatSync,
  readdirSync,
  readFileSync,
  type Stats,
  statSync,
} from 'node:fs'
import { join, resolve } from 'node:path'
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

/**
 * What happened to a followed path, where the watcher knows it: `rename` when the entry appeared,
 * went or was replaced (a rename over it), `change` when its content or attributes changed in place;
 * undefined when it cannot say (a directory on the way changed, ...).
 */
export type ChangeType = 'rename' | 'change' | undefined

export interface PathWatcher {
  watch(
    path: string,
    signal: AbortSignal,
    onChange: (type?: ChangeType) => void,
    opts?: { recursive?: boolean },
    owner?: object,
  ): Promise<void>
}

export interface FsWatcherOptions {
  /** A directory could not be watched after its subscription started (e.g. the inotify limit). */
  onError?: (path: string, err: unknown) => void
}

/** One `watch()` call. */
interface Sub {
  readonly node: Node
  readonly onChange: (type?: ChangeType) => void
  readonly recursive: boolean
  /** With `recursive`: the directories of its tree (each holds it in `any`). */
  tree: Set<Node> | undefined
  closed: boolean
}

/** One `fs.watch` on a directory, and the directory's inode when it was opened. */
interface DirWatch {
  readonly w: FSWatcher
  readonly ino: number
  readonly dev: number
}

/** A path the watcher follows, or a directory on the way to one. */
class Node {
  /** Entries below that are followed, by name. */
  children: Map<string, Node> | undefined
  /** Subscriptions of this very path (a short list: usually one). */
  subs: Sub[] | undefined
  /** Subscriptions woken by every entry of this directory (recursive trees, and `/` itself). */
  any: Sub[] | undefined
  /** This directory's watch, while it is needed and the directory exists. */
  dw: DirWatch | undefined
  /** Not watched: a shared temporary directory whose followed entries report themselves. */
  bypassed = false

  constructor(
    readonly path: string,
    readonly name: string,
    readonly parent: Node | undefined,
  ) {}

  /** Something needs this directory's events. */
  get needsWatch(): boolean {
    return (this.children?.size ?? 0) > 0 || (this.any?.length ?? 0) > 0
  }
  get unused(): boolean {
    return !this.needsWatch && !this.subs?.length
  }
}

function addTo(n: Node, list: 'subs' | 'any', sub: Sub): void {
  const have = n[list]
  if (!have) n[list] = [sub]
  else if (!have.includes(sub)) have.push(sub)
}

function removeFrom(n: Node, list: 'subs' | 'any', sub: Sub): void {
  const have = n[list]
  const i = have ? have.indexOf(sub) : -1
  if (i < 0) return
  if (have!.length === 1) n[list] = undefined
  else have!.splice(i, 1)
}

/** Wakes each subscription of a list (a copy: a wake may end subscriptions). */
function wake(list: readonly Sub[] | undefined): void {
  if (!list) return
  for (const s of list.length === 1 ? list : [...list]) if (!s.closed) s.onChange()
}

/** Stats of `p` when it is a directory, else undefined. */
function statDir(p: string): Stats | undefined {
  try {
    const st = statSync(p, { throwIfNoEntry: false })
    return st?.isDirectory() ? st : undefined
  } catch {
    return undefined
  }
}

/** The sticky bit: a shared temporary directory, such as `/tmp`. */
const STICKY = 0o1000

/**
 * Whether `n` (a directory, stats `st`) may go unwatched: it is a shared temporary directory below
 * a watched one (which reports `n` itself), and every entry followed in it is a directory on the
 * way to something, there now, with no subscription of its own (its own watch reports it).
 */
function bypassable(n: Node, st: Stats): boolean {
  if ((st.mode & STICKY) === 0 || !n.parent?.dw || n.any?.length || !n.children) return false
  for (const c of n.children.values()) if (c.subs?.length || !c.needsWatch || !isRealDir(c.path)) return false
  return true
}

/** A directory, not a link to one: a link's swap reaches only its parent's watch. */
function isRealDir(p: string): boolean {
  try {
    return lstatSync(p, { throwIfNoEntry: false })?.isDirectory() === true
  } catch {
    return false
  }
}

const exists = (p: string): boolean => {
  try {
    return lstatSync(p, { throwIfNoEntry: false }) !== undefined
  } catch {
    return true
  }
}

export class FsWatcher implements PathWatcher {
  #root = new Node('/', '', undefined)
  /** Every node below the root, by path: a path added beside others costs one lookup. */
  readonly #byPath = new Map<string, Node>()
  /** Nodes with an open watch. */
  readonly #watched = new Set<Node>()
  /** Subscriptions by owner: their signal, or whoever releases them (`release`). */
  readonly #byOwner = new WeakMap<object, Sub[]>()
  /** Subscriptions by signal, for the signals the watcher listens to (not adopted ones). */
  readonly #bySignal = new WeakMap<AbortSignal, Sub[]>()
  /** Signals whose owner calls `release` when it aborts them. */
  readonly #adopted = new WeakSet<AbortSignal>()
  /** Owners released: a watch they start later (one that was setting up) follows nothing. */
  readonly #released = new WeakSet<object>()
  readonly #onError: (path: string, err: unknown) => void
  #closed = false

  constructor(opts: FsWatcherOptions = {}) {
    this.#onError = opts.onError ?? (() => {})
  }

  /** How many directories have an open `fs.watch`. */
  get watchedDirs(): number {
    return this.#watched.size
  }

  /** The watched directories, sorted (for tests and debug output). */
  dirs(): string[] {
    return [...this.#watched].map(n => n.path).sort()
  }

  /** Resolves when no work is in flight (everything is done synchronously; kept for tests). */
  idle(): Promise<void> {
    return Promise.resolve()
  }

  /**
   * The caller will `release` what was watched with `signal` (it aborts it, or it names an owner
   * for each watch, as the engine does for the resources that share one signal, and closes the
   * watcher once that signal aborts): no listener is added to it.
   */
  adopt(signal: AbortSignal): void {
    this.#adopted.add(signal)
  }

  /** Ends every subscription of `owner` (a signal now aborted, or the owner given to `watch`). */
  release(owner: object): void {
    this.#released.add(owner)
    const subs = this.#byOwner.get(owner)
    if (!subs) return
    this.#byOwner.delete(owner)
    for (const s of subs) this.#drop(s)
  }

  /**
   * Follows `path` until `signal` aborts (or `owner`, by default the signal, is released). Resolves
   * once the watch is in place.
   */
  async watch(
    path: string,
    signal: AbortSignal,
    onChange: (type?: ChangeType) => void,
    opts: { recursive?: boolean } = {},
    owner: object = signal,
  ): Promise<void> {
    if (signal.aborted || this.#closed || this.#released.has(owner)) return
    const node = this.#node(resolve(path))
    const sub: Sub = { node, onChange, recursive: opts.recursive ?? false, tree: undefined, closed: false }
    // `/` has no parent to report it: every event in it wakes its subscribers.
    if (node === this.#root) addTo(node, 'any', sub)
    else addTo(node, 'subs', sub)
    try {
      this.#arm(node.parent ?? node, true)
      if (sub.recursive) this.#walkTree(sub, true)
    } catch (e) {
      this.#drop(sub)
      throw e
    }
    this.#own(owner, signal, sub)
  }

  /** Closes every watch; later events are dropped. */
  close(): void {
    this.#closed = true
    for (const n of this.#watched) {
      n.dw?.w.close()
      n.dw = undefined
    }
    this.#watched.clear()
    this.#byPath.clear()
    this.#root = new Node('/', '', undefined)
  }

  /** Drops `sub` when its owner is released, or its signal (unless adopted) aborts: one listener a signal. */
  #own(owner: object, signal: AbortSignal, sub: Sub): void {
    const mine = this.#byOwner.get(owner)
    if (mine) mine.push(sub)
    else this.#byOwner.set(owner, [sub])
    if (this.#adopted.has(signal)) return
    const listed = this.#bySignal.get(signal)
    if (listed) {
      listed.push(sub)
      return
    }
    const list = [sub]
    this.#bySignal.set(signal, list)
    signal.addEventListener(
      'abort',
      () => {
        this.#bySignal.delete(signal)
        for (const s of list) this.#drop(s)
      },
      { once: true },
    )
  }

  /** The node of an absolute path, made with its ancestors as needed. */
  #node(path: string): Node {
    if (path === '/') return this.#root
    const known = this.#byPath.get(path)
    if (known) return known
    let n = this.#root
    let at = 0
    while (at < path.length) {
      const next = path.indexOf('/', at + 1)
      const end = next < 0 ? path.length : next
      const name = path.slice(at + 1, end)
      at = end
      if (name === '') continue
      n.children ??= new Map()
      let c = n.children.get(name)
      if (!c) {
        c = new Node(end === path.length ? path : path.slice(0, end), name, n)
        n.children.set(name, c)
        this.#byPath.set(c.path, c)
      }
      n = c
    }
    return n
  }

  /**
   * Brings the watches of `from` and of its ancestors (top-down) in line with the file system, as a
   * new subscription below needs: only the part of the chain that is not watched yet is looked at,
   * and nothing at all when every directory up is watched.
   */
  #arm(from: Node, initial: boolean): void {
    // `from` gains a subscription: a bypassed `from` is looked at again (it may need its watch now).
    const armed = (n: Node): boolean => n.dw !== undefined || (n.bypassed && n !== from)
    let up: Node | undefined = from
    while (up && armed(up)) up = up.parent
    if (!up) return
    const chain: Node[] = []
    for (let n: Node | undefined = from; n; n = n.parent) chain.push(n)
    for (let i = chain.length - 1; i >= 0; i--) {
      const n = chain[i]!
      if (armed(n)) continue
      // Below a missing directory nothing can be watched: its parent's watch reports it appearing.
      if (!this.#sync(n, initial)) return
      if (n.dw || n.bypassed) this.#syncBelow(n, new Set(), initial)
    }
  }

  /**
   * Opens, replaces or closes `n`'s watch as needed. Returns whether the directory is watched now
   * (or has no need to be); `changed` hears the nodes whose watch changed.
   */
  #sync(n: Node, initial: boolean, changed?: Set<Node>): boolean {
    if (!n.needsWatch) {
      n.bypassed = false
      if (n.dw) this.#close(n, changed)
      return true
    }
    const st = statDir(n.path)
    if (st && bypassable(n, st)) {
      if (n.dw) this.#close(n, changed)
      n.bypassed = true
      return true
    }
    n.bypassed = false
    if (n.dw && st && st.ino === n.dw.ino && st.dev === n.dw.dev) return true
    if (n.dw) this.#close(n, changed)
    if (!st) return this.#uncover(n, initial, changed)
    let w: FSWatcher
    try {
      w = fsWatch(n.path)
    } catch (e) {
      const code = errCode(e)
      if (code === 'ENOENT' || code === 'ENOTDIR') return this.#uncover(n, initial, changed)
      const err = watchError(n.path, e)
      if (initial) throw err
      this.#onError(n.path, err)
      return this.#uncover(n, initial, changed)
    }
    n.dw = { w, ino: st.ino, dev: st.dev }
    this.#watched.add(n)
    w.on('change', (type, filename) => this.#dispatch(n, type, filename))
    w.on('error', () => this.#kill(n))
    changed?.add(n)
    // Replaced between the stat and the watch: look again.
    const now = statDir(n.path)
    if (!now || now.ino !== st.ino || now.dev !== st.dev) return this.#sync(n, initial, changed)
    return true
  }

  /**
   * `n` is not watched, and its parent was bypassed on the strength of `n`'s watch: the parent is
   * watched again, then `n` looked at once more (it may have come back meanwhile). Whether `n` is
   * watched now.
   */
  #uncover(n: Node, initial: boolean, changed?: Set<Node>): boolean {
    if (!this.#recheckParent(n, initial, changed)) return false
    return this.#sync(n, initial, changed)
  }

  /**
   * `n` went, or is another directory now: a parent bypassed on the strength of `n`'s watch is
   * looked at again (what is at `n` now may be missing, or a link). Whether that parent is watched now.
   */
  #recheckParent(n: Node, initial: boolean, changed?: Set<Node>): boolean {
    const p = n.parent
    if (!p?.bypassed) return false
    p.bypassed = false
    return this.#sync(p, initial, changed) && p.dw !== undefined
  }

  #close(n: Node, changed?: Set<Node>): void {
    if (!n.dw) return
    n.dw.w.close()
    n.dw = undefined
    this.#watched.delete(n)
    changed?.add(n)
  }

  /** Syncs every node below `n` that needs a watch (after `n`'s own watch changed or was checked). */
  #syncBelow(n: Node, changed: Set<Node>, initial = false): void {
    if (!n.children) return
    for (const c of n.children.values()) {
      if (!c.needsWatch) continue
      this.#sync(c, initial, changed)
      this.#syncBelow(c, changed, initial)
    }
  }

  /**
   * Looks at `n` and everything below it again, and wakes the subscribers that may have missed a
   * change while a directory on their way was not watched, or was another one.
   */
  #replan(n: Node): void {
    const changed = new Set<Node>()
    const had = new Map<Node, boolean>()
    const note = (m: Node): void => {
      had.set(m, m.dw !== undefined)
    }
    const visit = (m: Node): void => {
      if (!m.needsWatch) return
      note(m)
      this.#sync(m, false, changed)
      if (m.children) for (const c of m.children.values()) visit(c)
    }
    visit(n)
    if (changed.size === 0) return
    const woken = new Set<Sub>()
    for (const m of changed) {
      // A directory watched anew: what is in it may have changed unseen. One that just appeared
      // (not watched before) holds only what was made since, which its subscribers find there.
      const fresh = !had.get(m)
      for (const s of m.any ?? []) woken.add(s)
      if (m.children)
        for (const c of m.children.values()) if (!fresh || exists(c.path)) this.#collect(c, woken, fresh)
    }
    for (const s of woken) if (!s.closed) s.onChange()
  }

  /** Every subscription at `n` and below (below a fresh directory: those whose path exists). */
  #collect(n: Node, into: Set<Sub>, fresh: boolean): void {
    for (const s of n.subs ?? []) into.add(s)
    for (const s of n.any ?? []) into.add(s)
    if (n.children)
      for (const c of n.children.values()) if (!fresh || exists(c.path)) this.#collect(c, into, fresh)
  }

  /** A dead watch: closed, the directory there now watched instead, and everyone below told. */
  #kill(n: Node): void {
    if (!n.dw) return
    this.#close(n)
    const woken = new Set<Sub>()
    this.#collect(n, woken, false)
    for (const s of n.subs ?? []) woken.delete(s) // its own change is its parent's to report
    this.#recheckParent(n, false)
    this.#replan(n)
    for (const s of woken) if (!s.closed) s.onChange()
  }

  #dispatch(n: Node, type: string, filename: string | Buffer | null): void {
    if (!n.dw) return
    const name = filename === null ? null : filename.toString()
    if (name === null) {
      // Which entry is unknown: everything in the directory may have changed.
      const woken = new Set<Sub>(n.any)
      for (const c of n.children?.values() ?? []) for (const s of c.subs ?? []) woken.add(s)
      wake([...woken])
      for (const c of n.children?.values() ?? []) if (c.needsWatch) this.#replan(c)
    } else {
      const c = n.children?.get(name)
      if (c) {
        const subs = c.subs ?? []
        for (const s of subs.length > 1 ? [...subs] : subs) {
          if (s.closed) continue
          s.onChange(type === 'rename' || type === 'change' ? type : undefined)
          // A recursive target that appeared, went or was replaced: its tree is another one.
          if (s.recursive && type === 'rename' && this.#walkTree(s, false)) s.onChange()
        }
        // A directory on the way to something followed appeared, went or was replaced.
        if (c.needsWatch) this.#replan(c)
      }
      if (n.any)
        for (const s of [...n.any]) {
          if (s.closed) continue
          s.onChange()
          if (s.recursive && type === 'rename') this.#treeCheck(s, join(n.path, name))
        }
    }
    if (type === 'rename' && (name === null || name === n.name)) this.#verify(n)
  }

  /** A self event: the directory itself went or was replaced. */
  #verify(n: Node): void {
    const st = statDir(n.path)
    if (n.dw && (!st || st.ino !== n.dw.ino || st.dev !== n.dw.dev)) this.#kill(n)
  }

  /** A recursive subscription looks at its tree again when an entry in it that appeared or went is a directory. */
  #treeCheck(sub: Sub, p: string): void {
    const st = statDir(p)
    let have: Node | undefined
    for (const t of sub.tree ?? []) if (t.path === p) have = t
    if (!st !== !have || (st && have?.dw && (st.ino !== have.dw.ino || st.dev !== have.dw.dev)))
      if (this.#walkTree(sub, false)) sub.onChange()
  }

  /**
   * Makes a recursive subscription's tree the target and every directory below it now: each one
   * wakes it for every entry. Returns whether the tree changed.
   */
  #walkTree(sub: Sub, initial: boolean): boolean {
    const want = new Set<Node>()
    const walk = (dir: string): void => {
      if (!statDir(dir)) return
      want.add(this.#node(dir))
      let entries: string[]
      try {
        entries = readdirSync(dir, { withFileTypes: true })
          .filter(e => e.isDirectory())
          .map(e => e.name)
      } catch {
        return // gone or unreadable: its parent's watch reports what happens to it
      }
      for (const e of entries) walk(join(dir, e))
    }
    walk(sub.node.path)
    const had = sub.tree ?? new Set<Node>()
    let changed = false
    for (const n of had)
      if (!want.has(n)) {
        removeFrom(n, 'any', sub)
        this.#prune(n)
        changed = true
      }
    for (const n of want)
      if (!had.has(n)) {
        addTo(n, 'any', sub)
        changed = true
      }
    sub.tree = want
    for (const n of want) {
      const before = n.dw
      if (!n.dw || !initial) this.#arm(n, initial)
      if (n.dw !== before) changed = true
    }
    return changed
  }

  #drop(sub: Sub): void {
    if (sub.closed) return
    sub.closed = true
    const n = sub.node
    removeFrom(n, 'subs', sub)
    removeFrom(n, 'any', sub)
    for (const t of sub.tree ?? []) {
      removeFrom(t, 'any', sub)
      this.#prune(t)
    }
    sub.tree = undefined
    this.#prune(n)
  }

  /** Removes nodes nobody needs any more, upwards, closing watches nobody needs. */
  #prune(from: Node): void {
    for (let n: Node | undefined = from; n; n = n.parent) {
      if (n.needsWatch) return
      n.bypassed = false
      this.#close(n)
      if (!n.unused || !n.parent) return
      n.parent.children?.delete(n.name)
      this.#byPath.delete(n.path)
    }
  }
}
