/**
 * Cheap content comparisons: sizes first, then the bytes themselves (small files) or a streamed
 * sha256 against the cached hash of the wanted content (large ones). A managed file is opened with
 * `O_NOFOLLOW`: a link swapped in since its lstat is refused, never read through.
 */
import { createHash } from 'node:crypto'
import { closeSync, constants, openSync, readSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { openNoFollow } from './nofollow.js'

const READ_NOFOLLOW = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK

/** Above this size a file is hashed in chunks instead of read whole. */
const WHOLE_MAX = 1 << 20
const CHUNK = 1 << 16

export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

/** The sha256 of a managed file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256')
  const fh = await openNoFollow(path)
  try {
    const buf = Buffer.allocUnsafe(CHUNK)
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, null)
      if (bytesRead === 0) break
      h.update(buf.subarray(0, bytesRead))
    }
  } finally {
    await fh.close()
  }
  return h.digest('hex')
}

/**
 * Does the file at `path` (of `size` bytes) hold exactly `want`? `wantSha` gives want's sha256,
 * computed only when a large file has to be hashed.
 */
export async function contentEquals(
  path: string,
  size: number,
  want: Uint8Array,
  wantSha: () => string,
): Promise<boolean> {
  if (size !== want.length) return false
  if (size > WHOLE_MAX) return (await sha256File(path)) === wantSha()
  // One read of size + 1 bytes: the extra byte notices a file that grew since its stat. Small
  // files are read synchronously: from the page cache that takes microseconds, less than a trip
  // through the thread pool.
  const fd = openSync(path, READ_NOFOLLOW)
  try {
    const buf = Buffer.allocUnsafe(size + 1)
    const bytesRead = readSync(fd, buf, 0, size + 1, 0)
    return bytesRead === size && buf.subarray(0, size).equals(want)
  } finally {
    closeSync(fd)
  }
}

/** Does the managed file `dst` hold the bytes of `src`? (Callers compare their sizes first.) */
export async function filesEqual(src: string, dst: string): Promise<boolean> {
  const fa = await open(src, 'r')
  const fb = await openNoFollow(dst).catch(async e => {
    await fa.close()
    throw e
  })
  try {
    const ba = Buffer.allocUnsafe(CHUNK)
    const bb = Buffer.allocUnsafe(CHUNK)
    for (;;) {
      const [ra, rb] = await Promise.all([fa.read(ba, 0, CHUNK, null), fb.read(bb, 0, CHUNK, null)])
      if (ra.bytesRead !== rb.bytesRead) return false
      if (ra.bytesRead === 0) return true
      if (!ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))) return false
    }
  } finally {
    await Promise.all([fa.close(), fb.close()])
  }
}
