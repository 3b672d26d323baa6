/**
 * Our temporary files. Every atomic write (a managed file, a state file of the engine or of a
 * resource) builds the new version under a name derived from the target's, `.<name>.mgmt-tmp` in
 * the same directory, then renames it over the target.
 *
 * One name per target means that a crash leaves at most one temporary file per target, never a
 * pile of them, and that it is found again: the next write of that target removes it, and so does
 * the next pass over the directory (a purge, a tree copy, the start of a state directory). Writes
 * of one target are serialized within the process, so a temporary file that exists while nothing
 * of ours writes its target is a leftover of a crash.
 */
import { createHash } from 'node:crypto'
import { constants, lstatSync, openSync, unlinkSync } from 'node:fs'
import { type FileHandle, open, readdir, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { errCode } from './errors.js'

export const TEMP_SUFFIX = '.mgmt-tmp'

/** The temporary name of the target named `base` (cut and hashed so that it stays under NAME_MAX). */
export function tempName(base: string): string {
  if (Buffer.byteLength(base) <= 200) return `.${base}${TEMP_SUFFIX}`
  const hash = createHash('sha256').update(base).digest('hex').slice(0, 16)
  return `.${base.slice(0, 60)}~${hash}${TEMP_SUFFIX}`
}

/** The temporary path of `path`. */
export const tempPath = (path: string): string => join(dirname(path), tempName(basename(path)))

export const isTempName = (name: string): boolean => name.startsWith('.') && name.endsWith(TEMP_SUFFIX)

/** Writes in flight, by target path, and the temporary paths they use. */
const writing = new Map<string, Promise<unknown>>()
const inFlight = new Set<string>()

/** Runs `write` when no other write of `path` (in this process) runs; its temporary file is ours meanwhile. */
export function withWriteLock<T>(path: string, write: () => Promise<T>): Promise<T> {
  const before = writing.get(path) ?? Promise.resolve()
  const tmp = tempPath(path)
  const mine = before
    .catch(() => {})
    .then(async () => {
      inFlight.add(tmp)
      try {
        return await write()
      } finally {
        inFlight.delete(tmp)
      }
    })
  const tail = mine.catch(() => {})
  writing.set(path, tail)
  void tail.then(() => {
    if (writing.get(path) === tail) writing.delete(path)
  })
  return mine
}

/** Our temporary files in each directory when this process first looked there (see takeLeftover). */
const leftovers = new Map<string, Promise<Set<string>>>()

/**
 * Whether `dir` held the temporary file `name` when this process first looked there, said once:
 * one readdir per directory for the life of the process, where an lstat per target cost 10 µs
 * each (a run over 5,000 files spent 50 ms on them). A leftover is a crash's, and a crash of this
 * process ends it, so what the first look did not see is a write of ours; and the next write of a
 * target removes its leftover anyway (createTemp).
 */
export async function takeLeftover(dir: string, name: string): Promise<boolean> {
  let found = leftovers.get(dir)
  if (!found) {
    found = readdir(dir).then(
      names => new Set(names.filter(isTempName)),
      () => new Set<string>(),
    )
    leftovers.set(dir, found)
  }
  return (await found).delete(name)
}

/** Is the temporary file at `tmp` being written by this process now? */
export const isInFlight = (tmp: string): boolean => inFlight.has(tmp)

function exists(path: string): boolean {
  try {
    return lstatSync(path, { throwIfNoEntry: false }) !== undefined
  } catch {
    return false
  }
}

const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW

/**
 * Creates the temporary file `tmp` with `mode` (and the umask) from its first byte. It never opens
 * an existing file nor follows a link: a leftover in the way is removed (the caller holds the
 * target's write lock, so it is nobody's), and creation is tried once more.
 */
export async function createTemp(tmp: string, mode: number): Promise<FileHandle> {
  try {
    return await open(tmp, CREATE, mode)
  } catch (e) {
    if (errCode(e) !== 'EEXIST') throw e
    await unlink(tmp)
    return await open(tmp, CREATE, mode)
  }
}

/** createTemp, synchronously: an open that creates a file answers in microseconds. Returns the descriptor. */
export function createTempSync(tmp: string, mode: number): number {
  try {
    return openSync(tmp, CREATE, mode)
  } catch (e) {
    if (errCode(e) !== 'EEXIST') throw e
    unlinkSync(tmp)
    return openSync(tmp, CREATE, mode)
  }
}

/**
 * Removes our leftover temporary files from `dir` (its entry names in `names`, or read here), except
 * those being written now and those `keep` says to leave. `at` gives the path a removal goes
 * through (a pinned directory's); by default, the name's path. Returns the names removed.
 */
export async function sweepTemps(
  dir: string,
  names?: readonly string[],
  keep: (name: string) => boolean = () => false,
  at: (name: string) => string | Promise<string> = name => join(dir, name),
): Promise<string[]> {
  const list = names ?? (await readdir(dir).catch(() => [] as string[]))
  const removed: string[] = []
  for (const name of list) {
    if (!isTempName(name) || keep(name) || isInFlight(join(dir, name))) continue
    // Usually there is none: asked by its path (a fast negative lookup), without an exception.
    if (names && !exists(join(dir, name))) continue
    try {
      await unlink(await at(name))
      removed.push(name)
    } catch (e) {
      if (errCode(e) !== 'ENOENT' && errCode(e) !== 'EISDIR' && errCode(e) !== 'EPERM') throw e
    }
  }
  return removed
}
