/**
 * Reading a file as text, for the program's own files and for the builtins that read one
 * (`os.readfile`, `deploy.readfile`): only a regular file, and only up to a bound. A FIFO would
 * block the engine until someone writes to it, and `/dev/zero` or `/dev/urandom` never end; both
 * are refused at once, in words a user understands.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs'
import { errCode, sysReason } from '../../util/errors.js'

/** The largest file read as text: as long as the longest string a program may build. */
export const MAX_TEXT_BYTES = 64 * 1024 * 1024

/** Why a file could not be read, without its path (the caller names it). */
export class TextFileError extends Error {
  override readonly name = 'TextFileError'
  constructor(
    reason: string,
    /** The system error's code (`ENOENT`...), when there was one. */
    readonly code?: string,
  ) {
    super(reason)
  }
}

function what(st: Stats): string {
  if (st.isDirectory()) return 'a directory'
  if (st.isFIFO()) return 'a FIFO'
  if (st.isCharacterDevice()) return 'a character device'
  if (st.isBlockDevice()) return 'a block device'
  if (st.isSocket()) return 'a socket'
  return 'not a regular file'
}

/**
 * The UTF-8 text of the regular file at `path` (symbolic links followed). Throws a
 * `TextFileError` saying why when it cannot be read, is not a regular file, or is larger than
 * `limit` bytes. Never blocks: the file is opened non-blocking and checked before it is read.
 */
export function readTextFile(path: string, limit = MAX_TEXT_BYTES): string {
  let fd: number
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch (err) {
    throw new TextFileError(sysReason(err), errCode(err))
  }
  try {
    const st = fstatSync(fd)
    if (!st.isFile()) throw new TextFileError(`it is ${what(st)}, not a regular file`)
    const tooLarge = (): TextFileError =>
      new TextFileError(`it is larger than ${limit} bytes, the most read as text`)
    if (st.size > limit) throw tooLarge()
    // The size is a hint only: a file of /proc says 0, a growing file more than it said.
    const chunks: Buffer[] = []
    let total = 0
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(Math.max(st.size - total + 1, 1 << 16), limit + 1 - total))
      const n = readSync(fd, chunk, 0, chunk.length, null)
      if (n === 0) break
      chunks.push(chunk.subarray(0, n))
      total += n
      if (total > limit) throw tooLarge()
    }
    return Buffer.concat(chunks, total).toString('utf8')
  } catch (err) {
    if (err instanceof TextFileError) throw err
    throw new TextFileError(sysReason(err), errCode(err))
  } finally {
    closeSync(fd)
  }
}
