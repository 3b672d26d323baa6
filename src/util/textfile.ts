/**
 * Reading a file whole as text, up to a bound: a graph file, a program's own files, the files that
 * a program's builtins read (`os.readfile`), a facts file. A file of gigabytes, `/dev/zero` or
 * `/dev/urandom` is refused before it fills the memory; `readTextFile` also refuses anything but a
 * regular file, since a FIFO would block until someone writes to it.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs'
import { errCode, sysReason } from './errors.js'

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

/** Why a file of this stat is not read as text (`it is a FIFO, not a regular file`); undefined if it is. */
export function notRegular(st: Stats): string | undefined {
  if (st.isFile()) return undefined
  const what = st.isDirectory()
    ? 'a directory'
    : st.isFIFO()
      ? 'a FIFO'
      : st.isCharacterDevice()
        ? 'a character device'
        : st.isBlockDevice()
          ? 'a block device'
          : st.isSocket()
            ? 'a socket'
            : 'something else'
  return `it is ${what}, not a regular file`
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
    const irregular = notRegular(st)
    if (irregular) throw new TextFileError(irregular)
    const tooLarge = (): TextFileError =>
      new TextFileError(`it is larger than ${limit} bytes, the most read as text`)
    if (st.size > limit) throw tooLarge()
    const text = new BoundedText(st.size, limit)
    for (;;) {
      const chunk = text.room()
      const n = readSync(fd, chunk, 0, chunk.length, null)
      if (n === 0) break
      if (!text.keep(chunk, n)) throw tooLarge()
    }
    return text.text()
  } catch (err) {
    if (err instanceof TextFileError) throw err
    throw new TextFileError(sysReason(err), errCode(err))
  } finally {
    closeSync(fd)
  }
}

/**
 * The bytes of one file as they are read. The size a stat gives is a hint only (a pipe and a file
 * of /proc say 0, a growing file more than it said): reads are sized by it, at least 64 KiB, and
 * stop one byte past the bound, which is how a file larger than it is known.
 */
export class BoundedText {
  readonly #chunks: Buffer[] = []
  #total = 0

  constructor(
    private readonly hint: number,
    readonly limit: number,
  ) {}

  /** A buffer for the next read: the rest of the hint, at least 64 KiB, never past the bound. */
  room(): Buffer {
    return Buffer.allocUnsafe(
      Math.min(Math.max(this.hint - this.#total + 1, 1 << 16), this.limit + 1 - this.#total),
    )
  }

  /** Keeps the first `n` bytes of `chunk`; false once more than `limit` bytes came. */
  keep(chunk: Buffer, n: number): boolean {
    this.#chunks.push(chunk.subarray(0, n))
    this.#total += n
    return this.#total <= this.limit
  }

  /** What was read, as UTF-8. */
  text(): string {
    const c = this.#chunks
    return (c.length === 1 ? c[0]! : Buffer.concat(c, this.#total)).toString('utf8')
  }
}
