/**
 * `file`: a file, directory or symlink, its content (from `content`, a `source` file or tree, or
 * `fragments`), owner, group and mode. Every write is atomic (file/atomic.ts). A path ending in `/`
 * is a directory.
 */

import { lchownSync, mkdirSync, type Stats, statSync } from 'node:fs'
import { readdir, readFile, readlink, rmdir } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { z } from 'zod'
import { defineResource, type Instance, KindNeed, type ResourceContext } from '../engine/resource.js'
import { errCode, isMgmtError, MgmtError } from '../util/errors.js'
import { idName, idProblem } from '../util/ids.js'
import { Slots } from '../util/slots.js'
import { sweepTemps, takeLeftover, tempName } from '../util/tempfile.js'
import { type FileAttrs, symlinkAtomic, type WriteOptions, writeAtomic } from './file/atomic.js'
import { contentEquals, filesEqual, sha256 } from './file/compare.js'
import { type SyncEnv, syncMode, syncTree } from './file/copy.js'
import { unifiedDiff } from './file/diff.js'
import { applyMode, formatMode, modeString, parseMode } from './file/mode.js'
import { chmodNoFollow, chownNoFollow, lstatOr, readNoFollow, removeTree, typeOf } from './file/nofollow.js'
import { OwnChanges } from './file/own.js'
import { checkAncestors, parentDirs } from './file/parents.js'
import { contentCache, openRun, type Run, type RunFixed } from './file/run.js'
import { type FileShape, filePath, isWithin, validateFile } from './file/validate.js'
import { shippedCandidates } from './pkg/files.js'

export { parentDirs }

/** A user or group: a name, or a numeric id (YAML may give a number). */
const Id = z
  .union([z.string().min(1), z.number().int().nonnegative()])
  .transform(String)
  .refine(k => !idProblem(k), { error: iss => idProblem(String(iss.input)) })

/** An octal string, a YAML number read as octal digits, or symbolic `u=rw,g=r,o=`. */
const Mode = z.union([z.string(), z.number().int().nonnegative()]).transform((v, c) => {
  try {
    parseMode(v)
    return modeString(v)
  } catch (e) {
    c.addIssue({ code: 'custom', message: (e as Error).message })
    return z.NEVER
  }
})

/** Params of `file`. Keys are the YAML names, verbatim. */
export const FileParams = z
  .object({
    /** Absolute path; defaults to the resource name. A trailing `/` means a directory. */
    path: z.string().default(''),
    /** Replaces the directory part of the path; ends with `/`. */
    dirname: z.string().optional(),
    /** Replaces the last part of the path. */
    basename: z.string().optional(),
    /** `exists` or `absent`; empty leaves existence unmanaged (content then needs the file). */
    state: z.enum(['exists', 'absent', '']).default(''),
    /** The exact content; unset leaves it unmanaged. */
    content: z.string().optional(),
    /** An absolute file, or directory (ending in `/`, with `recurse`), to copy; the target with `symlink`. */
    source: z.string().optional(),
    /** Absolute paths concatenated in order; a directory (`/`) gives its files sorted by name. */
    fragments: z.array(z.string()).optional(),
    /** Owner: a user name or uid. */
    owner: Id.optional(),
    /** Group: a group name or gid. */
    group: Id.optional(),
    /** Mode: `'0644'`, `'644'`, a YAML number like 644 (read as octal), or `u=rw,g=r,o=`. */
    mode: Mode.optional(),
    /** mkdir -p, recursive copy, remove and watch. */
    recurse: z.boolean().default(false),
    /** Allow replacing a file by a directory or symlink, and the other way round. */
    force: z.boolean().default(false),
    /** Remove what is in the directory and neither in `source` nor managed by another file resource. */
    purge: z.boolean().default(false),
    /** Make the path a symlink pointing at `source`. */
    symlink: z.boolean().default(false),
  })
  .strict()

export type FileParamsType = z.output<typeof FileParams>

/** Where content goes: the regular file there now, or what its write replaces. */
interface Target {
  /** The regular file at the path. */
  readonly st?: Stats | undefined
  /** A symlink is there: the write's rename replaces it, it is never read nor followed. */
  readonly link?: boolean
}

const EMPTY = Buffer.alloc(0)

/**
 * Checks in flight at once, over every file resource. All of a directory's files become ready
 * together; unbounded, 10,000 checks held their handles, stats and buffers at once, long enough
 * to be promoted out of the young generation: the cold start of 10,000 files peaked at 290 MiB,
 * 207 MiB with this bound, and ran no slower. 64 keep the thread pool (4 threads) busy.
 */
const checking = new Slots(64)
/** Larger files are summarized instead of diffed in noop runs. */
const DIFF_MAX = 256 * 1024

const perm = (st: Stats): number => st.mode & 0o7777

/**
 * A source's or a fragment's status, links followed (the graph names them), or undefined when it
 * does not exist. Synchronous, as lstatOr is, for the same reason.
 */
async function statOr(p: string): Promise<Stats | undefined> {
  try {
    return statSync(p)
  } catch (e) {
    if (errCode(e) === 'ENOENT' || errCode(e) === 'ENOTDIR') return undefined
    throw e
  }
}

const writesContent = (p: Readonly<FileShape>): boolean =>
  p.content !== undefined || !!p.fragments?.length || (p.source !== undefined && !p.symlink)

/** A symlink at the path is replaced by what the resource writes (content, or an empty file with force). */
const replacesLinks = (p: Readonly<FileShape>): boolean =>
  !p.symlink && p.state !== 'absent' && (writesContent(p) || (p.state === 'exists' && p.force))

/** The refusal to change a mode or an owner through a symlink found at the path. */
const throughLink = (r: Run, what: string): Error =>
  new Error(
    `${r.target} is a symlink, which a file resource never follows: its ${what} is not changed through it ` +
      '(`state: exists` with `force: true`, or content, replaces it)',
  )

/** How an atomic write of the path goes: through the pinned parent, its rename noted as the resource's own. */
async function writeTo(r: Run): Promise<WriteOptions> {
  return { ...(await r.act()).write, onReplaced: () => r.made() }
}

/** Mode, owner and group for a new version of a file: the managed ones, else the current ones. */
async function attrsFor(r: Run, st: Stats | undefined, fallbackMode?: number): Promise<FileAttrs> {
  const { uid, gid } = await r.ids()
  const mode = r.mode ? applyMode(r.mode, st ? perm(st) : 0) : (fallbackMode ?? (st ? perm(st) : undefined))
  return { mode, uid: uid ?? st?.uid, gid: gid ?? st?.gid }
}

/**
 * A file that is missing when only `state: exists` may create it. With `state: exists` it was
 * created (or "would create" was logged) and removed by someone else since: drift, which the
 * removal's watch event repairs in the next pass.
 */
function missing(r: Run, key: string): boolean {
  if (r.p.state === 'exists') return false
  throw new Error(`${r.target} does not exist and \`${key}\` does not create it: set \`state: exists\``)
}

// --- state ---------------------------------------------------------------------------------

/** Is what is at the path of the wanted type? */
const isWanted = (r: Run, st: Stats): boolean => (r.isDir ? st.isDirectory() : st.isFile())

async function checkState(r: Run): Promise<boolean> {
  const { p } = r
  if (p.state === 'absent') {
    const st = await r.stat()
    return st ? remove(r, st) : true
  }
  const st = await r.stat()
  if (st && isWanted(r, st)) return true
  // Not a file where a file goes: the content sub-check replaces it, in its one write.
  if (st && !r.isDir && writesContent(p)) return true
  const want = r.isDir ? 'a directory' : 'a file'
  if (st && !p.force) throw new MgmtError('ERR_FILE_NEEDS_FORCE', { path: r.target, have: typeOf(st), want })
  if (!r.apply) {
    r.ctx.log.info(st ? `would replace ${typeOf(st)} with ${want}` : 'would create')
    return false
  }
  if (st) {
    await removeTree((await r.act()).at)
    r.ctx.log.info(`removed ${typeOf(st)} in the way (force)`)
  }
  if (r.isDir) await makeDir(r)
  else if (!writesContent(p)) {
    await writeAs(r, undefined, { bytes: EMPTY }, await attrsFor(r, undefined))
    r.ctx.log.info('created')
  } // else the content sub-check creates the file, with its content, in one write
  return false
}

async function makeDir(r: Run): Promise<void> {
  const mode = r.mode?.kind === 'octal' ? r.mode.bits : undefined
  try {
    mkdirSync((await r.act()).at, { recursive: r.p.recurse, mode })
    r.made()
  } catch (e) {
    // Made by someone else since the check: what was wanted is there.
    if (errCode(e) === 'EEXIST' && (await lstatOr((await r.act()).at))?.isDirectory()) return
    if (errCode(e) !== 'ENOENT') throw e
    throw new Error(`cannot create ${r.target}/: its parent is missing (\`recurse: true\` creates parents)`, {
      cause: e,
    })
  }
  if (mode !== undefined) {
    await chmodNoFollow((await r.act()).at, mode) // without the umask
    r.made()
  }
  r.ctx.log.info('created')
}

async function remove(r: Run, st: Stats): Promise<boolean> {
  if (r.target === '' || r.target === '/') throw new Error('refusing to remove /')
  if (!r.apply) {
    r.ctx.log.info('would remove')
    return false
  }
  if (st.isDirectory() && !r.p.recurse) {
    try {
      await rmdir((await r.act()).at)
    } catch (e) {
      if (errCode(e) !== 'ENOTEMPTY' && errCode(e) !== 'EEXIST') throw e
      throw new Error(`${r.target}/ is not empty; set \`recurse: true\` to remove it with its contents`, {
        cause: e,
      })
    }
  } else await removeTree((await r.act()).at)
  r.ctx.log.info('removed')
  return false
}

// --- content, source file, fragments -------------------------------------------------------

/**
 * What content is written over. A symlink there is replaced by the write (never read nor
 * followed); a directory or a special file only with `force`.
 */
async function fileTarget(r: Run, key: string): Promise<Target> {
  const st = await r.stat()
  if (!st) {
    if (r.p.state !== 'exists') missing(r, key)
    return {}
  }
  if (st.isFile()) return { st }
  if (st.isSymbolicLink()) {
    if (!r.apply) r.ctx.log.info('would replace the symlink with a file')
    return { link: true }
  }
  if (!r.p.force)
    throw new MgmtError('ERR_FILE_NEEDS_FORCE', { path: r.target, have: typeOf(st), want: 'a file' })
  if (!r.apply) r.ctx.log.info(`would replace ${typeOf(st)} with a file`)
  else {
    await removeTree((await r.act()).at)
    r.ctx.log.info(`removed ${typeOf(st)} in the way (force)`)
  }
  return {}
}

/** What a write did, for the log. */
const written = (t: Target): string =>
  t.st ? 'content updated' : t.link ? 'replaced the symlink with a file' : 'created'

/** What a write of `want` changes, as a unified diff; `applied`: said of a real write (`--diff`). */
async function describeDiff(
  r: Run,
  t: Target,
  want: Buffer,
  sensitive: boolean,
  applied = false,
): Promise<string> {
  const verb = applied
    ? t.st
      ? 'updated content'
      : 'created with content'
    : t.st
      ? 'would update content'
      : 'would create with content'
  if (sensitive) return `${verb} (sensitive content changed)`
  const have = t.st ? await readNoFollow((await r.act()).at) : EMPTY
  if (have.length + want.length > DIFF_MAX || have.includes(0) || want.includes(0))
    return `${verb} (${have.length} -> ${want.length} bytes)`
  return `${verb}:\n${unifiedDiff(have.toString(), want.toString(), r.target).trimEnd()}`
}

/** Makes the file hold `bytes`. */
async function syncBytes(
  r: Run,
  key: string,
  bytes: Buffer,
  sha: () => string,
  sensitive = false,
): Promise<boolean> {
  const t = await fileTarget(r, key)
  if (t.st && (await contentEquals(r.target, t.st.size, bytes, sha))) return true
  if (!r.apply) {
    r.ctx.log.info(await describeDiff(r, t, bytes, sensitive))
    return false
  }
  // --diff: the diff is worked out before the write, and logged in place of the usual line.
  const diff = r.ctx.diff ? await describeDiff(r, t, bytes, sensitive, true) : undefined
  await writeAs(r, t.st, { bytes }, await attrsFor(r, t.st))
  r.ctx.log.info(diff ?? written(t))
  return false
}

async function checkContent(r: Run): Promise<boolean> {
  const { bytes, sha } = r.content.get(r.p.content!)
  return syncBytes(r, 'content', bytes, sha, r.ctx.recv().content?.sensitive === true)
}

async function checkFragments(r: Run): Promise<boolean> {
  const parts: Buffer[] = []
  for (const f of r.p.fragments!) {
    if (!f.endsWith('/')) {
      parts.push(await readFile(f))
      continue
    }
    for (const name of (await readdir(f)).sort()) {
      const st = await statOr(join(f, name))
      if (st?.isFile()) parts.push(await readFile(join(f, name)))
    }
  }
  const bytes = Buffer.concat(parts)
  return syncBytes(r, 'fragments', bytes, () => sha256(bytes))
}

/** The source's stats; a missing source is an error (never an empty copy). */
async function sourceStat(src: string): Promise<Stats> {
  const st = await statOr(src)
  if (!st) throw new Error(`source ${src} does not exist`)
  return st
}

async function copyOne(r: Run, src: string): Promise<boolean> {
  const sst = await sourceStat(src)
  if (!sst.isFile()) throw new Error(`source ${src} is not a regular file`)
  const t = await fileTarget(r, 'source')
  if (t.st && t.st.size === sst.size && (await filesEqual(src, r.target))) return true
  if (!r.apply) {
    if (sst.size <= DIFF_MAX) r.ctx.log.info(await describeDiff(r, t, await readFile(src), false))
    else r.ctx.log.info(`would copy ${src}`)
    return false
  }
  await writeAs(r, t.st, { copyOf: src }, await attrsFor(r, t.st, perm(sst)))
  r.ctx.log.info(written(t))
  return false
}

// --- source tree and purge ------------------------------------------------------------------

/** Paths other file resources of the graph manage below this directory. */
function keepPaths(r: Run): string[] {
  const out: string[] = []
  for (const g of r.ctx.graph()) {
    if (g.kind !== 'file' || g.name === r.ctx.name) continue
    const q = g.params
    const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)
    const p = filePath(str(q.path) ?? '', g.name, str(q.dirname), str(q.basename)).replace(/(.)\/+$/, '$1')
    if (p !== r.target && isWithin(p, r.target)) out.push(p)
  }
  return out
}

async function checkSource(r: Run): Promise<boolean> {
  const { p } = r
  if (!r.isDir) return copyOne(r, p.source!)
  const src = p.source?.replace(/(.)\/+$/, '$1')
  const sst = src === undefined ? undefined : await sourceStat(src)
  if (sst && !sst.isDirectory()) throw new Error(`source ${p.source} is not a directory`)
  const st = await r.stat()
  if (!st?.isDirectory()) {
    if (st)
      throw new MgmtError('ERR_FILE_NEEDS_FORCE', { path: r.target, have: typeOf(st), want: 'a directory' })
    return missing(r, p.purge ? 'purge' : 'source')
  }
  const env: SyncEnv = {
    apply: r.apply,
    force: p.force,
    purge: p.purge,
    keep: p.purge ? keepPaths(r) : [],
    log: m => r.ctx.log.info(m),
  }
  let ok = true
  const { at } = await r.act()
  if (sst && !r.mode) ok = await syncMode(r.target, at, perm(sst), st, env)
  return (await syncTree(src, r.target, env, at)) && ok
}

// --- symlink, owner, mode -------------------------------------------------------------------

async function checkSymlink(r: Run): Promise<boolean> {
  const { p } = r
  const to = p.source!
  const lst = await r.stat()
  if (p.state === 'absent') {
    if (!lst) return true
    if (!lst.isSymbolicLink() && !p.force)
      throw new Error(`${r.target} is not a symlink; set \`force: true\` to remove it`)
    return remove(r, lst)
  }
  if (lst?.isSymbolicLink() && (await readlink(r.target)) === to) return true
  if (lst && !lst.isSymbolicLink() && !p.force)
    throw new MgmtError('ERR_FILE_NEEDS_FORCE', { path: r.target, have: 'not a symlink', want: 'a symlink' })
  if (!r.apply) {
    r.ctx.log.info(`would link -> ${to}`)
    return false
  }
  const { at } = await r.act()
  if (lst?.isDirectory()) await removeTree(at)
  await symlinkAtomic(to, r.target, await writeTo(r))
  r.ctx.log.info(`linked -> ${to}`)
  return false
}

/** The path's stats for a mode or owner check; a symlink (unless the resource is one) is refused. */
async function ownStat(r: Run, what: string): Promise<Stats | undefined> {
  const st = await r.stat()
  if (!st?.isSymbolicLink() || r.p.symlink) return st
  // In noop, the content write that would replace the link would also bring the mode and owner.
  if (!r.apply && replacesLinks(r.p)) return undefined
  throw throughLink(r, what)
}

async function checkOwner(r: Run): Promise<boolean> {
  const { p } = r
  const st = await ownStat(r, 'owner')
  if (!st) return missing(r, 'owner')
  const ids = await r.ids()
  const uid = ids.uid ?? st.uid
  const gid = ids.gid ?? st.gid
  if (st.uid === uid && st.gid === gid) return true
  // Said with names: `owner root (0) -> www-data (33)`.
  const what = [
    st.uid !== uid && `owner ${await idName('passwd', st.uid)} -> ${await idName('passwd', uid)}`,
    st.gid !== gid && `group ${await idName('group', st.gid)} -> ${await idName('group', gid)}`,
  ]
    .filter(Boolean)
    .join(', ')
  if (!r.apply) {
    r.ctx.log.info(`would set ${what}`)
    return false
  }
  const { at } = await r.act()
  try {
    if (p.symlink) lchownSync(at, uid, gid)
    else await chownNoFollow(at, uid, gid)
  } catch (e) {
    if (errCode(e) === 'EPERM') throw await chownRefused(r.target, st, uid, gid)
    throw e
  }
  r.made()
  r.ctx.log.info(what)
  return false
}

/**
 * An atomic write with the file's owner and group: a refusal to give the new file an owner or a
 * group (EPERM) says why, in words, of the managed path.
 */
async function writeAs(
  r: Run,
  st: Stats | undefined,
  what: Parameters<typeof writeAtomic>[1],
  attrs: FileAttrs,
): Promise<void> {
  try {
    await writeAtomic(r.target, what, attrs, { ...(await writeTo(r)), replaces: st !== undefined })
  } catch (e) {
    const own = { uid: st?.uid ?? process.geteuid?.() ?? 0, gid: st?.gid ?? process.getegid?.() ?? 0 }
    const changes =
      (attrs.uid !== undefined && attrs.uid !== own.uid) || (attrs.gid !== undefined && attrs.gid !== own.gid)
    if (errCode(e) === 'EPERM' && changes)
      throw await chownRefused(r.target, own, attrs.uid ?? own.uid, attrs.gid ?? own.gid)
    throw e
  }
}

/**
 * Why the system refused a chown, in words: only root gives a file away, and a group can only be
 * set by its member (`cannot set group root on /x: not a member`).
 */
async function chownRefused(
  path: string,
  st: Pick<Stats, 'uid' | 'gid'>,
  uid: number,
  gid: number,
): Promise<Error> {
  const euid = process.geteuid?.() ?? 0
  if (st.uid !== uid && euid !== 0)
    return new Error(
      `cannot set owner ${await idName('passwd', uid)} on ${path}: mgmt is not running as root`,
    )
  if (st.gid !== gid && euid !== 0 && !process.getgroups?.().includes(gid))
    return new Error(`cannot set group ${await idName('group', gid)} on ${path}: not a member`)
  if (euid !== 0 && st.uid !== euid)
    return new Error(
      `cannot change the owner or group of ${path}: it is not mgmt's, and mgmt is not running as root`,
    )
  return new Error(`cannot change the owner or group of ${path}: not permitted (EPERM)`)
}

async function checkMode(r: Run): Promise<boolean> {
  const st = await ownStat(r, 'mode')
  if (!st) return missing(r, 'mode')
  const have = perm(st)
  const want = applyMode(r.mode!, have)
  if (have === want) return true
  const what = `mode ${formatMode(have)} -> ${formatMode(want)}`
  if (!r.apply) {
    r.ctx.log.info(`would set ${what}`)
    return false
  }
  await chmodNoFollow((await r.act()).at, want)
  r.made()
  r.ctx.log.info(what)
  return false
}

/**
 * The sub-checks, in order, each with the params it has something to check for (the others pass
 * without a call: a file of content and mode makes three, not seven); the result is their AND.
 */
const checks: readonly (readonly [(r: Run) => boolean, (r: Run) => Promise<boolean>])[] = [
  [({ p }) => !p.symlink && p.state !== '', checkState],
  [({ p }) => p.content !== undefined, checkContent],
  [({ p }) => !p.symlink && p.state !== 'absent' && (p.source !== undefined || p.purge), checkSource],
  [({ p }) => (p.fragments?.length ?? 0) > 0, checkFragments],
  [({ p }) => p.symlink && p.state !== '', checkSymlink],
  [({ p }) => (p.owner !== undefined || p.group !== undefined) && p.state !== 'absent', checkOwner],
  [r => !!r.mode && r.p.state !== 'absent' && !r.p.symlink, checkMode],
]

/** Runs the sub-checks; a managed parent gone or swapped meanwhile makes the resource wait, not fail. */
async function runChecks(r: Run, signal: AbortSignal): Promise<boolean> {
  let ok = true
  try {
    // By index, not destructured: both go through an iterator, an object a step, until the code is
    // optimized, which a one-shot run of many files never does.
    for (let i = 0; i < checks.length; i++) {
      const c = checks[i]!
      if (!c[0](r)) continue
      if (signal.aborted) throw signal.reason
      if (await c[1](r)) continue
      ok = false
      r.forget()
    }
  } catch (e) {
    if (!isMgmtError(e, 'ERR_RES_WAITING')) await checkAncestors(r.ancestors)
    throw e
  }
  return ok
}

// --- the kind -------------------------------------------------------------------------------

const compared = [
  'state',
  'content',
  'source',
  'owner',
  'group',
  'mode',
  'recurse',
  'force',
  'purge',
  'symlink',
] as const

/**
 * The params that put a plain file back as it is now (content, mode, owner, group), or remove it
 * when it does not exist. Directories, symlinks and content that is not UTF-8 are not reversible.
 */
export async function reversedFile(path: string): Promise<Record<string, unknown> | undefined> {
  const st = await lstatOr(path)
  if (!st) return { path, state: 'absent' }
  if (!st.isFile()) return undefined
  const bytes = await readNoFollow(path)
  const content = new TextDecoder('utf-8', { fatal: true })
  try {
    return {
      path,
      state: 'exists',
      content: content.decode(bytes),
      mode: formatMode(perm(st)),
      owner: String(st.uid),
      group: String(st.gid),
    }
  } catch {
    return undefined
  }
}

export const file = defineResource({
  kind: 'file',
  params: FileParams,
  anyText: ['content'],
  // Its watch follows its paths and returns: no signal of its own needed.
  traits: { pathWatch: true },
  normalize: (p, name) => ({ ...p, path: filePath(p.path, name, p.dirname, p.basename) }),
  validate: p => validateFile(p),
  /** A directory is also its path without the `/`: a file and a directory there would conflict. */
  uids: p =>
    p.path.length > 1 && p.path.endsWith('/')
      ? [`file:${p.path}`, `file:${p.path.slice(0, -1)}`]
      : [`file:${p.path}`],
  /**
   * A file needs its nearest managed parent directory, each managed fragment, and the package that
   * ships it or its nearest shipped directory (a config file comes after its package).
   */
  autoEdges: p => {
    const needs: Iterable<string>[] = [new KindNeed('file:', parentDirs, p.path)]
    for (const f of p.fragments ?? []) needs.push([`file:${f}`])
    needs.push(new KindNeed('pkgfile:', shippedCandidates, p.path))
    return needs
  },
  reversed: p => reversedFile(p.path),
  cmp(a, b) {
    if (a.path !== b.path) return 'the path differs'
    for (const k of compared) if (a[k] !== b[k]) return `the ${k} differs`
    if ((a.fragments ?? []).join('\0') !== (b.fragments ?? []).join('\0')) return 'the fragments differ'
    return undefined
  },
  init: (p, ctx) => new FileInstance(p, ctx),
})

/**
 * A running `file` resource: a plain record (10,000 files make 10,000 of them). Its watch returns
 * once its paths are followed: the subscriptions end with the signal.
 */
class FileInstance implements Instance {
  readonly #fixed: RunFixed
  /** A crash may have left this file's temporary file: the first pass that applies removes it. */
  #swept = false

  constructor(p: FileParamsType, ctx: ResourceContext) {
    const target = p.path === '/' ? '/' : p.path.replace(/\/+$/, '')
    this.#fixed = {
      p,
      ctx,
      target,
      isDir: p.path.endsWith('/'),
      content: contentCache(),
      own: new OwnChanges(target),
    }
  }

  async watch(signal: AbortSignal): Promise<void> {
    const { p, ctx, target, isDir, own } = this.#fixed
    // The echo of the resource's own change is no change: one check per change, not two. (A
    // recursive directory's events are also of what is below it: each one is checked.)
    const recursive = isDir && p.recurse
    await ctx.watchPath(target, signal, recursive ? () => ctx.event() : () => own.echo() || ctx.event(), {
      recursive,
    })
    if (p.source?.startsWith('/')) {
      const recursive = p.source.endsWith('/') && p.recurse
      await ctx.watchPath(p.source, signal, () => ctx.event(), { recursive })
    }
    for (const f of p.fragments ?? [])
      await ctx.watchPath(f, signal, () => ctx.event(), { recursive: f.endsWith('/') })
    ctx.event()
  }

  async checkApply(apply: boolean, signal: AbortSignal): Promise<boolean> {
    return checking.run(() => this.#checkApply(apply, signal))
  }

  async #checkApply(apply: boolean, signal: AbortSignal): Promise<boolean> {
    const fixed = this.#fixed
    const { ctx, target } = fixed
    if (ctx.recv().content?.changed) {
      if (ctx.debug) ctx.log.debug('Invalidating sha256sum of content')
      fixed.content.drop()
    }
    const r = openRun(fixed, apply)
    try {
      if (apply && !this.#swept) {
        const dir = dirname(target)
        const tmp = tempName(basename(target))
        if (await takeLeftover(dir, tmp))
          await sweepTemps(dir, [tmp], undefined, async name => {
            const { write } = await r.act()
            return write.dir ? write.dir.at(name) : join(dir, name)
          })
        this.#swept = true
      }
      return await runChecks(r, signal)
    } finally {
      r.close()
    }
  }
}
