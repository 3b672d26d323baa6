/**
 * Writing the engine's and the resources' own small state files (notification flags, reversal
 * records, kept values, passwords, cached outputs): a temporary file beside the target, written,
 * fsync'd, renamed over it, and the directory fsync'd. A crash leaves the old file or the new one,
 * never a part of one.
 */
import { randomUUID } from 'node:crypto'
import { open, rename, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'

export async function writeStateFile(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const tmp = join(dirname(path), `.${randomUUID()}.tmp`)
  try {
    const fh = await open(tmp, 'wx', mode)
    try {
      await fh.chmod(mode) // the umask may have taken bits off: make it exact
      await fh.writeFile(data)
      await fh.sync()
    } finally {
      await fh.close()
    }
    await rename(tmp, path)
  } catch (e) {
    await rm(tmp, { force: true })
    throw e
  }
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
