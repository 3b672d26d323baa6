/**
 * Lines appended to a file that the user names (`--converged-status-file`), by a run that may be
 * root's, in a directory that others may write to (`/tmp`). A symbolic link found at the path is
 * followed only when its owner is this process's user or the directory's owner, as Linux's
 * `fs.protected_symlinks` allows in a sticky directory: a link of the user's own, or the system's
 * `/dev/fd/3`, is followed; a link that another user planted in `/tmp` is refused, and the file it
 * points at is left alone. Hosts that turned that protection off (containers often do) are guarded
 * all the same.
 */
import { closeSync, constants, lstatSync, openSync, statSync, writeSync } from 'node:fs'
import { type FileHandle, open } from 'node:fs/promises'
import { dirname } from 'node:path'

const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW, O_NONBLOCK } = constants

/** Appends `text` to `path`, made with mode 0644 if missing, through a trusted link only. */
export async function appendGuarded(path: string, text: string): Promise<void> {
  const fh = await openGuarded(path)
  try {
    await fh.appendFile(text)
  } finally {
    await fh.close()
  }
}

/**
 * Appends `text` to `path` on the spot when the path is a regular file or nothing yet: open, write
 * and close answer from the page cache in microseconds, where three trips through libuv's thread
 * pool cost the event loop more (each hands work to a pool thread and takes its answer back). False,
 * with nothing written, when something else is there (a link, a fifo, a device): its open or its
 * write may block, and `appendGuarded` is the way for it.
 */
export function appendGuardedSync(path: string, text: string): boolean {
  const st = lstatSync(path, { throwIfNoEntry: false })
  if (st && !st.isFile()) return false
  let fd: number
  try {
    // O_NONBLOCK: a fifo made since the lstat, with no reader, is refused (ENXIO), not waited for.
    fd = openSync(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o644)
  } catch (e) {
    if (isLink(path) || (e as NodeJS.ErrnoException).code === 'ENXIO') return false
    throw e
  }
  try {
    const bytes = Buffer.from(text)
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at)
  } finally {
    closeSync(fd)
  }
  return true
}

/**
 * The lines of a status file, appended in order, off the path of the work that reported them: the
 * lines of one turn of the event loop are written together once that turn's work has gone as far
 * as it can (`setImmediate`). A change of the converged state comes with the start of a check (a
 * drift repair), which then goes on to its write's fdatasync first; the line is written while that
 * waits for the disk. A regular file is appended to on the spot (`appendGuardedSync`), anything
 * else through the thread pool, one append after the other.
 */
export class StatusLines {
  #pending = ''
  #scheduled = false
  /** The append through the thread pool in flight, if any: later lines wait for it. */
  #slow: Promise<void> | undefined
  #done: Promise<void> = Promise.resolve()
  #settle: (() => void) | undefined

  constructor(
    readonly path: string,
    readonly onError: (err: unknown) => void,
  ) {}

  append(line: string): void {
    this.#pending += line
    if (!this.#scheduled && !this.#slow) this.#schedule()
  }

  /**
   * Resolves once the lines appended so far are written, or handed to the thread pool (a link, a
   * fifo: there an append may wait for a reader, which the end of a run must not wait for).
   */
  flushed(): Promise<void> {
    return this.#done
  }

  #schedule(): void {
    this.#scheduled = true
    this.#done = new Promise(resolve => {
      this.#settle = resolve
    })
    setImmediate(() => this.#flush())
  }

  #flush(): void {
    this.#scheduled = false
    const text = this.#pending
    this.#pending = ''
    let written: boolean
    try {
      written = appendGuardedSync(this.path, text)
    } catch (err) {
      this.onError(err)
      written = true // failed: said, and not tried again
    }
    if (!written)
      this.#slow = appendGuarded(this.path, text)
        .catch(err => this.onError(err))
        .then(() => {
          this.#slow = undefined
          if (this.#pending) this.#schedule()
        })
    this.#settle?.()
    this.#settle = undefined
  }
}

const isLink = (path: string): boolean =>
  lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink() ?? false

async function openGuarded(path: string): Promise<FileHandle> {
  const flags = O_WRONLY | O_APPEND | O_CREAT
  if (!isLink(path))
    try {
      return await open(path, flags | O_NOFOLLOW, 0o644)
    } catch (e) {
      // A link put there since: judged below. (With O_CREAT, some kernels say EACCES, not ELOOP.)
      if (!isLink(path)) throw e
    }
  const link = lstatSync(path)
  const dir = statSync(dirname(path))
  const me = process.geteuid?.() ?? link.uid
  if (link.uid !== me && link.uid !== dir.uid)
    throw Object.assign(
      new Error(
        `${path} is a symbolic link of uid ${link.uid}, in a directory of uid ${dir.uid}: not followed`,
      ),
      { code: 'ELOOP' },
    )
  return open(path, flags, 0o644)
}
