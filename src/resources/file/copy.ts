/**
 * rsync-like directory sync for the `file` kind's `source` and `purge`: directories, regular files
 * (bytes and mode) and symlinks are copied from the source tree; with `purge`, entries of the
 * destination that are neither in the source nor on the way to a path another `file` resource
 * manages are removed. Every file is written atomically.
 *
 * The destination tree is walked through directory descriptors opened with `O_NOFOLLOW`
 * (nofollow.ts): a link in it, planted before or during the walk, is replaced or removed itself,
 * never followed. Our temporary files in it are left alone while a kept resource writes them, and
 * a crash's leftovers are removed.
 */

import type { Stats } from 'node:fs'
import { lstat, mkdir, readdir, readlink, unlink } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { errCode, MgmtError } from '../../util/errors.js'
import { isInFlight, isTempName, tempName } from '../../util/tempfile.js'
import { symlinkAtomic, writeAtomic } from './atomic.js'
import { filesEqual } from './compare.js'
import { formatMode } from './mode.js'
import { chmodNoFollow, type DirRef, openDir, removeTree, typeOf } from './nofollow.js'

export interface SyncEnv {
  readonly apply: boolean
  readonly force: boolean
  readonly purge: boolean
  /** Paths (without trailing `/`) that other resources manage: never purged, nor their parents. */
  readonly keep: readonly string[]
  /** Info log; each message names the path it is about. */
  readonly log: (msg: string) => void
}

const perm = (st: Stats): number => st.mode & 0o7777

/** The entries of a source directory with their lstat; empty when it does not exist (yet). */
async function listSource(dir: string): Promise<Map<string, Stats>> {
  let names: string[]
  try {
    names = await readdir(dir)
  } catch (e) {
    if (errCode(e) === 'ENOENT' || errCode(e) === 'ENOTDIR') return new Map()
    throw e
  }
  return statEach(names, n => join(dir, n))
}

/** The entries of an open destination directory (none when it does not exist yet, in noop). */
async function listDest(dir: DirRef | undefined): Promise<Map<string, Stats>> {
  if (!dir) return new Map()
  return statEach(await readdir(dir.at('.')), n => dir.at(n))
}

async function statEach(names: string[], at: (n: string) => string): Promise<Map<string, Stats>> {
  const stats = await Promise.all(names.map(n => lstat(at(n)).catch(() => undefined)))
  const out = new Map<string, Stats>()
  names.forEach((n, i) => {
    const st = stats[i]
    if (st) out.set(n, st)
  })
  return out
}

/** Opens a directory of the destination tree, refusing a link there. */
function openSub(path: string, at: string): DirRef {
  try {
    return openDir(at, true)
  } catch (e) {
    if (errCode(e) === 'ELOOP') throw new Error(`${path} was swapped for a symlink: not followed`)
    throw e
  }
}

/**
 * Syncs the directory `src` (undefined: purge only) onto the existing directory `dst` (reached at
 * `at`), both without trailing `/`. True when nothing had to change.
 */
export async function syncTree(
  src: string | undefined,
  dst: string,
  env: SyncEnv,
  at = dst,
): Promise<boolean> {
  const dir = openSub(dst, at)
  try {
    return await syncIn(src, dst, dir, env)
  } finally {
    dir.close()
  }
}

async function syncIn(src: string | undefined, dst: string, dir: DirRef | undefined, env: SyncEnv) {
  const [from, to] = await Promise.all([src ? listSource(src) : new Map<string, Stats>(), listDest(dir)])
  if (dir && env.apply) await sweepLeftovers(dst, dir, from, to, env)
  let ok = true
  for (const [name, st] of from) {
    if (!(await syncEntry(join(src!, name), st, { dst, dir, name }, to.get(name), env))) ok = false
  }
  if (env.purge) {
    for (const [name, st] of to) {
      if (from.has(name) || isTempName(name)) continue
      if (!(await purgeEntry({ dst, dir, name }, st, env))) ok = false
    }
  }
  return ok
}

/**
 * Removes the temporary files a crash left in a destination directory: those of the entries this
 * sync writes, and with `purge` every one, except those of paths other resources manage (which
 * may be writing them right now) and those being written in this process.
 */
async function sweepLeftovers(
  dst: string,
  dir: DirRef,
  from: ReadonlyMap<string, Stats>,
  to: ReadonlyMap<string, Stats>,
  env: SyncEnv,
): Promise<void> {
  const kept = new Set(env.keep.filter(k => dirname(k) === dst).map(k => tempName(k.slice(dst.length + 1))))
  const ours = new Set([...from.keys()].map(tempName))
  for (const name of to.keys()) {
    if (!isTempName(name) || kept.has(name) || isInFlight(join(dst, name))) continue
    if (!env.purge && !ours.has(name)) continue
    await unlink(dir.at(name)).then(
      () => env.log(`removed the leftover temporary file ${join(dst, name)}`),
      e => {
        if (errCode(e) !== 'ENOENT') throw e
      },
    )
  }
}

/** One entry of the destination: the directory's path and descriptor, and the entry's name. */
interface Entry {
  readonly dst: string
  /** Undefined when the directory does not exist (yet): noop. */
  readonly dir: DirRef | undefined
  readonly name: string
}

const pathOf = (e: Entry): string => join(e.dst, e.name)
const atOf = (e: Entry): string => e.dir?.at(e.name) ?? pathOf(e)

/** Sets the mode of `path` (reached at `at`) when it differs. True when it was right. */
export async function syncMode(
  path: string,
  at: string,
  mode: number,
  have: Stats,
  env: SyncEnv,
): Promise<boolean> {
  if (perm(have) === mode) return true
  const what = `mode ${formatMode(perm(have))} -> ${formatMode(mode)} ${path}`
  if (!env.apply) env.log(`would set ${what}`)
  else {
    await chmodNoFollow(at, mode)
    env.log(what)
  }
  return false
}

/** Removes what is at the entry when it has the wrong type (force needed for directories). */
async function clear(e: Entry, have: Stats, want: string, env: SyncEnv): Promise<void> {
  if ((have.isDirectory() || want === 'a directory') && !env.force)
    throw new MgmtError('ERR_FILE_NEEDS_FORCE', { path: pathOf(e), have: typeOf(have), want })
  if (!env.apply) return
  await removeTree(atOf(e))
  env.log(`removed ${pathOf(e)} (force)`)
}

async function syncEntry(
  src: string,
  st: Stats,
  e: Entry,
  have: Stats | undefined,
  env: SyncEnv,
): Promise<boolean> {
  if (st.isDirectory()) return syncSubdir(src, st, e, have, env)
  if (st.isFile()) return syncFile(src, st, e, have, env)
  if (st.isSymbolicLink()) return syncLink(src, e, have, env)
  return true // sockets, fifos, devices: not copied
}

async function syncSubdir(
  src: string,
  st: Stats,
  e: Entry,
  have: Stats | undefined,
  env: SyncEnv,
): Promise<boolean> {
  const path = pathOf(e)
  if (have?.isDirectory()) {
    const sub = openSub(path, atOf(e))
    try {
      const ok = await syncMode(path, sub.at('.'), perm(st), have, env)
      return (await syncIn(src, path, sub, env)) && ok
    } finally {
      sub.close()
    }
  }
  if (have) await clear(e, have, 'a directory', env)
  if (!env.apply) {
    env.log(`would create ${path}/`)
    await syncIn(src, path, undefined, env)
    return false
  }
  await mkdir(atOf(e), { mode: perm(st) })
  const sub = openSub(path, atOf(e))
  try {
    await chmodNoFollow(sub.at('.'), perm(st)) // without the umask
    env.log(`created ${path}/`)
    await syncIn(src, path, sub, env)
  } finally {
    sub.close()
  }
  return false
}

async function syncFile(
  src: string,
  st: Stats,
  e: Entry,
  have: Stats | undefined,
  env: SyncEnv,
): Promise<boolean> {
  const path = pathOf(e)
  if (have?.isFile() && have.size === st.size && (await filesEqual(src, atOf(e))))
    return syncMode(path, atOf(e), perm(st), have, env)
  // A link is replaced by the write's rename; a directory or a special file is removed first.
  if (have && !have.isFile() && !have.isSymbolicLink()) await clear(e, have, 'a file', env)
  const verb = have?.isFile()
    ? 'content updated'
    : have?.isSymbolicLink()
      ? 'replaced the symlink'
      : 'created'
  if (!env.apply)
    env.log(`would ${have?.isFile() ? 'update content' : verb.replace('replaced', 'replace')} ${path}`)
  else {
    await writeAtomic(path, { copyOf: src }, { mode: perm(st) }, { dir: e.dir })
    env.log(`${verb} ${path}`)
  }
  return false
}

async function syncLink(src: string, e: Entry, have: Stats | undefined, env: SyncEnv): Promise<boolean> {
  const path = pathOf(e)
  const target = await readlink(src)
  if (have?.isSymbolicLink() && (await readlink(atOf(e))) === target) return true
  if (have?.isDirectory()) await clear(e, have, 'a symlink', env)
  if (!env.apply) env.log(`would link ${path} -> ${target}`)
  else {
    await symlinkAtomic(target, path, { dir: e.dir })
    env.log(`linked ${path} -> ${target}`)
  }
  return false
}

async function purgeEntry(e: Entry, have: Stats, env: SyncEnv): Promise<boolean> {
  const path = pathOf(e)
  if (env.keep.includes(path)) return true
  // A directory on the way to a kept path stays; what else is in it goes.
  if (have.isDirectory() && env.keep.some(k => k.startsWith(`${path}/`))) {
    const sub = e.dir ? openSub(path, atOf(e)) : undefined
    try {
      return await syncIn(undefined, path, sub, env)
    } finally {
      sub?.close()
    }
  }
  if (!env.apply) env.log(`would remove ${path}`)
  else {
    await removeTree(atOf(e))
    env.log(`removed ${path}`)
  }
  return false
}
