/**
 * File system calls on managed paths that never follow a symbolic link found there. A managed
 * path is written by renaming over it (which replaces a link, never writes through it), read with
 * `O_NOFOLLOW`, and chmod-ed and chown-ed through an `O_PATH | O_NOFOLLOW` descriptor, so that a
 * link planted between a check and the call is refused instead of followed.
 *
 * Directories are pinned by a descriptor, and names in them are reached through
 * `/proc/self/fd/N/name` (Node has no `openat`): a directory swapped for a link after it was opened
 * does not redirect what is done in it. A directory the graph manages is opened with `O_NOFOLLOW`;
 * other directories on the way (a system's `/var/run -> /run`) are followed as usual.
 */
import {
  chmodSync,
  chownSync,
  closeSync,
  constants,
  existsSync,
  fstatSync,
  lstatSync,
  openSync,
  type Stats,
} from 'node:fs'
import { type FileHandle, open, readdir, rmdir, unlink } from 'node:fs/promises'
import { errCode } from '../../util/errors.js'

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = constants
/** Linux's `O_PATH`, which Node's constants lack: a descriptor that names a file without opening it. */
export const O_PATH = 0o10000000

/** `/proc/self/fd` resolves a descriptor to its file; without /proc, calls fall back to paths. */
const procFd = existsSync('/proc/self/fd')

/**
 * Stats of `path` itself (never followed), or undefined when it does not exist. Synchronous on
 * purpose: an lstat answers from the inode cache in microseconds, far less than a round trip
 * through libuv's thread pool, and a check of 1,000 files is mostly lstats.
 */
export async function lstatOr(path: string): Promise<Stats | undefined> {
  try {
    // Without an exception for a missing path: it is a common answer, and exceptions cost.
    return lstatSync(path, { throwIfNoEntry: false })
  } catch (e) {
    if (errCode(e) === 'ENOENT' || errCode(e) === 'ENOTDIR') return undefined
    throw e
  }
}

/** A refusal to act through a link: code `ELOOP`, as `O_NOFOLLOW` reports it. */
export function linkRefused(path: string): Error {
  return Object.assign(new Error(`${path} is a symlink: refusing to follow it`), { code: 'ELOOP' })
}

/** An open directory: names in it are reached through its descriptor, not through its path. */
export interface DirRef {
  /** The directory's path, for messages. */
  readonly path: string
  /** The path of `name` inside this very directory (`.` for the directory itself). */
  at(name: string): string
  /** Its stats (of the directory opened, wherever its path leads now). */
  stat(): Stats
  close(): void
}

/**
 * Opens the directory `path`; with `noFollow`, a link there is refused (`ELOOP`). Synchronous: an
 * open of a directory answers from the dentry cache, faster than a trip through the thread pool.
 */
export function openDir(path: string, noFollow: boolean): DirRef {
  const fd = openSync(path, O_RDONLY | O_DIRECTORY | (noFollow ? O_NOFOLLOW : 0))
  let open = true
  const close = (): void => {
    if (open) closeSync(fd)
    open = false
  }
  if (!procFd) {
    const st = fstatSync(fd)
    close()
    return { path, at: name => `${path}/${name}`, stat: () => st, close }
  }
  return { path, at: name => `/proc/self/fd/${fd}/${name}`, stat: () => fstatSync(fd), close }
}

/**
 * Runs `fn` on a path that names the very file at `path`, refusing a symlink there. Synchronous:
 * an open with `O_PATH`, a stat and a chmod answer from the inode cache in microseconds, less than
 * three trips through the thread pool (and the caller knows the change is made when it returns).
 */
function onFile(path: string, fn: (p: string) => void): void {
  if (!procFd) {
    if (lstatSync(path).isSymbolicLink()) throw linkRefused(path)
    fn(path)
    return
  }
  const fd = openSync(path, O_PATH | O_NOFOLLOW)
  try {
    if (fstatSync(fd).isSymbolicLink()) throw linkRefused(path)
    fn(`/proc/self/fd/${fd}`)
  } finally {
    closeSync(fd)
  }
}

/** chmod of `path` itself; a symlink there is refused, never followed. */
export const chmodNoFollow = async (path: string, mode: number): Promise<void> =>
  onFile(path, p => chmodSync(p, mode))

/** chown of `path` itself; a symlink there is refused, never followed. */
export const chownNoFollow = async (path: string, uid: number, gid: number): Promise<void> =>
  onFile(path, p => chownSync(p, uid, gid))

/** Opens `path` for reading; a symlink there is refused (`ELOOP`), a fifo does not block. */
export const openNoFollow = (path: string): Promise<FileHandle> =>
  open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK)

/** The bytes of `path`, a symlink there refused. */
export async function readNoFollow(path: string): Promise<Buffer> {
  const fh = await openNoFollow(path)
  try {
    return await fh.readFile()
  } finally {
    await fh.close()
  }
}

/**
 * Removes `path` and, when it is a directory, everything below it. A link, at `path` or anywhere
 * below, is removed itself: what it points at is never touched, even when a directory is swapped
 * for a link while this runs.
 */
export async function removeTree(path: string): Promise<void> {
  const st = await lstatOr(path)
  if (!st) return
  if (!st.isDirectory()) return unlinkOr(path)
  let dir: DirRef
  try {
    dir = openDir(path, true)
  } catch (e) {
    if (errCode(e) !== 'ELOOP' && errCode(e) !== 'ENOTDIR') throw e
    return unlinkOr(path) // swapped for something else since the lstat
  }
  try {
    await emptyDir(dir)
  } finally {
    dir.close()
  }
  await rmdir(path).catch(e => {
    if (errCode(e) !== 'ENOENT') throw e
  })
}

/** Removes every entry of an open directory, recursively, never following a link. */
async function emptyDir(dir: DirRef): Promise<void> {
  for (const name of await readdir(dir.at('.'))) {
    const p = dir.at(name)
    const st = await lstatOr(p)
    if (!st) continue
    if (!st.isDirectory()) {
      await unlinkOr(p)
      continue
    }
    let sub: DirRef
    try {
      sub = openDir(p, true)
    } catch (e) {
      if (errCode(e) !== 'ELOOP' && errCode(e) !== 'ENOTDIR') throw e
      await unlinkOr(p)
      continue
    }
    try {
      await emptyDir(sub)
    } finally {
      sub.close()
    }
    await rmdir(p).catch(e => {
      if (errCode(e) !== 'ENOENT') throw e
    })
  }
}

async function unlinkOr(path: string): Promise<void> {
  await unlink(path).catch(e => {
    if (errCode(e) !== 'ENOENT') throw e
  })
}

/** What is at a path, for messages: `a file`, `a directory`, `a symlink`, `a special file`. */
export function typeOf(st: Stats): string {
  if (st.isFile()) return 'a file'
  if (st.isDirectory()) return 'a directory'
  if (st.isSymbolicLink()) return 'a symlink'
  return 'a special file'
}
