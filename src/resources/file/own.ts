/**
 * The inotify events of a `file` resource's own changes. Each change the resource makes to its
 * path (the rename of an atomic write, a mkdir, a chmod, a chown) comes back as one event of the
 * path's name, after the check that made it: without this, every change would be checked twice,
 * once to make it and once more to find it made.
 *
 * An event is taken for the echo of an own change only when one is still expected (a change was
 * made and its event has not come yet) and the path is, to the last field of its lstat, as the
 * change left it. Anything else is a change of someone else's: inotify keeps events in order and
 * never merges two that differ, so a change made after the resource's own one brings an event of
 * its own, which finds no echo left to expect; and one made in between shows in the lstat (its
 * inode, size, mode, owner or times).
 *
 * Only for a path watched alone: a recursive directory's watch also reports what happens below it.
 *
 * The change is noted on the spot, in the same turn of the event loop as the call that made it
 * (the calls are synchronous), so its event, which inotify delivers in a later turn, always finds
 * it noted.
 */
import { constants, lstatSync, type Stats } from 'node:fs'

const { S_IFMT, S_IFDIR } = constants

/**
 * A path's lstat, as much of it as tells whether anything happened to the path: its inode, mode,
 * owner, size, links and times. (Kept in numbers: a Stats with its four Dates is ten times the size.)
 */
class Seen {
  readonly ino: number
  readonly dev: number
  readonly mode: number
  readonly uid: number
  readonly gid: number
  readonly size: number
  readonly nlink: number
  readonly mtimeMs: number
  readonly ctimeMs: number
  constructor(st: Stats) {
    this.ino = st.ino
    this.dev = st.dev
    this.mode = st.mode
    this.uid = st.uid
    this.gid = st.gid
    this.size = st.size
    this.nlink = st.nlink
    this.mtimeMs = st.mtimeMs
    this.ctimeMs = st.ctimeMs
  }
}

const seen = (path: string): Seen | undefined => {
  const st = lstatSync(path, { throwIfNoEntry: false })
  return st && new Seen(st)
}

/**
 * Nothing happened to the path between two looks. A directory's times, size and links change with
 * its entries, which a directory resource that does not recurse does not manage: for one, its
 * inode, mode and owner.
 */
function same(a: Seen | undefined, b: Seen | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  if (a.ino !== b.ino || a.dev !== b.dev || a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid)
    return false
  if ((a.mode & S_IFMT) === S_IFDIR) return true
  return a.size === b.size && a.nlink === b.nlink && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs
}

export class OwnChanges {
  /** Own changes whose events have not come yet. */
  #expected = 0
  /** The path's lstat after the last own change. */
  #after: Seen | undefined

  constructor(readonly path: string) {}

  /** Called right after a change of the path that inotify reports once (same turn of the loop). */
  made(): void {
    try {
      this.#after = seen(this.path)
      this.#expected++
    } catch {
      // cannot tell how it was left: its event will be checked
    }
  }

  /** An event of the path: is it the echo of an own change, with nothing else happened since? */
  echo(): boolean {
    if (this.#expected === 0) return false
    this.#expected--
    try {
      return same(seen(this.path), this.#after)
    } catch {
      return false // cannot tell: let the check find out
    }
  }
}
