/**
 * Atomic replacement of a file or symlink: build it under its temporary name in the same directory
 * (`.<base>.mgmt-tmp`, see util/tempfile.ts), with its final mode or a stricter one from the first
 * byte, then its owner and final mode; fsync it, rename it over the target, fsync the directory.
 * A reader sees the old file or the new one, never a part; a crash leaves at worst one temporary
 * file, which the next write of the target or pass over its directory removes.
 *
 * One write is one trip through libuv's thread pool, the fdatasync: the open, write, fchmod, close
 * and rename answer from the page cache in microseconds and are made on the spot, where six trips
 * through the pool cost more than the calls. Many writes run at once, their fdatasyncs in parallel
 * (the journal commits them together), and their directory's fsync is shared (statefile.ts).
 *
 * The file replaced is held by an `O_PATH` descriptor across the rename, and let go through the
 * pool after it: a rename that drops the last name of the old file frees it on the spot (ext4
 * gives its blocks back, 0.4-1.5 ms here), which would come between the new content and whoever
 * waits to see it. Held, the rename takes tens of microseconds, and the old file goes with the close.
 *
 * The rename replaces whatever is at the target, a symlink included: nothing is ever written
 * through a link. The directory is pinned by a descriptor while it is written in (nofollow.ts); a
 * directory the graph manages is refused when it is a link. Errors name the target, never the
 * temporary file.
 */
import {
  close,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fdatasync,
  openSync,
  renameSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from 'node:fs'
import { open } from 'node:fs/promises'
import { basename, dirname } from 'node:path'
import { promisify } from 'node:util'
import { errCode, ioError } from '../../util/errors.js'
import { Slots } from '../../util/slots.js'
import { syncDir } from '../../util/statefile.js'
import { createTempSync, isTempName, tempName, withWriteLock } from '../../util/tempfile.js'
import { type DirRef, O_PATH, openDir } from './nofollow.js'

const { O_NOFOLLOW } = constants

export { isTempName }

/** Attributes given to the new file before it replaces the old one (absent: left as created). */
export interface FileAttrs {
  readonly mode?: number
  readonly uid?: number
  readonly gid?: number
}

/** What the new file holds: bytes, or a copy of another file. */
export type FileData = { readonly bytes: Uint8Array } | { readonly copyOf: string }

export interface WriteOptions {
  /** The directory is managed by the graph: a symlink there is refused, not followed. */
  readonly managedParent?: boolean
  /** The directory, already open (a tree walk): used as it is, and left open. */
  readonly dir?: DirRef
  /** Called on the spot after the rename that replaced the target (the caller notes its own change). */
  readonly onReplaced?: () => void
  /** Whether something is at the path now, as the caller last saw (default: look). */
  readonly replaces?: boolean
}

const CHUNK = 1 << 20

/** fsync a directory, so that a rename in it survives a crash (coalesced per directory). */
export const fsyncDir = syncDir

/**
 * The mode a temporary file is created with: the final one without group and other bits (they come
 * with the last chmod, once the content is complete), or, when the mode is not managed, what any new
 * file gets (0666 and the umask), which is the final mode then.
 */
const createMode = (mode: number | undefined): number => (mode === undefined ? 0o666 : mode & 0o700)

const datasync = promisify(fdatasync)

/**
 * Writes that hold descriptors at once. A write holds two (its directory and its temporary file)
 * while its fdatasync waits for the thread pool: unbounded, a graph of 10,000 files written from
 * scratch opened 20,000 at once and met the process's limit (EMFILE). 128 keep the pool and the
 * disk's queue full.
 */
const writing = new Slots(128)

function setAttrs(fd: number, attrs: FileAttrs): void {
  if (attrs.uid !== undefined || attrs.gid !== undefined) fchownSync(fd, attrs.uid ?? -1, attrs.gid ?? -1)
  // After chown, which clears the set-id bits.
  if (attrs.mode !== undefined) fchmodSync(fd, attrs.mode)
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at)
}

/** Copies the file `src` into the open file `to`. */
async function copyInto(src: string, to: number): Promise<void> {
  const from = await open(src, 'r')
  try {
    const buf = Buffer.allocUnsafe(CHUNK)
    for (;;) {
      const { bytesRead } = await from.read(buf, 0, CHUNK, null)
      if (bytesRead === 0) return
      writeAll(to, buf.subarray(0, bytesRead))
    }
  } finally {
    await from.close()
  }
}

/** Runs `fn` in the pinned parent directory of `path`; errors name `path`. */
async function inParent<T>(
  path: string,
  action: string,
  opts: WriteOptions,
  fn: (dir: DirRef) => Promise<T>,
): Promise<T> {
  return withWriteLock(path, async () => {
    let opened: DirRef | undefined
    try {
      if (!opts.dir) opened = openDir(dirname(path), opts.managedParent ?? false)
      return await fn(opts.dir ?? opened!)
    } catch (e) {
      throw ioError(action, path, e)
    } finally {
      opened?.close()
    }
  })
}

/** Replaces (or creates) `path` with `data`, atomically. */
export async function writeAtomic(
  path: string,
  data: FileData,
  attrs: FileAttrs = {},
  opts: WriteOptions = {},
): Promise<void> {
  await writing.run(() => writeInParent(path, data, attrs, opts))
  await fsyncDir(dirname(path)).catch(e => {
    throw ioError('sync the directory of', path, e)
  })
}

async function writeInParent(
  path: string,
  data: FileData,
  attrs: FileAttrs,
  opts: WriteOptions,
): Promise<void> {
  await inParent(path, 'write', opts, async dir => {
    const tmp = dir.at(tempName(basename(path)))
    let fd = -1
    try {
      fd = createTempSync(tmp, createMode(attrs.mode))
      if ('copyOf' in data) await copyInto(data.copyOf, fd)
      else writeAll(fd, data.bytes)
      setAttrs(fd, attrs)
      await datasync(fd)
      closeSync(fd)
      fd = -1
      const target = dir.at(basename(path))
      const old = opts.replaces === false ? -1 : hold(target)
      try {
        renameSync(tmp, target)
      } finally {
        if (old >= 0) close(old, () => {})
      }
      opts.onReplaced?.()
    } catch (e) {
      if (fd >= 0) closeSync(fd)
      if (errCode(e) !== 'EEXIST') unlinkQuiet(tmp)
      throw e
    }
  })
}

/**
 * An `O_PATH` descriptor of what is at `p` (never followed: a link is held itself), which keeps it
 * from being freed by the rename over it; -1 when nothing is there (or it cannot be held).
 */
function hold(p: string): number {
  try {
    return openSync(p, O_PATH | O_NOFOLLOW)
  } catch {
    return -1
  }
}

function unlinkQuiet(p: string): void {
  try {
    unlinkSync(p)
  } catch {
    // not there, or not ours to remove: the error that matters is the caller's
  }
}

/** Makes `path` a symlink to `target`, replacing what is there (a directory must be removed first). */
export async function symlinkAtomic(target: string, path: string, opts: WriteOptions = {}): Promise<void> {
  await inParent(path, 'link', opts, async dir => {
    const tmp = dir.at(tempName(basename(path)))
    try {
      try {
        symlinkSync(target, tmp)
      } catch (e) {
        if (errCode(e) !== 'EEXIST') throw e
        unlinkSync(tmp) // a leftover of ours: the write lock is held
        symlinkSync(target, tmp)
      }
      renameSync(tmp, dir.at(basename(path)))
      opts.onReplaced?.()
    } catch (e) {
      unlinkQuiet(tmp)
      throw e
    }
  })
  await fsyncDir(dirname(path)).catch(e => {
    throw ioError('sync the directory of', path, e)
  })
}
