/**
 * Atomic replacement of a file or symlink: build it under a temporary name in the same directory
 * (`.<base>.mgmt-<random>`), with its final mode and owner, fsync it, rename it over the target and
 * fsync the directory. A reader sees the old file or the new one, never a part; a crash leaves at
 * worst a stray temporary file, never a short managed one.
 */
import { constants } from 'node:fs'
import { copyFile, type FileHandle, open, rename, rm, symlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

/** Attributes given to the new file before it replaces the old one (absent: left as created). */
export interface FileAttrs {
  readonly mode?: number
  readonly uid?: number
  readonly gid?: number
}

/** What the new file holds: bytes, or a copy of another file. */
export type FileData = { readonly bytes: Uint8Array } | { readonly copyOf: string }

/** The marker in temporary names; tests and cleanup look for it. */
export const TEMP_MARK = '.mgmt-'

/** Makes temporary names unique within this process (the pid, across processes; `wx` guards the rest). */
let tempSeq = 0

/** A temporary path beside `path` (the name is cut so that it stays under NAME_MAX). */
export function tempPath(path: string): string {
  const base = basename(path).slice(0, 100)
  return join(dirname(path), `.${base}${TEMP_MARK}${process.pid.toString(36)}-${(++tempSeq).toString(36)}`)
}

async function syncNow(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY)
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/**
 * Directory fsyncs, coalesced per directory (a group commit): a caller joins a sync that is queued
 * and not started yet, since it will start after the caller's rename; otherwise it queues the next
 * one. 1,000 files written at once into one directory cost a few directory fsyncs, not 1,000. This
 * map holds only syncs in flight.
 */
const dirSyncs = new Map<string, { running?: Promise<void>; queued?: Promise<void> }>()

/** fsync a directory, so that a rename in it survives a crash. */
export function fsyncDir(dir: string): Promise<void> {
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

async function setAttrs(fh: FileHandle, attrs: FileAttrs): Promise<void> {
  if (attrs.uid !== undefined || attrs.gid !== undefined) await fh.chown(attrs.uid ?? -1, attrs.gid ?? -1)
  // After chown, which clears the set-id bits.
  if (attrs.mode !== undefined) await fh.chmod(attrs.mode)
}

/** Replaces (or creates) `path` with `data`, atomically. */
export async function writeAtomic(path: string, data: FileData, attrs: FileAttrs = {}): Promise<void> {
  const tmp = tempPath(path)
  let fh: FileHandle | undefined
  try {
    if ('copyOf' in data) {
      await copyFile(data.copyOf, tmp, constants.COPYFILE_EXCL)
      fh = await open(tmp, 'r+')
    } else {
      // 0o666 and the umask when the mode is not managed, as for any new file.
      fh = await open(tmp, 'wx', attrs.mode === undefined ? 0o666 : 0o600)
      await fh.writeFile(data.bytes)
    }
    await setAttrs(fh, attrs)
    await fh.datasync()
    await fh.close()
    fh = undefined
    await rename(tmp, path)
  } catch (e) {
    await fh?.close().catch(() => {})
    await rm(tmp, { force: true }).catch(() => {})
    throw e
  }
  await fsyncDir(dirname(path))
}

/** Makes `path` a symlink to `target`, replacing what is there (a directory must be removed first). */
export async function symlinkAtomic(target: string, path: string): Promise<void> {
  const tmp = tempPath(path)
  try {
    await symlink(target, tmp)
    await rename(tmp, path)
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => {})
    throw e
  }
  await fsyncDir(dirname(path))
}
