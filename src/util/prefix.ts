/**
 * The state directory (`--prefix`), made and held by one run at a time.
 *
 * Two runs on one prefix would share its state: each would deliver or drop the other's pending
 * notifications and overwrite its world, and two graphs that disagree about a file would repair
 * each other's writes for ever. A run takes an exclusive lock (flock(2)) on `<prefix>/run.lock`;
 * a second one waits a second for it, then stops with the holder's pid.
 *
 * The lock belongs to the file's open description, which this process holds (opened here, close
 * on exec): `flock(1)` takes it through an inherited descriptor and exits. So the lock lasts as
 * long as the process, and ends with it however it ends, `kill -9` included: no stale lock to clear.
 */
import { spawn } from 'node:child_process'
import { closeSync, constants, ftruncateSync, openSync, readSync, writeSync } from 'node:fs'
import { mkdir, mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MgmtError, sysReason } from './errors.js'
import type { Logger } from './logger.js'

/** The lock file, in the prefix. */
export const LOCK_FILE = 'run.lock'

/** How long a run waits for the lock before it stops: a run that is just ending lets go of it. */
const WAIT_SECONDS = 1

/** Errors of a disk that is full or read-only, where no lock file can be made. */
const FULL = new Set(['ENOSPC', 'EDQUOT', 'EROFS'])

/** flock(1)'s exit code when the lock is held (its own default, 1, is also its error code). */
const HELD = 75

export interface HeldPrefix {
  readonly path: string
  /** Lets go of the lock (a library run that ends; a process that exits lets go anyway). */
  release(): void
}

/** Makes the prefix (0700) if needed and takes its lock; ERR_PREFIX or ERR_PREFIX_BUSY when it cannot. */
export async function holdPrefix(path: string, log: Logger): Promise<HeldPrefix> {
  // The reason says what the file system's error does (a cause would say it again).
  await mkdir(path, { recursive: true, mode: 0o700 }).catch(err => {
    throw new MgmtError('ERR_PREFIX', { prefix: path, reason: why(err) })
  })
  const file = join(path, LOCK_FILE)
  let fd: number
  try {
    // Never through a link: the lock file is made here, or opened as the file it is.
    fd = openSync(file, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600)
  } catch (err) {
    // A full or read-only disk does not stop a run: its state writes wait and say so (ERR_STATE_WRITE).
    if (!FULL.has((err as NodeJS.ErrnoException).code ?? ''))
      throw new MgmtError('ERR_PREFIX', { prefix: path, reason: `${file}: ${why(err)}` })
    log.warn(`cannot lock ${path} (${file}: ${sysReason(err)}): another run could use it at once`)
    return { path, release: () => {} }
  }
  let held = false
  try {
    const got = await flock(fd)
    if (got === 'missing')
      log.warn(
        `cannot lock ${path} (flock, of util-linux, is not on the PATH): another run could use it at once`,
      )
    else if (got !== 'locked') {
      const holder = got === 'held' ? readPid(fd) : undefined
      throw got === 'held'
        ? new MgmtError('ERR_PREFIX_BUSY', { prefix: path, pid: holder })
        : new MgmtError('ERR_PREFIX', { prefix: path, reason: `cannot lock ${file}: ${got}` })
    }
    held = true
    // Who holds it, for the message of the next run; the lock holds without it (a full disk).
    try {
      ftruncateSync(fd, 0)
      writeSync(fd, `${process.pid}\n`, 0)
    } catch {}
  } finally {
    if (!held) closeSync(fd)
  }
  let open = true
  return {
    path,
    release: () => {
      if (open) closeSync(fd)
      open = false
    },
  }
}

/** A fresh prefix of this run's own (`--tmp-prefix`): nobody else knows it, so it is not locked. */
export async function tempPrefix(): Promise<HeldPrefix> {
  const path = await mkdtemp(join(tmpdir(), 'mgmt-')).catch(err => {
    throw new MgmtError('ERR_PREFIX', { prefix: join(tmpdir(), 'mgmt-*'), reason: why(err) })
  })
  return { path, release: () => {} }
}

/** Locks the open file `fd` through flock(1): 'locked', 'held' (by another), 'missing', or flock's error. */
function flock(fd: number): Promise<string> {
  return new Promise(resolve => {
    const args = ['--exclusive', '--timeout', String(WAIT_SECONDS), '--conflict-exit-code', String(HELD), '3']
    const child = spawn('flock', args, { stdio: ['ignore', 'ignore', 'pipe', fd] })
    let stderr = ''
    child.stderr?.setEncoding('utf8').on('data', (s: string) => {
      stderr += s
    })
    child.on('error', err =>
      resolve((err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : sysReason(err)),
    )
    child.on('close', code =>
      resolve(code === 0 ? 'locked' : code === HELD ? 'held' : stderr.trim() || `flock exited ${code}`),
    )
  })
}

/** The pid the holder wrote into the lock file, when there is one. */
function readPid(fd: number): number | undefined {
  const buf = Buffer.alloc(32)
  const n = readSync(fd, buf, 0, buf.length, 0)
  const pid = Number(buf.subarray(0, n).toString('latin1').trim())
  return Number.isInteger(pid) && pid > 0 ? pid : undefined
}

/** A reason of the file system's, with what it means for a prefix. */
function why(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'EEXIST' || code === 'ENOTDIR') return 'it (or a directory above it) is not a directory'
  if (code === 'ELOOP') return 'it is a symbolic link'
  return sysReason(err)
}
