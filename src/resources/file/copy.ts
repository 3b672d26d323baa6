/**
 * rsync-like directory sync for the `file` kind's `source` and `purge`: directories, regular files
 * (bytes and mode) and symlinks are copied from the source tree; with `purge`, entries of the
 * destination that are neither in the source nor on the way to a path another `file` resource
 * manages are removed. Every file is written atomically.
 */

import type { Stats } from 'node:fs'
import { chmod, lstat, mkdir, readdir, readlink, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { errCode, MgmtError } from '../../util/errors.js'
import { symlinkAtomic, writeAtomic } from './atomic.js'
import { filesEqual } from './compare.js'
import { formatMode } from './mode.js'

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

/** The entries of a directory with their lstat; empty when it does not exist (yet). */
async function listDir(dir: string): Promise<Map<string, Stats>> {
  let names: string[]
  try {
    names = await readdir(dir)
  } catch (e) {
    if (errCode(e) === 'ENOENT' || errCode(e) === 'ENOTDIR') return new Map()
    throw e
  }
  const stats = await Promise.all(names.map(n => lstat(join(dir, n)).catch(() => undefined)))
  const out = new Map<string, Stats>()
  names.forEach((n, i) => {
    const st = stats[i]
    if (st) out.set(n, st)
  })
  return out
}

/**
 * Syncs the directory `src` (undefined: purge only) onto the existing directory `dst`, both
 * without trailing `/`. True when nothing had to change.
 */
export async function syncTree(src: string | undefined, dst: string, env: SyncEnv): Promise<boolean> {
  const [from, to] = await Promise.all([src ? listDir(src) : new Map<string, Stats>(), listDir(dst)])
  let ok = true
  for (const [name, st] of from) {
    if (!(await syncEntry(join(src!, name), st, join(dst, name), to.get(name), env))) ok = false
  }
  if (env.purge) {
    for (const [name, st] of to) {
      if (!from.has(name) && !(await purgeEntry(join(dst, name), st, env))) ok = false
    }
  }
  return ok
}

/** Sets `dst`'s mode to `mode` when it differs. True when it was right. */
export async function syncMode(dst: string, mode: number, have: Stats, env: SyncEnv): Promise<boolean> {
  if (perm(have) === mode) return true
  const what = `mode ${formatMode(perm(have))} -> ${formatMode(mode)} ${dst}`
  if (!env.apply) env.log(`would set ${what}`)
  else {
    await chmod(dst, mode)
    env.log(what)
  }
  return false
}

/** Removes what is at `dst` when it has the wrong type (force needed for directories). */
async function clear(dst: string, have: Stats, want: string, env: SyncEnv): Promise<void> {
  if (have.isDirectory() && !env.force)
    throw new MgmtError('ERR_FILE_NEEDS_FORCE', { path: dst, have: 'a directory', want })
  if (!have.isDirectory() && want === 'a directory' && !env.force)
    throw new MgmtError('ERR_FILE_NEEDS_FORCE', { path: dst, have: 'not a directory', want })
  if (!env.apply) return
  await rm(dst, { recursive: true, force: true })
  env.log(`removed ${dst} (force)`)
}

async function syncEntry(
  src: string,
  st: Stats,
  dst: string,
  have: Stats | undefined,
  env: SyncEnv,
): Promise<boolean> {
  if (st.isDirectory()) return syncSubdir(src, st, dst, have, env)
  if (st.isFile()) return syncFile(src, st, dst, have, env)
  if (st.isSymbolicLink()) return syncLink(src, dst, have, env)
  return true // sockets, fifos, devices: not copied
}

async function syncSubdir(
  src: string,
  st: Stats,
  dst: string,
  have: Stats | undefined,
  env: SyncEnv,
): Promise<boolean> {
  if (have?.isDirectory()) {
    const ok = await syncMode(dst, perm(st), have, env)
    return (await syncTree(src, dst, env)) && ok
  }
  if (have) await clear(dst, have, 'a directory', env)
  if (!env.apply) env.log(`would create ${dst}/`)
  else {
    await mkdir(dst, { mode: perm(st) })
    await chmod(dst, perm(st)) // without the umask
    env.log(`created ${dst}/`)
  }
  await syncTree(src, dst, env)
  return false
}

async function syncFile(
  src: string,
  st: Stats,
  dst: string,
  have: Stats | undefined,
  env: SyncEnv,
): Promise<boolean> {
  if (have?.isFile() && have.size === st.size && (await filesEqual(src, dst)))
    return syncMode(dst, perm(st), have, env)
  if (have && !have.isFile()) await clear(dst, have, 'a file', env)
  const what = have?.isFile() ? `content updated ${dst}` : `created ${dst}`
  if (!env.apply) env.log(have?.isFile() ? `would update content ${dst}` : `would create ${dst}`)
  else {
    await writeAtomic(dst, { copyOf: src }, { mode: perm(st) })
    env.log(what)
  }
  return false
}

async function syncLink(src: string, dst: string, have: Stats | undefined, env: SyncEnv): Promise<boolean> {
  const target = await readlink(src)
  if (have?.isSymbolicLink() && (await readlink(dst)) === target) return true
  if (have?.isDirectory()) await clear(dst, have, 'a symlink', env)
  if (!env.apply) env.log(`would link ${dst} -> ${target}`)
  else {
    await symlinkAtomic(target, dst)
    env.log(`linked ${dst} -> ${target}`)
  }
  return false
}

async function purgeEntry(dst: string, have: Stats, env: SyncEnv): Promise<boolean> {
  if (env.keep.includes(dst)) return true
  // A directory on the way to a kept path stays; what else is in it goes.
  if (have.isDirectory() && env.keep.some(k => k.startsWith(`${dst}/`))) return syncTree(undefined, dst, env)
  if (!env.apply) env.log(`would remove ${dst}`)
  else {
    await rm(dst, { recursive: true, force: true })
    env.log(`removed ${dst}`)
  }
  return false
}
