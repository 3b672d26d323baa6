/**
 * What the http and tftp servers send: a file's bytes in memory (`data`) or an open regular file,
 * found by a request path that is checked first. A request path never climbs out of the directory
 * it is served from: `..` is refused outright, and a symbolic link that leads out of the directory
 * is refused too (the path is resolved, then opened without following a link at its end).
 */
import { createHash } from 'node:crypto'
import { constants, type ReadStream } from 'node:fs'
import { type FileHandle, open, realpath, stat } from 'node:fs/promises'
import { Readable } from 'node:stream'
import type { ResourceContext } from '../../engine/resource.js'

/** One file, ready to be sent. Close it (or consume its stream) when done. */
export interface Served {
  readonly size: number
  readonly mtime: Date
  /** A strong validator (an HTTP ETag, quoted): it changes whenever the content may have. */
  readonly etag: string
  /** Up to `length` bytes from `offset` (fewer at the end). */
  read(offset: number, length: number): Promise<Buffer>
  /** The whole content; the file is closed when the stream ends or is destroyed. */
  stream(): Readable
  close(): Promise<void>
}

/** A request path's segments, or undefined when it is refused (`..`, a NUL byte). */
export function requestPath(raw: string): string[] | undefined {
  if (raw.includes('\0')) return undefined
  const segments = raw.split('/').filter(s => s !== '' && s !== '.')
  return segments.includes('..') ? undefined : segments
}

/** Bytes in memory, as served since `since`. */
export function servedData(bytes: Buffer, since: Date): Served {
  const etag = `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 27)}"`
  return {
    size: bytes.length,
    mtime: since,
    etag,
    read: async (offset, length) => bytes.subarray(offset, offset + length),
    stream: () => Readable.from([bytes]),
    close: async () => {},
  }
}

const errCode = (e: unknown): unknown => (e as { code?: unknown } | null)?.code
/**
 * Errors that mean "no such file here" (a 404, a tftp "file not found"). A name too long for the
 * system (a request's, as long as a packet allows) names no file either, and is not logged.
 */
const MISSING = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'ENAMETOOLONG'])

/** The result of a lookup: a file, nothing there, or a path that leaves its directory. */
export type Lookup = Served | 'missing' | 'refused'

/** Opens the regular file at `path` (a link at its end is not followed); 'missing' if there is none. */
export async function servedFile(path: string): Promise<Served | 'missing'> {
  let fh: FileHandle
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  } catch (e) {
    if (MISSING.has(errCode(e) as string) || errCode(e) === 'ELOOP') return 'missing'
    throw e
  }
  try {
    const st = await fh.stat()
    if (!st.isFile()) {
      await fh.close()
      return 'missing'
    }
    return fromHandle(
      fh,
      st.size,
      st.mtime,
      `"${st.ino.toString(36)}-${st.size.toString(36)}-${st.mtimeMs.toString(36)}"`,
    )
  } catch (e) {
    await fh.close()
    throw e
  }
}

function fromHandle(fh: FileHandle, size: number, mtime: Date, etag: string): Served {
  let closed = false
  const close = async (): Promise<void> => {
    if (closed) return
    closed = true
    await fh.close()
  }
  return {
    size,
    mtime,
    etag,
    async read(offset, length) {
      const buf = Buffer.alloc(Math.max(0, Math.min(length, size - offset)))
      let got = 0
      while (got < buf.length) {
        const { bytesRead } = await fh.read(buf, got, buf.length - got, offset + got)
        if (bytesRead === 0) break
        got += bytesRead
      }
      return buf.subarray(0, got)
    },
    stream(): ReadStream {
      closed = true // the stream owns the handle now
      return fh.createReadStream({ start: 0, end: Math.max(0, size - 1), autoClose: true, emitClose: true })
    },
    close,
  }
}

/** The file at `path`, links followed (an administrator named it); 'missing' if there is none. */
export async function servedPath(path: string): Promise<Served | 'missing'> {
  try {
    return await servedFile(await realpath(path))
  } catch (e) {
    if (MISSING.has(errCode(e) as string) || errCode(e) === 'ELOOP') return 'missing'
    throw e
  }
}

/**
 * The file at `segments` below the directory `dir`: 'refused' when the resolved path is not inside
 * `dir` (a link out of it), 'missing' when there is no regular file there.
 */
export async function servedUnder(dir: string, segments: readonly string[]): Promise<Lookup> {
  if (!segments.length) return 'missing'
  let base: string
  let real: string
  try {
    base = await realpath(dir)
    real = await realpath(`${base}/${segments.join('/')}`)
  } catch (e) {
    if (MISSING.has(errCode(e) as string) || errCode(e) === 'ELOOP') return 'missing'
    throw e
  }
  if (!real.startsWith(base === '/' ? '/' : `${base}/`)) return 'refused'
  return servedFile(real)
}

/**
 * What a part (`http:server:file`, `tftp:file`) offers its server: the file it serves at a request
 * path (already split by `requestPath`), 'refused', or undefined when the path is not its own.
 */
export interface ServingPart {
  serve(segments: readonly string[]): Promise<Lookup | undefined>
}

export const isServingPart = (i: object): i is ServingPart =>
  typeof (i as Partial<ServingPart>).serve === 'function'

/** A server's check of its `root`: it warns when root stops being a directory (once each time). */
export function rootCheck(root: string, ctx: ResourceContext): () => Promise<true> {
  let ok = true
  return async () => {
    if (!root) return true
    const now = (await stat(root).catch(() => undefined))?.isDirectory() ?? false
    if (!now && ok) ctx.log.warn(`root ${root} is not a directory: only parts are served`)
    ok = now
    return true
  }
}
