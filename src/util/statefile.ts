/**
 * Writing the engine's and the resources' own small state files (notification flags, reversal
 * records, kept values, passwords, cached outputs): the target's temporary file beside it (see
 * tempfile.ts), created with the final mode, written, fsync'd, renamed over the target, and the
 * directory fsync'd. A crash leaves the old file or the new one, never a part of one, and at most
 * one temporary file, which the next write or the next start of that directory removes.
 */
import { open, rename, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'
import { ioError } from './errors.js'
import { createTemp, tempPath, withWriteLock } from './tempfile.js'

/** Replaces `path` with `data` atomically; a failure (a full disk) names `path`. */
export async function writeStateFile(path: string, data: string, mode = 0o600): Promise<void> {
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
  await syncDir(dirname(path))
}

/** fsync a directory, so that a rename or unlink in it survives a crash. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}
