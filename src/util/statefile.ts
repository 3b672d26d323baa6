/**
 * Writing the engine's and the resources' own small state files (notification flags, reversal
 * records, kept values, passwords, cached outputs): the target's temporary file beside it (see
 * tempfile.ts), created with the final mode, written, fsync'd, renamed over the target, and the
 * directory fsync'd. A crash leaves the old file or the new one, never a part of one, and at most
 * one temporary file, which the next write or the next start of that directory removes.
 */
import { closeSync, constants, fsync, openSync } from 'node:fs'
import { rename, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'
import { promisify } from 'node:util'
import { ioError } from './errors.js'
import { createTemp, tempPath, withWriteLock } from './tempfile.js'

/** Replaces `path` with `data` atomically; a failure (a full disk) names `path`. */
export async function writeStateFile(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  await withWriteLock(path, async () => {
    const tmp = tempPath(path)
    try {
      const fh = await createTemp(tmp, mode)
      try {
        await fh.chmod(mode) // the umask may have taken bits off: make it exact
        await fh.writeFile(data)
        await fh.sync()
      } finally {
        await fh.close()
      }
      await rename(tmp, path)
    } catch (e) {
      await unlink(tmp).catch(() => {})
      throw ioError('write the state file', path, e)
    }
  })
  await syncDir(dirname(path)).catch(e => {
    throw ioError('sync the directory of the state file', path, e)
  })
}

const fsyncFd = promisify(fsync)

/** One trip through the thread pool: the open and close of a directory answer in microseconds. */
async function syncNow(dir: string): Promise<void> {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY)
  try {
    await fsyncFd(fd)
  } finally {
    closeSync(fd)
  }
}

/**
 * Directory fsyncs, coalesced per directory (a group commit): a caller joins a sync that is queued
 * and not started yet, since it will start after the caller's rename; otherwise it queues the next
 * one. 1,000 files written at once into one directory cost a few directory fsyncs, not 1,000. This
 * map holds only syncs in flight.
 */
const dirSyncs = new Map<string, { running?: Promise<void>; queued?: Promise<void> }>()

/** fsync a directory, so that a rename or unlink in it survives a crash. */
export function syncDir(dir: string): Promise<void> {
  const s = dirSyncs.get(dir) ?? {}
  dirSyncs.set(dir, s)
  if (s.queued) return s.queued
  const p: Promise<void> = (s.running ?? Promise.resolve())
    .catch(() => {})
    .then(async () => {
      // Started: whoever comes from now on may have renamed after it, and needs the next one.
      s.queued = undefined
      s.running = p
      try {
        await syncNow(dir)
      } finally {
        if (s.running === p) s.running = undefined
        if (!s.running && !s.queued) dirSyncs.delete(dir)
      }
    })
  s.queued = p
  return p
}
